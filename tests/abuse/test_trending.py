"""The trending report and the threshold mail to staff."""

import datetime as dt
import threading

import pytest
from sqlalchemy import select, text

from petition.abuse import trending
from petition.abuse.models import TrendAlert
from petition.core.db import utcnow
from petition.core.extensions import db
from petition.jobs import runner as jobs
from petition.petitions.models import Signature
from petition.staff import auth
from tests.helpers import STAFF_PASSWORD as PASSWORD
from tests.helpers import staff_login as login

STAFF_TO = ["watch@example.org", "ops@example.org"]
ALERTS = {
    "TREND_ALERT_ADDRESS": 5,
    "TREND_ALERT_DOMAIN": 8,
    "TREND_ALERT_TO": ",".join(STAFF_TO),
}


@pytest.fixture
def add(app):
    """Insert signatures directly: n of them from one address and domain, `minutes_ago`."""
    counter = iter(range(1_000_000))

    def insert(petition_id, n, ip="10.0.0.1", domain="example.org", minutes_ago=1, held=0):
        with app.app_context():
            when = utcnow() - dt.timedelta(minutes=minutes_ago)
            for i in range(n):
                email = f"p{next(counter)}@{domain}"
                db.session.add(
                    Signature(
                        petition_id=petition_id,
                        name="Some One",
                        email=email,
                        canonical_email=email,
                        country="FR",
                        ip=ip,
                        state="fraudulent" if i < held else "pending",
                        moderation_reason="held: test rule" if i < held else None,
                        held=i < held,
                        created_at=when,
                        mail_count=0,
                    )
                )
            db.session.commit()

    return insert


def run_check(app, now=None):
    with app.app_context():
        return trending.check(app.config, now=now)


def alerts(app):
    with app.app_context():
        return [
            (a.kind, a.value, a.count, a.held)
            for a in db.session.execute(select(TrendAlert).order_by(TrendAlert.id)).scalars()
        ]


def test_the_report_ranks_addresses_and_domains_of_the_window_only(app, make_petition, add):
    pid = make_petition()
    other = make_petition(slug="other")
    add(pid, 6, ip="10.0.0.1", domain="bots.example", held=4)
    add(pid, 3, ip="2001:db8::7", domain="example.org")
    add(pid, 2, ip="10.0.0.2", domain="bots.example")
    add(pid, 1, ip=None, domain="example.net")
    # Older than the window, and another petition: neither counts.
    add(pid, 20, ip="10.9.9.9", domain="old.example", minutes_ago=61)
    add(other, 20, ip="10.0.0.2", domain="example.org")
    with app.app_context():
        from petition.petitions.models import Petition

        report = trending.report(db.session.get(Petition, pid), app.config)
    assert [(r.value, r.count, r.held) for r in report.addresses] == [
        ("10.0.0.1", 6, 4),
        ("2001:db8::7", 3, 0),
        ("10.0.0.2", 2, 0),
    ]
    assert [(r.value, r.count, r.held) for r in report.domains] == [
        ("bots.example", 8, 4),
        ("example.org", 3, 0),
        ("example.net", 1, 0),
    ]
    with app.app_context():
        since = utcnow() - dt.timedelta(hours=2)
        assert [r.value for r in trending.top_addresses(pid, since, limit=2)] == [
            "10.9.9.9",
            "10.0.0.1",
        ]
        assert [r.value for r in trending.top_domains(pid, since, at_least=9)] == ["old.example"]


def test_the_window_queries_use_an_index(app, make_petition):
    pid = make_petition()
    since = utcnow() - dt.timedelta(hours=1)
    with app.app_context():
        for query in (
            trending._top(Signature.ip, pid, since, 10, 1),
            trending._top(trending.email_domain(Signature.canonical_email), pid, since, 10, 1),
        ):
            compiled = query.compile(db.engine, compile_kwargs={"literal_binds": True})
            if db.engine.dialect.name == "sqlite":
                plan = db.session.execute(text(f"EXPLAIN QUERY PLAN {compiled}")).all()
                plan = " ".join(str(row[-1]) for row in plan)
                # SEARCH is a range on the index; SCAN would read the whole table.
                assert "SEARCH signatures USING INDEX ix_signatures_petition_" in plan, plan
            else:
                # The test table is tiny; ask whether the planner can use an index at all.
                db.session.execute(text("SET LOCAL enable_seqscan = off"))
                plan = db.session.execute(text(f"EXPLAIN {compiled}")).scalars().all()
                plan = "\n".join(plan)
                assert "ix_signatures_petition_" in plan, plan
                assert "Seq Scan" not in plan, plan
            db.session.rollback()


