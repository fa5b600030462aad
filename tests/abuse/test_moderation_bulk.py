"""Bulk moderation in the staff area: the search filters, the preview count, the bulk job."""

import datetime as dt
import html
import ipaddress
import json
import re

import pytest
from sqlalchemy import select, update

from petition.abuse import bulk as moderation_jobs
from petition.core import sql
from petition.core.db import utcnow
from petition.core.extensions import cache, db
from petition.jobs import runner as jobs
from petition.jobs.models import Job
from petition.petitions import counting
from petition.petitions.models import Milestone, Petition, Signature
from petition.staff import auth
from petition.staff.models import AuditLog
from tests.helpers import STAFF_PASSWORD as PASSWORD
from tests.helpers import csrf_token
from tests.helpers import staff_login as login

SLUG = "speak-out"
LIST = f"/staff/petitions/{SLUG}/signatures"
BULK = f"{LIST}/bulk"


@pytest.fixture
def petition_id(make_petition):
    return make_petition(milestones=((50, "Fifty"), (1000, "A thousand")))


def at(text):
    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC)


@pytest.fixture
def add(app, petition_id):
    """Insert signatures as given (ip, state, times, reason...), then recount."""

    def do(*rows):
        with app.app_context():
            now = utcnow()
            for row in rows:
                row = dict(row)
                email = row.pop("email")
                state = row.setdefault("state", "confirmed")
                row.setdefault("name", email.split("@")[0])
                row.setdefault("country", "FR")
                row.setdefault("created_at", now)
                if state == "confirmed":
                    row.setdefault("confirmed_at", row["created_at"])
                local, domain = email.lower().split("@")
                if domain == "googlemail.com":
                    domain = "gmail.com"
                db.session.add(
                    Signature(
                        petition_id=petition_id,
                        email=email,
                        canonical_email=f"{local}@{domain}",
                        mail_count=1,
                        mail_window_start=now,
                        **row,
                    )
                )
            db.session.flush()
            counting.recount(db.session.get(Petition, petition_id))
            db.session.commit()

    return do


def names(response):
    body = response.get_data(as_text=True)
    return sorted(
        html.unescape(m)
        for m in re.findall(r'<tr id="signature-\d+"[^>]*>\s*<td dir="auto">([^<]*)', body)
    )


def public_count(client):
    return client.get(f"/api/petitions/{SLUG}/count").get_json()["signature_count"]


def settle(app):
    """Fold the count journal, as the periodic runner does, so milestones follow."""
    with app.app_context():
        counting.fold(app.config)


def reached(app, petition_id):
    with app.app_context():
        rows = db.session.execute(
            select(Milestone.count, Milestone.reached_at).where(
                Milestone.petition_id == petition_id
            )
        ).all()
        return {count: when is not None for count, when in rows}


def states(app):
    with app.app_context():
        return dict(db.session.execute(select(Signature.name, Signature.state)).all())


def run_jobs(app):
    with app.app_context():
        ran = 0
        while jobs.run_one(app):
            ran += 1
        return ran


def the_job(app):
    with app.app_context():
        job = db.session.execute(select(Job).order_by(Job.id.desc()).limit(1)).scalar_one()
        return {
            "id": job.id,
            "state": job.state,
            "progress": job.progress,
            "total": job.total,
            "message": job.message,
            "params": json.loads(job.params),
            "result": json.loads(job.result) if job.result else None,
        }


def bulk(client, token=True, **data):
    if token:
        data.setdefault("csrf_token", csrf_token(client, LIST))
    return client.post(BULK, data=data)


# --- the filters ----------------------------------------------------------------------------

