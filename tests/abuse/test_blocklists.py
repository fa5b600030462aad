"""Staff-edited blocklists: domains and address ranges whose new signatures are held."""

import json

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from sqlalchemy import event, select

from petition.abuse import blocklists
from petition.abuse.models import BlockedDomain, BlockedNetwork
from petition.core.extensions import db
from petition.petitions.models import Signature
from petition.staff.models import AuditLog
from tests.helpers import ADMIN, CAMPAIGNER, staff_post
from tests.helpers import staff_login as login

PAGE = "/staff/blocklists"


@pytest.fixture
def admin(client, accounts):
    assert login(client, ADMIN).status_code == 303
    return client


@pytest.fixture
def campaigner(client, accounts):
    assert login(client, CAMPAIGNER).status_code == 303
    return client


post = staff_post


def add_domain(client, domain, kind="block", note=""):
    return post(client, f"{PAGE}/domains", domain=domain, kind=kind, note=note)


def add_network(client, network, note=""):
    return post(client, f"{PAGE}/networks", network=network, note=note)


def rows(app, model):
    with app.app_context():
        found = db.session.execute(select(model).order_by(model.id)).scalars().all()
        db.session.expunge_all()
        return found


def signature(app, email):
    with app.app_context():
        found = db.session.execute(select(Signature).where(Signature.email == email)).scalar_one()
        db.session.expunge_all()
        return found


def audit_entries(app):
    with app.app_context():
        return [
            (e.action, e.staff_email, json.loads(e.detail))
            for e in db.session.execute(
                select(AuditLog)
                .where(AuditLog.action.startswith("blocklist."))
                .order_by(AuditLog.id)
            ).scalars()
        ]


def from_address(client, address):
    client.environ_base["REMOTE_ADDR"] = address


def signed_normally(client, response):
    """The answer every signer gets (the /signed page is the same for everyone)."""
    assert response.status_code == 303
    assert response.headers["Location"] == "/petitions/speak-out/signed"
    assert client.get(response.headers["Location"]).status_code == 200


def test_a_domain_staff_add_holds_new_signatures_and_its_subdomains_until_removed(
    app, admin, make_petition, sign, outbox
):
    make_petition()
    sign(email="early@spam.example")
    response = add_domain(admin, "  Spam.Example ", note="bot wave on 21 Nov")
    assert response.status_code == 303
    page = admin.get(response.headers["Location"]).get_data(as_text=True)
    assert "New signatures from spam.example are held." in page
    assert "spam.example" in page and "bot wave on 21 Nov" in page
    [entry] = rows(app, BlockedDomain)
    assert (entry.domain, entry.kind, entry.created_by) == ("spam.example", "block", 1)

    signed_normally(admin, sign(email="bot1@spam.example"))
    signed_normally(admin, sign(email="bot2@mx.Spam.Example"))
    sign(email="person@example.org")
    assert signature(app, "bot1@spam.example").state == "fraudulent"
    assert signature(app, "bot1@spam.example").moderation_reason == (
        "held: email domain spam.example is blocked"
    )
    assert signature(app, "bot2@mx.spam.example").state == "fraudulent"
    assert signature(app, "person@example.org").state == "pending"
    # Changes apply to new signatures only.
    assert signature(app, "early@spam.example").state == "pending"
    # Held signers get the same mail as anyone.
    assert len(outbox()) == 4

    response = post(admin, f"{PAGE}/domains/{entry.id}/delete")
    assert response.status_code == 303
    assert rows(app, BlockedDomain) == []
    sign(email="later@spam.example")
    assert signature(app, "later@spam.example").state == "pending"

    assert audit_entries(app) == [
        (
            "blocklist.domain.add",
            ADMIN,
            {"domain": "spam.example", "kind": "block", "note": "bot wave on 21 Nov"},
        ),
        ("blocklist.domain.remove", ADMIN, {"domain": "spam.example", "kind": "block"}),
    ]
    # Removing it again is harmless.
    assert post(admin, f"{PAGE}/domains/{entry.id}/delete").status_code == 303


