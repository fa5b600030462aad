"""The event poster: a valid PDF, every font embedded, every script extractable, the QR code
leading to the event, and no private address."""

import subprocess

import pytest
from sqlalchemy import select

from petition.core.extensions import db
from petition.events.models import Event
from tests.events.test_events import PRIVATE, event_ids, host_and_confirm
from tests.helpers import normal
from tests.services import require_tool

TITLES = {
    "latin": "Speak Out Galway",
    "cyrillic": "Выступи за Россию",
    "arabic": "تكلم من أجل روسيا",
    "chinese": "为俄罗斯发声",
}


def run(*args, **kwargs):
    return subprocess.run(args, capture_output=True, check=True, timeout=60, **kwargs)


@pytest.mark.parametrize("script", sorted(TITLES))
def test_the_poster_prints_every_script(app, client, make_day, outbox, tmp_path, script):
    for tool in ("qpdf", "pdffonts", "pdftotext", "pdftoppm"):
        require_tool(tool, "qpdf" if tool == "qpdf" else "poppler-utils")
    zbarimg = require_tool("zbarimg", "zbar-tools")
    make_day(approval=False)
    title = TITLES[script]
    host_and_confirm(client, outbox, title=title, address=PRIVATE, address_visibility="attendees")
    [event_id] = event_ids(app)
    for size in ("a4", "letter"):
        response = client.get(f"/events/{event_id}/poster.pdf?size={size}")
        assert response.status_code == 200
        assert response.mimetype == "application/pdf"
        pdf = tmp_path / f"poster-{size}.pdf"
        pdf.write_bytes(response.data)
        run("qpdf", "--check", str(pdf))
        fonts = run("pdffonts", str(pdf), text=True).stdout.splitlines()[2:]
        assert fonts and all(" yes yes yes " in line for line in fonts), fonts
        text = normal(run("pdftotext", str(pdf), "-", text=True).stdout)
        assert normal(title) in text
        assert "18:00" in text or "6:00" in text
        assert "Dublin, Ireland" in text
        assert PRIVATE not in text
        run("pdftoppm", "-r", "100", "-png", "-singlefile", str(pdf), str(tmp_path / size))
        decoded = run(zbarimg, "-q", "--raw", str(tmp_path / f"{size}.png"), text=True).stdout
        assert decoded.strip() == f"http://petition.test/events/{event_id}"


def test_the_poster_sizes_and_states(app, client, make_day, outbox):
    make_day()
    host_and_confirm(client, outbox)
    [event_id] = event_ids(app)
    # Pending: no poster for the public.
    assert client.get(f"/events/{event_id}/poster.pdf").status_code == 404
    with app.app_context():
        from petition.events import operations as events

        events.approve(db.session.execute(select(Event)).scalar_one(), app.config)
        db.session.commit()
    assert client.get(f"/events/{event_id}/poster.pdf?size=a3").status_code == 404
    a4 = client.get(f"/events/{event_id}/poster.pdf").data
    letter = client.get(f"/events/{event_id}/poster.pdf?size=letter").data
    assert b"/MediaBox [ 0 0 595.2756 841.8898 ]" in a4
    assert b"/MediaBox [ 0 0 612 792 ]" in letter
