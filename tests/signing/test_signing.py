import datetime as dt
import unicodedata

import pytest
from sqlalchemy import func, select

from petition.core.extensions import db
from petition.mail.models import OutboxMessage
from petition.petitions.models import Milestone, Petition, Signature
from petition.signing.models import Token
from tests.helpers import csrf_token, link, token_of


def signatures(app):
    with app.app_context():
        return db.session.execute(select(Signature).order_by(Signature.id)).scalars().all()


def count(client, slug="speak-out"):
    return client.get(f"/api/petitions/{slug}/count").get_json()["signature_count"]


def press(client, path):
    """Open a mail link and press its button, as a person does."""
    page = client.get(path)
    assert page.status_code == 200
    assert page.headers["Cache-Control"] == "no-store"
    return client.post(path, data={"csrf_token": csrf_token(client, path)})


def test_sign_queues_a_confirmation_and_counts_nothing_yet(
    app, client, make_petition, sign, outbox
):
    make_petition()
    response = sign(
        name="Ana Souza",
        email="Ana.Souza@Example.org",
        country="BR",
        city="São Paulo",
        postcode="01000-000",
        updates="y",
    )
    assert response.status_code == 303
    assert response.headers["Location"] == "/petitions/speak-out/signed"
    [row] = signatures(app)
    assert (row.name, row.email, row.canonical_email) == (
        "Ana Souza",
        "Ana.Souza@example.org",
        "ana.souza@example.org",
    )
    assert (row.country, row.city, row.postcode, row.updates) == (
        "BR",
        "São Paulo",
        "01000-000",
        True,
    )
    assert row.state == "pending" and row.confirmed_at is None
    assert count(client) == 0
    [mail] = outbox()
    assert mail["to"] == "Ana.Souza@example.org"
    assert "Speak out" in mail["subject"]
    assert "http://petition.test/confirm/" in mail["body"]
    assert "http://petition.test/withdraw/" in mail["body"]
    page = client.get(response.headers["Location"])
    assert "Check your inbox" in page.get_data(as_text=True)


def test_confirm_needs_the_button_and_is_idempotent(app, client, make_petition, sign, outbox):
    make_petition()
    sign()
    confirm_path = link(outbox()[0]["body"], "confirm")
    # A mail scanner prefetching the link confirms nothing.
    for _ in range(2):
        page = client.get(confirm_path)
        assert page.status_code == 200
        assert "Confirm my signature" in page.get_data(as_text=True)
    assert count(client) == 0

    first = press(client, confirm_path)
    assert first.status_code == 200
    assert "Your signature is confirmed" in first.get_data(as_text=True)
    again = press(client, confirm_path)
    assert "already confirmed" in again.get_data(as_text=True)
    assert count(client) == 1
    [row] = signatures(app)
    assert row.state == "confirmed" and row.confirmed_at is not None


def test_tokens_are_stored_hashed_and_single_purpose(app, client, make_petition, sign, outbox):
    make_petition()
    sign()
    body = outbox()[0]["body"]
    confirm_token = token_of(body, "confirm")
    withdraw_token = token_of(body, "withdraw")
    with app.app_context():
        stored = db.session.execute(
            select(func.count())
            .select_from(db.metadata.tables["tokens"])
            .where(db.metadata.tables["tokens"].c.token_hash.in_([confirm_token, withdraw_token]))
        ).scalar()
    assert stored == 0
    assert client.get(f"/confirm/{withdraw_token}").status_code == 404
    assert client.get(f"/withdraw/{confirm_token}").status_code == 404
    assert client.get("/confirm/not-a-real-token").status_code == 404
    token = csrf_token(client, "/petitions/speak-out")
    assert client.post("/confirm/not-a-real-token", data={"csrf_token": token}).status_code == 404


def test_confirm_post_needs_csrf(client, make_petition, sign, outbox):
    make_petition()
    sign()
    path = link(outbox()[0]["body"], "confirm")
    assert client.post(path).status_code == 400
    assert count(client) == 0


