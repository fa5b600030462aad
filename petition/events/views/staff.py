"""Days of action in the staff area: days, their dashboards and exports, the moderation queue
of events (approve, reject, edit, cancel, trust a host) and of photos."""

import datetime as dt

from flask import (
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    stream_with_context,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, select

from petition.core import countries, spreadsheets, uploads
from petition.core.db import StateError
from petition.core.extensions import db
from petition.core.i18n import current_language
from petition.endorsements import operations as endorsements
from petition.events import operations as events
from petition.events import reports
from petition.events.forms import DayForm, EditForm, NewDayForm, day_data, edit_data
from petition.events.models import EVENT_STATES, DayOfAction, Event, EventPhoto, TrustedHost
from petition.jobs import runner as jobs
from petition.petitions.charts import bar_chart
from petition.petitions.models import Petition
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


def staff_day(slug):
    """The day of action of a staff address, drafts included, or the 404 page."""
    day = events.day_by_slug(slug, public=False)
    if day is None:
        abort(404)
    return day


def petition_choices():
    return db.session.execute(select(Petition).order_by(Petition.created_at.desc())).scalars()


@bp.route("/days/new", methods=["GET", "POST"])
@auth.staff_required()
def new_day():
    form = NewDayForm(petitions=petition_choices())
    if request.method == "POST" and form.validate():
        values = form.values()
        day = events.create_day(
            form.slug.data,
            values["title"],
            values["starts_on"],
            values["ends_on"],
            petition=db.session.get(Petition, values["petition_id"])
            if values["petition_id"]
            else None,
            toolkit=values["toolkit"],
            requirements=values["requirements"].splitlines(),
            slogans=values["slogans"].splitlines(),
            approval_required=values["approval_required"],
            state=values["state"],
        )
        auth.audit("day.create", day=day.slug, state=day.state)
        db.session.commit()
        flash(_("Day of action created."))
        return redirect(url_for("staff.day_dashboard", slug=day.slug), code=303)
    status = 400 if request.method == "POST" else 200
    return render_template("events/staff/day_form.html", form=form, day=None), status


@bp.route("/days/<slug>/edit", methods=["GET", "POST"])
@auth.staff_required()
def edit_day(slug):
    day = staff_day(slug)
    form = DayForm(
        petitions=petition_choices(), data=day_data(day) if request.method == "GET" else None
    )
    if request.method == "POST" and form.validate():
        try:
            changed = events.update_day(day, form.values())
        except StateError as exc:
            db.session.rollback()
            form.state.errors = [str(exc)]
        else:
            if changed:
                auth.audit("day.edit", day=day.slug, fields=changed)
            db.session.commit()
            flash(_("Changes saved.") if changed else _("Nothing changed."))
            return redirect(url_for("staff.day_dashboard", slug=day.slug), code=303)
    status = 400 if request.method == "POST" else 200
    return render_template("events/staff/day_form.html", form=form, day=day), status


@bp.get("/days/<slug>")
@auth.staff_required()
def day_dashboard(slug):
    day = staff_day(slug)
    per_day = reports.rsvps_per_day(day)
    approved = events.approved_events(day)
    return render_template(
        "events/staff/dashboard.html",
        day=day,
        states=reports.state_counts(day),
        rsvps=reports.rsvp_counts(day),
        headline=events.headline(approved),
        by_country=reports.by_country(day),
        per_day=per_day,
        chart=bar_chart(per_day),
        edited=db.session.execute(
            select(func.count()).where(
                Event.day_id == day.id, Event.state == "approved", Event.edited_at.is_not(None)
            )
        ).scalar_one(),
        pending_photos=len(events.pending_photos(day)),
        pending_endorsements=endorsements.counts_by_state(day).get("pending", 0),
        country_name=countries.name,
    )


def csv_download(day, kind, columns, rows):
    auth.audit(f"day.export_{kind}", day=day.slug)
    # The audit entry commits before the first byte: the export is on record even if the
    # download is cut off.
    db.session.commit()
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%d-%H%M")
    return Response(
        stream_with_context(spreadsheets.csv_chunks(columns, rows)),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{day.slug}-{kind}-{stamp}.csv"'},
    )


@bp.get("/days/<slug>/events.csv")
@auth.staff_required()
def day_events_csv(slug):
    day = staff_day(slug)
    return csv_download(day, "events", reports.EVENT_COLUMNS, reports.event_rows(day))


@bp.get("/days/<slug>/rsvps.csv")
@auth.staff_required()
def day_rsvps_csv(slug):
    day = staff_day(slug)
    return csv_download(day, "rsvps", reports.RSVP_COLUMNS, reports.rsvp_rows(day))


@bp.get("/days/<slug>/events")
@auth.staff_required()
def day_events(slug):
    day = staff_day(slug)
    state = request.args.get("state", "pending")
    state = state if state in (*EVENT_STATES, "edited") else "pending"
    query = select(Event).where(Event.day_id == day.id)
    if state == "edited":
        query = query.where(Event.state == "approved", Event.edited_at.is_not(None))
    else:
        query = query.where(Event.state == state)
    rows = db.session.execute(query.order_by(Event.created_at)).scalars()
    trusted = set(db.session.execute(select(TrustedHost.canonical_email)).scalars())
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
        trusted=trusted,
        edited=db.session.execute(
            select(func.count()).where(
                Event.day_id == day.id, Event.state == "approved", Event.edited_at.is_not(None)
            )
        ).scalar_one(),
    )


