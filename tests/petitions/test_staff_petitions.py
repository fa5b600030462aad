"""Staff petitions: the list, create and edit, open and close, the dashboard, their audit."""

import datetime as dt
import html
import json
import re
import xml.etree.ElementTree as ET

import pytest
from flask import url_for
from sqlalchemy import func, select

from petition.core.db import utcnow
from petition.core.extensions import db
from petition.mail.models import OutboxMessage
from petition.petitions.models import Milestone, Petition, Signature
from petition.staff import auth
from petition.staff.models import AuditLog
from tests.helpers import STAFF_PASSWORD as PASSWORD
from tests.helpers import staff_login as login
from tests.helpers import staff_post

NEW = "/staff/petitions/new"


@pytest.fixture
def staff_login(app, client):
    """Create a staff account and log the test client in as it; returns the email."""

    def make(role="campaigner", email=None):
        email = email or f"{role}@example.org"
        with app.app_context():
            auth.create_staff(email, PASSWORD, role)
            db.session.commit()
        assert login(client, email).status_code == 303
        return email

    return make


@pytest.fixture
def campaigner(staff_login):
    return staff_login("campaigner")


post = staff_post


def form(**overrides):
    values = {
        "slug": "clean-air",
        "title": "Clean air for schools",
        "target": "The city council",
        "text": "Children **breathe** the worst air.",
        "cover_letter": "Dear council,\n\nPlease act.",
        "milestones": "1,000: Deliver to the council\n\n300: First press release\n",
        "offline_count": "12",
        "closes_at": "",
        "hashtag": "CleanAir",
    }
    values.update(overrides)
    return {k: v for k, v in values.items() if v is not None}


def audit_entries(app, action=None):
    with app.app_context():
        query = select(AuditLog).order_by(AuditLog.id)
        if action:
            query = query.where(AuditLog.action == action)
        return [
            {
                "action": e.action,
                "petition_id": e.petition_id,
                "staff_email": e.staff_email,
                "detail": json.loads(e.detail),
            }
            for e in db.session.execute(query).scalars()
        ]


def petition_row(app, slug):
    with app.app_context():
        petition = db.session.execute(select(Petition).where(Petition.slug == slug)).scalar()
        if petition is None:
            return None
        return {
            "id": petition.id,
            "state": petition.state,
            "title": petition.title,
            "target": petition.target,
            "text": petition.text,
            "cover_letter": petition.cover_letter,
            "hashtag": petition.hashtag,
            "offline_count": petition.offline_count,
            "closes_at": petition.closes_at,
            "milestones": [
                (m.count, m.label, m.reached_at, m.announced_at, m.id) for m in petition.milestones
            ],
        }


def count_petitions(app):
    with app.app_context():
        return db.session.execute(select(func.count()).select_from(Petition)).scalar_one()


# --- access ------------------------------------------------------------------------------------

GET_PAGES = [
    "/staff/",
    NEW,
    "/staff/petitions/speak-out",
    "/staff/petitions/speak-out/edit",
    "/staff/petitions/speak-out/languages/ru",
    "/staff/accounts",
    "/staff/accounts/new",
    "/staff/audit",
]
POST_ACTIONS = [
    NEW,
    "/staff/petitions/speak-out/edit",
    "/staff/petitions/speak-out/open",
    "/staff/petitions/speak-out/close",
    "/staff/petitions/speak-out/languages/ru",
    "/staff/petitions/speak-out/languages/ru/remove",
    "/staff/accounts/new",
    "/staff/accounts/1/deactivate",
    "/staff/accounts/1/reactivate",
    "/staff/accounts/1/role",
]


@pytest.mark.parametrize("path", GET_PAGES)
def test_every_page_needs_a_login(client, make_petition, path):
    make_petition()
    response = client.get(path)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/staff/login?next=")