def test_duplicate_while_pending_gets_the_same_page_and_a_new_link(
    app, client, make_petition, sign, outbox
):
    make_petition()
    first = sign(email="ana.souza@gmail.com")
    second = sign(email="  AnaSouza+again@GoogleMail.com ", name="Someone Else")
    assert first.status_code == second.status_code == 303
    assert first.headers["Location"] == second.headers["Location"]
    assert client.get(first.headers["Location"]).data == client.get(second.headers["Location"]).data
    [row] = signatures(app)
    assert row.name == "Ana Souza"  # a repeat never overwrites the first signer's details
    mails = outbox()
    assert len(mails) == 2
    assert mails[1]["to"] == "AnaSouza+again@googlemail.com"
    assert "not confirmed yet" in mails[1]["body"]
    old, new = link(mails[0]["body"], "confirm"), link(mails[1]["body"], "confirm")
    assert old != new
    press(client, new)
    press(client, old)
    assert count(client) == 1


def test_duplicate_after_confirming_says_already_signed(client, make_petition, sign, outbox):
    make_petition()
    sign()
    press(client, link(outbox()[0]["body"], "confirm"))
    response = sign(email="ANA@example.org")
    assert response.status_code == 303
    mails = outbox()
    assert len(mails) == 2
    assert "already signed" in mails[1]["subject"]
    assert "/confirm/" not in mails[1]["body"]
    assert "/withdraw/" in mails[1]["body"]
    assert count(client) == 1


def test_withdraw_takes_the_signature_out_of_the_count(
    app, client, make_petition, sign, outbox, fold
):
    make_petition(milestones=[(1, "First")])
    sign()
    body = outbox()[0]["body"]
    press(client, link(body, "confirm"))
    assert count(client) == 1
    assert fold() == 1
    milestone = client.get("/api/petitions/speak-out").get_json()["milestones"][0]
    assert milestone["reached_at"] is not None

    response = press(client, link(body, "withdraw"))
    assert "Your signature is withdrawn" in response.get_data(as_text=True)
    press(client, link(body, "withdraw"))
    assert count(client) == 0
    assert fold() == 1
    milestone = client.get("/api/petitions/speak-out").get_json()["milestones"][0]
    assert milestone["reached_at"] is None
    [row] = signatures(app)
    assert row.state == "withdrawn"
    # Once withdrawn, the confirm link cannot bring it back.
    press(client, link(body, "confirm"))
    assert count(client) == 0


def test_withdraw_a_pending_signature(app, client, make_petition, sign, outbox):
    make_petition()
    sign()
    press(client, link(outbox()[0]["body"], "withdraw"))
    assert [s.state for s in signatures(app)] == ["withdrawn"]
    assert count(client) == 0


def test_signing_again_after_withdrawing_starts_over(app, client, make_petition, sign, outbox):
    make_petition()
    sign()
    body = outbox()[0]["body"]
    press(client, link(body, "confirm"))
    press(client, link(body, "withdraw"))
    sign(name="Ana S.", country="PT")
    [row] = signatures(app)
    assert (row.state, row.name, row.country) == ("pending", "Ana S.", "PT")
    press(client, link(outbox()[-1]["body"], "confirm"))
    assert count(client) == 1
    assert client.get("/api/petitions/speak-out").get_json()["signatures_by_country"] == {"PT": 1}


@pytest.mark.parametrize("app_config", [{"CONFIRMATION_REQUIRED": False}])
def test_without_confirmation_a_signature_counts_at_once(app, client, make_petition, sign, outbox):
    make_petition()
    response = sign()
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Thank you for signing" in page
    assert count(client) == 1
    sign(email="ANA@example.org")
    assert count(client) == 1
    mails = outbox()
    assert "Thank you" in mails[0]["subject"] and "/withdraw/" in mails[0]["body"]
    assert "already signed" in mails[1]["subject"]


