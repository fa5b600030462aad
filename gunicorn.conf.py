"""gunicorn settings for petition: `gunicorn -c gunicorn.conf.py wsgi:app`.

Every value can be changed from the environment (listed in README, "Production") or on the
command line, which wins over this file.

Worker model: gthread with ONE thread per process by default. A request here is mostly Python
(a sign waits a millisecond or so on the database), so threads in one process mostly take turns
at the GIL, and on SQLite queue for the write lock too: measured with bench/http_bench.py
--quick on 2 cores, 3 processes x 1 thread signed ~1.5x (SQLite) to ~2x (PostgreSQL) as fast
as 3 x 4 threads, with a lower p99. gthread, unlike sync workers, still keeps HTTP keep-alive
connections from the load balancer open. GUNICORN_THREADS adds threads where requests wait on
something slow. CPU-bound work (the PDF bundle) runs in `flask worker`, never in a request.

No preload: each worker imports the app and opens its own database pool after the fork, and
`kill -HUP` reloads new code on deploy. GUNICORN_PRELOAD=1 trades that for a faster start and
a config error caught in the master; post_fork below then drops the pool inherited from it.
"""

import os
import re

from gunicorn.glogging import Logger


def _int(name, default):
    value = os.environ.get(name, "").strip()
    return int(value) if value else default


def _flag(name):
    return os.environ.get(name, "").strip().lower() not in {"", "0", "false", "no", "off"}


_cores = os.cpu_count() or 1

if os.environ.get("GUNICORN_BIND"):
    bind = [b.strip() for b in os.environ["GUNICORN_BIND"].split(",") if b.strip()]
elif os.environ.get("PORT"):
    # Platforms that set PORT route to it from outside the machine.
    bind = [f"0.0.0.0:{os.environ['PORT']}"]
else:
    bind = ["127.0.0.1:8000"]

worker_class = "gthread"
# One process per core plus one to cover a process stalled on I/O (see the docstring).
workers = _int("WEB_CONCURRENCY", _cores + 1)
threads = _int("GUNICORN_THREADS", 1)

# Each thread holds at most one connection at a time, plus one spare for code that opens a
# connection beside its session; the in-process runner, when on, adds three threads (overflow).
# Exported before the workers start so create_app sizes the pool to fit (README: workers x
# (DB_POOL_SIZE + DB_MAX_OVERFLOW) across all app servers must stay under max_connections).
os.environ.setdefault("FLASK_DB_POOL_SIZE", str(threads + 1))
os.environ.setdefault("FLASK_DB_MAX_OVERFLOW", "3")

# A request that takes this long is stuck (a sign is milliseconds): kill and replace the worker.
timeout = _int("GUNICORN_TIMEOUT", 30)
# Time for requests in flight to finish on SIGTERM / HUP before workers are killed.
graceful_timeout = _int("GUNICORN_GRACEFUL_TIMEOUT", 20)
# Load balancers keep connections open longer than browsers; outlive their idle timeout (often
# 60 s) so the balancer, not gunicorn, closes them, and no request races a closing socket.
keepalive = _int("GUNICORN_KEEPALIVE", 5)
# Off by default: a worker replaced every 10,000 requests was replaced every few seconds at
# the count endpoint's rate, and each new worker takes about a second to load the app, which
# showed as 0.6-1.4 s p99 outliers under load (make bench). Set it if a leak ever appears.
max_requests = _int("GUNICORN_MAX_REQUESTS", 0)
max_requests_jitter = _int("GUNICORN_MAX_REQUESTS_JITTER", 0)

preload_app = _flag("GUNICORN_PRELOAD")

# gunicorn's control socket defaults to one path per user, so a second gunicorn on the machine
# (tests, a benchmark, a second site) would take it over; off unless a path is given.
if os.environ.get("GUNICORN_CONTROL_SOCKET"):
    control_socket = os.environ["GUNICORN_CONTROL_SOCKET"]
else:
    control_socket_disable = True

# The heartbeat file is touched constantly; on a disk-backed /tmp that can block a worker.
# gunicorn creates the file itself with mkstemp, so a shared directory is safe here.
_SHM = "/dev/shm"  # noqa: S108
if os.path.isdir(_SHM):
    worker_tmp_dir = _SHM

# Behind FLASK_TRUSTED_PROXIES proxies (the app's ProxyFix takes the client address from them), let
# gunicorn believe their X-Forwarded-Proto as well; FORWARDED_ALLOW_IPS narrows it to their
# addresses. With no proxy, nobody may claim https through a header.
if os.environ.get("FLASK_TRUSTED_PROXIES", "0").strip() not in {"", "0"}:
    forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "*")
else:
    forwarded_allow_ips = ""

# "-" is stdout, else a file path; "off" (or 0, false, no, none) writes no access log at all:
# at thousands of requests a second the log line is a measurable share of each request, and a
# proxy in front often logs the same requests already.
_access_log = os.environ.get("GUNICORN_ACCESS_LOG", "-").strip()
accesslog = None if _access_log.lower() in {"off", "0", "false", "no", "none"} else _access_log
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
# Combined log format plus the request time in microseconds (%(D)s) and the worker pid.
access_log_format = '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s" %(D)sus %(p)s'

# Confirmation and withdrawal links carry a secret token in the path; whoever reads the logs
# must not be able to confirm or withdraw for someone.
_TOKEN_PATH = re.compile(r"/(confirm|withdraw)/[^/?#\s\"]+")


class RedactingLogger(Logger):
    """The access log with the tokens of /confirm/ and /withdraw/ links replaced by [redacted]."""

    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        for key in ("r", "U", "f", "{referer}i"):
            value = atoms.get(key)
            if isinstance(value, str):
                atoms[key] = _TOKEN_PATH.sub(r"/\1/[redacted]", value)
        return atoms


logger_class = RedactingLogger


def post_fork(server, worker):
    """Drop database connections inherited from a preloading master: never share a socket."""
    if not server.cfg.preload_app:
        return
    from petition.core.extensions import db

    app = server.app.wsgi()
    with app.app_context():
        for engine in db.engines.values():
            # close=False: the parent's connections stay open for the parent; the child only
            # forgets them and opens its own.
            engine.dispose(close=False)
