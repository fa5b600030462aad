"""Many people sign and confirm at once against a real gunicorn, on SQLite and PostgreSQL.

Each person signs 2-4 times in different spellings of one mailbox (case, +tags, gmail dots,
googlemail.com, spaces), all spellings of one person posting at the same instant from separate
browser sessions. Then every confirmation link is pressed, the links of one person at the same
instant and some links twice, from several threads. The count must come out exactly at the
number of people, agree with a recount from the rows, and the server must never fail.
"""

import http.cookiejar
import json
import random
import re
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest

from petition.core.emails import check_email
from tests import services
from tests.live import ROOT, live_server, wait_until

SLUG = "race"
PEOPLE = 40
THREADS = 16
MAIL_CAP = 3  # MAIL_CAP_PER_ADDRESS default: mails one address can trigger per petition
COUNTRIES = ["FR", "BR", "DE", "JP", "KE", "US", "IN", "UA"]
TIMEOUT = 20  # seconds for any one HTTP request
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
CONFIRM_LINK = re.compile(r"(http://127\.0\.0\.1:\d+)/confirm/([A-Za-z0-9_-]+)")


def spellings(i):
    """Two to four spellings of person i's one mailbox, and its canonical form."""
    if i % 2:
        local = f"ana.{i}.souza"
        canonical = f"ana{i}souza@gmail.com"
        variants = [
            f"{local}@gmail.com",
            f"Ana{i}Souza+petition@googlemail.com",
            f"  a.n.a.{i}.s.o.u.z.a@GMAIL.com  ",
            f"ANA.{i}.SOUZA+x+y@GoogleMail.Com",
        ]
    else:
        canonical = f"lee{i}@example.org"
        variants = [
            f"lee{i}@example.org",
            f"Lee{i}+news@Example.ORG",
            f"  LEE{i}@EXAMPLE.ORG ",
            f"lee{i}+a+b@example.org",
        ]
    return variants[: 2 + i % 3], canonical


class Browser:
    """One browser session: its own cookie jar, no proxies, redirects returned as they are."""

    def __init__(self, base, statuses):
        self.base = base
        self.statuses = statuses  # shared list of (method, path, status)

        class Passthrough(urllib.request.HTTPErrorProcessor):
            def http_response(self, request, response):
                return response  # neither raise on 4xx/5xx nor follow redirects

        self.opener = urllib.request.build_opener(
            urllib.request.ProxyHandler({}),
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()),
            Passthrough(),
        )

    def request(self, method, path, data=None):
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        req = urllib.request.Request(self.base + path, data=body, method=method)
        with self.opener.open(req, timeout=TIMEOUT) as response:
            text = response.read().decode("utf-8", "replace")
            self.statuses.append((method, path, response.status))
            return response.status, response.headers, text

    def csrf(self, path):
        status, _, page = self.request("GET", path)
        assert status == 200, f"GET {path}: {status}"
        found = CSRF.search(page)
        assert found, f"no CSRF token on {path}"
        return found.group(1)


def log_tail(server, size=4000):
    return "gunicorn log, last lines:\n" + server.log.read_text()[-size:]


def run_all(tasks):
    """Run the callables on THREADS threads; re-raise the first failure."""
    pool = ThreadPoolExecutor(THREADS)
    try:
        futures = [pool.submit(task) for task in tasks]
        return [f.result(timeout=120) for f in futures]
    finally:
        pool.shutdown(cancel_futures=True)


def in_step(groups, work):
    """Tasks for groups of arguments; each group's calls of work start together.

    Groups are queued one after the other, so a pool of THREADS >= largest group can always
    fill a group's barrier: no waiting forever, and the barrier timeout bounds it anyway.
    """

    def task(barrier, args):
        try:
            work(barrier, *args)
        except BaseException:
            barrier.abort()  # the others of the group fail at once instead of timing out
            raise

    tasks = []
    for group in groups:
        barrier = threading.Barrier(len(group))
        for args in group:
            tasks.append(lambda args=args, barrier=barrier: task(barrier, args))
    return tasks


