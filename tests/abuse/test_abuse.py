"""Signing defences: tripped signatures are held (stored, not counted), never refused."""

import datetime as dt
import re
import time

import pytest
from sqlalchemy import select

from petition.abuse import defences as abuse
from petition.abuse import moderation
from petition.core.config import DEFAULTS
from petition.core.extensions import db
from petition.petitions.models import Signature
from tests.helpers import csrf_token, link

ADDRESS = "10.1.2.3"
# The production thresholds; conftest turns the per-address ones off for other tests.
LIMITS = {
    "SIGN_BURST_COUNT": 8,
    "SIGN_BURST_SECONDS": 120,
    "SIGN_SUSTAINED_COUNT": 40,
    "SIGN_SUSTAINED_SECONDS": 3600,
}


def rows(app):
    with app.app_context():
        found = db.session.execute(select(Signature).order_by(Signature.id)).scalars().all()
        db.session.expunge_all()
        return found


def count(client, slug="speak-out"):
    return client.get(f"/api/petitions/{slug}/count").get_json()["signature_count"]


def restore_all(app, ids):
    with app.app_context():
        changed = moderation.restore(ids, None, app.config)
        db.session.commit()
        return len(changed)


def from_address(client, address=ADDRESS):
    client.environ_base["REMOTE_ADDR"] = address
    return client


def normal_response(client, response):
    """What the supporter sees: status, Location and the page it leads to."""
    page = client.get(response.headers["Location"])
    return response.status_code, response.headers["Location"], page.get_data(as_text=True)


def test_defaults_are_documented_keys():
    assert {k: DEFAULTS[k] for k in LIMITS} == LIMITS
    assert DEFAULTS["SIGN_MIN_SECONDS"] == 2
    assert DEFAULTS["BLOCK_DISPOSABLE_EMAIL"] is True


@pytest.mark.parametrize("app_config", [{**LIMITS, "CONFIRMATION_REQUIRED": False}])
def test_a_flood_from_one_address_is_held_silently_and_restore_counts_it(
    app, client, make_petition, sign, outbox
):
    make_petition()
    from_address(client)
    seen = set()
    for i in range(40):
        response = sign(email=f"person{i}@example.org")
        seen.add(normal_response(client, response))
    # Every response is the normal one: nothing tells the flooder which were held.
    [(status, location, body)] = seen
    assert (status, location) == (303, "/petitions/speak-out/signed")
    assert "Thank you for signing" in body

    signatures = rows(app)
    assert len(signatures) == 40
    counted = [s for s in signatures if s.state == "confirmed"]
    held = [s for s in signatures if s.state == "fraudulent"]
    assert len(counted) == 8 and len(held) == 32
    assert all(s.id > max(c.id for c in counted) for s in held)
    assert held[0].moderation_reason == "held: 9 signatures from this address in 2 minutes"
    assert all(s.moderation_reason.startswith("held: ") for s in held)
    assert all(s.ip == ADDRESS for s in signatures)
    assert count(client) == 8
    # Every one got the usual mail.
    mails = outbox()
    assert sorted(m["to"] for m in mails) == sorted(s.email for s in signatures)
    assert all("Thank you for signing" in m["subject"] for m in mails)

    # Another address on the same petition is not affected.
    from_address(client, "10.7.7.7")
    sign(email="elsewhere@example.org")
    assert rows(app)[-1].state == "confirmed"
    assert count(client) == 9

    assert restore_all(app, [s.id for s in held]) == 32
    assert count(client) == 41
    assert all(s.state == "confirmed" and s.moderation_reason is None for s in rows(app))


@pytest.mark.parametrize("app_config", [{**LIMITS, "SIGN_SUSTAINED_COUNT": 12}])
def test_a_shared_address_at_a_human_pace_is_not_held(app, client, make_petition, sign):
    make_petition()
    from_address(client)
    for i in range(12):
        assert sign(email=f"colleague{i}@example.org").status_code == 303
        if i == 11:
            break
        # Five minutes pass before the next person at this address signs.
        with app.app_context():
            for row in db.session.execute(select(Signature)).scalars():
                row.created_at -= dt.timedelta(minutes=5)
            db.session.commit()
    assert [s.state for s in rows(app)] == ["pending"] * 12
    # The sustained limit still applies: 12 within the hour, so the 13th is held.
    sign(email="one-more@example.org")
    last = rows(app)[-1]
    assert last.state == "fraudulent"
    assert last.moderation_reason == "held: 13 signatures from this address in 1 hour"


