"""Days of action in the staff area: the list of days and the moderation queue of events."""

from flask import current_app, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from sqlalchemy import func, or_, select

from petition.core import uploads
from petition.core.db import StateError
from petition.core.extensions import db
from petition.events import operations as events
from petition.events.models import EVENT_STATES, DayOfAction, Event, EventPhoto
from petition.jobs import runner as jobs
from petition.staff import auth
from petition.staff.views import bp


@bp.get("/days")
@auth.staff_required()
def days():
    rows = db.session.execute(select(DayOfAction).order_by(DayOfAction.starts_on.desc())).scalars()
    counts = dict(
        db.session.execute(
            select(Event.day_id, func.count())
            .where(Event.state == "pending")
            .group_by(Event.day_id)
        ).all()
    )
    return render_template("events/staff/days.html", days=rows.all(), pending=counts)


@bp.get("/days/<slug>/events")
@auth.staff_required()
def day_events(slug):
    day = events.day_by_slug(slug, public=False)
    if day is None:
        return render_template("core/error.html", code=404), 404
    state = request.args.get("state", "pending")
    state = state if state in EVENT_STATES else "pending"
    rows = db.session.execute(
        select(Event).where(Event.day_id == day.id, Event.state == state).order_by(Event.created_at)
    ).scalars()
    by_state = dict(
        db.session.execute(
            select(Event.state, func.count()).where(Event.day_id == day.id).group_by(Event.state)
        ).all()
    )
    return render_template(
        "events/staff/events.html",
        day=day,
        events=rows.all(),
        state=state,
        by_state=by_state,
        states=EVENT_STATES,
    )


def moderated_event(event_id):
    event = db.session.get(Event, event_id)
    if event is None:
        return None
    return event


@bp.post("/events/<int:event_id>/approve")
@auth.staff_required()
def approve_event(event_id):
    event = moderated_event(event_id)
    if event is None:
        return render_template("core/error.html", code=404), 404
    try:
        events.approve(event, current_app.config)
    except StateError:
        db.session.rollback()
        flash(_("Nothing changed: that event cannot be approved now."), "error")
    else:
        auth.audit("event.approve", event_id=event.id, day=event.day.slug, title=event.title)
        db.session.commit()
        jobs.wake(current_app)
        flash(_("Approved: %(title)s.", title=event.title))
    return redirect(url_for("staff.day_events", slug=event.day.slug), code=303)


@bp.post("/events/<int:event_id>/reject")
@auth.staff_required()
def reject_event(event_id):
    event = moderated_event(event_id)
    if event is None:
        return render_template("core/error.html", code=404), 404
    reason = (request.form.get("reason") or "").strip()[:1000]
    try:
        events.reject(event, reason, current_app.config)
    except StateError:
        db.session.rollback()
        flash(_("Give the host a reason; nothing changed."), "error")
    else:
        auth.audit("event.reject", event_id=event.id, day=event.day.slug, reason=reason)
        db.session.commit()
        jobs.wake(current_app)
        flash(_("Rejected: %(title)s. The host is mailed the reason.", title=event.title))
    return redirect(url_for("staff.day_events", slug=event.day.slug), code=303)


@bp.post("/events/<int:event_id>/cancel")
@auth.staff_required()
def cancel_event(event_id):
    event = moderated_event(event_id)
    if event is None:
        return render_template("core/error.html", code=404), 404
    if events.cancel_event(event, current_app.config, by_host=False):
        auth.audit("event.cancel", event_id=event.id, day=event.day.slug)
        db.session.commit()
        jobs.wake(current_app)
        flash(_("Cancelled: %(title)s. Attendees are mailed.", title=event.title))
    return redirect(url_for("staff.day_events", slug=event.day.slug), code=303)


@bp.get("/days/<slug>/photos")
@auth.staff_required()
def day_photos(slug):
    day = events.day_by_slug(slug, public=False)
    if day is None:
        return render_template("core/error.html", code=404), 404
    return render_template(
        "events/staff/photos.html",
        day=day,
        pending=events.pending_photos(day),
        approved=events.gallery(day, limit=200),
    )


@bp.get("/photos/<name>")
@auth.staff_required()
def photo_file(name):
    """Staff see photos whatever their state (the public route serves approved ones only)."""
    photo = db.session.execute(
        select(EventPhoto).where(or_(EventPhoto.file_name == name, EventPhoto.thumb_name == name))
    ).scalar_one_or_none()
    path = uploads.path_of(current_app.config["UPLOAD_DIR"], name) if photo else None
    if path is None:
        return render_template("core/error.html", code=404), 404
    response = send_file(path, mimetype="image/jpeg", max_age=None)
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.post("/photos/<int:photo_id>/review")
@auth.staff_required()
def review_photo(photo_id):
    photo = db.session.get(EventPhoto, photo_id)
    if photo is None:
        return render_template("core/error.html", code=404), 404
    approved = request.form.get("decision") == "approve"
    slug = photo.event.day.slug
    if events.review_photo(photo, approved, current_app.config):
        auth.audit(
            "photo.approve" if approved else "photo.reject",
            photo_id=photo.id,
            event_id=photo.event_id,
            day=slug,
        )
        db.session.commit()
        flash(_("Photo approved: it is in the gallery.") if approved else _("Photo rejected."))
    return redirect(url_for("staff.day_photos", slug=slug), code=303)
