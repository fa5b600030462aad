"""Report-back photos: uploaded from the manage link after the event, re-encoded without EXIF or
GPS, refused clearly when not a photo (an SVG, a bomb, text), public after staff approve."""

import datetime as dt
import io
import os
import re
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import update

from petition.core import uploads
from petition.core.extensions import db
from petition.events.models import Event, EventPhoto
from petition.staff import auth
from tests.events.test_events import DAY, host_and_confirm, mail_link
from tests.helpers import STAFF_PASSWORD, csrf_token, staff_login, staff_post

GPS = {1: "N", 2: (53.0, 20.0, 41.0), 3: "W", 4: (6.0, 15.0, 26.0)}


def jpeg_with_gps(size=(1200, 900), orientation=None):
    exif = Image.Exif()
    exif[0x8825] = GPS  # GPSInfo
    exif[0x010F] = "PhoneMaker"
    exif[0x0131] = "Camera app 1.0"
    if orientation:
        exif[0x0112] = orientation
    out = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(out, "JPEG", exif=exif.tobytes())
    return out.getvalue()


def png(size=(800, 600), mode="RGBA"):
    out = io.BytesIO()
    Image.new(mode, size).save(out, "PNG")
    return out.getvalue()


@pytest.fixture
def past_event(app, client, make_day, outbox):
    """An approved event that has started; (event id, manage path)."""
    make_day(approval=False)
    mail = host_and_confirm(client, outbox)
    with app.app_context():
        event_id = db.session.execute(db.select(Event.id)).scalar_one()
        db.session.execute(
            update(Event)
            .where(Event.id == event_id)
            .values(starts_at=dt.datetime.now(dt.UTC) - dt.timedelta(hours=2), ends_at=None)
        )
        db.session.commit()
    return event_id, mail_link(mail["body"], "events/manage")


def fetch(client, path):
    """GET a file and close it (send_file's response holds the file open until closed)."""
    with client.get(path) as response:
        response.data  # noqa: B018 -- read before the file closes
        return response


def upload(client, manage, *files, caption="At the embassy"):
    return client.post(
        manage + "/photos",
        data={
            "csrf_token": csrf_token(client, manage),
            "caption": caption,
            "photos": [(io.BytesIO(data), name) for name, data in files],
        },
        content_type="multipart/form-data",
    )


def photos(app):
    with app.app_context():
        rows = db.session.execute(db.select(EventPhoto).order_by(EventPhoto.id)).scalars().all()
        for row in rows:
            db.session.expunge(row)
        return rows


def stored(app, name):
    return Path(uploads.path_of(app.config["UPLOAD_DIR"], name)).read_bytes()


def opened(data):
    """A decoded copy of an image, its file closed."""
    with Image.open(io.BytesIO(data)) as img:
        img.load()
        return (
            img.copy(),
            img.format,
            dict(img.getexif()),
            img.getexif().get_ifd(0x8825),
            dict(img.info),
        )


def test_a_jpeg_comes_out_without_its_exif_and_gps(app, client, past_event):
    _, manage = past_event
    original = jpeg_with_gps(orientation=6)
    assert opened(original)[3]  # the GPS is there
    response = upload(client, manage, ("IMG_0001.jpg", original))
    assert response.status_code == 303
    assert "waiting for our team" in client.get(manage).get_data(as_text=True)
    [photo] = photos(app)
    assert photo.state == "pending" and photo.caption == "At the embassy"
    data = stored(app, photo.file_name)
    assert data != original
    clean, kind, exif, gps, info = opened(data)
    assert kind == "JPEG" and exif == {} and not gps
    assert b"Exif" not in data and b"PhoneMaker" not in data and b"Camera app" not in data
    assert "icc_profile" not in info
    # Turned upright by the orientation tag before the tag went: 1200x900 rotated.
    assert clean.size == (900, 1200) == (photo.width, photo.height)
    thumb, _, thumb_exif, _, _ = opened(stored(app, photo.thumb_name))
    assert max(thumb.size) == 480 and thumb_exif == {}
    # Files are private to the app's user and named at random, not after the upload.
    assert "IMG_0001" not in photo.file_name
    assert re.fullmatch(r"[A-Za-z0-9_-]{24}\.jpg", photo.file_name)