PEOPLE = [
    {"email": "a1@example.org", "name": "V4 A1", "ip": "198.51.100.7"},
    {"email": "a2@mail.example.org", "name": "V4 A2", "ip": "198.51.100.200"},
    {"email": "b@notexample.org", "name": "V4 B", "ip": "198.51.101.1"},
    {"email": "m@example.org.uk", "name": "V4 mapped", "ip": "::ffff:198.51.100.9"},
    {"email": "v6a@EXAMPLE.net", "name": "V6 A", "ip": "2001:db8:1::5"},
    {"email": "v6b@example.net", "name": "V6 B", "ip": "2001:db8:2::5"},
    {"email": "s@example.net", "name": "V6 scoped", "ip": "fe80::1%eth0"},
    {"email": "n@example.net", "name": "No address", "ip": None},
    {"email": "g@example.net", "name": "Garbled address", "ip": "999.1.1.1"},
    {"email": "eva@googlemail.com", "name": "Ева Смирнова", "ip": None},
    {"email": "john@example.com", "name": "John Q. Smithson", "ip": None},
    {"email": "pct@example.com", "name": "Fatima 100%_sure", "ip": None},
]
TIMES = {
    "V4 A1": "2025-03-01T09:59:59",
    "V4 A2": "2025-03-01T10:00:00",
    "V4 B": "2025-03-01T10:30:00",
    "V4 mapped": "2025-03-01T11:00:00",
    "V6 A": "2025-03-01T11:00:59",
    "V6 B": "2025-03-02T00:00:00",
}


@pytest.fixture
def people(add):
    rows = []
    for person in PEOPLE:
        row = dict(person)
        row["created_at"] = at(TIMES.get(person["name"], "2025-02-01T00:00:00"))
        rows.append(row)
    add(
        *rows,
        {
            "email": "held@example.com",
            "name": "Held One",
            "state": "fraudulent",
            "moderation_reason": "held: 12 signatures from 203.0.113.9 in 60 s",
            "held": True,
            "created_at": at("2025-01-01T00:00:00"),
        },
        {
            "email": "fake@example.com",
            "name": "Staff Fraud",
            "state": "fraudulent",
            "moderation_reason": "fake name, staff verdict",
            "created_at": at("2025-01-01T00:00:00"),
        },
    )


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("ip=198.51.100.0/24", ["V4 A1", "V4 A2", "V4 mapped"]),
        ("ip=198.51.100.7", ["V4 A1"]),
        ("ip=198.51.100.7/24", ["V4 A1", "V4 A2", "V4 mapped"]),  # host bits are forgiven
        ("ip=198.51.100.128/25", ["V4 A2"]),
        ("ip=::ffff:198.51.100.0/120", ["V4 A1", "V4 A2", "V4 mapped"]),
        ("ip=0.0.0.0/0", ["V4 A1", "V4 A2", "V4 B", "V4 mapped"]),
        ("ip=2001:db8::/32", ["V6 A", "V6 B"]),
        ("ip=2001:db8:1::/48", ["V6 A"]),
        ("ip=2001:DB8:1:0::5", ["V6 A"]),
        ("ip=fe80::/10", ["V6 scoped"]),
        ("ip=203.0.113.0/24", []),
        ("domain=example.org", ["V4 A1", "V4 A2"]),  # and subdomains; not notexample.org
        ("domain=@EXAMPLE.ORG", ["V4 A1", "V4 A2"]),
        ("domain=mail.example.org", ["V4 A2"]),
        ("domain=example.net", ["Garbled address", "No address", "V6 A", "V6 B", "V6 scoped"]),
        ("domain=googlemail.com", ["Ева Смирнова"]),  # canonical emails say gmail.com
        ("domain=org.uk", ["V4 mapped"]),
        ("name=smith", ["John Q. Smithson"]),
        ("name=JOHN*son", ["John Q. Smithson"]),
        ("name=СМИРН", ["Ева Смирнова"]),  # case folds beyond ASCII, on SQLite too
        ("name=100%25_", ["Fatima 100%_sure"]),  # % and _ are literal
        ("name=v4*a", ["V4 A1", "V4 A2", "V4 mapped"]),  # "a" in "mapped" too
        ("since=2025-03-01T10:00&until=2025-03-01T11:00", ["V4 A2", "V4 B", "V4 mapped", "V6 A"]),
        ("since=2025-03-01%2010:00:00&until=2025-03-01%2010:59:59", ["V4 A2", "V4 B"]),
        ("since=2025-03-01&until=2025-03-01", ["V4 A1", "V4 A2", "V4 B", "V4 mapped", "V6 A"]),
        ("since=2025-03-02", ["V6 B"]),
        ("state=held", ["Held One"]),
        ("state=fraudulent", ["Held One", "Staff Fraud"]),
        ("state=held&ip=198.51.100.0/24", []),
        ("ip=198.51.100.0/24&domain=example.org&name=a1", ["V4 A1"]),
    ],
)
def test_each_filter_finds_its_rows_and_no_others(client, staff, people, query, expected):
    response = client.get(f"{LIST}?{query}")
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert 'class="flash error"' not in body
    assert names(response) == sorted(expected)
    word = "signature matches" if len(expected) == 1 else "signatures match"
    assert f"<strong>{len(expected)} {word}</strong>" in body


