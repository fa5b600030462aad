"""Passwords change, and a change (or a deactivation) ends the account's other sessions."""

import json

import pytest
from sqlalchemy import select
from werkzeug.security import check_password_hash

from petition.core.extensions import db
from petition.staff.models import AuditLog, Staff
from tests.helpers import ADMIN, CAMPAIGNER, csrf_token, staff_post
from tests.helpers import STAFF_PASSWORD as PASSWORD
from tests.helpers import staff_login as login

NEW_PASSWORD = "a brand new passphrase"


def logged_in(app, email, password=PASSWORD):
    """A new client (a browser of its own) with a session of this account."""
    client = app.test_client()
    assert login(client, email, password).status_code == 303
    assert client.get("/staff/").status_code == 200
    return client


def is_logged_in(client):
    response = client.get("/staff/")
    assert response.status_code in (200, 302), response.status_code
    if response.status_code == 302:
        assert response.headers["Location"].startswith("/staff/login")
    return response.status_code == 200


def row(app, email):
    with app.app_context():
        staff = db.session.execute(select(Staff).where(Staff.email == email)).scalar_one()
        return {
            "hash": staff.password_hash,
            "version": staff.session_version,
            "active": staff.active,
        }


def entries(app):
    with app.app_context():
        return [
            (e.action, e.staff_email, json.loads(e.detail))
            for e in db.session.execute(select(AuditLog).order_by(AuditLog.id)).scalars()
            if e.action not in ("login", "logout")
        ]


def change(client, current=PASSWORD, new=NEW_PASSWORD, repeat=None, **extra):
    data = {"current_password": current, "new_password": new, "repeat_password": repeat or new}
    data.update(extra)
    return staff_post(client, "/staff/password", **data)


def set_session_id(client, value):
    with client.session_transaction() as session:
        session["_user_id"] = value


# --- one's own password --------------------------------------------------------------------------


def test_a_change_keeps_this_session_and_ends_the_others(app, accounts):
    here = logged_in(app, CAMPAIGNER)
    elsewhere = logged_in(app, CAMPAIGNER)
    admin = logged_in(app, ADMIN)

    page = here.get("/staff/password")
    assert page.status_code == 200
    assert 'name="current_password"' in page.get_data(as_text=True)
    response = change(here)
    assert response.status_code == 303 and response.headers["Location"] == "/staff/"
    assert "Your password is changed" in here.get("/staff/").get_data(as_text=True)
    assert is_logged_in(here)
    assert not is_logged_in(elsewhere)
    assert is_logged_in(admin)  # another account's sessions are untouched

    assert login(app.test_client(), CAMPAIGNER, PASSWORD).status_code == 400
    assert login(app.test_client(), CAMPAIGNER, NEW_PASSWORD).status_code == 303
    assert row(app, CAMPAIGNER)["version"] == 1
    assert entries(app)[-1] == ("staff.password", CAMPAIGNER, {})
    assert NEW_PASSWORD not in json.dumps(entries(app))


def test_the_staff_header_links_to_the_password_page(app, accounts):
    page = logged_in(app, CAMPAIGNER).get("/staff/").get_data(as_text=True)
    assert 'href="/staff/password"' in page


def test_a_wrong_current_password_changes_nothing(app, accounts):
    here = logged_in(app, CAMPAIGNER)
    elsewhere = logged_in(app, CAMPAIGNER)
    before, audit_before = row(app, CAMPAIGNER), entries(app)
    response = change(here, current="not my password at all")
    assert response.status_code == 400
    assert "That is not your current password; nothing was changed." in response.get_data(
        as_text=True
    )
    assert row(app, CAMPAIGNER) == before
    assert entries(app) == audit_before
    assert is_logged_in(here) and is_logged_in(elsewhere)
    assert login(app.test_client(), CAMPAIGNER, PASSWORD).status_code == 303


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"new": "eleven char", "repeat": "eleven char"}, "Use at least 12 characters."),
        ({"repeat": NEW_PASSWORD + "!"}, "The two new passwords differ."),
        ({"new": PASSWORD}, "Choose a password different from the current one."),
        ({"current": ""}, "Please enter your current password."),
        ({"new": "", "repeat": ""}, "Please choose a new password."),
    ],
)
def test_an_unusable_new_password_changes_nothing(app, accounts, fields, message):
    here = logged_in(app, CAMPAIGNER)
    before, audit_before = row(app, CAMPAIGNER), entries(app)
    response = change(here, **fields)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert row(app, CAMPAIGNER) == before
    assert entries(app) == audit_before


