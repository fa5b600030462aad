"""Mail and jobs through RQ on a real Redis; gunicorn.conf.py on a real gunicorn."""

import json
import os
import subprocess
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select, text

from petition.core.extensions import db
from petition.jobs import registry
from petition.jobs import rq as queue
from petition.jobs import runner as jobs
from petition.jobs.models import Job
from petition.mail.models import OutboxMessage
from petition.worker import send_message
from tests import services
from tests.live import BIN, ROOT, free_port, wait_until

# Not services.REDIS_URL's database: other tests flush that one, which would empty our queues
# under a parallel run.
REDIS_URL = services.REDIS_URL.rsplit("/", 1)[0] + "/14"

SEEN_PROGRESS = []


@registry.handler("test_rq_steps")
def steps(app, job_id, params, report):
    """Reports progress, and records what another connection (the staff UI) sees meanwhile."""
    for i in range(params["n"]):
        report(i + 1, params["n"], f"step {i + 1}")
        engine = create_engine(app.config["SQLALCHEMY_DATABASE_URI"])
        try:
            with engine.connect() as conn:
                SEEN_PROGRESS.append(
                    conn.execute(
                        text("SELECT progress, total, state FROM jobs WHERE id = :id"),
                        {"id": job_id},
                    ).one()
                )
        finally:
            engine.dispose()
    return {"steps": params["n"]}


@pytest.fixture
def redis_client():
    services.require_redis()
    import redis

    return redis.Redis.from_url(REDIS_URL)


@pytest.fixture
def prefix(redis_client):
    """A queue name of this test's own, and every key under it removed afterwards."""
    name = f"t{uuid.uuid4().hex[:12]}"
    yield name
    for key in redis_client.scan_iter(match=f"*{name}*", count=1000):
        redis_client.delete(key)


@pytest.fixture
def app_config(prefix):
    return {"REDIS_URL": REDIS_URL, "RQ_QUEUE": prefix}


def queued(redis_client, prefix, kind):
    return [i.decode() for i in redis_client.lrange(f"rq:queue:{prefix}-{kind}", 0, -1)]


def burst(app, *args):
    result = app.test_cli_runner().invoke(args=["worker", "--burst", *args])
    assert result.exit_code == 0, result.output
    return result


def mail_files(app):
    folder = Path(app.config["MAIL_FILE_DIR"])
    return sorted(folder.glob("*.eml")) if folder.exists() else []


def outbox_rows(app):
    with app.app_context():
        return db.session.execute(select(OutboxMessage)).scalars().all()


def test_a_sign_pushes_a_job_and_the_worker_sends_the_mail_once(
    app, make_petition, sign, redis_client, prefix
):
    make_petition()
    assert sign().status_code == 303
    [row] = outbox_rows(app)
    assert queued(redis_client, prefix, "mail") == [f"{prefix}-mail-{row.id}-0-0"]

    # A second push of the same row in the same state is refused by Redis...
    with app.app_context():
        assert queue.Pusher(app.config).push([("mail", row.id)]) == 0
    # ...and one under another id (as after a flush of Redis) runs, but sends nothing twice.
    queue.Pusher(app.config).queue("mail").enqueue(send_message, row.id, result_ttl=0)
    assert len(queued(redis_client, prefix, "mail")) == 2

    burst(app, "--queues", "mail")
    [sent] = mail_files(app)
    assert "ana@example.org" in sent.read_text()
    [row] = outbox_rows(app)
    assert row.sent_at is not None and row.attempts == 1
    assert queued(redis_client, prefix, "mail") == []
    # Finished jobs leave nothing behind that would block a later push.
    assert not redis_client.exists(f"rq:job:{prefix}-mail-{row.id}-0-0")

    burst(app)
    assert len(mail_files(app)) == 1


