"""A host and an attendee in a real browser, against gunicorn: host on a phone, confirm from
the mail, staff approve, the day's page lists the event, someone RSVPs."""

import re

import pytest

from tests import services
from tests.live import ROOT, live_server, wait_until

pytestmark = pytest.mark.browser

ARTIFACTS = ROOT / "test-artifacts"
DAY = "global-speak-out"
PHONE = {"width": 390, "height": 844}
STAFF_EMAIL = "staff@example.org"
STAFF_PASSWORD = "a long staff password 123"
TIMEOUT_MS = 10_000


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    services.require_chromium()
    folder = tmp_path_factory.mktemp("events-browser")
    with live_server(f"sqlite:///{folder}/petition.db", folder) as server:
        server.flask(
            "days", "create", DAY, "--title", "Global Speak Out", "--starts", "2027-09-03",
            "--requirement", "I will check whether the city needs a permit", "--open",
        )  # fmt: skip
        server.flask(
            "staff", "create", STAFF_EMAIL, "--role", "campaigner", "--password-stdin",
            input=STAFF_PASSWORD + "\n",
        )  # fmt: skip
        yield server


def test_host_confirm_approve_and_rsvp(server, browser):
    errors = []
    phone = browser.new_context(locale="en-GB", viewport=PHONE, is_mobile=True)
    phone.set_default_timeout(TIMEOUT_MS)
    page = phone.new_page()
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{server.url}/days/{DAY}")
    page.click("text=Host an event")
    page.fill("#title", "Speak Out Galway")
    page.fill("#host_name", "Ciara Walsh")
    page.fill("#host_email", "ciara@example.org")
    page.fill("#venue", "Eyre Square")
    page.fill("#city", "Galway")
    page.select_option("#country", "IE")
    page.fill("#starts_at", "2027-09-03T18:00")
    page.check("#agree_1")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / "events-host-phone.png", full_page=True)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/host/sent$"))

    confirm = wait_until(
        lambda: server.mail_link("ciara@example.org", "events/confirm"), what="host mail"
    )
    page.goto(confirm)
    page.click("text=Confirm my event")
    page.wait_for_selector("text=Our team will look at your event soon")

    staff = browser.new_context(locale="en-GB", viewport={"width": 1200, "height": 900})
    staff.set_default_timeout(TIMEOUT_MS)
    desk = staff.new_page()
    desk.goto(f"{server.url}/staff/login")
    desk.fill("input[name=email]", STAFF_EMAIL)
    desk.fill("input[name=password]", STAFF_PASSWORD)
    desk.click("button[type=submit]")
    desk.goto(f"{server.url}/staff/days/{DAY}/events")
    row = desk.locator("tr", has_text="Speak Out Galway")
    row.get_by_role("button", name="Approve", exact=True).click()
    desk.wait_for_selector("text=Approved: Speak Out Galway.")
    staff.close()

    page.goto(f"{server.url}/days/{DAY}")
    assert page.locator("[data-event-count]").get_attribute("data-event-count") == "1"
    page.screenshot(path=ARTIFACTS / "events-day-phone.png", full_page=True)
    # On the map (a pin inside the inline SVG) and in the list beside it.
    assert page.locator("svg.world-map a.pin").count() == 1
    page.click(".event-list a:has-text('Speak Out Galway')")
    assert (
        "6:00" in page.locator(".when").inner_text()
        or "18:00" in page.locator(".when").inner_text()
    )
    page.fill("#name", "Seán Ó Murchú")
    page.fill("#email", "sean@example.org")
    page.click("text=RSVP >> nth=-1")
    page.wait_for_url(re.compile(r"/rsvped$"))
    page.click("text=Back to the event")
    assert page.locator("[data-rsvp-count]").get_attribute("data-rsvp-count") == "1"
    page.screenshot(path=ARTIFACTS / "events-event-phone.png", full_page=True)
    assert wait_until(lambda: server.mail_link("sean@example.org", "rsvp/cancel"), what="RSVP mail")
    assert errors == []
    phone.close()