def test_a_change_without_the_csrf_token_is_refused(app, accounts):
    here = logged_in(app, CAMPAIGNER)
    before = row(app, CAMPAIGNER)
    response = here.post(
        "/staff/password",
        data={
            "current_password": PASSWORD,
            "new_password": NEW_PASSWORD,
            "repeat_password": NEW_PASSWORD,
        },
    )
    assert response.status_code == 400
    assert row(app, CAMPAIGNER) == before
    assert entries(app) == []


def test_the_password_page_needs_a_login(app, accounts):
    client = app.test_client()
    assert client.get("/staff/password").status_code == 302
    response = client.post(
        "/staff/password",
        data={
            "csrf_token": csrf_token(client, "/staff/login"),
            "current_password": PASSWORD,
            "new_password": NEW_PASSWORD,
            "repeat_password": NEW_PASSWORD,
        },
    )
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/staff/login")
    assert row(app, CAMPAIGNER)["version"] == 0


@pytest.mark.parametrize(
    "app_config",
    [
        {
            "LOGIN_LIMIT_PER_ACCOUNT": "3 per 10 minutes",
            "LOGIN_LIMIT_PER_ADDRESS": "100 per 10 minutes",
        }
    ],
)
def test_guessing_the_current_password_is_throttled_per_account(app, accounts):
    stolen = logged_in(app, CAMPAIGNER)
    statuses = [change(stolen, current=f"guess number {i}!").status_code for i in range(3)]
    assert statuses == [400, 400, 400]
    assert change(stolen, current="guess number 4!").status_code == 429
    # Another session of the account counts against the same budget, the right password too.
    assert change(logged_in(app, CAMPAIGNER)).status_code == 429
    assert row(app, CAMPAIGNER)["version"] == 0
    # Another account is not locked out by it.
    assert change(logged_in(app, ADMIN)).status_code == 303


# --- sessions: versions, deactivation, old and unreadable ids ------------------------------------


def test_reactivation_does_not_bring_back_a_session_from_before_the_deactivation(app, accounts):
    admin = logged_in(app, ADMIN)
    campaigner = logged_in(app, CAMPAIGNER)
    assert staff_post(admin, "/staff/accounts/2/deactivate").status_code == 303
    assert not is_logged_in(campaigner)
    assert staff_post(admin, "/staff/accounts/2/reactivate").status_code == 303
    state = row(app, CAMPAIGNER)
    assert (state["active"], state["version"]) == (True, 2)
    assert not is_logged_in(campaigner)
    # Logging in again works, with the same password.
    assert login(campaigner, CAMPAIGNER).status_code == 303
    assert is_logged_in(campaigner)


def test_a_role_change_keeps_the_sessions(app, accounts):
    admin = logged_in(app, ADMIN)
    campaigner = logged_in(app, CAMPAIGNER)
    assert staff_post(admin, "/staff/accounts/2/role", role="admin").status_code == 303
    assert campaigner.get("/staff/accounts").status_code == 200
    assert row(app, CAMPAIGNER)["version"] == 0


def test_a_session_holds_the_account_and_its_version(app, accounts):
    client = logged_in(app, CAMPAIGNER)
    with client.session_transaction() as session:
        assert session["_user_id"] == "2:0"


def test_a_session_from_before_versions_lasts_until_the_first_bump(app, accounts):
    """An upgrade logs nobody out: a session holding only "<id>" is read as version 0."""
    admin = logged_in(app, ADMIN)
    legacy = app.test_client()
    set_session_id(legacy, "2")
    assert is_logged_in(legacy)
    assert staff_post(admin, "/staff/accounts/2/password", password=NEW_PASSWORD).status_code == 303
    assert not is_logged_in(legacy)
    set_session_id(legacy, "2")
    assert not is_logged_in(legacy)


