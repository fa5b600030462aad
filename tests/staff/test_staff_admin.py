"""Admin pages: staff accounts and the audit log; campaigners are kept out of both."""

import json
import re

import pytest
from sqlalchemy import select

from petition.core.extensions import db
from petition.staff.models import AuditLog, Staff
from tests.helpers import ADMIN, CAMPAIGNER, staff_post
from tests.helpers import STAFF_PASSWORD as PASSWORD
from tests.helpers import staff_login as login


@pytest.fixture
def admin(client, accounts):
    assert login(client, ADMIN).status_code == 303
    return client


post = staff_post


def staff(app, email):
    with app.app_context():
        account = db.session.execute(select(Staff).where(Staff.email == email)).scalar()
        return None if account is None else {"role": account.role, "active": account.active}


def entries(app, action=None):
    with app.app_context():
        query = select(AuditLog).order_by(AuditLog.id)
        if action:
            query = query.where(AuditLog.action == action)
        return [
            (e.action, e.staff_email, json.loads(e.detail))
            for e in db.session.execute(query).scalars()
        ]


ADMIN_PAGES = [
    "/staff/accounts",
    "/staff/accounts/new",
    "/staff/audit",
    "/staff/accounts/2/password",
]
ADMIN_ACTIONS = [
    ("/staff/accounts/new", {"email": "x@example.org", "role": "admin", "password": PASSWORD}),
    ("/staff/accounts/1/deactivate", {}),
    ("/staff/accounts/1/reactivate", {}),
    ("/staff/accounts/1/role", {"role": "campaigner"}),
    ("/staff/accounts/1/password", {"password": "an admin's new password"}),
]


@pytest.mark.parametrize("path", ADMIN_PAGES)
def test_campaigners_get_403_on_admin_pages(client, accounts, path):
    login(client, CAMPAIGNER)
    assert client.get(path).status_code == 403


@pytest.mark.parametrize(("path", "data"), ADMIN_ACTIONS)
def test_campaigners_get_403_on_admin_actions(app, client, accounts, path, data):
    login(client, CAMPAIGNER)
    before = entries(app)
    assert post(client, path, **data).status_code == 403
    assert staff(app, ADMIN) == {"role": "admin", "active": True}
    assert staff(app, "x@example.org") is None
    assert entries(app) == before


@pytest.mark.parametrize("path", ADMIN_PAGES)
def test_admins_see_admin_pages(admin, path):
    assert admin.get(path).status_code == 200


# --- accounts ------------------------------------------------------------------------------------


def test_accounts_list(admin):
    page = admin.get("/staff/accounts").get_data(as_text=True)
    assert ADMIN in page and CAMPAIGNER in page
    # No buttons against one's own account.
    assert 'action="/staff/accounts/1/deactivate"' not in page
    assert 'action="/staff/accounts/1/role"' not in page
    assert 'action="/staff/accounts/2/deactivate"' in page
    assert 'action="/staff/accounts/2/role"' in page


def test_create_an_account(app, admin):
    response = post(
        admin,
        "/staff/accounts/new",
        email="  New.Person@Example.org ",
        role="campaigner",
        password="a long initial pass",
    )
    assert response.status_code == 303
    assert response.headers["Location"] == "/staff/accounts"
    assert staff(app, "new.person@example.org") == {"role": "campaigner", "active": True}
    [(action, by, detail)] = entries(app, "staff.create")[-1:]
    assert by == ADMIN
    assert detail == {"email": "new.person@example.org", "role": "campaigner", "via": "web"}
    assert "a long initial pass" not in json.dumps(entries(app))
    newcomer = app.test_client()
    assert login(newcomer, "new.person@example.org", "a long initial pass").status_code == 303


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"password": "eleven char"}, "Use at least 12 characters."),
        ({"password": ""}, "Please set a password."),
        ({"email": ""}, "Please enter an email address."),
        ({"email": "no-at-sign"}, "This email address is not valid"),
        ({"email": "<script>x</script>@example.org"}, "This email address is not valid"),
        ({"email": CAMPAIGNER.upper()}, "there is already an account for campaigner@example.org"),
        ({"role": "boss"}, "Not a valid choice."),
    ],
)
def test_invalid_accounts_are_refused(app, admin, data, message):
    fields = {"email": "new@example.org", "role": "campaigner", "password": PASSWORD}
    fields.update(data)
    before = entries(app)
    response = post(admin, "/staff/accounts/new", **fields)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert staff(app, "new@example.org") is None
    assert entries(app) == before
    with app.app_context():
        assert len(db.session.execute(select(Staff)).all()) == 2