def test_an_international_domain_is_stored_as_idna(app, admin, make_petition, sign):
    make_petition()
    assert add_domain(admin, "ana@Bücher.example").status_code == 303
    assert [e.domain for e in rows(app, BlockedDomain)] == ["xn--bcher-kva.example"]
    sign(email="x@bücher.example")
    assert signature(app, "x@bücher.example").state == "fraudulent"


def test_ranges_hold_ipv4_and_ipv6_and_are_normalised(app, admin, make_petition, sign):
    make_petition()
    assert add_network(admin, "10.9.4.5/16", note="hosting").status_code == 303
    assert add_network(admin, "2001:DB8:0:0::1/48").status_code == 303
    assert add_network(admin, "192.0.2.7").status_code == 303
    assert [n.network for n in rows(app, BlockedNetwork)] == [
        "10.9.0.0/16",
        "2001:db8::/48",
        "192.0.2.7/32",
    ]
    page = admin.get(PAGE).get_data(as_text=True)
    assert "10.9.0.0/16" in page and "2001:db8::/48" in page

    for address, email in [
        ("10.9.200.1", "v4@example.org"),
        ("2001:db8::99", "v6@example.org"),
        ("192.0.2.7", "one@example.org"),
        ("10.10.0.1", "fine@example.org"),
        ("2001:db9::1", "fine6@example.org"),
    ]:
        from_address(admin, address)
        signed_normally(admin, sign(email=email))
    assert signature(app, "v4@example.org").moderation_reason == (
        "held: address 10.9.200.1 is in blocked network 10.9.0.0/16"
    )
    assert signature(app, "v6@example.org").state == "fraudulent"
    assert signature(app, "one@example.org").state == "fraudulent"
    assert signature(app, "fine@example.org").state == "pending"
    assert signature(app, "fine6@example.org").state == "pending"

    [entry, *_] = rows(app, BlockedNetwork)
    assert post(admin, f"{PAGE}/networks/{entry.id}/delete").status_code == 303
    from_address(admin, "10.9.200.2")
    sign(email="after@example.org")
    assert signature(app, "after@example.org").state == "pending"
    assert [(a, d) for a, _, d in audit_entries(app)][-1] == (
        "blocklist.network.remove",
        {"network": "10.9.0.0/16"},
    )


@pytest.mark.parametrize(
    ("domain", "message"),
    [
        ("", "Enter a domain"),
        ("not a domain", "Not a valid email domain"),
        ("example", "Not a valid email domain"),
        ("exa_mple.com", "Not a valid email domain"),
        ("10.1.2.3", "That is an address"),
        ("x" * 300 + ".com", "too long"),
        ("<script>alert(1)</script>.com", "Not a valid email domain"),
        # Refused app-wide before the form sees it; still a 400, not a 500.
        ("\x00.com", ""),
    ],
)
def test_an_invalid_domain_is_a_form_error(app, admin, domain, message):
    response = add_domain(admin, domain)
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert message in page
    assert "<script>alert" not in page
    assert rows(app, BlockedDomain) == []


@pytest.mark.parametrize(
    ("network", "message"),
    [
        ("", "Enter an address range"),
        ("10.0.0.300/8", "Not a valid address range"),
        ("10.0.0.0/33", "Not a valid address range"),
        ("garbage", "Not a valid address range"),
        ("0.0.0.0/0", "too wide"),
        ("::/0", "too wide"),
        ("10.0.0.0/7", "too wide"),
    ],
)
def test_an_invalid_range_is_a_form_error(app, admin, network, message):
    response = add_network(admin, network)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert rows(app, BlockedNetwork) == []


