"""Arabic, right to left, in Chromium: the page mirrors, labels sit right of their fields and
the progress bar fills from the right. Screenshots go to test-artifacts/ (rtl-*.png)."""

import io
import sqlite3

import pytest
from PIL import Image

from tests import services
from tests.live import ROOT, live_server

pytestmark = pytest.mark.browser

ARTIFACTS = ROOT / "test-artifacts"
SLUG = "speak-out"
ARABIC_TITLE = "اللجنة الأولمبية الدولية: ارفعي صوتك"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    services.require_chromium()
    folder = tmp_path_factory.mktemp("rtl")
    with live_server(f"sqlite:///{folder}/petition.db", folder) as server:
        server.flask(
            "petitions", "create", SLUG,
            "--title", "IOC: speak out",
            "--target", "The IOC",
            "--milestone", "100:A hundred",
            "--open",
        )  # fmt: skip
        server.flask("petitions", "translate", SLUG, "ar", "--title", ARABIC_TITLE)
        # 30 paper signatures: the bar is 30% full, so its filled end shows.
        database = server.env["DATABASE_URL"].removeprefix("sqlite:///")
        with sqlite3.connect(database) as conn:
            conn.execute("UPDATE petitions SET offline_count = 30 WHERE slug = ?", (SLUG,))
        yield server


def open_page(browser, server, lang, width):
    context = browser.new_context(viewport={"width": width, "height": 900})
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.goto(f"{server.url}/petitions/{SLUG}?lang={lang}")
    return context, page


def text_box(page, selector):
    """The box of an element's text itself (a block label is as wide as the form)."""
    return page.eval_on_selector(
        selector,
        """node => { const r = document.createRange(); r.selectNodeContents(node);
                     const b = r.getBoundingClientRect();
                     return {left: b.left, right: b.right}; }""",
    )


def bar_ends(page):
    """The colours of the progress bar near its left and its right end."""
    bar = page.locator("progress")
    shot = Image.open(io.BytesIO(bar.screenshot())).convert("RGB")
    width, height = shot.size
    y = height // 2
    return shot.getpixel((width // 10, y)), shot.getpixel((width - 1 - width // 10, y))


@pytest.mark.parametrize("width", [390, 1280])
def test_arabic_pages_run_right_to_left(browser, server, width):
    context, page = open_page(browser, server, "en", width)
    ltr_left, ltr_right = bar_ends(page)
    context.close()
    assert ltr_left != ltr_right, "the bar must show a filled and an empty part"

    context, page = open_page(browser, server, "ar", width)
    try:
        assert page.get_attribute("html", "dir") == "rtl"
        assert page.get_attribute("html", "lang") == "ar"
        assert page.locator("h1").inner_text() == ARABIC_TITLE
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=ARTIFACTS / f"rtl-petition-{width}.png", full_page=True)

        field = page.locator("#name").bounding_box()
        label = text_box(page, "label[for=name]")
        field_right = field["x"] + field["width"]
        # The label's text starts at the field's right edge and stops well short of its left.
        assert abs(label["right"] - field_right) < 2
        assert label["left"] > field["x"] + 10

        rtl_left, rtl_right = bar_ends(page)
        # Filled from the right: the right end has the colour the English bar has on its left.
        assert rtl_right == ltr_left
        assert rtl_left == ltr_right
    finally:
        context.close()
