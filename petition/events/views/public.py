"""Public pages of days of action and events: the day, hosting, the event, RSVPs, calendars."""

import datetime as dt
import functools
import itertools
from zoneinfo import ZoneInfo

from babel import dates as babel_dates
from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_babel import force_locale, format_decimal, get_locale, ngettext
from flask_babel import gettext as _
from markupsafe import escape
from werkzeug.exceptions import RequestEntityTooLarge

from petition.abuse.defences import form_time
from petition.core import countries, spreadsheets, uploads
from petition.core.db import StateError
from petition.core.extensions import csrf, db, limiter
from petition.core.http import public_cache
from petition.core.i18n import current_language
from petition.core.urls import public_url
from petition.endorsements import operations as endorsements
from petition.events import calendars, defences, posters, worldmap
from petition.events import operations as events
from petition.events.forms import (
    EditForm,
    HostForm,
    MessageForm,
    PhotoForm,
    RsvpForm,
    edit_data,
)
from petition.events.models import Event, EventPhoto, Rsvp
from petition.jobs import runner as jobs

bp = Blueprint("events", __name__)

link_limit = limiter.shared_limit(lambda: current_app.config["CONFIRM_LIMIT"], scope="links")

# Pages with a form or a personal outcome are never cached; the day's page, its calendar and
# an event's calendar are the same for everyone and may be kept for a few seconds.
CACHEABLE = {"events.day", "events.day_ics", "events.event_ics", "events.api_day", "events.poster"}


# Photos say for themselves how long they keep (a public photo's name never changes bytes).
SELF_CACHED = {"events.photo", "events.manage_photo_file"}


@bp.after_request
def caching(response):
    if request.endpoint in SELF_CACHED and response.status_code == 200:
        return response
    if request.endpoint in CACHEABLE:
        return public_cache(response)
    response.headers["Cache-Control"] = "no-store"
    return response


def commit_and_wake():
    """The request's one commit point; mail queued in it leaves only after it."""
    db.session.commit()
    jobs.wake(current_app)


def public_day(slug):
    day = events.day_by_slug(slug)
    if day is None:
        abort(404)
    return day


def public_event(event_id, cancelled_ok=True):
    """An approved event (or a cancelled one, which says so); anything else is a 404."""
    event = db.session.get(Event, event_id)
    allowed = ("approved", "cancelled") if cancelled_ok else ("approved",)
    if event is None or event.state not in allowed or event.approved_at is None:
        abort(404)
    return event


def parse_date(value):
    try:
        return dt.date.fromisoformat(value) if value else None
    except ValueError:
        return None


@bp.get("/days/<slug>")
def day(slug):
    day = public_day(slug)
    all_events = events.approved_events(day)
    country = request.args.get("country", "").upper()
    country = country if country in countries.CODES else ""
    mode = request.args.get("mode", "")
    mode = mode if mode in ("in_person", "online") else ""
    date = parse_date(request.args.get("date"))
    shown = [
        e
        for e in all_events
        if (not country or e.country == country)
        and (not mode or e.mode == mode)
        and (not date or events.local(e.starts_at, e.timezone).date() == date)
    ]
    counts = events.attending_counts([e.id for e in shown])
    lang = current_language()

    def group(e):
        # Online events are listed on their own, after the countries, and never on the map.
        return e.country if e.mode == "in_person" else ""

    def country_key(e):
        code = group(e)
        return (not code, countries.sort_key(countries.name(code, lang)) if code else "")

    grouped = []
    for code, in_country in itertools.groupby(sorted(shown, key=country_key), key=group):
        in_country = sorted(in_country, key=lambda e: (e.city.casefold(), e.starts_at))
        cities = [
            (city, list(rows))
            for city, rows in itertools.groupby(in_country, key=lambda e: e.city or "")
        ]
        grouped.append((code, cities))
    dates = sorted({events.local(e.starts_at, e.timezone).date() for e in all_events})
    on_map = [e for e in shown if e.mode == "in_person" and e.lat is not None]
    world = worldmap.svg(
        [
            worldmap.Pin(
                e.lat, e.lon, f"{e.title} ({e.city})", url_for("events.event", event_id=e.id)
            )
            for e in on_map
        ],
        highlight={e.country for e in on_map},
        title=_("Map of the events"),
    )
    return render_template(
        "events/day.html",
        day=day,
        headline=events.headline(all_events),
        grouped=grouped,
        counts=counts,
        filters={"country": country, "mode": mode, "date": date},
        country_choices=sorted(
            {e.country for e in all_events},
            key=lambda c: countries.sort_key(countries.name(c, lang)),
        ),
        dates=dates,
        local=events.local,
        world=world,
        photos=events.gallery(day),
        endorsers=endorsements.listed(day),
        embed_snippets=embed_snippets(day),
    )