@pytest.mark.parametrize("path", POST_ACTIONS)
def test_every_action_needs_a_login(app, client, make_petition, path):
    make_petition(state="draft")
    page = client.get("/staff/login").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    response = client.post(path, data={"csrf_token": csrf, "title": "Taken over"})
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/staff/login")
    assert petition_row(app, "speak-out")["state"] == "draft"
    assert audit_entries(app) == []


@pytest.mark.parametrize("path", POST_ACTIONS)
def test_every_form_needs_its_csrf_token(app, client, staff_login, make_petition, path):
    staff_login("admin")
    with app.app_context():
        other = auth.create_staff("other@example.org", PASSWORD, "campaigner")
        db.session.commit()
        assert other.id == 2
    if "/accounts/1/" in path:
        path = path.replace("/1/", "/2/")
    make_petition(state="draft")
    before = audit_entries(app)
    data = form(slug="via-csrf", title="Changed", role="admin", email="new@example.org")
    data["password"] = "long enough password"
    response = client.post(path, data=data)
    assert response.status_code == 400
    assert "form was sent from elsewhere" in response.get_data(as_text=True)
    assert audit_entries(app) == before
    row = petition_row(app, "speak-out")
    assert row["state"] == "draft" and row["title"] == "Speak out"
    assert petition_row(app, "via-csrf") is None


# --- list and create -----------------------------------------------------------------------------


def test_the_staff_home_lists_every_petition_with_totals(
    client, campaigner, make_petition, make_signature
):
    make_petition("draft-one", state="draft", title="A draft")
    open_id = make_petition("open-one", title="An open one", offline_count=1000)
    make_petition("closed-one", state="closed", title="A closed one")
    make_signature(open_id, "a@example.org")
    make_signature(open_id, "b@example.org")
    make_signature(open_id, "c@example.org", state="pending")
    page = client.get("/staff/").get_data(as_text=True)
    for title in ("A draft", "An open one", "A closed one"):
        assert title in page
    row = re.search(r"An open one.*?</tr>", page, re.S).group(0)
    assert "1,002" in row  # confirmed + offline; the pending one does not count
    assert 'href="/staff/petitions/open-one"' in page
    assert 'href="/staff/petitions/new"' in page


def test_create_a_petition(app, client, campaigner):
    response = post(client, NEW, **form(closes_at="2099-05-01T18:30"))
    assert response.status_code == 303
    assert response.headers["Location"] == "/staff/petitions/clean-air"
    row = petition_row(app, "clean-air")
    assert row["state"] == "draft"
    assert row["title"] == "Clean air for schools"
    assert row["hashtag"] == "#CleanAir"
    assert row["offline_count"] == 12
    assert row["closes_at"] == dt.datetime(2099, 5, 1, 18, 30, tzinfo=dt.UTC)
    assert [(c, label) for c, label, *_ in row["milestones"]] == [
        (300, "First press release"),
        (1000, "Deliver to the council"),
    ]
    [entry] = audit_entries(app, "petition.create")
    assert entry["petition_id"] == row["id"]
    assert entry["staff_email"] == campaigner
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Petition created as a draft." in page
    assert "Clean air for schools" in page


def test_a_new_petition_is_a_draft_until_opened(app, client, campaigner):
    post(client, NEW, **form())
    assert client.get("/petitions/clean-air").status_code == 404
    assert client.get("/api/petitions/clean-air/count").status_code == 404


