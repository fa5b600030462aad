"""A real gunicorn serving the app on a free localhost port, for browser and load tests."""

import contextlib
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(check, timeout=30.0, interval=0.05, what="condition"):
    """Poll check() until it returns a truthy value; fail after timeout seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


class LiveServer:
    """gunicorn wsgi:app with its own database, instance folder and mail directory."""

    def __init__(self, database_url, folder, workers=2, threads=4, env=None):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.folder = Path(folder)
        self.mail_dir = self.folder / "outbox"
        self.env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "SECRET_KEY": "live-test-secret-key-0123456789abcdef",
            "PETITION_INSTANCE_PATH": str(self.folder),
            "FLASK_PUBLIC_URL": self.url,
            "FLASK_MAIL_BACKEND": "file",
            "FLASK_MAIL_FILE_DIR": str(self.mail_dir),
            "FLASK_JOBS_IN_PROCESS": "true",
            "FLASK_JOBS_POLL_SECONDS": "0.2",
            # Browsers here post at once and many people sign from 127.0.0.1; test_abuse.py
            # tests these signing defences.
            "FLASK_SIGN_MIN_SECONDS": "0",
            "FLASK_SIGN_BURST_COUNT": "0",
            "FLASK_SIGN_SUSTAINED_COUNT": "0",
            # Likewise every confirmation and widget poll comes from 127.0.0.1; test_limits.py
            # tests these request limits.
            "FLASK_CONFIRM_LIMIT": "100000 per minute",
            "FLASK_API_LIMIT": "100000 per minute",
            **(env or {}),
        }
        self.workers, self.threads = workers, threads
        self.process = None
        self.log = self.folder / "gunicorn.log"

    def flask(self, *args, check=True, **kwargs):
        """Run a flask command against this server's database."""
        return subprocess.run(
            [str(BIN / "flask"), *args],
            cwd=ROOT,
            env=self.env,
            check=check,
            capture_output=True,
            text=True,
            timeout=120,
            **kwargs,
        )

    def start(self):
        self.flask("db", "upgrade")
        with open(self.log, "wb") as log:
            self.process = subprocess.Popen(
                [
                    str(BIN / "gunicorn"),
                    # Production's settings (worker class, pool sizing, logging); the flags
                    # below override the few that tests choose.
                    "--config",
                    str(ROOT / "gunicorn.conf.py"),
                    "--bind",
                    f"127.0.0.1:{self.port}",
                    "--workers",
                    str(self.workers),
                    "--threads",
                    str(self.threads),
                    "--graceful-timeout",
                    "2",
                    "wsgi:app",
                ],
                cwd=ROOT,
                # gunicorn.conf.py sizes the database pool from GUNICORN_THREADS.
                env={**self.env, "GUNICORN_THREADS": str(self.threads)},
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        wait_until(self.ready, timeout=30, what=f"gunicorn on {self.url} (log: {self.log})")
        return self

    def ready(self):
        if self.process.poll() is not None:
            raise AssertionError(f"gunicorn exited: {self.log.read_text()}")
        try:
            with urllib.request.urlopen(self.url + "/api/petitions", timeout=2) as response:
                return response.status == 200
        except OSError:
            return False

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)

    def mails(self):
        """Every mail the server has sent so far, parsed."""
        from email import message_from_bytes, policy

        if not self.mail_dir.exists():
            return []
        return [
            message_from_bytes(p.read_bytes(), policy=policy.default)
            for p in sorted(self.mail_dir.glob("*.eml"))
        ]

    def mail_link(self, to, kind):
        """The newest /KIND/TOKEN link (with its ?lang=) in a mail to `to`, or None."""
        for mail in reversed(self.mails()):
            if mail["To"] == to:
                body = mail.get_body(preferencelist=("plain",)).get_content()
                found = re.search(rf"https?://\S+/{kind}/[A-Za-z0-9_-]+\S*", body)
                if found:
                    return found.group(0)
        return None


@contextlib.contextmanager
def live_server(database_url, folder, **kwargs):
    server = LiveServer(database_url, folder, **kwargs)
    try:
        yield server.start()
    finally:
        server.stop()