def test_export_uses_the_same_filters(client, staff, people):
    body = client.get(f"{LIST.removesuffix('/signatures')}/signatures.csv?ip=2001:db8::/32")
    rows = body.get_data(as_text=True).splitlines()[1:]
    assert sorted(r.split(",")[0] for r in rows) == ["V6 A", "V6 B"]


ADDRESSES = [
    "10.0.0.1",
    "10.0.0.255",
    "10.0.1.0",
    "10.1.0.0",
    "11.0.0.0",
    "0.0.0.0",  # noqa: S104  (an address to match, not one to bind)
    "255.255.255.255",
    "::",
    "::1",
    "::ffff:10.0.0.7",
    "::FFFF:10.0.0.8",
    "::ffff:a00:9",  # the same address as ::ffff:10.0.0.9, written in hex: IPv6 here
    "2001:db8::",
    "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff",
    "2001:0DB8:0000:0000:0000:0000:0000:0001",
    "2001:db9::1",
    "fe80::1%eth0",
    "fe80::1%25",
    "1:2:3:4:5:6:7::",
    "010.0.0.1",
    "10.0.0",
    "1:2:3:4:5:6:7:8:9",
    ":::",
    "",
    "garbage",
    "1.2.3.4/24",
    None,
]
NETWORKS = [
    "10.0.0.0/24",
    "10.0.0.0/8",
    "0.0.0.0/0",
    "::/0",
    "::/127",
    "2001:db8::/32",
    "fe80::/10",
    "::ffff:0:0/96",
    "1:2:3:4:5:6:7:0/128",
]


def test_sql_range_match_agrees_with_python_on_odd_stored_values(app, add, petition_id):
    add(*[{"email": f"p{i}@example.org", "ip": ip} for i, ip in enumerate(ADDRESSES)])
    with app.app_context():
        for network in NETWORKS:
            found = set(
                db.session.execute(
                    select(Signature.ip).where(sql.ip_in_network(Signature.ip, network))
                ).scalars()
            )
            expected = {ip for ip in ADDRESSES if sql.address_in_network(ip, network)}
            assert found == expected, network
            # The Python side is ipaddress's own answer for every spelling it reads.
            for ip in expected:
                text = ip.split("%")[0]
                mapped = re.match(r"(?i)::ffff:(\d+\.\d+\.\d+\.\d+)$", text)
                address = ipaddress.ip_address(mapped.group(1) if mapped else text)
                assert address in ipaddress.ip_network(network)
        assert sql.address_in_network("10.0.0.1", "10.0.0.0/24") == 1
        assert sql.address_in_network("::ffff:10.0.0.1", "10.0.0.0/24") == 1
        assert sql.address_in_network(None, "10.0.0.0/24") == 0