INVALID = [
    ({"slug": "Clean Air"}, "lower-case letters, digits and single hyphens"),
    ({"slug": "-clean"}, "lower-case letters, digits and single hyphens"),
    ({"slug": "clean--air"}, "lower-case letters, digits and single hyphens"),
    ({"slug": "x" * 101}, "Field cannot be longer than 100 characters."),
    ({"slug": ""}, "Please choose a slug."),
    ({"title": ""}, "Please give a title."),
    ({"title": "Bad\u202econtrol"}, "control or invisible characters"),
    ({"target": " "}, "Please say who receives it."),
    ({"milestones": "a thousand: Deliver"}, "line 1: expected"),
    ({"milestones": "100: A\n\n100: B"}, "line 3: 100 is already the count of line 1"),
    ({"milestones": "0: Nothing"}, "line 1: the count must be above zero"),
    ({"milestones": "-5: Minus"}, "line 1: expected"),
    ({"milestones": "99999999999: Too many"}, "line 1: the count is too large"),
    ({"milestones": "100 Deliver"}, "line 1: expected"),
    ({"offline_count": "-1"}, "Enter a whole number, 0 or more."),
    ({"offline_count": "many"}, "Not a valid integer value."),
    ({"hashtag": "two words"}, "One word of letters, digits or _"),
    ({"closes_at": "2001-01-01T10:00"}, "The closing time must be in the future."),
    ({"closes_at": "tomorrow"}, "Not a valid datetime value."),
]


@pytest.mark.parametrize(("overrides", "message"), INVALID)
def test_invalid_input_is_refused_and_nothing_is_stored(
    app, client, campaigner, overrides, message
):
    response = post(client, NEW, **form(**overrides))
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "nothing was saved" in page
    assert message.replace("'", "&#39;").replace('"', "&#34;") in page
    assert count_petitions(app) == 0
    assert audit_entries(app, "petition.create") == []


def test_every_bad_milestone_line_is_named(client, campaigner):
    response = post(client, NEW, **form(milestones="100: ok\nnope\n200: ok\n0: zero"))
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "line 2: expected" in page and "line 4: the count must be above zero" in page


def test_a_duplicate_slug_is_refused(app, client, campaigner, make_petition):
    make_petition("clean-air", title="The first one")
    response = post(client, NEW, **form())
    assert response.status_code == 400
    assert "Another petition already has this slug." in response.get_data(as_text=True)
    assert count_petitions(app) == 1
    assert petition_row(app, "clean-air")["title"] == "The first one"


MARKUP = "<script>alert('x')</script> & <b>bold</b>"


def test_markup_in_fields_is_escaped_on_every_page(app, client, campaigner):
    response = post(
        client,
        NEW,
        **form(title=MARKUP, target=MARKUP, milestones=f"5: {MARKUP}"),
    )
    assert response.status_code == 303
    assert petition_row(app, "clean-air")["title"] == MARKUP  # stored as given
    post(client, "/staff/petitions/clean-air/open")
    for path in (
        "/staff/",
        "/staff/petitions/clean-air",
        "/staff/petitions/clean-air/edit",
        "/petitions/clean-air",
    ):
        page = client.get(path).get_data(as_text=True)
        assert "<script>alert" not in page and "<b>bold" not in page, path
        assert "&lt;script&gt;" in page, path


def test_markup_is_escaped_when_a_form_comes_back_with_errors(app, client, campaigner):
    response = post(client, NEW, **form(slug="Not A Slug", title=MARKUP, milestones=MARKUP))
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "<script>alert" not in page and "&lt;script&gt;" in page
    assert count_petitions(app) == 0


# --- edit ----------------------------------------------------------------------------------------


def test_edit_a_petition(app, client, campaigner, make_petition):
    make_petition(milestones=((100, "A hundred"), (500, "Five hundred")))
    before = petition_row(app, "speak-out")
    page = client.get("/staff/petitions/speak-out/edit").get_data(as_text=True)
    assert "100: A hundred\n500: Five hundred" in page
    assert 'value="Speak out"' in page
    response = post(
        client,
        "/staff/petitions/speak-out/edit",
        **form(
            slug="ignored",
            title="Speak out now",
            milestones="100: One hundred\n1000: A thousand",
            offline_count="0",
            hashtag="#Now",
        ),
    )
    assert response.status_code == 303
    assert response.headers["Location"] == "/staff/petitions/speak-out"
    row = petition_row(app, "speak-out")
    assert row["title"] == "Speak out now"
    assert row["hashtag"] == "#Now"
    assert [(c, label) for c, label, *_ in row["milestones"]] == [
        (100, "One hundred"),
        (1000, "A thousand"),
    ]
    # Matched by count: the 100 milestone is the same row, so it keeps its dates.
    assert row["milestones"][0][4] == before["milestones"][0][4]
    assert petition_row(app, "ignored") is None
    [entry] = audit_entries(app, "petition.edit")
    assert entry["petition_id"] == row["id"]
    assert entry["detail"]["title"] == {"old": "Speak out", "new": "Speak out now"}
    assert entry["detail"]["text"] == "changed"
    assert entry["detail"]["milestones"]["new"] == ["100: One hundred", "1000: A thousand"]