@pytest.fixture(params=["sqlite", "postgresql"])
def server(request, tmp_path):
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path}/petition.db"
        name = None
    else:
        services.require_postgres()
        name = f"petition_live_{services.worker_id()}"
        url = services.postgres_database(name)
    try:
        # Staff hear of the milestone: each gunicorn worker runs a count fold, and the mail
        # must still go out once.
        # Every press comes from 127.0.0.1, past the per-address confirm limit (tested in
        # test_abuse.py and the rate-limit tests).
        env = {
            "FLASK_MILESTONE_MAIL_TO": "staff@example.org",
            "FLASK_CONFIRM_LIMIT": "10000 per minute",
        }
        with live_server(url, tmp_path, workers=2, threads=4, env=env) as live:
            yield live
    finally:
        if name:
            services.drop_postgres_database(name)


@pytest.mark.live
def test_concurrent_signing_and_confirming_counts_each_person_once(server):
    created = server.flask(
        "petitions", "create", SLUG, "--title", "Race", "--target", "Someone",
        "--milestone", "5:Five", "--open",
    )  # fmt: skip
    assert "created race (open)" in created.stdout

    statuses = []
    rng = random.Random(20240601)  # noqa: S311 - a repeatable order, not a secret
    people = list(range(PEOPLE))
    rng.shuffle(people)
    expected_mails = Counter()
    by_canonical = {}
    sign_groups = []
    for i in people:
        variants, canonical = spellings(i)
        expected_mails[canonical] = min(len(variants), MAIL_CAP)
        by_canonical[canonical] = i
        sign_groups.append(
            [(f"Person {i}", email, COUNTRIES[i % len(COUNTRIES)]) for email in variants]
        )

    def sign(barrier, name, email, country):
        browser = Browser(server.url, statuses)
        token = browser.csrf(f"/petitions/{SLUG}")
        barrier.wait(timeout=30)
        status, headers, page = browser.request(
            "POST",
            f"/petitions/{SLUG}/sign",
            {"name": name, "email": email, "country": country, "csrf_token": token},
        )
        assert status == 303, f"sign {email!r}: {status}\n{page[:2000]}\n{log_tail(server)}"
        assert urllib.parse.urlsplit(headers["Location"]).path == f"/petitions/{SLUG}/signed"

    run_all(in_step(sign_groups, sign))

    # Every sign of a pending signature mails a confirmation link, up to the cap per address.
    total_mails = sum(expected_mails.values())
    mails = wait_until(
        lambda: (found := server.mails()) and len(found) >= total_mails and found,
        timeout=20,
        what=f"{total_mails} mails in {server.mail_dir}",
    )
    links = {}  # canonical email -> its confirmation tokens
    for msg in mails:
        found = CONFIRM_LINK.search(msg.get_content())
        assert found, f"no confirm link in:\n{msg.get_content()}"
        assert found.group(1) == server.url
        canonical = check_email(str(msg["To"])).canonical
        assert canonical in by_canonical, msg["To"]
        links.setdefault(canonical, []).append(found.group(2))
    assert Counter({c: len(t) for c, t in links.items()}) == expected_mails

    # All links of one person at the same instant; every third person's first link twice.
    confirm_groups = []
    for n, (canonical, tokens) in enumerate(links.items()):
        group = [(canonical, t) for t in tokens]
        if n % 3 == 0:
            group.append((canonical, tokens[0]))
        confirm_groups.append(group)
    outcomes = Counter()
    lock = threading.Lock()

    def confirm(barrier, canonical, token):
        browser = Browser(server.url, statuses)
        csrf = browser.csrf(f"/confirm/{token}")
        barrier.wait(timeout=30)
        status, _, page = browser.request("POST", f"/confirm/{token}", {"csrf_token": csrf})
        assert status == 200, f"confirm {token}: {status}\n{page[:2000]}\n{log_tail(server)}"
        if "Your signature is confirmed and counted." in page:
            outcome = "confirmed"
        elif "Your signature was already confirmed" in page:
            outcome = "already"
        else:
            raise AssertionError(f"unexpected confirm page:\n{page[:2000]}")
        with lock:
            outcomes[canonical, outcome] += 1

    run_all(in_step(confirm_groups, confirm))

    # However the presses raced, exactly one of each person's counted.
    for canonical, group in zip(links, confirm_groups, strict=True):
        assert outcomes[canonical, "confirmed"] == 1, canonical
        assert outcomes[canonical, "already"] == len(group) - 1, canonical

    reader = Browser(server.url, statuses)
    status, _, body = reader.request("GET", f"/api/petitions/{SLUG}/count")
    assert status == 200
    assert json.loads(body)["signature_count"] == PEOPLE

    status, _, body = reader.request("GET", f"/api/petitions/{SLUG}")
    assert status == 200
    detail = json.loads(body)
    assert detail["signature_count"] == PEOPLE
    assert [(m["count"], m["label"]) for m in detail["milestones"]] == [(5, "Five")]
    per_country = Counter(COUNTRIES[i % len(COUNTRIES)] for i in range(PEOPLE))
    assert detail["signatures_by_country"] == dict(per_country)

    # The fold in the workers' runners stamps the milestone within about a second (and the
    # snapshot cache adds one); polled on a browser of its own, so the tally below holds.
    polls = []

    def stamped():
        status, _, body = Browser(server.url, polls).request("GET", f"/api/petitions/{SLUG}")
        return status == 200 and json.loads(body)["milestones"][0]["reached_at"]

    wait_until(stamped, timeout=10, what="the milestone stamped by the count fold")
    assert all(status == 200 for _, _, status in polls), polls
    milestone_mails = wait_until(
        lambda: [m for m in server.mails() if m["Subject"].startswith("Milestone reached")],
        timeout=10,
        what="the milestone mail",
    )

    recount = server.flask("signatures", "recount", SLUG).stdout.strip()
    assert recount == f"{SLUG}: {PEOPLE} (was {PEOPLE})"

    # Confirming sends no mail but the one milestone mail, and nothing was sent twice.
    assert [m["To"] for m in milestone_mails] == ["staff@example.org"]
    assert len(server.mails()) == total_mails + 1

    failures = [s for s in statuses if s[2] >= 500]
    assert not failures, failures
    assert len(statuses) == 2 * sum(len(g) for g in sign_groups + confirm_groups) + 2
    log = server.log.read_text()
    assert "Traceback" not in log, log
    assert "database is locked" not in log, log


# gunicorn workers import the app at the same moment; without SECRET_KEY each one reads or
# creates instance/secret_key, and all of them must end up signing with the same key.
RACE_SECRET = """
import sys, time
from petition.core.config import development_secret
start, folders = float(sys.argv[1]), sys.argv[2:]
for n, folder in enumerate(folders):
    at = start + n * 0.03
    time.sleep(max(0.0, at - time.time() - 0.005))
    while time.time() < at:
        pass
    print(development_secret(folder), flush=True)
"""


def test_processes_starting_together_share_one_development_secret(tmp_path):
    folders = [str(tmp_path / f"instance{n}") for n in range(20)]
    start = time.time() + 2.0  # after every process has imported the app
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", RACE_SECRET, str(start), *folders],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    keys = []
    for process in processes:
        out, _ = process.communicate(timeout=30)
        assert process.returncode == 0
        keys.append(out.split())
    for n, folder in enumerate(folders):
        seen = {k[n] for k in keys}
        assert len(seen) == 1, f"{folder}: processes disagree on the secret key"
        with open(f"{folder}/secret_key", encoding="ascii") as f:
            assert f.read() in seen
    assert not list(tmp_path.rglob(".secret_key.*")), "temporary key files left over"