@pytest.mark.parametrize(
    "query",
    [
        "ip=300.1.1.1",
        "ip=10.0.0.0/33",
        "ip=2001:db8::/129",
        "ip=not-an-address",
        "ip=::ffff:10.0.0.0/64",
        "domain=exa mple.org",
        "domain=-bad-.org",
        "domain=" + "a" * 300 + ".org",
        "since=2025-13-01",
        "since=yesterday",
        "since=2025-02-30T10:00",
        "until=9999-12-31",
        "until=2025-01-01T25:00",
        "since=2025-03-02&until=2025-03-01",
    ],
)
def test_bad_filters_are_a_form_error_not_a_500(client, staff, people, query):
    response = client.get(f"{LIST}?{query}")
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert 'class="flash error"' in body
    # The bad filter is left out of the list, and no bulk action is offered on it.
    assert 'name="action"' not in body
    export = client.get(f"{LIST}.csv?{query}")
    assert export.status_code == 200


def test_preview_shows_the_count_and_the_bulk_actions(client, staff, people):
    body = client.get(f"{LIST}?ip=198.51.100.0/24").get_data(as_text=True)
    assert "<strong>3 signatures match</strong>" in body
    assert "Invalidate all 3" in body
    assert 'name="expected" value="3"' in body
    assert 'type="hidden" name="ip" value="198.51.100.0/24"' in body
    # Nothing to restore among these.
    assert "Restore all" not in body and "Release all" not in body
    held = client.get(f"{LIST}?state=held").get_data(as_text=True)
    assert "Release all 1" in held and "Invalidate all" not in held
    # The per-row button of a held signature releases it.
    assert re.search(r'<button type="submit" class="secondary">Release</button>', held)
    # Without a filter the page counts but offers no "all".
    everything = client.get(LIST).get_data(as_text=True)
    assert "<strong>14 signatures match</strong>" in everything
    assert 'name="action"' not in everything


# --- the bulk job -----------------------------------------------------------------------------


@pytest.fixture
def flood(add):
    """30 real signatures, 40 from one /24 within a minute, and one from the next /24."""
    add(
        *[
            {"email": f"real{i}@example.org", "name": f"Real {i}", "ip": f"192.0.2.{i}"}
            for i in range(30)
        ],
        *[
            {
                "email": f"bot{i}@example.com",
                "name": f"Bot {i}",
                "ip": f"203.0.113.{i + 1}",
                "country": "US",
            }
            for i in range(40)
        ],
        {"email": "neighbour@example.com", "name": "Neighbour", "ip": "203.0.114.1"},
    )