def test_a_job_named_by_the_release_before_still_runs(app, make_petition, sign, prefix):
    """RQ keeps a job's function by name; the release before #11 pushed petition.queue's."""
    make_petition()
    assert sign().status_code == 303
    [row] = outbox_rows(app)
    mail_queue = queue.Pusher(app.config).queue("mail")
    mail_queue.empty()
    # Under the id the sweep looks for, so that only the old-style job can send the mail.
    mail_queue.enqueue(
        "petition.queue.send_message", row.id, job_id=f"{prefix}-mail-{row.id}-0-0", result_ttl=0
    )
    burst(app, "--queues", "mail")
    [sent] = mail_files(app)
    assert "ana@example.org" in sent.read_text()


def test_a_repeat_sign_pushes_its_mail_too(app, make_petition, sign, redis_client, prefix):
    """The new-signature mail and the repeat's mail are inserted by different paths."""
    make_petition()
    assert sign().status_code == 303
    assert sign(email="ANA@example.org").status_code == 303
    first, again = outbox_rows(app)
    assert sorted(queued(redis_client, prefix, "mail")) == sorted(
        [f"{prefix}-mail-{first.id}-0-0", f"{prefix}-mail-{again.id}-0-0"]
    )
    with app.app_context():
        assert queue.sweep(app) == 0  # nothing left for the sweep to find


def test_a_job_runs_through_rq_with_its_progress_in_the_table(app, redis_client, prefix):
    SEEN_PROGRESS.clear()
    with app.app_context():
        job = jobs.enqueue("test_rq_steps", {"n": 3})
        db.session.commit()
        job_id = job.id
    assert queued(redis_client, prefix, "jobs") == [f"{prefix}-jobs-{job_id}-0-0"]

    burst(app, "--queues", "jobs")
    assert [tuple(seen) for seen in SEEN_PROGRESS] == [
        (1, 3, "running"),
        (2, 3, "running"),
        (3, 3, "running"),
    ]
    with app.app_context():
        done = db.session.get(Job, job_id)
        assert (done.state, done.progress, done.total, done.message) == ("done", 3, 3, "step 3")
        assert json.loads(done.result) == {"steps": 3}


def test_a_bundle_job_runs_through_rq(app, make_petition, make_signature, prefix):
    petition_id = make_petition()
    for n in range(2):
        make_signature(petition_id, email=f"p{n}@example.org", name=f"Person {n}")
    with app.app_context():
        job = jobs.enqueue(
            "delivery_pdf",
            {"petition_id": petition_id, "since_last": False, "created_by": "test"},
            petition_id=petition_id,
        )
        db.session.commit()
        job_id = job.id
    burst(app, "--queues", "jobs")
    with app.app_context():
        done = db.session.get(Job, job_id)
        assert done.state == "done", done.message
        assert done.progress == done.total == 2
        path = Path(json.loads(done.result)["path"])
    assert path.read_bytes().startswith(b"%PDF")


def test_a_lost_push_is_recovered_by_the_sweep(app, make_petition, sign, redis_client, prefix):
    make_petition()
    assert sign().status_code == 303
    assert sign(email="bo@example.org", name="Bo").status_code == 303
    # Redis flushed (or the push lost): the rows alone remain.
    for key in redis_client.scan_iter(match=f"*{prefix}*"):
        redis_client.delete(key)

    with app.app_context():
        assert queue.sweep(app) == 2
        assert queue.sweep(app) == 0  # already queued: not pushed twice
    assert len(queued(redis_client, prefix, "mail")) == 2
    burst(app, "--queues", "mail")
    assert len(mail_files(app)) == 2
    assert all(row.sent_at for row in outbox_rows(app))