def test_closed_and_draft_petitions_take_no_signatures(app, client, make_petition, outbox):
    make_petition(slug="open-one")
    make_petition(slug="closed-one", state="closed")
    make_petition(slug="draft-one", state="draft")
    assert client.get("/petitions/draft-one").status_code == 404
    page = client.get("/petitions/closed-one")
    assert "This petition is closed" in page.get_data(as_text=True)
    token = csrf_token(client, "/petitions/open-one")
    data = {"csrf_token": token, "name": "A", "email": "a@example.org", "country": "FR"}
    assert client.post("/petitions/closed-one/sign", data=data).status_code == 409
    assert client.post("/petitions/draft-one/sign", data=data).status_code == 404
    assert signatures(app) == [] and outbox() == []


def test_names_in_any_script_are_stored_nfc_and_escaped(app, client, make_petition, sign, outbox):
    make_petition()
    decomposed = "Zoe\u0301 \u0623\u062d\u0645\u062f \u092a\u094d\u0930\u093f\u092f\u093e"
    sign(name=decomposed, email="zoe@example.org")
    sign(name="O'Brien & <b>Co</b>", email="ob@example.org")  # refused: markup
    [row] = signatures(app)
    assert row.name == unicodedata.normalize("NFC", decomposed)
    assert row.name.startswith("Zo\u00e9")
    page = client.get(link(outbox()[0]["body"], "confirm")).get_data(as_text=True)
    assert row.name in page


def test_source_is_kept_through_the_form(app, client, make_petition):
    make_petition()
    page = client.get("/petitions/speak-out?utm_source=blog.example.ie").get_data(as_text=True)
    assert 'value="blog.example.ie"' in page
    token = csrf_token(client, "/petitions/speak-out")
    client.post(
        "/petitions/speak-out/sign",
        data={
            "csrf_token": token,
            "name": "A",
            "email": "a@example.org",
            "country": "IE",
            "source": 'blog.example.ie"><script>',
        },
    )
    assert signatures(app)[0].source == "blog.example.iescript"


def test_petition_page_shows_text_count_progress_and_milestones(
    client, make_petition, make_signature, fold
):
    pid = make_petition(
        text="Hello **world** <script>alert(1)</script> [x](javascript:alert(1))",
        milestones=[(1, "First"), (5, "Five")],
    )
    make_signature(pid)
    fold()  # the milestone is stamped by the fold
    page = client.get("/petitions/speak-out")
    html = page.get_data(as_text=True)
    assert page.headers["Cache-Control"] == "no-store"
    assert "<strong>world</strong>" in html
    assert "<script>alert" not in html and 'href="javascript' not in html
    assert 'data-signature-count="1"' in html
    assert '<progress max="5" value="1"' in html
    assert "First" in html and "reached" in html and "Five" in html


def test_goal_is_the_next_milestone_then_a_ladder(app, client, make_petition, make_signature):
    pid = make_petition(milestones=[(2, "Two")], offline_count=0)
    body = client.get("/api/petitions/speak-out/count").get_json()
    assert set(body) == {"signature_count", "goal", "updated_at"}
    assert (body["signature_count"], body["goal"]) == (0, 2)
    make_signature(pid, email="a@example.org")
    make_signature(pid, email="b@example.org")
    assert client.get("/api/petitions/speak-out/count").get_json()["goal"] == 10
    with app.app_context():
        petition = db.session.get(Petition, pid)
        petition.offline_count = 1_234_567
        db.session.commit()
    body = client.get("/api/petitions/speak-out/count").get_json()
    assert (body["signature_count"], body["goal"]) == (1_234_569, 2_000_000)