@pytest.fixture
def staff_client(app, client):
    with app.app_context():
        auth.create_staff("campaigner@example.org", PASSWORD, "campaigner")
        auth.create_staff("admin@example.org", PASSWORD, "admin")
        db.session.commit()
    return client


def test_the_trending_page_links_into_the_signature_search(app, staff_client, make_petition, add):
    pid = make_petition()
    add(pid, 4, ip="10.0.0.1", domain="bots.example", held=1)
    add(pid, 2, ip="10.0.0.3", domain="gmail.com")
    assert staff_client.get("/staff/petitions/speak-out/trending").status_code in (302, 303)
    assert login(staff_client, "campaigner@example.org").status_code == 303
    dashboard = staff_client.get("/staff/petitions/speak-out").get_data(as_text=True)
    assert 'href="/staff/petitions/speak-out/trending"' in dashboard
    response = staff_client.get("/staff/petitions/speak-out/trending")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "/staff/petitions/speak-out/signatures?ip=10.0.0.1" in page
    assert "/staff/petitions/speak-out/signatures?domain=bots.example" in page
    assert "webmail, never alerted" in page  # gmail.com
    assert 'action="/staff/blocklists/' not in page  # campaigners cannot edit the blocklists
    assert staff_client.get("/staff/petitions/nope/trending").status_code == 404


def test_an_admin_blocks_an_offender_from_the_report(app, staff_client, make_petition, add):
    pid = make_petition()
    add(pid, 4, ip="10.0.0.1", domain="bots.example")
    assert login(staff_client, "admin@example.org").status_code == 303
    page = staff_client.get("/staff/petitions/speak-out/trending").get_data(as_text=True)
    assert 'name="network" value="10.0.0.1/32"' in page
    assert 'name="domain" value="bots.example"' in page
    token = page.split('name="csrf_token" value="')[1].split('"')[0]
    response = staff_client.post(
        "/staff/blocklists/networks",
        data={
            "csrf_token": token,
            "network": "10.0.0.1/32",
            "note": "from the trending report",
            "next": "/staff/petitions/speak-out/trending",
        },
    )
    assert response.status_code == 303
    assert response.headers["Location"] == "/staff/petitions/speak-out/trending"
    assert "10.0.0.1/32" in staff_client.get("/staff/blocklists").get_data(as_text=True)


@pytest.mark.parametrize("app_config", [ALERTS])
def test_one_mail_per_offender_however_often_the_check_runs(
    app, make_petition, add, outbox, make_signature
):
    pid = make_petition()
    make_petition(slug="closed-one", state="closed")
    add(pid, 6, ip="10.0.0.1", domain="example.org", held=5)  # address over 5
    add(pid, 4, ip="10.0.0.2", domain="bots.example")  # under both
    add(pid, 4, ip="10.0.0.3", domain="bots.example")  # bots.example: 8, over
    add(pid, 9, ip=None, domain="gmail.com")  # ignored domain
    add(pid, 9, ip=None, domain="mx.hotmail.co.uk")  # a subdomain of an ignored one

    claimed = run_check(app)
    assert sorted(claimed) == [
        ("speak-out", "address", "10.0.0.1"),
        ("speak-out", "domain", "bots.example"),
    ]
    assert sorted(alerts(app)) == [("address", "10.0.0.1", 6, 5), ("domain", "bots.example", 8, 0)]
    mails = outbox()
    assert sorted(m["to"] for m in mails) == sorted(STAFF_TO)
    body = mails[0]["body"]
    assert mails[0]["subject"] == "Trend alert: 2 addresses and domains signing heavily (Speak out)"
    assert "client address 10.0.0.1: 6 signatures, 5 of them held" in body
    assert "email domain bots.example: 8 signatures, 0 of them held" in body
    assert "http://petition.test/staff/petitions/speak-out/signatures?ip=10.0.0.1" in body
    assert "http://petition.test/staff/petitions/speak-out/signatures?domain=bots.example" in body
    assert "http://petition.test/staff/petitions/speak-out/trending" in body
    assert "gmail" not in body and "hotmail" not in body

    # Again, and again after more signatures: nothing new for the same offenders today.
    assert run_check(app) == []
    add(pid, 10, ip="10.0.0.1", domain="bots.example")
    assert run_check(app) == []
    assert len(outbox()) == 2

    # A new offender later gets its own mail, alone.
    add(pid, 5, ip="10.0.0.9", domain="nine.example")
    assert run_check(app) == [("speak-out", "address", "10.0.0.9")]
    new = outbox()[2:]
    assert [m["subject"] for m in new] == [
        "Trend alert: 5 signatures from 10.0.0.9 (Speak out)"
    ] * 2
    assert "bots.example" not in new[0]["body"]

    # The next UTC day the same offender may be reported once more.
    tomorrow = utcnow() + dt.timedelta(days=1)
    add(pid, 6, ip="10.0.0.1", minutes_ago=-24 * 60)
    assert ("speak-out", "address", "10.0.0.1") in run_check(app, now=tomorrow)