def test_bulk_invalidate_of_a_flood(app, client, staff, petition_id, add, flood, monkeypatch):
    monkeypatch.setattr(moderation_jobs, "BATCH", 7)
    dropped = []
    monkeypatch.setattr(cache, "delete_many", lambda *keys: dropped.append(keys))
    settle(app)
    assert public_count(client) == 71
    assert reached(app, petition_id) == {50: True, 1000: False}

    page = client.get(f"{LIST}?ip=203.0.113.0/24").get_data(as_text=True)
    assert "<strong>40 signatures match</strong>" in page
    response = bulk(
        client,
        action="invalidate",
        reason=" flood   from one /24 ",
        expected="40",
        ip="203.0.113.0/24",
    )
    assert response.status_code == 303
    assert response.headers["Location"] == f"{LIST}?ip=203.0.113.0/24"
    # A signature arriving after the button was pressed is not swept in.
    add({"email": "late@example.com", "name": "Late Bot", "ip": "203.0.113.250", "country": "US"})

    waiting = client.get(response.headers["Location"]).get_data(as_text=True)
    job_url = re.search(r'data-job-url="([^"]+)"', waiting).group(1)
    assert "<progress" in waiting and "staff-jobs.js" in waiting
    assert client.get(job_url).get_json()["state"] == "queued"

    dropped.clear()
    assert run_jobs(app) == 1
    job = the_job(app)
    assert job["state"] == "done", job["message"]
    assert job["progress"] == job["total"] == 40
    assert job["result"] == {
        "action": "invalidate",
        "expected": 40,
        "matched": 40,
        "changed": 40,
        "skipped": 0,
    }
    status = client.get(job_url).get_json()
    assert status["state"] == "done" and status["progress"] == 40
    # Each committed batch dropped the cached public count.
    assert len(dropped) == 6 and all(f"snapshot:{SLUG}" in keys for keys in dropped)

    settle(app)
    assert public_count(client) == 32  # 30 real, the neighbour, the late one
    assert reached(app, petition_id) == {50: False, 1000: False}
    body = client.get(f"/api/petitions/{SLUG}").get_json()
    assert body["signatures_by_country"] == {"FR": 31, "US": 1}
    after = states(app)
    assert {after[f"Bot {i}"] for i in range(40)} == {"invalidated"}
    assert {after[f"Real {i}"] for i in range(30)} == {"confirmed"}
    assert after["Neighbour"] == after["Late Bot"] == "confirmed"
    with app.app_context():
        reasons = set(
            db.session.execute(
                select(Signature.moderation_reason).where(Signature.state == "invalidated")
            ).scalars()
        )
        assert reasons == {"flood from one /24"}
        actions = db.session.execute(select(AuditLog.action)).scalars().all()
        assert actions.count("signatures.bulk_invalidate") == 1
        assert actions.count("signatures.invalidate") == 6  # one per batch
        assert actions.count("signatures.bulk_invalidate_done") == 1

    finished = client.get(f"{LIST}?ip=203.0.113.0/24").get_data(as_text=True)
    assert "data-job-url" not in finished
    assert "40 matched (40 when previewed): 40 changed, 0 skipped." in finished

    # The worker died after its last batch: the job is claimed and run again. Nothing changes.
    with app.app_context():
        db.session.execute(
            update(Job)
            .where(Job.id == job["id"])
            .values(state="running", claimed_until=utcnow() - dt.timedelta(seconds=1))
        )
        db.session.commit()
    assert run_jobs(app) == 1
    again = the_job(app)
    assert again["state"] == "done"
    assert again["result"]["changed"] == 0 and again["result"]["skipped"] == 40
    settle(app)
    assert public_count(client) == 32
    assert states(app) == after


@pytest.mark.parametrize("app_config", [{"MILESTONE_MAIL_TO": "team@example.org"}])
def test_bulk_release_of_held_signatures(app, client, staff, petition_id, add, outbox):
    add(
        *[{"email": f"real{i}@example.org"} for i in range(49)],
        {
            "email": "held-confirmed@example.com",
            "name": "Held Confirmed",
            "state": "fraudulent",
            "confirmed_at": utcnow(),
            "moderation_reason": "held: disposable domain",
            "held": True,
        },
        {
            "email": "held-pending@example.com",
            "name": "Held Pending",
            "state": "fraudulent",
            "moderation_reason": "held: honeypot",
            "held": True,
        },
        {
            "email": "staff-fraud@example.com",
            "name": "Staff Fraud",
            "state": "fraudulent",
            "confirmed_at": utcnow(),
            "moderation_reason": "fake, says staff",
        },
        {
            "email": "invalid@example.com",
            "name": "Invalidated",
            "state": "invalidated",
            "confirmed_at": utcnow(),
            "moderation_reason": "duplicate",
        },
    )
    settle(app)
    assert public_count(client) == 49 and reached(app, petition_id)[50] is False

    page = client.get(f"{LIST}?state=held").get_data(as_text=True)
    assert "<strong>2 signatures match</strong>" in page and "Release all 2" in page
    response = bulk(client, action="restore", expected="2", state="held")
    assert response.status_code == 303
    assert run_jobs(app) == 1
    job = the_job(app)
    assert job["state"] == "done", job["message"]
    assert job["result"]["changed"] == 2 and job["progress"] == 2
    after = states(app)
    assert after["Held Confirmed"] == "confirmed"
    assert after["Held Pending"] == "pending"
    assert after["Staff Fraud"] == "fraudulent" and after["Invalidated"] == "invalidated"
    settle(app)
    assert public_count(client) == 50
    assert reached(app, petition_id)[50] is True
    assert any("Fifty" in m["subject"] for m in outbox())
    # Released rows no longer match "held": running it again finds nothing.
    assert "<strong>0 signatures match</strong>" in client.get(f"{LIST}?state=held").get_data(
        as_text=True
    )


