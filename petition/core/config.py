"""Configuration: defaults here, then instance/config.py, then the environment."""

import ipaddress
import os
import re

from petition.core.files import private_dir

DEFAULTS = {
    "DEPLOYMENT": "development",
    # Development gets a random per-instance key (see load_secret_key); production must set one.
    "SECRET_KEY": None,
    "SQLALCHEMY_DATABASE_URI": None,
    "SQLALCHEMY_ENGINE_OPTIONS": {},
    # Connections each process keeps to PostgreSQL, and how many more it may open at a peak.
    # gunicorn.conf.py sets them from its thread count; every process of every app server and
    # worker together may hold (DB_POOL_SIZE + DB_MAX_OVERFLOW) each: keep the sum under the
    # server's max_connections. Ignored for SQLite.
    "DB_POOL_SIZE": 5,
    "DB_MAX_OVERFLOW": 5,
    "REDIS_URL": None,
    # The address supporters reach; mail links are built from it, never from the Host header.
    "PUBLIC_URL": "http://127.0.0.1:5000",
    # Double opt-in: a signature counts only after the emailed link is confirmed.
    "CONFIRMATION_REQUIRED": True,
    # email-validator's DNS check of the domain; off by default so signing never waits on DNS.
    "EMAIL_CHECK_DELIVERABILITY": False,
    # How many mails one address can trigger per petition within MAIL_CAP_WINDOW seconds.
    "MAIL_CAP_PER_ADDRESS": 3,
    "MAIL_CAP_WINDOW": 24 * 3600,
    "MAIL_BACKEND": "console",
    "MAIL_SERVER": "127.0.0.1",
    "MAIL_PORT": 25,
    "MAIL_USE_TLS": False,
    "MAIL_USERNAME": None,
    "MAIL_PASSWORD": None,
    "MAIL_DEFAULT_SENDER": "petition@localhost",
    "MAIL_TIMEOUT": 30,
    "MAIL_FILE_DIR": None,
    # Re-encoded uploads (report-back photos, logos), under random names: instance/uploads.
    "UPLOAD_DIR": None,
    # Retries of a failed send: delay doubles from MAIL_RETRY_BASE up to MAIL_RETRY_MAX seconds.
    "MAIL_RETRY_BASE": 30,
    "MAIL_RETRY_MAX": 3600,
    # A claimed mail is left alone by other workers this long; must exceed MAIL_TIMEOUT.
    "MAIL_CLAIM_SECONDS": 120,
    # Send mail from a thread inside the web process (the embedded default). Production
    # runs `flask worker` instead.
    "JOBS_IN_PROCESS": True,
    "JOBS_POLL_SECONDS": 1.0,
    # With REDIS_URL (and JOBS_IN_PROCESS off) each committed mail and job is pushed to RQ queues
    # named RQ_QUEUE-mail and RQ_QUEUE-jobs, which `flask worker` serves; letters, digits, - and
    # _ only. The worker also pushes, every RQ_SWEEP_SECONDS, whatever due row no RQ job names
    # (a push lost to a Redis outage or a crash). A job (a bundle) running longer than
    # RQ_JOB_TIMEOUT seconds is stopped and marked failed.
    "RQ_QUEUE": "petition",
    "RQ_SWEEP_SECONDS": 10,
    "RQ_JOB_TIMEOUT": 3600,
    # The public count: each app process (or all of them, through Redis) reads the database at
    # most once per COUNT_CACHE_SECONDS per petition; browsers and CDNs may keep a response
    # API_MAX_AGE seconds and serve it API_STALE_SECONDS longer while they refetch. The sum is
    # the longest a confirmation can take to show: keep it at most 5.
    "COUNT_CACHE_SECONDS": 1,
    "API_MAX_AGE": 2,
    "API_STALE_SECONDS": 2,
    # How often the count fold (petitions/counting.py) moves the count journal into the
    # petition totals and stamps milestones. Counts read exact either way; this bounds how late
    # a milestone is stamped and mailed, and how long the journal grows between folds.
    "COUNT_FOLD_SECONDS": 1,
    # Attendees are reminded the day before an event at this hour of the event's own clock
    # (10: mid-morning wherever it is), looked for every EVENT_REMINDER_CHECK_SECONDS.
    "EVENT_REMINDER_HOUR": 10,
    "EVENT_REMINDER_CHECK_SECONDS": 60,
    # A host writes to their attendees at most EVENT_MESSAGE_LIMIT times per window.
    "EVENT_MESSAGE_LIMIT": 3,
    "EVENT_MESSAGE_WINDOW_SECONDS": 86400,
    # Report-back photos: per event, and per file (bytes as sent, pixels as decoded); each is
    # re-encoded at most PHOTO_MAX_SIDE pixels on its longer side.
    "PHOTOS_PER_EVENT": 6,
    "PHOTO_MAX_BYTES": 10_000_000,
    "PHOTO_MAX_PIXELS": 40_000_000,
    "PHOTO_MAX_SIDE": 2000,
    # Endorsers' logos, re-encoded as PNG at most LOGO_MAX_SIDE pixels on the longer side.
    "LOGO_MAX_BYTES": 2_000_000,
    "LOGO_MAX_PIXELS": 16_000_000,
    "LOGO_MAX_SIDE": 400,
    # Set from REDIS_URL when that is set, else one cache per process.
    "CACHE_TYPE": None,
    "CACHE_KEY_PREFIX": "petition:",
    # Who hears when a milestone is reached: a list, or one string of comma-separated addresses.
    "MILESTONE_MAIL_TO": [],
    "ABUSE_CHECKS": True,
    # Signing defences (abuse/defences.py), all off with ABUSE_CHECKS. A signature that trips
    # one is held: stored as 'fraudulent' with the rule in moderation_reason and not counted,
    # while the person sees and gets exactly what a normal signer does; staff can restore it.
    # Per client address per petition, counted from the signature rows (so across all app
    # processes): more than SIGN_BURST_COUNT within SIGN_BURST_SECONDS, or more than
    # SIGN_SUSTAINED_COUNT within SIGN_SUSTAINED_SECONDS, are held.
    "SIGN_BURST_COUNT": 8,
    "SIGN_BURST_SECONDS": 120,
    "SIGN_SUSTAINED_COUNT": 40,
    "SIGN_SUSTAINED_SECONDS": 3600,
    # The least time, in seconds, between showing the sign form and posting it; faster, or
    # without a valid signed form time, is held. 0 turns the rule off. Not higher: a phone whose
    # browser autofills name, email and country can post a couple of seconds after the page
    # shows, and a person held here never learns it; bots that post at once still trip it.
    "SIGN_MIN_SECONDS": 2,
    # A form posted longer than this after it was shown is held too: its signed time is not a
    # pass to replay for ever. Long enough for a tab left open overnight; 0 turns it off.
    "SIGN_FORM_MAX_SECONDS": 2 * 86400,
    # Email domains whose signatures are held (subdomains too): a list, or a comma string;
    # and whether the disposable-mail list of the disposable-email-domains package applies.
    "BLOCKED_EMAIL_DOMAINS": [],
    "BLOCK_DISPOSABLE_EMAIL": True,
    # Client address ranges whose signatures are held: CIDR list, or a comma string.
    "BLOCKED_NETWORKS": [],
    # The lists staff edit at /staff/blocklists add to the two above. Each app process reads
    # them at most once per this many seconds (at once in the process where staff edited them).
    "BLOCKLIST_CACHE_SECONDS": 10,
    # The trending report (/staff/petitions/<slug>/trending) covers this many seconds.
    "TREND_WINDOW_SECONDS": 3600,
    # One mail to staff when, within that window, one client address (or one email domain)
    # reaches this many signatures on an open petition, counting held ones; at most one mail per
    # address or domain per petition per UTC day. 0 turns that alert off; so does ABUSE_CHECKS.
    "TREND_ALERT_ADDRESS": 50,
    "TREND_ALERT_DOMAIN": 200,
    # Domains (and their subdomains) too big to say anything by volume: never alerted on.
    # A comma-separated string like every list key may be; load() turns it into a list.
    "TREND_ALERT_IGNORE_DOMAINS": (
        "gmail.com,googlemail.com,outlook.com,hotmail.com,live.com,msn.com,yahoo.com,ymail.com,"
        "icloud.com,me.com,mac.com,aol.com,proton.me,protonmail.com,gmx.com,gmx.net,gmx.de,"
        "web.de,t-online.de,mail.ru,yandex.ru,qq.com,163.com,126.com,naver.com,orange.fr,"
        "free.fr,laposte.net,libero.it,uol.com.br,bol.com.br,hotmail.co.uk,yahoo.co.uk,"
        "btinternet.com,comcast.net,hotmail.fr,yahoo.fr,hotmail.es,yahoo.es"
    ),
    # Who gets those mails (a list, or comma-separated); empty means MILESTONE_MAIL_TO.
    "TREND_ALERT_TO": [],
    # How often the worker (or the in-process runner) checks, in seconds.
    "TREND_CHECK_SECONDS": 60,
    # Staff login attempts, per client address and per account (Flask-Limiter syntax).
    "LOGIN_LIMIT_PER_ADDRESS": "20 per 10 minutes",
    "LOGIN_LIMIT_PER_ACCOUNT": "10 per 10 minutes",
    # A staff session that has done nothing for this long is logged out (0: never).
    "STAFF_IDLE_MINUTES": 60,
    # Request limits per client address (Flask-Limiter syntax), all off with ABUSE_CHECKS.
    # The confirm and withdraw pages share one budget, GET and POST alike: a person opens a
    # link and presses a button, so this lets about 60 people behind one address (an office, a
    # carrier's NAT) confirm within 10 minutes, while a script trying tokens makes hundreds.
    "CONFIRM_LIMIT": "120 per 10 minutes",
    # The JSON API and the iframe page share one budget. Generous on purpose: a partner's office
    # can put hundreds of readers behind one address, each open page polling every 10 s (6 a
    # minute), and every answer comes from the count snapshot, not the database. The badge and
    # widget.js have no limit: mail image proxies fetch the badge for thousands of readers from
    # a few addresses, and the script is a static file that browsers cache. Nor has the count
    # (/api/petitions/SLUG/count): one cache read, cheaper than checking a limit.
    "API_LIMIT": "1200 per minute",
    # Where Flask-Limiter counts: REDIS_URL when set (shared by every app process), else memory.
    "RATELIMIT_STORAGE_URI": None,
    # Prepended to every limit key, so apps sharing one Redis count apart.
    "RATELIMIT_KEY_PREFIX": "petition",
    # Redis calls for limits give up after this long (seconds), so a Redis that stops answering
    # slows a request by at most this; merged into RATELIMIT_STORAGE_OPTIONS for Redis storage.
    "RATELIMIT_REDIS_TIMEOUT": 0.5,
    "RATELIMIT_STORAGE_OPTIONS": {},
    # With the storage unreachable, count in each process's memory (retrying the storage with
    # backoff) rather than fail the request: a Redis outage must not take signing or the API
    # down. Errors that still escape are logged and the request is served unlimited.
    "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED": True,
    "RATELIMIT_SWALLOW_ERRORS": True,
    "RATELIMIT_HEADERS_ENABLED": True,
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "SESSION_COOKIE_SECURE": False,
    "HSTS": False,
    # How many reverse proxies stand in front of the app (their X-Forwarded-For/-Proto are
    # trusted); 0 when clients connect directly.
    "TRUSTED_PROXIES": 0,
    "BABEL_DEFAULT_LOCALE": "en",
    "BABEL_DEFAULT_TIMEZONE": "UTC",
    "WTF_CSRF_TIME_LIMIT": None,
    # A sign form is well under 4 KB; refusing big bodies early keeps floods cheap.
    "MAX_CONTENT_LENGTH": 64 * 1024,
    # The largest CSV staff may upload to /staff/petitions/<slug>/import (imported while the
    # request waits); bigger files go through `flask signatures import`.
    "IMPORT_MAX_BYTES": 16 * 1024 * 1024,
    # Privacy: `flask privacy erase-ips` clears the client IP of signatures older than this many
    # days (the IP serves abuse review only); `flask privacy anonymise-due` anonymises closed
    # petitions whose last delivery is older than ANONYMISE_AFTER_DAYS days.
    "IP_RETENTION_DAYS": 30,
    "ANONYMISE_AFTER_DAYS": 90,
    # ...and the attendees and hosts of a day of action once its last day is this many days
    # past (the reminders and report-back photos are done by then).
    "EVENT_ANONYMISE_AFTER_DAYS": 30,
}