def embed_snippets(day):
    """Copy-paste code for partner sites: the script and the iframe of the day's events."""
    config = current_app.config
    title = escape(day.title)
    return [
        (
            "script",
            _('Widget (updates itself; add data-theme="dark" for the dark look)'),
            f'<div data-day="{day.slug}"></div>\n'
            f'<script src="{public_url(config, "embed", "widget.js")}" async></script>',
        ),
        (
            "iframe",
            _("Frame, where scripts are not allowed"),
            f'<iframe src="{public_url(config, "embed", "days", day.slug)}" title="{title}" '
            f'width="100%" height="420" style="border:0"></iframe>',
        ),
    ]


@bp.get("/days/<slug>.ics")
def day_ics(slug):
    day = public_day(slug)
    body = calendars.calendar_bytes(
        [events.calendar_entry(e, current_app.config) for e in events.approved_events(day)],
        name=day.title,
    )
    return calendar_response(body, day.slug)


def calendar_response(body, name):
    response = current_app.response_class(body, mimetype="text/calendar")
    response.headers["Content-Disposition"] = f'attachment; filename="{name}.ics"'
    return response


@bp.route("/days/<slug>/host", methods=["GET", "POST"])
def host(slug):
    day = public_day(slug)
    if day.state != "open":
        return render_template(
            "events/host_closed.html", day=day
        ), 409 if request.method == "POST" else 200
    form = HostForm(day=day, language=current_language())
    if request.method == "GET":
        form.t.data = form_time(current_app.config)
        return render_template("events/host.html", day=day, form=form)
    if not form.validate():
        return render_template("events/host.html", day=day, form=form), 400
    data = form.event_data(form.checked_email, current_language(), request.remote_addr)
    held = defences.hold_reason(
        {"honeypot": form.website.data, "t": form.t.data},
        current_app.config,
        Event,
        request.remote_addr,
    )
    events.host_event(day, data, current_app.config, held_reason=held)
    commit_and_wake()
    return redirect(url_for("events.host_sent", slug=slug), code=303)


@bp.get("/days/<slug>/host/sent")
def host_sent(slug):
    return render_template("events/host_sent.html", day=public_day(slug))


@bp.get("/events/confirm/<token>")
@link_limit
def confirm_page(token):
    found = events.find_token(token, "host_confirm")
    if found is None:
        return render_template("signing/link_invalid.html"), 404
    return render_template(
        "events/confirm.html", token=token, event=found.event, used=found.used_at is not None
    )


@bp.post("/events/confirm/<token>")
@link_limit
def confirm(token):
    outcome, event = events.confirm_host(token, current_app.config)
    if outcome == "invalid":
        return render_template("signing/link_invalid.html"), 404
    commit_and_wake()
    return render_template("events/confirmed.html", outcome=outcome, event=event)


def manage_token(token):
    """The event behind a manage link, or None; looked up once per request."""
    known = g.setdefault("manage_events", {})
    if token not in known:
        found = events.find_token(token, "manage")
        known[token] = found.event if found is not None else None
    return known[token]