def test_saving_an_unchanged_form_records_nothing(app, client, campaigner, make_petition):
    make_petition()
    page = client.get("/staff/petitions/speak-out/edit").get_data(as_text=True)
    fields = dict(re.findall(r'<input[^>]*name="(\w+)"[^>]*value="([^"]*)"', page))
    fields.update(re.findall(r'<textarea[^>]*name="(\w+)"[^>]*>\r?\n?(.*?)</textarea>', page, re.S))
    fields = {name: html.unescape(value) for name, value in fields.items()}
    response = client.post("/staff/petitions/speak-out/edit", data=fields)
    assert response.status_code == 303
    assert audit_entries(app, "petition.edit") == []


def test_invalid_edit_changes_nothing(app, client, campaigner, make_petition):
    make_petition()
    before = petition_row(app, "speak-out")
    response = post(
        client,
        "/staff/petitions/speak-out/edit",
        **form(title="New title", offline_count="-3", milestones="x"),
    )
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "Enter a whole number, 0 or more." in page and "line 1: expected" in page
    assert 'value="New title"' in page  # the input is kept
    assert petition_row(app, "speak-out") == before
    assert audit_entries(app, "petition.edit") == []


def test_unknown_petitions_are_404(client, campaigner):
    assert client.get("/staff/petitions/nope").status_code == 404
    assert client.get("/staff/petitions/nope/edit").status_code == 404
    assert post(client, "/staff/petitions/nope/open").status_code == 404


@pytest.mark.parametrize("app_config", [{"MILESTONE_MAIL_TO": ["team@example.org"]}])
def test_offline_count_moves_the_public_count_and_milestones(
    app, client, campaigner, make_petition, make_signature, outbox
):
    petition_id = make_petition(milestones=((100, "A hundred"), (200, "Two hundred")))
    make_signature(petition_id)
    assert client.get("/api/petitions/speak-out/count").json["signature_count"] == 1
    edit = "/staff/petitions/speak-out/edit"
    milestones = "100: A hundred\n200: Two hundred"

    assert post(client, edit, **form(offline_count="150", milestones=milestones)).status_code == 303
    count = client.get("/api/petitions/speak-out/count").json
    assert (count["signature_count"], count["goal"]) == (151, 200)
    (_, _, reached_100, announced_100, _), (_, _, reached_200, _, _) = petition_row(
        app, "speak-out"
    )["milestones"]
    assert reached_100 is not None and announced_100 is not None and reached_200 is None
    assert [m["subject"] for m in outbox()] == [
        "Milestone reached: A hundred (Clean air for schools)",
    ]
    [entry] = audit_entries(app, "petition.edit")
    assert entry["detail"]["offline_count"] == {"old": 0, "new": 150}

    # Taken back below: the milestone is no longer reached, and is not announced twice.
    assert post(client, edit, **form(offline_count="0", milestones=milestones)).status_code == 303
    assert client.get("/api/petitions/speak-out/count").json["signature_count"] == 1
    assert petition_row(app, "speak-out")["milestones"][0][2] is None
    assert post(client, edit, **form(offline_count="99", milestones=milestones)).status_code == 303
    assert petition_row(app, "speak-out")["milestones"][0][2] is not None
    assert len(outbox()) == 1

    # A milestone added below the total is reached at once, but it is no news to mail about.
    response = post(client, edit, **form(offline_count="99", milestones="50: Fifty\n" + milestones))
    assert response.status_code == 303
    fifty = petition_row(app, "speak-out")["milestones"][0]
    assert fifty[0] == 50 and fifty[2] is not None and fifty[3] is not None
    assert len(outbox()) == 1
    api = client.get("/api/petitions/speak-out").json
    assert api["signature_count"] == 100
    assert [m["reached_at"] is not None for m in api["milestones"]] == [True, True, False]