@pytest.mark.parametrize("app_config", [LIMITS])
def test_held_person_confirming_sees_success_and_restore_counts_them(
    app, client, make_petition, sign, outbox
):
    make_petition()
    from_address(client)
    for i in range(9):
        sign(email=f"person{i}@example.org")
    held = rows(app)[-1]
    assert held.state == "fraudulent"
    mails = outbox()
    assert len(mails) == 9
    confirm_path = link(mails[-1]["body"], "confirm")
    normal_path = link(mails[0]["body"], "confirm")

    page = client.get(confirm_path)
    assert page.status_code == 200 and "Confirm my signature" in page.get_data(as_text=True)
    pressed = client.post(confirm_path, data={"csrf_token": csrf_token(client, confirm_path)})
    normal = client.post(normal_path, data={"csrf_token": csrf_token(client, normal_path)})
    assert pressed.status_code == normal.status_code == 200
    strip = re.compile(r"\d+ (person has|people have) signed")
    assert strip.sub("", pressed.get_data(as_text=True)) == strip.sub(
        "", normal.get_data(as_text=True)
    )
    assert "Your signature is confirmed" in pressed.get_data(as_text=True)
    again = client.post(confirm_path, data={"csrf_token": csrf_token(client, confirm_path)})
    assert "already confirmed" in again.get_data(as_text=True)

    held = rows(app)[-1]
    assert held.state == "fraudulent" and held.confirmed_at is not None
    assert count(client) == 1

    assert restore_all(app, [held.id]) == 1
    assert rows(app)[-1].state == "confirmed"
    assert count(client) == 2


@pytest.mark.parametrize("app_config", [LIMITS])
def test_restore_of_an_unconfirmed_hold_makes_it_pending(app, client, make_petition, sign):
    make_petition()
    from_address(client)
    for i in range(9):
        sign(email=f"person{i}@example.org")
    held = rows(app)[-1]
    assert held.state == "fraudulent" and held.confirmed_at is None
    assert restore_all(app, [held.id]) == 1
    assert rows(app)[-1].state == "pending"
    assert count(client) == 0


def test_the_form_carries_the_traps_without_inline_style(client, make_petition):
    make_petition()
    html = client.get("/petitions/speak-out").get_data(as_text=True)
    trap = re.search(r'<div class="hp" aria-hidden="true">.*?</div>', html, re.S).group(0)
    assert 'name="website"' in trap
    assert 'tabindex="-1"' in trap and 'autocomplete="off"' in trap
    assert "style=" not in trap
    assert re.search(r'name="t" type="hidden" value="[^"]+"', html)


def test_honeypot_filled_is_held(app, client, make_petition, sign, outbox):
    make_petition()
    baseline = normal_response(client, sign(email="real@example.org"))
    response = sign(email="bot@example.org", website="http://spam.example")
    assert normal_response(client, response) == baseline
    bot = rows(app)[-1]
    assert bot.state == "fraudulent"
    assert bot.moderation_reason == "held: hidden honeypot field was filled in"
    assert len(outbox()) == 2


def form_time_of(client):
    html = client.get("/petitions/speak-out").get_data(as_text=True)
    return re.search(r'name="t" type="hidden" value="([^"]+)"', html).group(1)


@pytest.mark.parametrize("app_config", [{"SIGN_MIN_SECONDS": 3}])
def test_too_fast_missing_or_forged_form_time_is_held(app, client, make_petition, sign, outbox):
    make_petition()
    early = abuse.form_time(app.config, now=time.time() - 10)
    assert sign(email="human@example.org", t=early).status_code == 303
    fast = sign(email="fast@example.org", t=form_time_of(client))
    forged = abuse.form_time({"SECRET_KEY": "not-our-key"}, now=time.time() - 10)
    sign(email="forged@example.org", t=forged)
    sign(email="missing@example.org")
    assert fast.status_code == 303
    by_email = {s.email: s for s in rows(app)}
    assert by_email["human@example.org"].state == "pending"
    assert by_email["fast@example.org"].state == "fraudulent"
    assert by_email["fast@example.org"].moderation_reason.startswith("held: form posted ")
    for email in ("forged@example.org", "missing@example.org"):
        assert by_email[email].state == "fraudulent"
        assert by_email[email].moderation_reason == "held: form time missing or forged"
    assert len(outbox()) == 4


@pytest.mark.parametrize("app_config", [{"SIGN_MIN_SECONDS": 3, "SIGN_FORM_MAX_SECONDS": 86400}])
def test_a_form_time_replayed_days_later_is_held(app, client, make_petition, sign, outbox):
    make_petition()
    sign(email="yesterday@example.org", t=abuse.form_time(app.config, now=time.time() - 80_000))
    sign(email="replay@example.org", t=abuse.form_time(app.config, now=time.time() - 3 * 86400))
    by_email = {s.email: s for s in rows(app)}
    assert by_email["yesterday@example.org"].state == "pending"
    replayed = by_email["replay@example.org"]
    assert replayed.state == "fraudulent" and replayed.held
    assert replayed.moderation_reason == "held: form posted 72 hours after it was shown"
    assert len(outbox()) == 2  # the held one is mailed like anyone else