@pytest.mark.parametrize(
    "value",
    [
        "x:y",
        "1:2:3",
        "",
        "2:",
        ":0",
        "2:0:",
        " 2:0",
        "2:0\n",
        "2:-1",
        "-2:0",
        "+2:0",
        "2_0",
        "0:0",
        "2:1",
        "99:0",
        "99999999999999999999:0",
        "2:99999999999999999999",
        "\u0662:0",  # an Arabic-Indic two, which int() would take
        "None",
        2,
        ["2"],
        {"id": 2},
    ],
)
def test_an_unreadable_session_id_is_simply_not_logged_in(app, accounts, value):
    client = logged_in(app, CAMPAIGNER)
    set_session_id(client, value)
    assert not is_logged_in(client)
    assert client.get("/").status_code == 200
    # The login page is served, and logging in replaces the id.
    assert client.get("/staff/login").status_code == 200
    assert login(client, CAMPAIGNER).status_code == 303
    assert is_logged_in(client)


# --- an admin resets another account's password --------------------------------------------------


def test_an_admin_resets_a_password(app, accounts):
    admin = logged_in(app, ADMIN)
    campaigner = logged_in(app, CAMPAIGNER)
    accounts_page = admin.get("/staff/accounts").get_data(as_text=True)
    assert 'href="/staff/accounts/2/password"' in accounts_page
    assert 'href="/staff/accounts/1/password"' not in accounts_page
    page = admin.get("/staff/accounts/2/password")
    assert page.status_code == 200 and CAMPAIGNER in page.get_data(as_text=True)

    response = staff_post(admin, "/staff/accounts/2/password", password=NEW_PASSWORD)
    assert response.status_code == 303 and response.headers["Location"] == "/staff/accounts"
    assert "is logged out everywhere" in admin.get("/staff/accounts").get_data(as_text=True)
    assert not is_logged_in(campaigner)
    assert is_logged_in(admin)
    assert login(app.test_client(), CAMPAIGNER, PASSWORD).status_code == 400
    assert login(app.test_client(), CAMPAIGNER, NEW_PASSWORD).status_code == 303

    assert entries(app)[-1] == (
        "staff.password_reset",
        ADMIN,
        {"email": CAMPAIGNER, "via": "web"},
    )
    with app.app_context():
        stored = [
            (e.action, e.staff_email, e.detail, e.ip)
            for e in db.session.execute(select(AuditLog)).scalars()
        ]
    assert NEW_PASSWORD not in json.dumps(stored)
    assert row(app, CAMPAIGNER)["version"] == 1


@pytest.mark.parametrize(
    ("staff_id", "password", "message"),
    [
        (1, NEW_PASSWORD, "Change your own password on the Password page."),
        (99, NEW_PASSWORD, "There is no such account."),
        (2, "eleven char", "Use at least 12 characters."),
        (2, "", "Please set a password."),
    ],
)
def test_a_reset_that_cannot_be_done_changes_nothing(app, accounts, staff_id, password, message):
    admin = logged_in(app, ADMIN)
    before = {email: row(app, email) for email in (ADMIN, CAMPAIGNER)}
    response = staff_post(admin, f"/staff/accounts/{staff_id}/password", password=password)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert {email: row(app, email) for email in (ADMIN, CAMPAIGNER)} == before
    assert entries(app) == []


def test_a_reset_without_the_csrf_token_is_refused(app, accounts):
    admin = logged_in(app, ADMIN)
    before = row(app, CAMPAIGNER)
    response = admin.post("/staff/accounts/2/password", data={"password": NEW_PASSWORD})
    assert response.status_code == 400
    assert row(app, CAMPAIGNER) == before


# --- the command line ----------------------------------------------------------------------------


