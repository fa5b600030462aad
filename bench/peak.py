"""The supporter's whole path at a peak: signing under wrk while the mail flows to a real SMTP
server on loopback and a share of the signers confirm through their mailed links (issue #16).

    .venv/bin/python bench/peak.py [--setup embedded|serve|production|all] [--duration 60]
                                   [--connections 16] [--confirm-share 0.3] [--drain 120]

Setups (each on a scratch database built through the migrations, one open petition):

* embedded: SQLite, gunicorn with the in-process runner sending the mail (JOBS_IN_PROCESS);
* serve: SQLite, gunicorn without it, plus one `flask worker` (`make serve`'s shape);
* production: PostgreSQL and Redis, gunicorn, one `flask worker`.

Mail goes over SMTP to aiosmtpd on 127.0.0.1, which records when each message arrived. The
mail lag of a sign is that arrival less the outbox row's created_at (written in the sign's
transaction, so a few ms before its 303). Confirmers read the arrived mails and, for a share
of them, open the link and press the button (GET then POST, as a browser does). After wrk
stops: the backlog (unsent outbox rows) and the time to drain it, then the checks: every 303
has its row, every row exactly one mail, and the public count equals the confirmed rows.

The bare route (bench/bare_app.py under the same gunicorn settings) is measured in the same
run as the yardstick. Every loop is bounded in time; all traffic stays on 127.0.0.1.
"""

import argparse
import contextlib
import datetime as dt
import email
import email.policy
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

import http_bench as hb  # noqa: E402  (the HTTP benchmark's server, seeding and wrk helpers)

CONFIRM_LINK = re.compile(r"https?://[^/\s]+(/confirm/[A-Za-z0-9_-]+)")


class Inbox:
    """aiosmtpd on a free loopback port, keeping (arrival time, recipients, body) per mail."""

    def __init__(self):
        self.port = hb.free_port()
        self.mails = []
        self.lock = threading.Lock()
        self.controller = None

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 aiosmtpd's name
        with self.lock:
            self.mails.append((time.time(), tuple(envelope.rcpt_tos), envelope.content))
        return "250 OK"

    def __enter__(self):
        from aiosmtpd.controller import Controller

        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self.controller.start()
        return self

    def __exit__(self, *exc):
        self.controller.stop()

    def snapshot(self):
        with self.lock:
            return list(self.mails)


class Confirmers:
    """Threads that confirm a share of the signers through the links in their mails."""

    def __init__(self, base, inbox, share, threads=2):
        self.base, self.inbox, self.share = base, inbox, share
        self.done = 0
        self.errors = 0
        self.stop = threading.Event()
        self.next = 0
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self.run, daemon=True) for _ in range(threads)]

    def start(self):
        for t in self.threads:
            t.start()
        return self

    def take(self):
        """The next mail to act on, or None; every k-th mail where share = 1/k."""
        mails = self.inbox.snapshot()
        step = max(1, round(1 / self.share)) if self.share else 0
        with self.lock:
            while step and self.next < len(mails):
                index = self.next
                self.next += 1
                if index % step == 0:
                    return mails[index][2]
        return None

    def run(self):
        import http.client

        parts = urllib.parse.urlsplit(self.base)
        while not self.stop.is_set():
            body = self.take()
            if body is None:
                time.sleep(0.02)
                continue
            message = email.message_from_bytes(body, policy=email.policy.default)
            found = CONFIRM_LINK.search(message.get_body(("plain",)).get_content())
            if not found:
                self.errors += 1
                continue
            path = found.group(1)
            try:
                conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
                conn.request("GET", path)
                page = conn.getresponse()
                html = page.read().decode()
                cookie = "; ".join(
                    v.split(";", 1)[0] for k, v in page.getheaders() if k.lower() == "set-cookie"
                )
                token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html)
                form = urllib.parse.urlencode({"csrf_token": token.group(1) if token else ""})
                conn.request(
                    "POST",
                    path,
                    body=form,
                    headers={
                        "Content-Type": "application/x-www-form-urlencoded",
                        "Cookie": cookie,
                    },
                )
                answer = conn.getresponse()
                answer.read()
                conn.close()
                if answer.status == 200:
                    self.done += 1
                else:
                    self.errors += 1
            except OSError:
                self.errors += 1

    def finish(self):
        self.stop.set()
        for t in self.threads:
            t.join(timeout=15)