def test_api_shapes(client, make_petition, make_signature, fold):
    pid = make_petition(milestones=[(1, "One"), (300_000, "Deliver")], offline_count=5)
    make_signature(pid, country="RU")
    make_signature(pid, email="b@example.org", country="RU")
    make_signature(pid, email="c@example.org", country="FR")
    make_signature(pid, email="d@example.org", country="DE", state="pending")
    fold()  # the milestone is stamped by the fold
    body = client.get("/api/petitions/speak-out").get_json()
    assert set(body) == {
        "slug",
        "title",
        "target",
        "url",
        "state",
        "signature_count",
        "goal",
        "milestones",
        "signatures_by_country",
        "updated_at",
        "languages",
        "endorsers",
    }
    assert body["languages"] == ["en"]
    assert body["signature_count"] == 8
    assert body["goal"] == 300_000
    assert body["signatures_by_country"] == {"RU": 2, "FR": 1}
    assert body["url"] == "http://petition.test/petitions/speak-out"
    assert body["milestones"][0]["reached_at"].endswith("Z")
    assert body["milestones"][1] == {"count": 300_000, "label": "Deliver", "reached_at": None}
    listing = client.get("/api/petitions").get_json()
    assert [p["slug"] for p in listing["petitions"]] == ["speak-out"]
    missing = client.get("/api/petitions/nope")
    assert missing.status_code == 404
    assert missing.get_json()["error"]["code"] == "not_found"


def test_recount_rebuilds_from_the_rows(app, make_petition, make_signature, fold):
    pid = make_petition(milestones=[(2, "Two")])
    make_signature(pid, email="a@example.org")
    make_signature(pid, email="b@example.org")
    fold()
    with app.app_context():
        db.session.get(Petition, pid).confirmed_count = 40
        db.session.execute(db.update(Milestone).values(reached_at=None))
        db.session.commit()
    result = app.test_cli_runner().invoke(args=["signatures", "recount", "speak-out"])
    assert result.exit_code == 0, result.output
    assert "speak-out: 2 (was 40)" in result.output
    with app.app_context():
        assert db.session.get(Petition, pid).confirmed_count == 2
        assert db.session.execute(select(Milestone.reached_at)).scalar() is not None
    result = app.test_cli_runner().invoke(args=["signatures", "recount", "nope"])
    assert result.exit_code != 0 and "no petition" in result.output


def test_petitions_create_command(app, tmp_path):
    text = tmp_path / "text.md"
    text.write_text("We ask **you**.", encoding="utf-8")
    runner = app.test_cli_runner()
    result = runner.invoke(
        args=[
            "petitions",
            "create",
            "ioc",
            "--title",
            "Speak out",
            "--target",
            "The IOC",
            "--text-file",
            str(text),
            "--milestone",
            "300000:Deliver to the IOC at 300,000",
            "--milestone",
            "1000",
            "--open",
        ]
    )
    assert result.exit_code == 0, result.output
    with app.app_context():
        petition = db.session.execute(select(Petition)).scalar_one()
        assert (petition.slug, petition.state, petition.text) == ("ioc", "open", "We ask **you**.")
        assert [(m.count, m.label) for m in petition.milestones] == [
            (1000, "1,000 signatures"),
            (300000, "Deliver to the IOC at 300,000"),
        ]
    again = runner.invoke(args=["petitions", "create", "ioc", "--title", "X", "--target", "Y"])
    assert again.exit_code != 0 and "already exists" in again.output
    bad = runner.invoke(args=["petitions", "create", "Bad Slug", "--title", "X", "--target", "Y"])
    assert bad.exit_code != 0
    bad = runner.invoke(
        args=["petitions", "create", "ok", "--title", "X", "--target", "Y", "--milestone", "ten"]
    )
    assert bad.exit_code != 0 and "N:LABEL" in bad.output


def test_demo_command_is_idempotent(app):
    runner = app.test_cli_runner()
    assert "created" in runner.invoke(args=["demo"]).output
    assert "already there" in runner.invoke(args=["demo"]).output
    with app.app_context():
        petition = db.session.execute(select(Petition)).scalar_one()
        assert petition.confirmed_count >= 300
        countries = db.session.execute(
            select(func.count(func.distinct(Signature.country)))
        ).scalar()
        assert countries >= 20
        assert db.session.execute(select(func.count()).select_from(OutboxMessage)).scalar() == 0