def with_manage_event(view):
    """The view gets the event behind its manage link; any other link gets the invalid page."""

    @functools.wraps(view)
    def wrapped(token, **kwargs):
        event = manage_token(token)
        if event is None:
            return invalid_link()
        return view(token, event, **kwargs)

    return wrapped


def invalid_link():
    return render_template("signing/link_invalid.html"), 404


@bp.get("/events/manage/<token>")
@link_limit
@with_manage_event
def manage(token, event):
    return render_manage(token, event, MessageForm())


def render_manage(token, event, message_form, status=200, photo_form=None):
    return (
        render_template(
            "events/manage.html",
            token=token,
            event=event,
            attending=events.attendees(event),
            waiting=events.attendees(event, states=("waiting",)),
            message_form=message_form,
            messages_left=events.messages_left(event, current_app.config),
            photo_form=photo_form or PhotoForm(),
            photos=events.photos_of(event, ("pending", "approved")),
            photos_open=events.photos_open(event),
        ),
        status,
    )


@bp.route("/events/manage/<token>/edit", methods=["GET", "POST"])
@link_limit
@with_manage_event
def manage_edit(token, event):
    if event.state == "cancelled":
        flash(_("This event is cancelled: it can no longer be changed."), "error")
        return redirect(url_for("events.manage", token=token), code=303)
    form = EditForm(
        day=event.day,
        language=current_language(),
        data=edit_data(event) if request.method == "GET" else None,
    )
    if request.method == "GET" or not form.validate():
        status = 200 if request.method == "GET" else 400
        return render_template("events/edit.html", token=token, event=event, form=form), status
    changed = events.edit_event(
        event, form.event_data(None, event.language, event.ip), current_app.config
    )
    commit_and_wake()
    if changed:
        flash(_("Your changes are saved."), "info")
    else:
        flash(_("Nothing had changed."), "info")
    return redirect(url_for("events.manage", token=token), code=303)


@bp.post("/events/manage/<token>/cancel")
@link_limit
@with_manage_event
def manage_cancel(token, event):
    events.cancel_event(event, current_app.config)
    commit_and_wake()
    return redirect(url_for("events.manage", token=token), code=303)


@bp.post("/events/manage/<token>/message")
@link_limit
@with_manage_event
def manage_message(token, event):
    form = MessageForm()
    if event.state != "approved":
        flash(_("You can write to attendees once the event is on the map."), "error")
        return redirect(url_for("events.manage", token=token), code=303)
    if not form.validate():
        return render_manage(token, event, form, 400)
    try:
        sent = events.message_attendees(
            event,
            form.subject.data,
            form.body.data,
            current_app.config,
            include_waiting=bool(form.include_waiting.data),
        )
    except events.MessageLimit:
        db.session.rollback()
        form.body.errors = [
            _("You have written to attendees as often as we allow for today. Try again tomorrow.")
        ]
        return render_manage(token, event, form, 429)
    commit_and_wake()
    flash(
        ngettext(
            "Your message is on its way to %(count)s person.",
            "Your message is on its way to %(count)s people.",
            sent,
            count=format_decimal(sent),
        ),
        "info",
    )
    return redirect(url_for("events.manage", token=token), code=303)


@bp.get("/events/manage/<token>/attendees.csv")
@link_limit
@with_manage_event
def manage_attendees_csv(token, event):
    rows = list(events.attendee_rows(event))
    body = "".join(spreadsheets.csv_chunks(events.ATTENDEE_COLUMNS, rows))
    response = current_app.response_class(body, mimetype="text/csv")
    response.headers["Content-Disposition"] = (
        f'attachment; filename="event-{event.id}-attendees.csv"'
    )
    return response


@bp.before_request
def allow_photo_upload():
    """Raise the body limit for a photo upload behind a valid manage link, and only there.

    Every other request keeps MAX_CONTENT_LENGTH; the upload view checks its own CSRF token,
    as the global check would read the body under the small limit first.
    """
    if request.endpoint != "events.manage_photos" or request.method != "POST":
        return None
    if manage_token(request.view_args.get("token")) is None:
        return invalid_link()
    config = current_app.config
    # Room for the multipart envelope and the caption around the files.
    limit = config["PHOTO_MAX_BYTES"] * config["PHOTOS_PER_EVENT"] + 64 * 1024
    if request.content_length is not None and request.content_length > limit:
        return too_large_photos()
    request.max_content_length = limit
    return None