def test_the_cli_sets_a_password_and_ends_the_sessions(app, accounts):
    campaigner = logged_in(app, CAMPAIGNER)
    result = app.test_cli_runner().invoke(
        args=["staff", "password", "Campaigner@Example.org", "--password-stdin"],
        input=NEW_PASSWORD + "\n",
    )
    assert result.exit_code == 0, result.output
    assert result.output.strip().splitlines() == [
        f"new password set for {CAMPAIGNER}; its sessions are logged out"
    ]
    assert not is_logged_in(campaigner)
    assert login(app.test_client(), CAMPAIGNER, PASSWORD).status_code == 400
    assert login(app.test_client(), CAMPAIGNER, NEW_PASSWORD).status_code == 303
    assert entries(app)[-1] == ("staff.password_reset", None, {"email": CAMPAIGNER, "via": "cli"})
    assert NEW_PASSWORD not in json.dumps(entries(app))


def test_the_cli_prompts_for_the_password_twice(app, accounts):
    result = app.test_cli_runner().invoke(
        args=["staff", "password", ADMIN], input=f"{NEW_PASSWORD}\n{NEW_PASSWORD}\n"
    )
    assert result.exit_code == 0, result.output
    assert NEW_PASSWORD not in result.output
    assert check_password_hash(row(app, ADMIN)["hash"], NEW_PASSWORD)


@pytest.mark.parametrize(
    ("email", "password", "message"),
    [
        ("nobody@example.org", NEW_PASSWORD, "there is no staff account for nobody@example.org"),
        (CAMPAIGNER, "too short", "at least 12"),
    ],
)
def test_the_cli_refuses_an_unknown_email_or_a_short_password(
    app, accounts, email, password, message
):
    before = row(app, CAMPAIGNER)
    result = app.test_cli_runner().invoke(
        args=["staff", "password", email, "--password-stdin"], input=password + "\n"
    )
    assert result.exit_code == 1
    assert message in result.output
    assert row(app, CAMPAIGNER) == before
    assert entries(app) == []


# --- logout and idle sessions ---------------------------------------------------------------------


def copy_of_cookie(app, client):
    """Another browser holding a copy of this client's session cookie (as a thief would)."""
    thief = app.test_client()
    thief.set_cookie("session", client.get_cookie("session").value, domain="localhost")
    return thief


def test_a_cookie_copied_before_logout_is_logged_out_after_it(app, accounts):
    browser = logged_in(app, CAMPAIGNER)
    thief = copy_of_cookie(app, browser)
    assert is_logged_in(thief)  # the copy works while the session lasts...
    assert staff_post(browser, "/staff/logout").status_code == 303
    assert not is_logged_in(browser)
    # ...and not after the logout, from wherever it is sent.
    thief.environ_base["REMOTE_ADDR"] = "203.0.113.50"
    thief.environ_base["HTTP_USER_AGENT"] = "something else"
    assert not is_logged_in(thief)
    assert row(app, CAMPAIGNER)["version"] == 1
    # Logging in again works, with a session of the new version.
    assert is_logged_in(logged_in(app, CAMPAIGNER))


@pytest.mark.parametrize("app_config", [{"STAFF_IDLE_MINUTES": 30}])
def test_an_idle_session_is_logged_out(app, accounts, monkeypatch):
    from petition.staff import views

    clock = [1_000_000]
    monkeypatch.setattr(views, "now", lambda: clock[0])
    browser = logged_in(app, ADMIN)
    clock[0] += 29 * 60
    assert is_logged_in(browser)  # active 29 minutes later: still in, and seen again now
    clock[0] += 29 * 60
    assert is_logged_in(browser)
    thief = copy_of_cookie(app, browser)
    clock[0] += 31 * 60
    for client in (browser, thief):
        response = client.get("/staff/petitions/new")
        assert response.status_code == 302
        assert response.headers["Location"] == "/staff/login?next=%2Fstaff%2Fpetitions%2Fnew"
    page = browser.get("/staff/login").get_data(as_text=True)
    assert "logged out after a while without activity" in page
    assert not is_logged_in(browser)


@pytest.mark.parametrize("app_config", [{"STAFF_IDLE_MINUTES": 0}])
def test_idle_expiry_can_be_turned_off(app, accounts, monkeypatch):
    from petition.staff import views

    clock = [1_000_000]
    monkeypatch.setattr(views, "now", lambda: clock[0])
    browser = logged_in(app, ADMIN)
    clock[0] += 30 * 24 * 3600
    assert is_logged_in(browser)