PRODUCTION_DEFAULTS = {
    "SESSION_COOKIE_SECURE": True,
    "HSTS": True,
    "JOBS_IN_PROCESS": False,
}

BOOLEAN_KEYS = {
    "CONFIRMATION_REQUIRED",
    "EMAIL_CHECK_DELIVERABILITY",
    "MAIL_USE_TLS",
    "JOBS_IN_PROCESS",
    "ABUSE_CHECKS",
    "BLOCK_DISPOSABLE_EMAIL",
    "SESSION_COOKIE_SECURE",
    "HSTS",
    "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED",
    "RATELIMIT_SWALLOW_ERRORS",
}


INTEGER_KEYS = {
    "SIGN_BURST_COUNT",
    "SIGN_BURST_SECONDS",
    "SIGN_SUSTAINED_COUNT",
    "SIGN_SUSTAINED_SECONDS",
    "SIGN_MIN_SECONDS",
    "SIGN_FORM_MAX_SECONDS",
    "BLOCKLIST_CACHE_SECONDS",
    "TREND_WINDOW_SECONDS",
    "TREND_ALERT_ADDRESS",
    "TREND_ALERT_DOMAIN",
    "TREND_CHECK_SECONDS",
    "STAFF_IDLE_MINUTES",
}


class ConfigError(RuntimeError):
    """The configuration cannot run safely."""


