import datetime as dt
import json
import threading
from collections import Counter

import pytest
from sqlalchemy import select, update

from petition.core.db import utcnow
from petition.core.extensions import db
from petition.jobs import registry
from petition.jobs import runner as jobs
from petition.jobs.models import Job

RAN = Counter()


@registry.handler("test_count")
def count_to(app, job_id, params, report):
    for i in range(params["n"]):
        report(i + 1, params["n"], f"step {i + 1}")
    RAN[job_id] += 1
    return {"counted": params["n"]}


@registry.handler("test_fail")
def fail(app, job_id, params, report):
    report(1, 2)
    raise ValueError("the font is missing")


def queue(app, kind, **params):
    with app.app_context():
        job = jobs.enqueue(kind, params)
        db.session.commit()
        return job.id


def job(app, job_id):
    with app.app_context():
        return db.session.get(Job, job_id)


def test_a_job_runs_reports_progress_and_keeps_its_result(app):
    job_id = queue(app, "test_count", n=3)
    with app.app_context():
        assert jobs.run_one(app) is True
        assert jobs.run_one(app) is False
    done = job(app, job_id)
    assert (done.state, done.progress, done.total, done.message) == ("done", 3, 3, "step 3")
    assert json.loads(done.result) == {"counted": 3}
    assert done.started_at <= done.finished_at


def test_a_failing_job_is_marked_failed_with_the_reason(app):
    job_id = queue(app, "test_fail")
    with app.app_context():
        jobs.run_one(app)
    failed = job(app, job_id)
    assert failed.state == "failed"
    assert failed.message == "ValueError: the font is missing"
    assert failed.progress == 1


def test_a_job_whose_worker_died_is_run_again(app):
    job_id = queue(app, "test_count", n=1)
    with app.app_context():
        claimed = jobs.claim_job()
        assert claimed.id == job_id
        assert jobs.claim_job() is None  # a live claim is left alone
        db.session.execute(update(Job).values(claimed_until=utcnow() - dt.timedelta(seconds=1)))
        db.session.commit()
        assert jobs.run_one(app) is True
    assert job(app, job_id).state == "done"


def test_concurrent_workers_run_each_job_once(app):
    RAN.clear()
    ids = [queue(app, "test_count", n=2) for _ in range(12)]
    barrier = threading.Barrier(4)
    errors = []

    def worker():
        try:
            barrier.wait(timeout=30)
            with app.app_context():
                jobs.run_jobs(app)
        except Exception as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    assert {RAN[i] for i in ids} == {1}
    with app.app_context():
        assert set(db.session.execute(select(Job.state)).scalars()) == {"done"}


@pytest.mark.parametrize("app_config", [{"JOBS_IN_PROCESS": True, "JOBS_POLL_SECONDS": 0.05}])
def test_the_in_process_runner_picks_jobs_up(app, client):
    from tests.live import wait_until

    job_id = queue(app, "test_count", n=1)
    client.get("/")  # the first request starts the runner threads
    wait_until(lambda: job(app, job_id).state == "done", timeout=10, what="job done")