@pytest.mark.parametrize("app_config", [{**ALERTS, "TREND_ALERT_TO": ""}])
def test_below_threshold_nothing_and_recipients_default_to_the_milestone_list(
    app, make_petition, add, outbox
):
    pid = make_petition()
    add(pid, 4, ip="10.0.0.1", domain="bots.example")
    assert run_check(app) == []
    assert outbox() == []
    app.config["MILESTONE_MAIL_TO"] = ["milestones@example.org"]
    add(pid, 1, ip="10.0.0.1", domain="bots.example")
    assert run_check(app) == [("speak-out", "address", "10.0.0.1")]
    assert [m["to"] for m in outbox()] == ["milestones@example.org"]


@pytest.mark.parametrize(
    "app_config",
    [
        {**ALERTS, "ABUSE_CHECKS": False},
        {**ALERTS, "TREND_ALERT_ADDRESS": 0, "TREND_ALERT_DOMAIN": 0},
    ],
)
def test_alerts_can_be_turned_off(app, make_petition, add, outbox):
    pid = make_petition()
    add(pid, 20, ip="10.0.0.1", domain="bots.example")
    assert run_check(app) == []
    assert alerts(app) == [] and outbox() == []


@pytest.mark.parametrize("app_config", [{**ALERTS, "TREND_CHECK_SECONDS": 3600}])
def test_the_worker_runs_the_check_at_its_configured_pace(app, make_petition, add, outbox):
    pid = make_petition()
    add(pid, 5, ip="10.0.0.1")
    last_run = {}
    with app.app_context():
        jobs.run_periodic(app, last_run)
    assert len(outbox()) == 2
    add(pid, 5, ip="10.0.0.2")
    last_run.clear()  # the registry would run it again; the app's own pace says not yet
    with app.app_context():
        jobs.run_periodic(app, last_run)
    assert len(outbox()) == 2
    app.extensions["trend_alerts"]["last"] -= 3600
    with app.app_context():
        jobs.run_periodic(app, {})
    assert len(outbox()) == 4


@pytest.mark.parametrize("app_config", [ALERTS])
def test_concurrent_checks_send_each_mail_once(app, make_petition, add, outbox, database_url):
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite serialises writers; the race matters on PostgreSQL")
    pid = make_petition()
    add(pid, 6, ip="10.0.0.1", domain="bots.example")
    add(pid, 3, ip="10.0.0.2", domain="bots.example")
    start = threading.Barrier(2, timeout=30)
    results, errors = [], []

    def worker():
        try:
            with app.app_context():
                start.wait()
                results.append(trending.check(app.config))
                db.session.remove()
        except Exception as exc:  # reported below, in the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not any(thread.is_alive() for thread in threads)
    assert errors == []
    assert sorted(c for claimed in results for c in claimed) == [
        ("speak-out", "address", "10.0.0.1"),
        ("speak-out", "domain", "bots.example"),
    ]
    assert len(alerts(app)) == 2
    assert sorted(m["to"] for m in outbox()) == sorted(STAFF_TO)