def as_bool(value):
    """Read '0', 'false', 'no', 'off' and '' as False, like operators expect of env vars."""
    if isinstance(value, str):
        return value.strip().lower() not in {"", "0", "false", "no", "off"}
    return bool(value)


def as_list(value):
    """A list as given, or one string of comma-separated items."""
    if isinstance(value, str):
        return [item.strip() for item in value.split(",") if item.strip()]
    return list(value or [])


def database_url(url):
    """Point postgres:// and postgresql:// URLs at psycopg 3."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def load(app, test_config=None):
    """Layer defaults, instance/config.py, the environment and the test mapping onto app.config."""
    app.config.from_mapping(DEFAULTS)
    app.config.from_pyfile("config.py", silent=True)
    # Unprefixed keys that hosting platforms set by convention.
    for key in ("DEPLOYMENT", "SECRET_KEY", "REDIS_URL", "PUBLIC_URL", "ABUSE_CHECKS"):
        if key in os.environ:
            app.config[key] = os.environ[key]
    if os.environ.get("DATABASE_URL"):
        app.config["SQLALCHEMY_DATABASE_URI"] = os.environ["DATABASE_URL"]
    app.config.from_prefixed_env()
    if test_config:
        app.config.from_mapping(test_config)

    production = app.config["DEPLOYMENT"] == "production"
    if production:
        explicit = set(os.environ) | set(test_config or {})
        for key, value in PRODUCTION_DEFAULTS.items():
            if key not in explicit and f"FLASK_{key}" not in explicit:
                app.config[key] = value
    for key in BOOLEAN_KEYS:
        app.config[key] = as_bool(app.config[key])

    if not app.config["SQLALCHEMY_DATABASE_URI"]:
        path = os.path.join(app.instance_path, "petition.db")
        app.config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{path}"
    app.config["SQLALCHEMY_DATABASE_URI"] = database_url(app.config["SQLALCHEMY_DATABASE_URI"])
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {
            "pool_size": int(app.config["DB_POOL_SIZE"]),
            "max_overflow": int(app.config["DB_MAX_OVERFLOW"]),
            **app.config["SQLALCHEMY_ENGINE_OPTIONS"],
        }
    if not app.config["MAIL_FILE_DIR"]:
        app.config["MAIL_FILE_DIR"] = os.path.join(app.instance_path, "outbox")
    if not app.config["UPLOAD_DIR"]:
        app.config["UPLOAD_DIR"] = os.path.join(app.instance_path, "uploads")
    app.config["PUBLIC_URL"] = app.config["PUBLIC_URL"].rstrip("/")
    if not app.config["CACHE_TYPE"]:
        app.config["CACHE_TYPE"] = "RedisCache" if app.config["REDIS_URL"] else "SimpleCache"
    if app.config["CACHE_TYPE"] == "RedisCache":
        app.config.setdefault("CACHE_REDIS_URL", app.config["REDIS_URL"])
    if not app.config["RATELIMIT_STORAGE_URI"]:
        app.config["RATELIMIT_STORAGE_URI"] = app.config["REDIS_URL"] or "memory://"
    if app.config["RATELIMIT_STORAGE_URI"].startswith(("redis", "valkey")):
        timeout = float(app.config["RATELIMIT_REDIS_TIMEOUT"])
        app.config["RATELIMIT_STORAGE_OPTIONS"] = {
            "socket_connect_timeout": timeout,
            "socket_timeout": timeout,
            **app.config["RATELIMIT_STORAGE_OPTIONS"],
        }
    app.config["RATELIMIT_ENABLED"] = app.config["ABUSE_CHECKS"]
    for key in (
        "MILESTONE_MAIL_TO",
        "BLOCKED_EMAIL_DOMAINS",
        "BLOCKED_NETWORKS",
        "TREND_ALERT_TO",
        "TREND_ALERT_IGNORE_DOMAINS",
    ):
        app.config[key] = as_list(app.config[key])
    for key in ("BLOCKED_EMAIL_DOMAINS", "TREND_ALERT_IGNORE_DOMAINS"):
        app.config[key] = [d.lower().strip(".") for d in app.config[key]]
    try:
        app.config["BLOCKED_NETWORKS"] = [
            ipaddress.ip_network(n, strict=False) for n in app.config["BLOCKED_NETWORKS"]
        ]
    except ValueError as exc:
        raise ConfigError(f"BLOCKED_NETWORKS: {exc}") from exc
    for key in INTEGER_KEYS:
        app.config[key] = int(app.config[key])
    if not re.fullmatch(r"[A-Za-z0-9_-]+", str(app.config["RQ_QUEUE"])):
        raise ConfigError("RQ_QUEUE may hold only letters, digits, - and _")

    if production:
        if not app.config["SECRET_KEY"] or len(str(app.config["SECRET_KEY"])) < 32:
            raise ConfigError("production needs SECRET_KEY set to a random value of 32+ characters")
        if app.debug:
            raise ConfigError("production refuses to run with debug on")
    elif not app.config["SECRET_KEY"]:
        app.config["SECRET_KEY"] = development_secret(app.instance_path)


def development_secret(instance_path):
    """A random key kept in instance/ so development sessions survive restarts."""
    import secrets
    import tempfile

    private_dir(instance_path)
    path = os.path.join(instance_path, "secret_key")
    try:
        with open(path, encoding="ascii") as f:
            key = f.read().strip()
        if key:
            return key
    except FileNotFoundError:
        pass
    key = secrets.token_urlsafe(48)
    # Processes that start together (gunicorn workers) must agree on one key: write it whole to
    # a private file, then link it into place, which fails if another process got there first.
    fd, tmp = tempfile.mkstemp(dir=instance_path, prefix=".secret_key.")
    try:
        with os.fdopen(fd, "w", encoding="ascii") as f:
            f.write(key)
        try:
            os.link(tmp, path)
        except FileExistsError:
            with open(path, encoding="ascii") as f:
                existing = f.read().strip()
            if existing:
                return existing
            os.replace(tmp, path)  # an empty file left by a crash: start it over
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return key