def test_a_failed_send_is_pushed_again_once_due(app, make_petition, sign, redis_client, prefix):
    make_petition()
    app.config["MAIL_BACKEND"] = "smtp"
    app.config["MAIL_PORT"] = free_port()  # nobody listens: the send fails
    app.config["MAIL_TIMEOUT"] = 2
    assert sign().status_code == 303
    burst(app, "--queues", "mail")
    [row] = outbox_rows(app)
    assert row.sent_at is None and row.attempts == 1 and row.last_error
    with app.app_context():
        assert queue.sweep(app) == 0  # backing off: not due yet
        db.session.execute(text("UPDATE outbox SET next_attempt_at = created_at"))
        db.session.commit()
    app.config["MAIL_BACKEND"] = "file"
    burst(app, "--queues", "mail")  # the burst sweeps first
    [row] = outbox_rows(app)
    assert row.sent_at is not None and row.attempts == 2
    assert len(mail_files(app)) == 1


@pytest.mark.parametrize(
    "app_config", [{"REDIS_URL": f"redis://127.0.0.1:{free_port()}/0"}], indirect=False
)
def test_redis_down_does_not_fail_a_sign_and_the_sweep_sends_later(
    app, make_petition, sign, redis_client, prefix
):
    make_petition()
    assert sign().status_code == 303
    assert app.extensions["rq"].down_until > 0  # the push was tried, failed, and backs off
    assert sign(email="bo@example.org", name="Bo").status_code == 303
    assert len(outbox_rows(app)) == 2

    app.config.update(REDIS_URL=REDIS_URL, RQ_QUEUE=prefix)
    burst(app)
    assert len(mail_files(app)) == 2
    burst(app)
    assert len(mail_files(app)) == 2


@pytest.mark.parametrize(
    "app_config", [{"JOBS_IN_PROCESS": True, "REDIS_URL": REDIS_URL}, {}], indirect=False
)
def test_nothing_is_pushed_without_redis_or_beside_the_in_process_runner(app, app_config):
    assert app.config["REDIS_URL"] == app_config.get("REDIS_URL")
    assert app.extensions["rq"] is None


def test_worker_rejects_unknown_queues(app):
    result = app.test_cli_runner().invoke(args=["worker", "--burst", "--queues", "bundles"])
    assert result.exit_code != 0
    assert "--queues" in result.output


# --- gunicorn.conf.py -----------------------------------------------------------------------