@bp.route("/events/<int:event_id>/edit", methods=["GET", "POST"])
@auth.staff_required()
def edit_event(event_id):
    event = db.get_or_404(Event, event_id)
    if event.state == "cancelled":
        flash(_("A cancelled event is not edited."), "error")
        return redirect(url_for("staff.day_events", slug=event.day.slug, state="cancelled"), 303)
    form = EditForm(
        day=event.day,
        language=current_language(),
        data=edit_data(event) if request.method == "GET" else None,
    )
    if request.method == "POST" and form.validate():
        changed = events.edit_event(
            event,
            form.event_data(None, event.language, event.ip),
            current_app.config,
            by_staff=True,
        )
        if changed:
            auth.audit("event.edit", event_id=event.id, day=event.day.slug, fields=changed)
        db.session.commit()
        jobs.wake(current_app)
        flash(_("Changes saved.") if changed else _("Nothing changed."))
        return redirect(url_for("staff.day_events", slug=event.day.slug, state=event.state), 303)
    status = 400 if request.method == "POST" else 200
    return render_template("events/staff/edit.html", form=form, event=event), status


@bp.post("/events/<int:event_id>/reviewed")
@auth.staff_required()
def reviewed_event(event_id):
    """Staff have looked at a host's edit of a public event: it leaves the "edited" list."""
    event = db.get_or_404(Event, event_id)
    if event.edited_at is not None:
        event.edited_at = None
        auth.audit("event.reviewed", event_id=event.id, day=event.day.slug)
        db.session.commit()
        flash(_("Marked as reviewed: %(title)s.", title=event.title))
    return redirect(url_for("staff.day_events", slug=event.day.slug, state="edited"), code=303)


@bp.post("/events/<int:event_id>/trust")
@auth.staff_required()
def trust_host(event_id):
    """Trust the event's host: their next events skip approval; a pending one is approved."""
    event = db.get_or_404(Event, event_id)
    if events.trust_host(
        event.host_canonical_email, note=event.host_name, added_by=current_user.email
    ):
        auth.audit("host.trust", event_id=event.id, day=event.day.slug)
    if event.state == "pending":
        events.approve(event, current_app.config)
        auth.audit("event.approve", event_id=event.id, day=event.day.slug, title=event.title)
    db.session.commit()
    jobs.wake(current_app)
    flash(_("Trusted host: %(name)s's events now skip approval.", name=event.host_name))
    return redirect(url_for("staff.day_events", slug=event.day.slug), code=303)


@bp.get("/trusted-hosts")
@auth.staff_required()
def trusted_hosts():
    return render_template("events/staff/trusted.html", hosts=events.trusted_hosts())


@bp.post("/trusted-hosts/<int:host_id>/remove")
@auth.staff_required()
def untrust_host(host_id):
    host = db.session.get(TrustedHost, host_id)
    if host is not None:
        events.untrust_host(host.canonical_email)
        auth.audit("host.untrust", note=host.note)
        db.session.commit()
        flash(_("No longer trusted: %(name)s.", name=host.note or host.canonical_email))
    return redirect(url_for("staff.trusted_hosts"), code=303)


@bp.post("/events/<int:event_id>/approve")
@auth.staff_required()
def approve_event(event_id):
    event = db.get_or_404(Event, event_id)
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
    event = db.get_or_404(Event, event_id)
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
    event = db.get_or_404(Event, event_id)
    if events.cancel_event(event, current_app.config, by_host=False):
        auth.audit("event.cancel", event_id=event.id, day=event.day.slug)
        db.session.commit()
        jobs.wake(current_app)
        flash(_("Cancelled: %(title)s. Attendees are mailed.", title=event.title))
    return redirect(url_for("staff.day_events", slug=event.day.slug), code=303)


@bp.get("/days/<slug>/photos")
@auth.staff_required()
def day_photos(slug):
    day = staff_day(slug)
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
    photo = events.photo_by_name(name)
    path = uploads.path_of(current_app.config["UPLOAD_DIR"], name) if photo else None
    if path is None:
        abort(404)
    response = send_file(path, mimetype="image/jpeg", max_age=None)
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.post("/photos/<int:photo_id>/review")
@auth.staff_required()
def review_photo(photo_id):
    photo = db.get_or_404(EventPhoto, photo_id)
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