def too_large_photos():
    message = _(
        "The photos are too large together. Send them one at a time, each under %(limit)s MB.",
        limit=f"{current_app.config['PHOTO_MAX_BYTES'] / 1_000_000:g}",
    )
    return render_template("core/error.html", title=_("Too large"), message=message), 413


@bp.post("/events/manage/<token>/photos")
@csrf.exempt
@link_limit
@with_manage_event
def manage_photos(token, event):
    form = PhotoForm()
    try:
        valid = form.validate()
        files = [f for f in (form.photos.data or []) if f and f.filename]
    except RequestEntityTooLarge:
        return too_large_photos()
    if not valid:
        return render_manage(token, event, MessageForm(), 400, photo_form=form)
    if not files:
        form.photos.errors = [_("Choose at least one photo.")]
        return render_manage(token, event, MessageForm(), 400, photo_form=form)
    added = []
    config = current_app.config
    try:
        for upload in files:
            added.append(events.add_photo(event, upload.read(), form.caption.data, config))
        db.session.commit()
    except (uploads.UploadError, events.PhotoRefused) as exc:
        db.session.rollback()
        events.discard_files(added, config)
        name = files[len(added)].filename
        form.photos.errors = [
            _("%(file)s: %(reason)s", file=name, reason=exc.message)
            if len(files) > 1
            else exc.message
        ]
        return render_manage(token, event, MessageForm(), 400, photo_form=form)
    except BaseException:
        db.session.rollback()
        events.discard_files(added, config)
        raise
    flash(
        ngettext(
            "Thank you: %(count)s photo is waiting for our team to look at it.",
            "Thank you: %(count)s photos are waiting for our team to look at them.",
            len(added),
            count=format_decimal(len(added)),
        ),
        "info",
    )
    return redirect(url_for("events.manage", token=token), code=303)


@bp.post("/events/manage/<token>/photos/<int:photo_id>/delete")
@link_limit
@with_manage_event
def manage_photo_delete(token, event, photo_id):
    photo = db.session.get(EventPhoto, photo_id)
    if photo is None or photo.event_id != event.id:
        abort(404)
    events.delete_photo(photo, current_app.config)
    db.session.commit()
    flash(_("The photo is deleted."), "info")
    return redirect(url_for("events.manage", token=token), code=303)


@bp.get("/events/manage/<token>/photos/<name>")
@link_limit
@with_manage_event
def manage_photo_file(token, event, name):
    """The host sees their own photos whatever their state."""
    photo = events.photo_by_name(name)
    if photo is None or photo.event_id != event.id:
        abort(404)
    return send_photo(name, public=False)


@bp.get("/photos/<name>")
@limiter.exempt  # static bytes under unguessable names: a gallery page asks for many at once
def photo(name):
    found = events.photo_by_name(name)
    if found is None or found.state != "approved" or found.event.state != "approved":
        abort(404)
    return send_photo(name, public=True)


def send_photo(name, public):
    path = uploads.path_of(current_app.config["UPLOAD_DIR"], name)
    if path is None:
        abort(404)
    response = send_file(path, mimetype="image/jpeg", conditional=True, max_age=None)
    # A photo's name never points at other bytes; a host's view of a pending one stays private.
    response.headers["Cache-Control"] = "public, max-age=86400" if public else "private, no-store"
    return response


@bp.get("/events/<int:event_id>")
def event(event_id):
    event = public_event(event_id)
    form = RsvpForm()
    form.t.data = form_time(current_app.config)
    return render_event(event, form)


