"""An organisation endorses in a real browser, against gunicorn: the form on a phone in Arabic
(right to left) with a logo, the confirmation from the mail, staff approve, and the logo wall
on the petition page."""

import io
import re

import pytest
from PIL import Image

from tests import services
from tests.live import ROOT, live_server, wait_until

pytestmark = pytest.mark.browser

ARTIFACTS = ROOT / "test-artifacts"
SLUG = "speak-out"
PHONE = {"width": 390, "height": 844}
STAFF_EMAIL = "staff@example.org"
STAFF_PASSWORD = "a long staff password 123"
TIMEOUT_MS = 10_000


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    services.require_chromium()
    folder = tmp_path_factory.mktemp("endorse-browser")
    with live_server(f"sqlite:///{folder}/petition.db", folder) as server:
        server.flask(
            "petitions", "create", SLUG, "--title", "Speak out", "--target", "The IOC", "--open"
        )
        server.flask(
            "staff", "create", STAFF_EMAIL, "--role", "campaigner", "--password-stdin",
            input=STAFF_PASSWORD + "\n",
        )  # fmt: skip
        yield server


def test_endorse_on_a_phone_in_arabic_confirm_approve_and_see_the_wall(server, browser, tmp_path):
    logo = tmp_path / "logo.png"
    Image.new("RGBA", (320, 160), (0, 122, 61, 255)).save(logo, "PNG")
    errors = []
    phone = browser.new_context(locale="ar", viewport=PHONE, is_mobile=True)
    phone.set_default_timeout(TIMEOUT_MS)
    page = phone.new_page()
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{server.url}/petitions/{SLUG}/endorse?lang=ar")
    assert page.locator("html").get_attribute("dir") == "rtl"
    page.fill("#org_name", "جمعية الرياضة للجميع")
    page.fill("#website", "sport-for-all.example.org")
    page.select_option("#country", "LB")
    page.fill("#statement", "الرياضة حق للجميع.")
    page.set_input_files("#logo", str(logo))
    page.fill("#contact_name", "ليلى")
    page.fill("#contact_email", "layla@example.org")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / "endorse-form-ar-phone.png", full_page=True)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/endorse/sent$"))

    link = wait_until(
        lambda: server.mail_link("layla@example.org", "endorsements/confirm"),
        what="confirmation mail",
    )
    assert "lang=ar" in link  # the mail spoke Arabic, and its link keeps it
    page.goto(link)
    page.click("form button[type=submit]")
    page.wait_for_selector("h1")
    assert page.locator("html").get_attribute("lang") == "ar"

    staff = browser.new_context(locale="en-GB", viewport={"width": 1200, "height": 900})
    staff.set_default_timeout(TIMEOUT_MS)
    desk = staff.new_page()
    desk.goto(f"{server.url}/staff/login")
    desk.fill("input[name=email]", STAFF_EMAIL)
    desk.fill("input[name=password]", STAFF_PASSWORD)
    desk.click("button[type=submit]")
    desk.goto(f"{server.url}/staff/endorsements?lang=en")
    row = desk.locator("tr", has_text="جمعية الرياضة للجميع")
    assert "layla@example.org" in row.inner_text()  # staff see the contact
    row.get_by_role("button", name="Approve", exact=True).click()
    desk.wait_for_selector("text=Approved and listed")
    staff.close()

    page.goto(f"{server.url}/petitions/{SLUG}?lang=ar")
    wall = page.locator("section.endorsers")
    assert wall.get_attribute("data-endorser-count") == "1"
    link = wall.locator("a[href='https://sport-for-all.example.org']")
    assert link.get_attribute("rel") == "noopener"
    image = wall.locator("img")
    image.scroll_into_view_if_needed()
    # The logo the browser drew: decoded from our re-encoded PNG, at its own size.
    assert page.evaluate("img => img.complete && img.naturalWidth", image.element_handle()) == 320
    assert "layla" not in page.content() and "ليلى" not in wall.inner_text()
    # Nothing sticks out sideways on a phone, right to left.
    width = page.evaluate("document.scrollingElement.scrollWidth")
    assert width <= PHONE["width"], width
    wall.screenshot(path=ARTIFACTS / "endorsers-wall-ar-phone.png")
    with io.BytesIO(wall.screenshot()) as shot:
        assert Image.open(shot).width <= PHONE["width"]
    assert errors == []
    phone.close()