def test_offline_count_edit_keeps_confirmations_made_meanwhile(
    app, client, campaigner, make_petition, make_signature
):
    petition_id = make_petition(milestones=((3, "Three"),))
    make_signature(petition_id, "a@example.org")
    # Load the edit page, then a confirmation lands before the form is sent.
    client.get("/staff/petitions/speak-out/edit")
    make_signature(petition_id, "b@example.org")
    response = post(
        client, "/staff/petitions/speak-out/edit", **form(offline_count="1", milestones="3: Three")
    )
    assert response.status_code == 303
    assert client.get("/api/petitions/speak-out/count").json["signature_count"] == 3
    assert petition_row(app, "speak-out")["milestones"][0][2] is not None


# --- open and close ------------------------------------------------------------------------------


def test_open_and_close(app, client, campaigner, make_petition):
    petition_id = make_petition(state="draft")
    page = client.get("/staff/petitions/speak-out").get_data(as_text=True)
    assert 'action="/staff/petitions/speak-out/open"' in page
    assert 'action="/staff/petitions/speak-out/close"' not in page

    response = post(client, "/staff/petitions/speak-out/open")
    assert response.status_code == 303
    assert petition_row(app, "speak-out")["state"] == "open"
    assert client.get("/petitions/speak-out").status_code == 200
    page = client.get("/staff/petitions/speak-out").get_data(as_text=True)
    assert "Petition opened." in page
    assert 'action="/staff/petitions/speak-out/close"' in page

    assert post(client, "/staff/petitions/speak-out/close").status_code == 303
    assert petition_row(app, "speak-out")["state"] == "closed"
    actions = [(e["action"], e["petition_id"]) for e in audit_entries(app)]
    assert actions[-2:] == [("petition.open", petition_id), ("petition.close", petition_id)]


@pytest.mark.parametrize(
    ("state", "action", "message"),
    [
        ("closed", "open", "Only a draft can be opened; this one is closed."),
        ("open", "open", "Only a draft can be opened; this one is open."),
        ("draft", "close", "Only an open petition can be closed; this one is a draft."),
        ("closed", "close", "Only an open petition can be closed; this one is closed."),
    ],
)
def test_state_rules_hold(app, client, campaigner, make_petition, state, action, message):
    make_petition(state=state)
    response = post(client, f"/staff/petitions/speak-out/{action}")
    assert response.status_code == 303
    assert message in client.get(response.headers["Location"]).get_data(as_text=True)
    assert petition_row(app, "speak-out")["state"] == state
    assert audit_entries(app, f"petition.{action}") == []


# --- dashboard -----------------------------------------------------------------------------------


def stat(page, name):
    found = re.search(rf'id="stat-{name}".*?<strong class="value">([^<]+)</strong>', page, re.S)
    return int(found.group(1).replace(",", ""))