def render_event(event, form, status=200):
    count = events.attending_count(event.id)
    return (
        render_template(
            "events/event.html",
            event=event,
            form=form,
            count=count,
            full=event.capacity is not None and count >= event.capacity,
            start=events.local(event.starts_at, event.timezone),
            end=events.local(event.ends_at, event.timezone) if event.ends_at else None,
        ),
        status,
    )


@bp.get("/events/<int:event_id>.ics")
def event_ics(event_id):
    event = public_event(event_id)
    body = calendars.calendar_bytes(
        [events.calendar_entry(event, current_app.config)], name=event.title
    )
    return calendar_response(body, f"event-{event.id}")


@bp.get("/events/<int:event_id>/poster.pdf")
def poster(event_id):
    event = public_event(event_id, cancelled_ok=False)
    size = request.args.get("size", "a4")
    if size not in posters.SIZES:
        abort(404)
    # The poster speaks the event's language, whoever downloads it; never a private address.
    with force_locale(event.language):
        when = (
            _("Details to come")
            if event.details_to_come
            else event_time(event.starts_at, event.timezone)
        )
        if event.mode == "online":
            place = [_("Online")]
        else:
            place = [p for p in (event.venue, event.public_address) if p]
            place.append(f"{event.city}, {countries.name(event.country, event.language)}")
        body = posters.poster_pdf(
            slogan=(event.day.slogan_list or [event.day.title])[0],
            title=event.title,
            when=str(when),
            place=[str(p) for p in place],
            url=events.event_url(current_app.config, event),
            size=size,
        )
    response = current_app.response_class(body, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'inline; filename="poster-{event.id}-{size}.pdf"'
    return response


@bp.post("/events/<int:event_id>/rsvp")
def rsvp(event_id):
    event = public_event(event_id, cancelled_ok=False)
    form = RsvpForm()
    if not form.validate():
        return render_event(event, form, status=400)
    held = defences.hold_reason(
        {"honeypot": form.website.data, "t": form.t.data},
        current_app.config,
        Rsvp,
        request.remote_addr,
    )
    data = events.RsvpData(
        name=form.name.data,
        email=form.checked_email,
        share_with_host=bool(form.share_with_host.data),
        language=current_language(),
        ip=request.remote_addr,
    )
    try:
        events.rsvp(event, data, current_app.config, held_reason=held)
    except StateError:
        db.session.rollback()
        abort(404)
    commit_and_wake()
    return redirect(url_for("events.rsvped", event_id=event.id), code=303)


@bp.get("/events/<int:event_id>/rsvped")
def rsvped(event_id):
    return render_template("events/rsvped.html", event=public_event(event_id))


@bp.get("/rsvp/cancel/<token>")
@link_limit
def rsvp_cancel_page(token):
    found = events.find_token(token, "rsvp_cancel")
    if found is None or found.rsvp is None:
        return render_template("signing/link_invalid.html"), 404
    return render_template("events/rsvp_cancel.html", token=token, rsvp=found.rsvp)


@bp.post("/rsvp/cancel/<token>")
@link_limit
def rsvp_cancel(token):
    outcome, rsvp = events.cancel_rsvp(token, current_app.config)
    if outcome == "invalid":
        return render_template("signing/link_invalid.html"), 404
    commit_and_wake()
    return render_template("events/rsvp_cancelled.html", outcome=outcome, rsvp=rsvp)


@bp.app_template_global()
def event_time(moment, zone, date=True):
    """An event's time in its own zone, named in the reader's language: "3 Sept 2027, 18:00
    (Ireland Time)"; everyone reading about a Speak Out in Dublin sees Dublin's clock."""
    tz = ZoneInfo(zone)
    local_moment = moment.astimezone(tz)
    locale = str(get_locale() or "en")
    time_text = babel_dates.format_time(local_moment, "short", tzinfo=tz, locale=locale)
    place = babel_dates.get_timezone_location(tz, locale=locale)
    if not date:
        return f"{time_text} ({place})"
    day_text = babel_dates.format_date(local_moment.date(), "full", locale=locale)
    return f"{day_text}, {time_text} ({place})"