def test_a_photo_is_public_only_after_staff_approve(app, client, past_event):
    event_id, manage = past_event
    upload(client, manage, ("a.png", png()))
    [photo] = photos(app)
    assert fetch(client, f"/photos/{photo.file_name}").status_code == 404
    assert photo.thumb_name not in client.get(f"/days/{DAY}").get_data(as_text=True)
    # The host sees their own pending photo.
    own = fetch(client, f"{manage}/photos/{photo.thumb_name}")
    assert own.status_code == 200 and own.mimetype == "image/jpeg"
    assert "no-store" in own.headers["Cache-Control"]

    with app.app_context():
        auth.create_staff("mod@example.org", STAFF_PASSWORD, "admin")
        db.session.commit()
    staff = app.test_client()
    assert staff_login(staff, "mod@example.org").status_code == 303
    queue = staff.get(f"/staff/days/{DAY}/photos").get_data(as_text=True)
    assert f'data-photo-id="{photo.id}"' in queue
    assert fetch(staff, f"/staff/photos/{photo.thumb_name}").status_code == 200
    response = staff_post(staff, f"/staff/photos/{photo.id}/review", decision="approve")
    assert response.status_code == 303

    day = client.get(f"/days/{DAY}").get_data(as_text=True)
    assert f'src="/photos/{photo.thumb_name}"' in day and 'alt="At the embassy"' in day
    public = fetch(client, f"/photos/{photo.file_name}")
    assert public.status_code == 200 and public.mimetype == "image/jpeg"
    assert public.headers["Cache-Control"] == "public, max-age=86400"
    assert public.headers["X-Content-Type-Options"] == "nosniff"
    assert public.data == stored(app, photo.file_name)

    # Taken down: gone from the page and from the disk.
    staff_post(staff, f"/staff/photos/{photo.id}/review", decision="reject")
    assert fetch(client, f"/photos/{photo.file_name}").status_code == 404
    assert uploads.path_of(app.config["UPLOAD_DIR"], photo.file_name) is None
    audit = staff.get("/staff/audit").get_data(as_text=True)
    assert "photo.approve" in audit and "photo.reject" in audit


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        (
            "bomb.png",
            None,  # made in the test: 30000 x 30000 pixels in about 100 KB
            "too many pixels",
        ),
        (
            "notes.jpg",
            b"This is not a picture at all, just text.\n" * 10,
            "not a photo we can read",
        ),
        (
            "logo.svg",
            b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)'
            b"</script></svg>",
            "SVG images are not accepted",
        ),
        ("cut.jpg", None, "not a photo we can read"),
        ("empty.jpg", b"", "The file is empty"),
    ],
)
def test_what_is_not_a_photo_gets_a_clear_400(app, client, past_event, name, data, message):
    _, manage = past_event
    if name == "bomb.png":
        out = io.BytesIO()
        Image.new("1", (30000, 30000)).save(out, "PNG")
        data = out.getvalue()
        assert len(data) < app.config["PHOTO_MAX_BYTES"]
    if name == "cut.jpg":
        data = jpeg_with_gps()[:600]
    response = upload(client, manage, (name, data))
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert photos(app) == []
    assert [p for p in (app.config["UPLOAD_DIR"],) if list_files(p)] == []


def list_files(folder):
    return os.listdir(folder) if os.path.isdir(folder) else []


def test_one_bad_file_keeps_none_of_the_batch(app, client, past_event):
    _, manage = past_event
    response = upload(client, manage, ("good.jpg", jpeg_with_gps()), ("bad.jpg", b"nope" * 100))
    assert response.status_code == 400
    assert "bad.jpg: This file is not a photo we can read" in response.get_data(as_text=True)
    assert photos(app) == [] and list_files(app.config["UPLOAD_DIR"]) == []


def test_limits_per_event_and_per_file(app, client, past_event):
    _, manage = past_event
    app.config["PHOTOS_PER_EVENT"] = 2
    assert upload(client, manage, ("1.jpg", jpeg_with_gps()), ("2.jpg", png())).status_code == 303
    response = upload(client, manage, ("3.jpg", jpeg_with_gps()))
    assert response.status_code == 400
    assert "at most 2 photos" in response.get_data(as_text=True)
    # Deleting one makes room again.
    [first, _second] = photos(app)
    client.post(
        f"{manage}/photos/{first.id}/delete", data={"csrf_token": csrf_token(client, manage)}
    )
    assert uploads.path_of(app.config["UPLOAD_DIR"], first.file_name) is None
    assert upload(client, manage, ("3.jpg", jpeg_with_gps())).status_code == 303

    app.config["PHOTO_MAX_BYTES"] = 20_000
    big = jpeg_with_gps(size=(3000, 3000))
    app.config["PHOTOS_PER_EVENT"] = 10
    response = upload(client, manage, ("big.jpg", big))
    assert response.status_code in (400, 413)
    assert "MB" in response.get_data(as_text=True)


def test_photos_wait_for_the_event_and_need_the_csrf_token(app, client, make_day, outbox):
    make_day(approval=False)
    mail = host_and_confirm(client, outbox)
    manage = mail_link(mail["body"], "events/manage")
    page = client.get(manage).get_data(as_text=True)
    assert "After your event" in page and 'enctype="multipart/form-data"' not in page
    response = upload(client, manage, ("a.jpg", jpeg_with_gps()))
    assert response.status_code == 400
    assert "once the event has started" in response.get_data(as_text=True)
    response = client.post(
        manage + "/photos",
        data={"photos": [(io.BytesIO(png()), "a.png")]},
        content_type="multipart/form-data",
    )
    assert response.status_code == 400
    assert photos(app) == []
    assert (
        client.post(
            "/events/manage/not-a-token/photos",
            data={"photos": [(io.BytesIO(png()), "a.png")]},
            content_type="multipart/form-data",
        ).status_code
        == 404
    )