def test_withdraw_racing_a_confirmation_is_never_lost(app, client, make_petition, sign, outbox):
    import threading

    from petition.signing import operations as signing

    make_petition()
    people = 12
    for i in range(people):
        sign(email=f"p{i}@example.org")
    tokens = [
        (
            token_of(m["body"], "confirm"),
            token_of(m["body"], "withdraw"),
        )
        for m in outbox()
    ]
    errors = []

    def run(action, token, barrier):
        try:
            barrier.wait(timeout=30)
            with app.app_context():
                action(token, app.config) if action is signing.confirm else action(token)
                db.session.commit()
        except Exception as exc:  # collected and asserted below
            errors.append(exc)

    threads = []
    for confirm_token, withdraw_token in tokens:
        barrier = threading.Barrier(2)
        threads.append(threading.Thread(target=run, args=(signing.confirm, confirm_token, barrier)))
        threads.append(
            threading.Thread(target=run, args=(signing.withdraw, withdraw_token, barrier))
        )
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    assert {s.state for s in signatures(app)} == {"withdrawn"}
    assert count(client) == 0


def test_signatures_can_be_counted_by_source(app, make_petition, make_signature):
    from petition.petitions import counting

    pid = make_petition()
    for i, source in enumerate(["blog.example.ie", "blog.example.ie", "union.es", None]):
        make_signature(pid, email=f"s{i}@example.org", source=source)
    make_signature(pid, email="pending@example.org", source="union.es", state="pending")
    with app.app_context():
        assert counting.by_source(pid) == [("blog.example.ie", 2), (None, 1), ("union.es", 1)]


def close_elsewhere(app, slug, **values):
    """Change a petition's row as another app server would: this process's card stays."""
    from sqlalchemy import update

    with app.app_context():
        db.session.execute(update(Petition).where(Petition.slug == slug).values(**values))
        db.session.commit()


@pytest.mark.parametrize(
    "change",
    [
        {"state": "closed"},
        {"closes_at": dt.datetime(2020, 1, 1, tzinfo=dt.UTC)},
    ],
    ids=["closed", "closing-time-passed"],
)
def test_a_petition_closed_since_the_card_was_cached_refuses_the_signature(
    app, client, make_petition, outbox, change
):
    """The sign path knows the petition from a per-process card; the insert checks it is open."""
    make_petition()
    token = csrf_token(client, "/petitions/speak-out")  # the closed page has no form

    def post(email):
        data = {"csrf_token": token, "name": "Ana", "email": email, "country": "BR"}
        return client.post("/petitions/speak-out/sign", data=data)

    assert post("first@example.org").status_code == 303  # the card is cached now
    close_elsewhere(app, "speak-out", **change)
    response = post("second@example.org")
    assert response.status_code == 409
    assert "This petition is closed" in response.get_data(as_text=True)
    # A repeat by someone who signed before the close is refused the same way, with no mail.
    assert post("first@example.org").status_code == 409
    assert [s.email for s in signatures(app)] == ["first@example.org"]
    assert len(outbox()) == 1


def test_a_repeat_leaves_no_token_or_mail_of_the_new_signature_it_was_not(
    app, client, make_petition, sign, outbox
):
    make_petition()
    sign(email="ana@example.org")
    sign(email="ANA@example.org")
    with app.app_context():
        tokens = db.session.execute(select(Token.signature_id, Token.purpose)).all()
    [row] = signatures(app)
    # The first sign's confirm + withdraw tokens, and the repeat's new pair; one row, two mails.
    assert sorted(tokens) == sorted([(row.id, "confirm"), (row.id, "withdraw")] * 2)
    assert len(outbox()) == 2


def test_a_title_edited_by_staff_shows_in_the_next_mail(app, client, make_petition, sign, outbox):
    from petition.petitions import snapshots

    make_petition()
    sign(email="first@example.org")
    close_elsewhere(app, "speak-out", title="Speak out now")
    with app.test_request_context():
        snapshots.forget("speak-out")  # what the staff edit does after its commit
    sign(email="second@example.org")
    assert "Speak out now" in outbox()[1]["subject"]