def test_dashboard_numbers_match_the_signatures(
    app, client, campaigner, make_petition, make_signature, fold
):
    petition_id = make_petition(offline_count=40, milestones=((3, "Three"), (1000, "Thousand")))
    other_id = make_petition("other", title="Other")
    for i, (country, source) in enumerate(
        [("FR", "partner.example"), ("FR", "partner.example"), ("DE", None), ("BR", "mail")]
    ):
        make_signature(petition_id, f"c{i}@example.org", country=country, source=source)
    make_signature(petition_id, "p1@example.org", state="pending")
    make_signature(petition_id, "p2@example.org", state="pending", country="DE")
    make_signature(petition_id, "w@example.org", state="withdrawn")
    make_signature(other_id, "elsewhere@example.org")  # another petition's: not counted here
    fold()  # milestones are stamped by the fold

    page = client.get("/staff/petitions/speak-out").get_data(as_text=True)
    assert stat(page, "total") == 44
    assert "4 confirmed + 40 offline" in page
    assert stat(page, "today") == 4
    assert stat(page, "pending") == 2
    assert stat(page, "goal") == 1000

    countries = re.search(r'<table class="countries">.*?</table>', page, re.S).group(0)
    rows = re.findall(r"<td>([^<]+) <span[^>]*>(\w\w)</span></td><td[^>]*>(\d+)</td>", countries)
    assert rows == [("France", "FR", "2"), ("Brazil", "BR", "1"), ("Germany", "DE", "1")]
    sources = re.search(r'<table class="sources">.*?</table>', page, re.S).group(0)
    rows = re.findall(r"<td>(?:<span[^>]*>)?([^<]+)(?:</span>)?</td><td[^>]*>(\d+)</td>", sources)
    assert rows == [("partner.example", "2"), ("direct (no source)", "1"), ("mail", "1")]
    milestones = re.search(r'<table class="milestones-table">.*?</table>', page, re.S).group(0)
    reached, ahead = re.findall(r"<tr class=\"(\w+)\">", milestones)
    assert (reached, ahead) == ("reached", "ahead")
    assert "not yet" in milestones.split("Thousand")[1]


def test_dashboard_counts_days_in_utc_over_the_last_30(app, client, campaigner, make_petition):
    petition_id = make_petition()
    now = utcnow()
    with app.app_context():
        petition = db.session.get(Petition, petition_id)
        petition.created_at = now - dt.timedelta(days=90)
        for i, days_ago in enumerate([0, 0, 1, 29, 30, 60]):
            when = now - dt.timedelta(days=days_ago)
            db.session.add(
                Signature(
                    petition_id=petition_id,
                    name="N",
                    email=f"d{i}@example.org",
                    canonical_email=f"d{i}@example.org",
                    country="FR",
                    state="confirmed",
                    created_at=when,
                    confirmed_at=when,
                )
            )
        db.session.commit()
    page = client.get("/staff/petitions/speak-out").get_data(as_text=True)
    assert stat(page, "today") == 2
    table = re.search(r'<details class="chart-data">.*?</details>', page, re.S).group(0)
    counts = [int(n) for n in re.findall(r'<td class="num">(\d+)</td>', table)]
    assert len(counts) == 30  # newest first
    assert counts[0] == 2 and counts[1] == 1 and counts[29] == 1
    assert sum(counts) == 4  # the ones 30 and 60 days ago are older than the chart


def chart_of(page):
    svg = re.search(r"<svg\b.*?</svg>", page, re.S).group(0)
    return ET.fromstring(svg)


SVG = "{http://www.w3.org/2000/svg}"


def test_the_chart_is_well_formed_accessible_svg(app, client, campaigner, make_petition):
    make_petition(title="Tom & Jerry's <petition>")
    page = client.get("/staff/petitions/speak-out").get_data(as_text=True)
    svg = chart_of(page)
    assert svg.tag == f"{SVG}svg"
    assert svg.get("role") == "img"
    title_id, desc_id = svg.get("aria-labelledby").split()
    assert svg.find(f"{SVG}title").get("id") == title_id
    assert svg.find(f"{SVG}desc").get("id") == desc_id
    assert "Confirmed signatures per day" in svg.find(f"{SVG}title").text
    bars = svg.findall(f"{SVG}g[@class='bars']/{SVG}rect")
    assert len(bars) == 1  # a petition born today has one day to show
    assert bars[0].find(f"{SVG}title").text.endswith(": 0")
    assert re.search(r"<details[^>]*>.*<caption>Confirmed signatures per day \(UTC\)", page, re.S)