def test_the_job_records_the_actual_number_when_it_changed(app, client, staff, flood):
    bulk(client, action="restore", expected="3", ip="203.0.113.0/24")
    assert run_jobs(app) == 1
    result = the_job(app)["result"]
    # Previewed as 3; found 40, none of them restorable.
    assert result == {
        "action": "restore",
        "expected": 3,
        "matched": 40,
        "changed": 0,
        "skipped": 40,
    }


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"action": "invalidate", "reason": "  ", "ip": "203.0.113.0/24"}, "give a reason"),
        ({"action": "invalidate", "reason": "x"}, "at least one filter"),
        ({"action": "invalidate", "reason": "x", "ip": "203.0.113.0/99"}, "Correct the filters"),
        ({"action": "drop-table", "ip": "203.0.113.0/24"}, "not understood"),
        ({"action": "restore", "ip": "203.0.113.0/24", "expected": "lots"}, "not understood"),
    ],
)
def test_a_bulk_request_that_cannot_run_changes_nothing(app, client, staff, flood, data, message):
    response = bulk(client, **data)
    assert response.status_code == 303
    assert message in client.get(response.headers["Location"]).get_data(as_text=True)
    with app.app_context():
        assert db.session.execute(select(Job.id)).first() is None


def test_bulk_needs_a_csrf_token(app, client, staff, flood):
    response = bulk(client, token=False, action="invalidate", reason="x", ip="203.0.113.0/24")
    assert response.status_code == 400
    with app.app_context():
        assert db.session.execute(select(Job.id)).first() is None


def test_logged_out_is_sent_to_login(app, client, flood):
    response = client.get(f"{LIST}?ip=203.0.113.0/24")
    assert response.status_code == 302 and response.headers["Location"].startswith("/staff/login")
    token = csrf_token(client, "/staff/login")
    response = client.post(
        BULK,
        data={"csrf_token": token, "action": "invalidate", "reason": "x", "ip": "203.0.113.0/24"},
    )
    assert response.status_code == 302 and response.headers["Location"].startswith("/staff/login")
    with app.app_context():
        assert db.session.execute(select(Job.id)).first() is None


def test_admins_may_act_in_bulk_too(app, client, flood):
    with app.app_context():
        auth.create_staff("admin@example.org", PASSWORD, "admin")
        db.session.commit()
    assert login(client, "admin@example.org").status_code == 303
    response = bulk(client, action="invalidate", reason="flood", ip="203.0.113.0/24")
    assert response.status_code == 303
    assert run_jobs(app) == 1
    assert the_job(app)["result"]["changed"] == 40


def test_one_held_signature_is_released_from_its_row(app, client, staff, people):
    with app.app_context():
        held = db.session.execute(
            select(Signature.id).where(Signature.name == "Held One")
        ).scalar_one()
    response = client.post(
        f"{LIST}/{held}/restore", data={"csrf_token": csrf_token(client, LIST), "next": LIST}
    )
    assert response.status_code == 303
    assert "Signature released: Held One." in client.get(LIST).get_data(as_text=True)
    assert states(app)["Held One"] == "pending"
    assert states(app)["Staff Fraud"] == "fraudulent"