def gunicorn_env(tmp_path, **extra):
    ours = ("GUNICORN_", "PORT", "WEB_CONCURRENCY", "FORWARDED_ALLOW_IPS", "FLASK_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(ours)}
    env.update(
        DATABASE_URL=f"sqlite:///{tmp_path / 'petition.db'}",
        PETITION_INSTANCE_PATH=str(tmp_path),
        SECRET_KEY="gunicorn-test-secret-key-0123456789abcdef",
        **extra,
    )
    return env


def gunicorn_settings(env):
    printed = subprocess.run(
        [str(BIN / "gunicorn"), "-c", "gunicorn.conf.py", "--print-config", "wsgi:app"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout
    return {
        name.strip(): value.strip()
        for name, _, value in (line.partition("=") for line in printed.splitlines())
    }


def test_gunicorn_config_checks(tmp_path):
    env = gunicorn_env(tmp_path, WEB_CONCURRENCY="3", GUNICORN_THREADS="6")
    checked = subprocess.run(
        [str(BIN / "gunicorn"), "-c", "gunicorn.conf.py", "--check-config", "wsgi:app"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert checked.returncode == 0, checked.stderr
    settings = gunicorn_settings(env)
    assert settings["workers"] == "3" and settings["threads"] == "6"
    assert settings["worker_class"] == "gthread"
    assert settings["bind"] == "['127.0.0.1:8000']"
    assert settings["forwarded_allow_ips"] == "[]"  # no proxy: nobody may claim https
    assert settings["control_socket_disable"] == "True"

    behind = gunicorn_settings(gunicorn_env(tmp_path, FLASK_TRUSTED_PROXIES="1", PORT="9001"))
    assert behind["forwarded_allow_ips"] == "['*']"
    assert behind["bind"] == "['0.0.0.0:9001']"
    assert int(behind["workers"]) == (os.cpu_count() or 1) + 1


def test_gunicorn_serves_with_the_config(tmp_path):
    port = free_port()
    env = gunicorn_env(
        tmp_path,
        GUNICORN_BIND=f"127.0.0.1:{port}",
        WEB_CONCURRENCY="1",
        GUNICORN_THREADS="2",
        FLASK_JOBS_IN_PROCESS="false",
    )
    subprocess.run(
        [str(BIN / "flask"), "db", "upgrade"], cwd=ROOT, env=env, check=True, timeout=120
    )
    log = tmp_path / "gunicorn.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [str(BIN / "gunicorn"), "-c", "gunicorn.conf.py", "wsgi:app"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:

        def answers():
            if process.poll() is not None:
                raise AssertionError(f"gunicorn exited: {log.read_text()}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/petitions", timeout=2):
                    return True
            except OSError:
                return False

        wait_until(answers, timeout=30, what="gunicorn with gunicorn.conf.py")
        with pytest.raises(urllib.error.HTTPError):
            urllib.request.urlopen(f"http://127.0.0.1:{port}/confirm/secret-token-123", timeout=5)
        wait_until(lambda: "/confirm/" in log.read_text(), timeout=10, what="the access log")
        lines = log.read_text()
        assert '"GET /api/petitions HTTP/1.1" 200' in lines
        assert "/confirm/[redacted]" in lines and "secret-token-123" not in lines
        assert "Using worker: gthread" in lines
    finally:
        process.terminate()
        process.wait(timeout=30)
    assert process.returncode == 0


@pytest.mark.parametrize("app_config", [{"DB_POOL_SIZE": 7, "DB_MAX_OVERFLOW": 2}])
def test_the_database_pool_is_sized_from_the_config(app):
    with app.app_context():
        pool = db.engine.pool
        if db.engine.dialect.name == "sqlite":
            assert "pool_size" not in app.config["SQLALCHEMY_ENGINE_OPTIONS"]
            return
        assert (pool.size(), pool._max_overflow, pool._pre_ping) == (7, 2, True)


def test_a_running_worker_sends_pushed_and_swept_mail_and_stops_on_sigterm(
    app, make_petition, sign, prefix, tmp_path
):
    import signal

    from sqlalchemy import insert

    env = {
        **os.environ,
        "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "REDIS_URL": REDIS_URL,
        "SECRET_KEY": app.config["SECRET_KEY"],
        "PETITION_INSTANCE_PATH": str(tmp_path),
        "FLASK_RQ_QUEUE": prefix,
        "FLASK_RQ_SWEEP_SECONDS": "0.2",
        "FLASK_JOBS_IN_PROCESS": "false",
        "FLASK_MAIL_BACKEND": "file",
        "FLASK_MAIL_FILE_DIR": app.config["MAIL_FILE_DIR"],
    }
    log = tmp_path / "worker.log"
    with open(log, "wb") as out:
        worker = subprocess.Popen(
            [str(BIN / "flask"), "worker"], cwd=ROOT, env=env, stdout=out, stderr=out
        )
    try:
        make_petition()
        assert sign().status_code == 303  # pushed after the commit
        with app.app_context():
            # Written past the session's events, as if the push had been lost.
            db.session.execute(
                insert(OutboxMessage).values(to="lost@example.org", subject="s", body="b")
            )
            db.session.commit()
        wait_until(
            lambda: len(mail_files(app)) == 2 or worker.poll() is not None,
            timeout=30,
            what="the worker to send both mails",
        )
        assert worker.poll() is None, log.read_text()
        recipients = sorted(p.read_text().split("To: ")[1].split("\n")[0] for p in mail_files(app))
        assert recipients == ["ana@example.org", "lost@example.org"]
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=30)
    assert worker.returncode == 0, log.read_text()
    assert len(mail_files(app)) == 2