def database_figures(url):
    """(signature rows, outbox rows, unsent outbox rows, confirmed rows, public count)."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            one = conn.execute(
                text(
                    "SELECT (SELECT count(*) FROM signatures),"
                    " (SELECT count(*) FROM outbox),"
                    " (SELECT count(*) FROM outbox WHERE sent_at IS NULL),"
                    " (SELECT count(*) FROM signatures WHERE state = 'confirmed')"
                )
            ).one()
            created = dict(conn.execute(text('SELECT lower("to"), created_at FROM outbox')).all())
    finally:
        engine.dispose()
    return tuple(one), created


def as_epoch(value):
    """A database time (aware, naive UTC from SQLite, or its text) as seconds since the epoch."""
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.timestamp()


def percentile(values, p):
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


@contextlib.contextmanager
def mail_worker(env, folder):
    """`flask worker` with the app's environment, stopped with SIGTERM at the end."""
    log = Path(folder) / "worker.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [str(hb.BIN / "flask"), "worker"],
            cwd=hb.ROOT,
            env={**os.environ, **env, "FLASK_APP": "wsgi:app"},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def run_setup(a, setup, bare_rate):
    backend = "postgresql" if setup == "production" else "sqlite"
    with tempfile.TemporaryDirectory(prefix="peak-") as folder, Inbox() as inbox:
        url = hb.scratch_database(backend, folder)
        try:
            hb.prepare(backend, url, folder, a.seed)
            env = hb.app_env(url, folder, a.redis if setup == "production" else None)
            env.update(
                {
                    "FLASK_MAIL_BACKEND": "smtp",
                    "FLASK_MAIL_SERVER": "127.0.0.1",
                    "FLASK_MAIL_PORT": str(inbox.port),
                    "FLASK_JOBS_IN_PROCESS": "true" if setup == "embedded" else "false",
                }
            )
            if setup == "embedded":
                env["DEPLOYMENT"] = "development"
            with contextlib.ExitStack() as stack:
                # The confirmers follow a link's path on this server, whatever PUBLIC_URL says.
                server = stack.enter_context(
                    hb.serve("wsgi:app", env, folder, f"/petitions/{hb.SLUG}", a.workers)
                )
                if setup != "embedded":
                    stack.enter_context(mail_worker(env, folder))
                sessions = hb.sign_sessions(server.url, a.wrk_threads)
                sessions_file = Path(folder) / "sessions.tsv"
                sessions_file.write_text("".join(f"{c}\t{t}\n" for c, t in sessions))
                script = hb.lua_script(folder, "sign")
                (_rows, _outbox, _backlog, confirmed_before), _ = database_figures(url)
                confirmers = Confirmers(server.url, inbox, a.confirm_share).start()
                started = time.time()
                figures = hb.wrk(
                    f"{server.url}/petitions/{hb.SLUG}/sign",
                    script,
                    a.connections,
                    a.duration,
                    a.wrk_threads,
                    (sessions_file, f"/petitions/{hb.SLUG}/sign", "peak"),
                )
                ended = time.time()
                (rows, outbox, backlog, _confirmed), _ = database_figures(url)
                # Drain: until every mail is accepted, within --drain seconds.
                deadline = time.monotonic() + a.drain
                while time.monotonic() < deadline:
                    if len(inbox.snapshot()) >= outbox:
                        break
                    time.sleep(0.2)
                drained = time.time() - ended
                # Let the confirmers finish the mails that arrived, then read the count.
                wait_until = time.monotonic() + 30
                while time.monotonic() < wait_until and confirmers.next < len(inbox.snapshot()):
                    time.sleep(0.1)
                confirmers.finish()
                time.sleep(a.count_settle)
                status, _, body = hb.fetch(f"{server.url}/api/petitions/{hb.SLUG}/count")
                public = json.loads(body)["signature_count"] if status == 200 else None
            # Server and worker stopped: the database and the inbox hold still for the checks.
            (rows, outbox, unsent, confirmed), created = database_figures(url)
            mails = inbox.snapshot()
        finally:
            hb.drop_scratch(backend)
    lags = []
    for arrived, recipients, _content in mails:
        for rcpt in recipients:
            made = created.get(rcpt.lower())
            if made is not None:
                lags.append(arrived - as_epoch(made))
    recipients = [r for _t, rs, _c in mails for r in rs]
    new_rows = rows - a.seed
    return {
        "setup": setup,
        "signs": figures["requests"],
        "rate": figures["rate"],
        "share": figures["rate"] / bare_rate if bare_rate else float("nan"),
        "p99_ms": figures["p99_us"] / 1000,
        "errors": figures["errors"],
        "confirmations": confirmers.done,
        "confirm_rate": confirmers.done / max(1e-9, ended - started + drained),
        "confirm_errors": confirmers.errors,
        "lag_p50": percentile(lags, 50),
        "lag_p99": percentile(lags, 99),
        "lag_max": max(lags) if lags else float("nan"),
        "backlog": backlog,
        "drain_s": drained,
        "unsent": unsent,
        "rows_ok": new_rows >= figures["requests"] - figures["errors"],
        # Every row its one mail: all sent ones arrived, once each (a backlog left after --drain
        # seconds is reported as such, not as lost).
        "mail_ok": outbox == rows - a.seed
        and len(mails) == outbox - unsent
        and len(set(recipients)) == len(recipients),
        "count_ok": public is not None and public == confirmed,
        "new_rows": new_rows,
        "outbox": outbox,
        "mails": len(mails),
        "confirmed": confirmed - confirmed_before,
        "public": public,
    }


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--setup", choices=["embedded", "serve", "production", "all"], default="all")
    p.add_argument("--duration", type=int, default=60)
    p.add_argument("--connections", type=int, default=16)
    p.add_argument("--wrk-threads", type=int, default=2)
    p.add_argument("--workers", type=int, default=None)
    p.add_argument("--seed", type=int, default=1000)
    p.add_argument(
        "--confirm-share", type=float, default=1 / 3, help="every k-th mail, k = 1/share"
    )
    p.add_argument("--drain", type=int, default=300, help="seconds allowed to drain the backlog")
    p.add_argument("--count-settle", type=float, default=6.0)
    p.add_argument("--redis", default=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/15"))
    a = p.parse_args()
    a.warmup = 2
    setups = ["embedded", "serve", "production"] if a.setup == "all" else [a.setup]
    with hb.bare_server(a) as (measure_bare, _config):
        for setup in setups:
            # The yardstick just before each setup, on an equally loaded machine.
            bare_rate = measure_bare(a.connections).rate
            r = run_setup(a, setup, bare_rate)
            report(r)


def report(r):
    if r["unsent"]:
        drain = f"{r['unsent']:,} still queued after {r['drain_s']:.0f} s (their lag not counted)"
    else:
        drain = f"drained in {r['drain_s']:.1f} s"
    print(
        f"{r['setup']}: {r['rate']:,.0f} signs/s ({r['share']:.3f} of the bare route), "
        f"p99 {r['p99_ms']:.0f} ms, {r['errors']} errors; {r['confirmations']:,} confirmed "
        f"({r['confirm_rate']:.0f}/s over the run and the drain, {r['confirm_errors']} errors); "
        f"mail lag p50 {r['lag_p50']:.2f} s, p99 {r['lag_p99']:.2f} s, max {r['lag_max']:.2f} s; "
        f"backlog {r['backlog']:,} when signing stopped, {drain}; rows {r['new_rows']:,} for "
        f"{r['signs']:,} signs, {r['outbox']:,} outbox rows, {r['mails']:,} mails; "
        f"{r['confirmed']:,} newly confirmed, count {r['public']:,}: rows "
        f"{'ok' if r['rows_ok'] else 'BAD'}, mail {'ok' if r['mail_ok'] else 'BAD'}, count "
        f"{'ok' if r['count_ok'] else 'BAD'}",
        flush=True,
    )


if __name__ == "__main__":
    main()
