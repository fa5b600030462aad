"""A supporter's path in a real browser, against gunicorn: sign, get the mail, confirm, count.

Chromium is Debian's (tests.services.CHROMIUM), driven by Playwright's sync API; one browser
and one server per module. Screenshots go to test-artifacts/ at the repo root for CI to keep.
"""

import re

import pytest

from tests import services
from tests.live import ROOT, live_server, wait_until

pytestmark = pytest.mark.browser

ARTIFACTS = ROOT / "test-artifacts"
SLUG = "speak-out"
TITLE = "Speak out for the athletes"
# Cyrillic, Greek, Han and Arabic (right-to-left) in one name, already in NFC.
NAME = "Ольга Σ 李 ليلى"
TIMEOUT_MS = 10_000


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    services.require_chromium()
    folder = tmp_path_factory.mktemp("browser")
    with live_server(f"sqlite:///{folder}/petition.db", folder) as server:
        server.flask(
            "petitions", "create", SLUG,
            "--title", TITLE,
            "--target", "The IOC",
            "--milestone", "1:First",
            "--milestone", "10:Ten",
            "--open",
        )  # fmt: skip
        yield server


class Tab:
    """A page in a fresh context, with every page error and console error it produced."""

    def __init__(self, browser):
        self.context = browser.new_context(locale="en-US", viewport={"width": 1000, "height": 800})
        self.context.set_default_timeout(TIMEOUT_MS)
        self.page = self.context.new_page()
        self.errors = []
        self.page.on("pageerror", lambda exc: self.errors.append(f"page error: {exc}"))
        self.page.on("console", self.on_console)

    def on_console(self, message):
        if message.type == "error":
            self.errors.append(f"console error at {message.location}: {message.text}")

    def count(self):
        """The signature count the petition page shows, from its data attribute."""
        value = self.page.locator("#signature-count").get_attribute("data-signature-count")
        return int(value)


@pytest.fixture
def tab(browser):
    tab = Tab(browser)
    yield tab
    tab.context.close()


def screenshot(page, name):
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / name, full_page=True)


def confirm_link(server, email):
    """The confirm link of the newest mail to email, or None while it has not been sent."""
    for mail in reversed(server.mails()):
        if mail["To"] == email:
            body = mail.get_body(preferencelist=("plain",)).get_content()
            found = re.search(r"https?://\S+/confirm/[A-Za-z0-9_-]+", body)
            assert found, f"no confirm link in:\n{body}"
            return found.group(0)
    return None


def test_sign_confirm_and_see_the_count_rise(server, tab):
    from playwright.sync_api import expect

    page = tab.page
    petition_url = f"{server.url}/petitions/{SLUG}"
    page.goto(petition_url)
    expect(page.get_by_role("heading", level=1)).to_have_text(TITLE)
    before = tab.count()
    screenshot(page, "petition.png")

    email = "olga.browser@example.org"
    page.get_by_label("Your name", exact=True).fill(NAME)
    page.get_by_label("Email", exact=True).fill(email)
    page.get_by_label("Country", exact=True).select_option("UA")
    page.get_by_label("City (optional)", exact=True).fill("Київ")
    page.get_by_role("button", name="Sign", exact=True).click()

    expect(page.get_by_role("heading", name="Check your inbox")).to_be_visible()
    assert page.url == f"{petition_url}/signed"

    link = wait_until(
        lambda: confirm_link(server, email), timeout=15, what=f"the confirmation mail to {email}"
    )
    assert link.startswith(f"{server.url}/confirm/"), "mail links are built from PUBLIC_URL"

    # Opening the link confirms nothing: only the button does.
    page.goto(link)
    expect(page.get_by_role("heading", name="Confirm your signature")).to_be_visible()
    api = page.request.get(f"{server.url}/api/petitions/{SLUG}/count")
    assert api.json()["signature_count"] == before, "opening the link alone must not confirm"
    signing_as = page.locator("main p", has_text="Signing as")
    assert signing_as.text_content() == f"Signing as {NAME}"
    page.get_by_role("button", name="Confirm my signature").click()

    expect(page.get_by_role("heading", name="Thank you!")).to_be_visible()
    expect(page.get_by_text("Your signature is confirmed and counted.")).to_be_visible()
    screenshot(page, "thank-you.png")

    page.get_by_role("link", name="Back to the petition").click()
    page.wait_for_url(petition_url)

    def risen():
        # The contract allows the public count up to 5 seconds to catch up.
        if tab.count() == before + 1:
            return True
        page.reload()
        return False

    wait_until(risen, timeout=5, interval=0.2, what=f"the count to reach {before + 1}")

    def stamped():
        # The count fold stamps the milestone about a second after the confirmation.
        if page.locator(".milestones li").first.get_attribute("class") == "reached":
            return True
        page.reload()
        return False

    wait_until(stamped, timeout=5, interval=0.2, what="the milestone to be stamped reached")
    expect(page.locator(".milestones li").first).to_have_class("reached")
    screenshot(page, "petition-signed.png")

    assert tab.errors == []


def test_invalid_sign_shows_errors_next_to_fields_and_keeps_input(server, tab):
    from playwright.sync_api import expect

    page = tab.page
    page.goto(f"{server.url}/petitions/{SLUG}")
    page.get_by_label("Email", exact=True).fill("not-an-email")
    page.get_by_label("Country", exact=True).select_option("FR")
    page.get_by_label("City (optional)", exact=True).fill("Zürich")

    sign_url = f"{server.url}/petitions/{SLUG}/sign"
    with page.expect_response(lambda r: r.url == sign_url) as response:
        page.get_by_role("button", name="Sign", exact=True).click()
    assert response.value.status == 400
    page.wait_for_load_state()

    expect(page.get_by_role("alert")).to_have_text("Please correct the fields marked below.")
    name_field = page.locator(".field", has=page.locator("#name"))
    expect(name_field.locator(".error")).to_have_text("Please enter your name.")
    expect(page.locator("#name")).to_have_attribute("aria-describedby", "name-error")
    email_field = page.locator(".field", has=page.locator("#email"))
    expect(email_field.locator(".error")).to_contain_text("This email address is not valid")
    expect(page.locator("#email")).to_have_attribute("aria-invalid", "true")

    expect(page.locator("#email")).to_have_value("not-an-email")
    expect(page.locator("#country")).to_have_value("FR")
    expect(page.locator("#city")).to_have_value("Zürich")
    expect(page.locator(".field .error")).to_have_count(2)
    screenshot(page, "sign-errors.png")

    # Chromium logs the 400 document itself as a failed resource; that one is expected.
    assert [e for e in tab.errors if not (sign_url in e and "status of 400" in e)] == []