def test_duplicates_and_unknown_fields_are_form_errors(app, admin):
    assert add_domain(admin, "spam.example").status_code == 303
    response = add_domain(admin, "SPAM.example", kind="allow")
    assert response.status_code == 400
    assert "spam.example is already on the list." in response.get_data(as_text=True)
    assert add_domain(admin, "other.example", kind="nonsense").status_code == 400
    assert add_network(admin, "10.1.0.0/16").status_code == 303
    response = add_network(admin, "10.1.2.3/16")
    assert response.status_code == 400
    assert "10.1.0.0/16 is already on the list." in response.get_data(as_text=True)
    assert len(rows(app, BlockedDomain)) == 1 and len(rows(app, BlockedNetwork)) == 1
    assert post(admin, f"{PAGE}/domains/x/delete").status_code == 404


@pytest.mark.parametrize("app_config", [{"BLOCKED_EMAIL_DOMAINS": "config.example"}])
def test_an_allowed_domain_escapes_the_disposable_list_but_not_a_block(
    app, admin, make_petition, sign
):
    make_petition()
    page = admin.get(PAGE).get_data(as_text=True)
    assert f"{len(blocklists_disposable())}" in page.replace(",", "")
    assert "config.example" in page  # the operator's list is shown, read-only
    assert add_domain(admin, "mailinator.com", kind="allow").status_code == 303
    assert add_domain(admin, "config.example", kind="allow").status_code == 303
    sign(email="real@mailinator.com")
    sign(email="other@guerrillamail.com")
    sign(email="x@config.example")
    assert signature(app, "real@mailinator.com").state == "pending"
    assert signature(app, "other@guerrillamail.com").state == "fraudulent"
    assert signature(app, "x@config.example").state == "fraudulent"


def blocklists_disposable():
    from petition.abuse.defences import disposable_domains

    return disposable_domains()


def test_campaigners_see_the_lists_but_cannot_change_them(app, campaigner):
    with app.app_context():
        blocklists.add_domain("spam.example")
        blocklists.add_network("10.0.0.0/8")
        db.session.commit()
    page = campaigner.get(PAGE)
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "spam.example" in text and "10.0.0.0/8" in text
    assert "Add domain" not in text and "Remove" not in text
    assert 'href="/staff/blocklists"' in text  # in the staff nav
    [domain] = rows(app, BlockedDomain)
    [network] = rows(app, BlockedNetwork)
    for path, data in [
        (f"{PAGE}/domains", {"domain": "x.example"}),
        (f"{PAGE}/networks", {"network": "192.0.2.0/24"}),
        (f"{PAGE}/domains/{domain.id}/delete", {}),
        (f"{PAGE}/networks/{network.id}/delete", {}),
    ]:
        assert post(campaigner, path, **data).status_code == 403
    assert len(rows(app, BlockedDomain)) == 1 and len(rows(app, BlockedNetwork)) == 1
    assert audit_entries(app) == []


def test_the_page_needs_a_login(client, accounts):
    response = client.get(PAGE)
    assert response.status_code in (302, 303)
    assert "/staff/login" in response.headers["Location"]


def test_every_change_needs_the_csrf_token(app, admin):
    with app.app_context():
        blocklists.add_domain("spam.example")
        db.session.commit()
    [entry] = rows(app, BlockedDomain)
    for path, data in [
        (f"{PAGE}/domains", {"domain": "x.example"}),
        (f"{PAGE}/networks", {"network": "192.0.2.0/24"}),
        (f"{PAGE}/domains/{entry.id}/delete", {}),
    ]:
        assert admin.post(path, data=data).status_code == 400
        assert admin.post(path, data={**data, "csrf_token": "forged"}).status_code == 400
    assert [e.domain for e in rows(app, BlockedDomain)] == ["spam.example"]
    assert rows(app, BlockedNetwork) == []