@pytest.mark.parametrize("app_config", [{"BLOCKED_EMAIL_DOMAINS": "spam.example, junk.example"}])
def test_blocked_and_disposable_email_domains_are_held(app, client, make_petition, sign, outbox):
    make_petition()
    for email in ("a@spam.example", "b@mail.junk.example", "c@mailinator.com", "d@example.org"):
        assert sign(email=email).status_code == 303
    by_email = {s.email: s for s in rows(app)}
    assert by_email["a@spam.example"].moderation_reason == (
        "held: email domain spam.example is blocked"
    )
    assert by_email["b@mail.junk.example"].moderation_reason == (
        "held: email domain junk.example is blocked"
    )
    assert by_email["c@mailinator.com"].moderation_reason == (
        "held: disposable email domain mailinator.com"
    )
    assert by_email["d@example.org"].state == "pending"
    assert [s.state for s in by_email.values()].count("fraudulent") == 3
    assert len(outbox()) == 4


@pytest.mark.parametrize("app_config", [{"BLOCK_DISPOSABLE_EMAIL": "0"}])
def test_the_disposable_list_can_be_turned_off(app, make_petition, sign):
    make_petition()
    sign(email="c@mailinator.com")
    assert rows(app)[0].state == "pending"


@pytest.mark.parametrize("app_config", [{"BLOCKED_NETWORKS": "10.9.0.0/16, 2001:db8::/32"}])
def test_blocked_networks_are_held(app, client, make_petition, sign):
    make_petition()
    from_address(client, "10.9.4.5")
    sign(email="blocked@example.org")
    from_address(client, "2001:db8::1")
    sign(email="blocked6@example.org")
    from_address(client, "10.10.0.1")
    sign(email="fine@example.org")
    by_email = {s.email: s for s in rows(app)}
    assert by_email["blocked@example.org"].moderation_reason == (
        "held: address 10.9.4.5 is in blocked network 10.9.0.0/16"
    )
    assert by_email["blocked6@example.org"].state == "fraudulent"
    assert by_email["fine@example.org"].state == "pending"


@pytest.mark.parametrize(
    "app_config",
    [
        {
            **LIMITS,
            "ABUSE_CHECKS": False,
            "SIGN_MIN_SECONDS": 3,
            "BLOCKED_EMAIL_DOMAINS": ["spam.example"],
            "BLOCKED_NETWORKS": ["10.0.0.0/8"],
        }
    ],
)
def test_abuse_checks_off_turns_every_rule_off(app, client, make_petition, sign):
    make_petition()
    from_address(client)
    for i in range(12):
        sign(email=f"p{i}@spam.example", website="filled", t="forged")
    sign(email="x@mailinator.com")
    assert [s.state for s in rows(app)] == ["pending"] * 13


def press(client, path):
    return client.post(path, data={"csrf_token": csrf_token(client, path)})


@pytest.mark.parametrize(
    "app_config", [{"CONFIRMATION_REQUIRED": True}, {"CONFIRMATION_REQUIRED": False}]
)
def test_signing_again_after_withdrawing_goes_through_the_defences(
    app, client, make_petition, sign, outbox
):
    confirm_first = app.config["CONFIRMATION_REQUIRED"]
    make_petition()
    sign(email="ana@example.org")
    if confirm_first:
        assert press(client, link(outbox()[-1]["body"], "confirm")).status_code == 200
    assert count(client) == 1
    assert press(client, link(outbox()[-1]["body"], "withdraw")).status_code == 200
    assert count(client) == 0

    # Signing again with a bot trap tripped: held like a new signature, not counted.
    response = sign(email="ana@example.org", website="http://spam.example")
    assert response.status_code == 303
    [row] = rows(app)
    assert row.state == "fraudulent"
    assert row.moderation_reason == "held: hidden honeypot field was filled in"
    assert row.withdrawn_at is None
    assert count(client) == 0
    # The person still gets the mail a normal signer would, and confirming looks like success.
    mail = outbox()[-1]
    if confirm_first:
        assert mail["subject"].startswith("Please confirm your signature")
        page = press(client, link(mail["body"], "confirm"))
        assert "Your signature is confirmed" in page.get_data(as_text=True)
        assert count(client) == 0
    else:
        assert mail["subject"].startswith("Thank you for signing")
    assert rows(app)[0].confirmed_at is not None

    assert restore_all(app, [row.id]) == 1
    assert rows(app)[0].state == "confirmed"
    assert count(client) == 1