def test_chart_bars_scale_with_the_counts(app, client, campaigner, make_petition, make_signature):
    petition_id = make_petition()
    with app.app_context():
        db.session.get(Petition, petition_id).created_at = utcnow() - dt.timedelta(days=3)
        db.session.commit()
    for i in range(3):
        make_signature(petition_id, f"s{i}@example.org")
    svg = chart_of(client.get("/staff/petitions/speak-out").get_data(as_text=True))
    bars = svg.findall(f"{SVG}g[@class='bars']/{SVG}rect")
    assert len(bars) == 4
    heights = [float(bar.get("height")) for bar in bars]
    assert heights[:3] == [0, 0, 0] and heights[3] > 0
    assert bars[3].find(f"{SVG}title").text.endswith(": 3")


def test_links_to_other_staff_pages_appear_once_they_exist(app, client, campaigner, make_petition):
    make_petition()
    page = client.get("/staff/petitions/speak-out").get_data(as_text=True)
    with app.test_request_context():
        from petition.petitions.views import staff_link

        assert staff_link("staff.home") == "/staff/"
        assert staff_link("staff.no_such_page", slug="x") is None
        for endpoint in ("staff.signatures", "staff.import_signatures", "staff.deliveries"):
            if endpoint in app.view_functions:
                assert f'href="{url_for(endpoint, slug="speak-out")}"' in page
    assert 'href="/petitions/speak-out"' in page  # the public page of an open petition


def test_campaigners_manage_petitions_too(client, staff_login, make_petition):
    staff_login("campaigner")
    make_petition()
    for path in ("/staff/", NEW, "/staff/petitions/speak-out", "/staff/petitions/speak-out/edit"):
        assert client.get(path).status_code == 200, path


def test_nav_links_by_role(client, staff_login, app):
    staff_login("campaigner")
    page = client.get("/staff/").get_data(as_text=True)
    assert 'href="/staff/"' in page and 'href="/staff/accounts"' not in page
    admin = app.test_client()
    with app.app_context():
        auth.create_staff("boss@example.org", PASSWORD, "admin")
        db.session.commit()
    login(admin, "boss@example.org")
    page = admin.get("/staff/").get_data(as_text=True)
    assert 'href="/staff/accounts"' in page and 'href="/staff/audit"' in page


@pytest.mark.parametrize("app_config", [{"MILESTONE_MAIL_TO": ["team@example.org"]}])
def test_creating_past_a_milestone_stamps_it_without_mail(app, client, campaigner):
    # Created with paper signatures already past a milestone: stamped, but no mail.
    response = post(client, NEW, **form(offline_count="500", milestones="100: A hundred"))
    assert response.status_code == 303
    [(count, _, reached_at, announced_at, _)] = petition_row(app, "clean-air")["milestones"]
    assert count == 100 and reached_at is not None and announced_at is not None
    with app.app_context():
        assert db.session.execute(select(func.count()).select_from(OutboxMessage)).scalar() == 0
        assert db.session.execute(select(func.count()).select_from(Milestone)).scalar() == 1


def test_browser_line_ends_and_an_old_closing_time_are_no_change(
    app, client, campaigner, make_petition
):
    closed_at = utcnow().replace(microsecond=0) - dt.timedelta(days=3, seconds=17)
    make_petition(state="closed", text="One\n\nTwo\n", closes_at=closed_at, milestones=())
    shown = closed_at.strftime("%Y-%m-%dT%H:%M")
    page = client.get("/staff/petitions/speak-out/edit").get_data(as_text=True)
    assert f'value="{shown}"' in page
    response = post(
        client,
        "/staff/petitions/speak-out/edit",
        title="Speak out",
        target="The IOC",
        text="One\r\n\r\nTwo\r\n",
        closes_at=shown,
    )
    assert response.status_code == 303
    assert audit_entries(app, "petition.edit") == []
    row = petition_row(app, "speak-out")
    assert row["text"] == "One\n\nTwo\n" and row["closes_at"] == closed_at