def test_search_links_go_to_the_chosen_petition(app, admin, make_petition):
    make_petition(slug="older")
    make_petition(slug="newer")
    make_petition(slug="draft-one", state="draft")
    add_domain(admin, "spam.example")
    add_network(admin, "10.0.0.0/8")
    page = admin.get(PAGE).get_data(as_text=True)
    assert "/staff/petitions/newer/signatures?domain=spam.example" in page
    assert "/staff/petitions/newer/signatures?ip=10.0.0.0/8" in page
    page = admin.get(f"{PAGE}?petition=older").get_data(as_text=True)
    assert "/staff/petitions/older/signatures?domain=spam.example" in page
    # An unknown one falls back to the newest open petition.
    page = admin.get(f"{PAGE}?petition=%3Cnope%3E").get_data(as_text=True)
    assert "/staff/petitions/newer/signatures?domain=spam.example" in page


@pytest.mark.parametrize("app_config", [{"BLOCKLIST_CACHE_SECONDS": 3600}])
def test_signing_reads_the_lists_from_a_per_process_snapshot(app, admin, make_petition, sign):
    make_petition()
    add_domain(admin, "spam.example")
    queries = []

    def record(conn, cursor, statement, *args):
        if "blocked_" in statement:
            queries.append(statement)

    with app.app_context():
        event.listen(db.engine, "before_cursor_execute", record)
    try:
        for i in range(5):
            sign(email=f"bot{i}@spam.example")
    finally:
        with app.app_context():
            event.remove(db.engine, "before_cursor_execute", record)
    assert [signature(app, f"bot{i}@spam.example").state for i in range(5)] == ["fraudulent"] * 5
    # At most one reload (two small SELECTs) for five signatures; none after it.
    assert len(queries) <= 2

    # A change made by another process (straight into the table) waits for the snapshot to
    # expire; one made here applies at once.
    with app.app_context():
        db.session.add(BlockedDomain(domain="elsewhere.example", kind="block", note=""))
        db.session.commit()
    sign(email="a@elsewhere.example")
    assert signature(app, "a@elsewhere.example").state == "pending"
    with app.app_context():
        blocklists.changed()
    sign(email="b@elsewhere.example")
    assert signature(app, "b@elsewhere.example").state == "fraudulent"


@pytest.mark.parametrize("app_config", [{"ABUSE_CHECKS": False}])
def test_with_abuse_checks_off_the_lists_hold_nothing(app, admin, make_petition, sign):
    make_petition()
    assert add_domain(admin, "spam.example").status_code == 303
    assert add_network(admin, "10.0.0.0/8").status_code == 303
    assert "Abuse checks are off" in admin.get(PAGE).get_data(as_text=True)
    from_address(admin, "10.1.2.3")
    sign(email="bot@spam.example")
    assert signature(app, "bot@spam.example").state == "pending"


def test_normalising_by_itself():
    assert blocklists.normalise_domain("@GoogleMail.com") == "gmail.com"
    assert blocklists.normalise_domain("mail.example.") == "mail.example"
    assert blocklists.normalise_network(" 2001:db8::1 ") == "2001:db8::1/128"
    with pytest.raises(blocklists.BlocklistError):
        blocklists.normalise_domain("[10.0.0.1]")


ANY_TEXT = st.one_of(
    st.text(max_size=300),
    st.sampled_from(
        [
            "\x00",
            "\u202eevil.example",
            "ex\u00admple.com",
            "xn--.com",
            "xn--zz.example",
            "a..b.example",
            ".example",
            "@",
            "a@b@c.example",
            "[::1]",
            "10.0.0.0/8/8",
            "fe80::1%eth0/64",
            "::ffff:10.0.0.1/104",
            "1" * 400,
        ]
    ),
)


@given(domain=ANY_TEXT, network=ANY_TEXT, note=ANY_TEXT, kind=ANY_TEXT)
@example(domain="bücher.example", network="2001:db8::/32", note="", kind="allow")
def test_the_forms_take_any_input_without_a_500(app, admin, domain, network, note, kind):
    response = add_domain(admin, domain, kind=kind, note=note)
    assert response.status_code in (303, 400), (domain, kind, note)
    response = add_network(admin, network, note=note)
    assert response.status_code in (303, 400), (network, note)
    assert admin.get(PAGE).status_code == 200