def test_deactivate_and_reactivate(app, admin):
    campaigner = app.test_client()
    login(campaigner, CAMPAIGNER)
    assert campaigner.get("/staff/").status_code == 200

    assert post(admin, "/staff/accounts/2/deactivate").status_code == 303
    assert staff(app, CAMPAIGNER)["active"] is False
    # Their session ends at once, and they cannot log in again.
    assert campaigner.get("/staff/").status_code == 302
    assert login(campaigner, CAMPAIGNER).status_code == 400
    page = admin.get("/staff/accounts").get_data(as_text=True)
    assert "is deactivated and logged out" in page
    assert 'action="/staff/accounts/2/reactivate"' in page

    assert post(admin, "/staff/accounts/2/reactivate").status_code == 303
    assert staff(app, CAMPAIGNER)["active"] is True
    assert login(app.test_client(), CAMPAIGNER).status_code == 303
    actions = [(a, by, d) for a, by, d in entries(app) if a.startswith("staff.")]
    assert actions[-2:] == [
        ("staff.deactivate", ADMIN, {"email": CAMPAIGNER}),
        ("staff.reactivate", ADMIN, {"email": CAMPAIGNER}),
    ]


def test_change_role(app, admin):
    assert post(admin, "/staff/accounts/2/role", role="admin").status_code == 303
    assert staff(app, CAMPAIGNER)["role"] == "admin"
    assert entries(app, "staff.role") == [
        ("staff.role", ADMIN, {"email": CAMPAIGNER, "old": "campaigner", "new": "admin"})
    ]
    # Choosing the role it already has changes and records nothing.
    assert post(admin, "/staff/accounts/2/role", role="admin").status_code == 303
    assert len(entries(app, "staff.role")) == 1


def test_an_unknown_role_is_refused(app, admin):
    response = post(admin, "/staff/accounts/2/role", role="owner")
    assert response.status_code == 400
    assert "Choose one of the roles." in response.get_data(as_text=True)
    assert staff(app, CAMPAIGNER)["role"] == "campaigner"


@pytest.mark.parametrize(
    ("path", "data"),
    [
        ("/staff/accounts/1/deactivate", {}),
        ("/staff/accounts/1/role", {"role": "campaigner"}),
    ],
)
def test_admins_cannot_change_their_own_account(app, admin, path, data):
    before = entries(app)
    response = post(admin, path, **data)
    assert response.status_code == 400
    assert "You cannot change your own account" in response.get_data(as_text=True)
    assert staff(app, ADMIN) == {"role": "admin", "active": True}
    assert entries(app) == before


def test_unknown_accounts(admin):
    response = post(admin, "/staff/accounts/99/deactivate")
    assert response.status_code == 400
    assert "There is no such account." in response.get_data(as_text=True)


def test_markup_in_a_refused_email_is_escaped(admin):
    response = post(
        admin,
        "/staff/accounts/new",
        email="<script>x</script>@example.org",
        role="campaigner",
        password=PASSWORD,
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "<script>x" not in page and "&lt;script&gt;x" in page


# --- audit log -----------------------------------------------------------------------------------


def add_entries(app, count, **fields):
    with app.app_context():
        for i in range(count):
            db.session.add(AuditLog(action=f"test.{i}", detail="{}", **fields))
        db.session.commit()


def actions_on(page):
    return re.findall(r"<code>([\w.]+)</code>", page)


def test_audit_log_is_newest_first_and_paginated(app, admin):
    add_entries(app, 60)
    first = admin.get("/staff/audit").get_data(as_text=True)
    shown = actions_on(first)
    assert len(shown) == 50
    assert shown[:2] == ["test.59", "test.58"]
    assert 'rel="next" href="/staff/audit?page=2"' in first
    second = admin.get("/staff/audit?page=2").get_data(as_text=True)
    # 60 added + the admin's login, oldest last.
    assert actions_on(second)[-3:] == ["test.1", "test.0", "login"]
    assert 'rel="prev"' in second and 'rel="next"' not in second
    assert admin.get("/staff/audit?page=9").status_code == 200


def test_audit_log_filters_by_petition_and_staff(app, admin, make_petition):
    one = make_petition("one", title="One")
    two = make_petition("two", title="Two")
    add_entries(app, 2, petition_id=one, staff_id=1, staff_email=ADMIN)
    add_entries(app, 3, petition_id=two, staff_id=2, staff_email=CAMPAIGNER)
    by_petition = admin.get(f"/staff/audit?petition={two}").get_data(as_text=True)
    assert actions_on(by_petition) == ["test.2", "test.1", "test.0"]
    assert 'href="/staff/petitions/two"' in by_petition
    assert f'<option value="{two}" selected>' in by_petition
    by_staff = admin.get("/staff/audit?staff=1").get_data(as_text=True)
    assert actions_on(by_staff) == ["test.1", "test.0", "login"]
    both = admin.get(f"/staff/audit?petition={one}&staff=2").get_data(as_text=True)
    assert actions_on(both) == []
    assert "No entries." in both
    # Filters the page cannot read are ignored, not errors.
    assert admin.get("/staff/audit?petition=x&staff=&page=-3").status_code == 200


def test_audit_log_shows_what_staff_did(app, admin, make_petition):
    make_petition(state="draft")
    post(admin, "/staff/petitions/speak-out/open")
    page = admin.get("/staff/audit").get_data(as_text=True)
    assert actions_on(page)[:2] == ["petition.open", "login"]
    row = re.search(r"<code>petition.open</code>.*?</tr>", page, re.S).group(0)
    assert 'href="/staff/petitions/speak-out"' in row
    assert "127.0.0.1" in page
