"""Endorsements in the staff area: the queue (approve, reject, edit, remove), adding an endorser
directly, the logos whatever their state, and the CSV export. Every decision is audited."""

import datetime as dt

from flask import (
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from werkzeug.exceptions import RequestEntityTooLarge

from petition.core import spreadsheets, uploads
from petition.core.db import StateError
from petition.core.extensions import csrf, db
from petition.core.i18n import current_language
from petition.endorsements import operations as endorsements
from petition.endorsements.forms import StaffEndorserForm, staff_data
from petition.endorsements.models import ENDORSEMENT_STATES, Endorsement, day_model
from petition.endorsements.views import send_logo, stored_logo, too_large
from petition.jobs import runner as jobs
from petition.petitions.models import Petition
from petition.staff import auth
from petition.staff.views import bp

CSV_COLUMNS = [
    "id",
    "petition",
    "day_of_action",
    "state",
    "name",
    "website",
    "country",
    "statement",
    "logo",
    "contact_name",
    "contact_email",
    "repeat_of",
    "held_reason",
    "added_by",
    "created_at",
    "confirmed_at",
    "approved_at",
]


def targets():
    """(value, label) of every petition and day of action, for the target menus."""
    petitions = db.session.execute(select(Petition).order_by(Petition.created_at.desc())).scalars()
    day_class = day_model()
    days = db.session.execute(select(day_class).order_by(day_class.starts_on.desc())).scalars()
    return [(f"petition:{p.slug}", _("Petition: %(title)s", title=p.title)) for p in petitions] + [
        (f"day:{d.slug}", _("Day of action: %(title)s", title=d.title)) for d in days
    ]


def target_of(value):
    """The petition or day of a menu value ("petition:SLUG", "day:SLUG"), or None."""
    kind, _sep, slug = (value or "").partition(":")
    if kind == "petition":
        return endorsements.find_target(petition_slug=slug, public=False)
    if kind == "day":
        return endorsements.find_target(day_slug=slug, public=False)
    return None


def value_of(target):
    return f"{'petition' if endorsements.is_petition(target) else 'day'}:{target.slug}"


def audit_detail(endorsement):
    target = endorsement.target
    return {
        "endorsement_id": endorsement.id,
        "name": endorsement.name,
        ("petition" if endorsements.is_petition(target) else "day"): target.slug,
    }


def audit(action, endorsement, **more):
    petition_id = endorsement.petition_id
    auth.audit(action, petition_id=petition_id, **audit_detail(endorsement), **more)


@bp.get("/endorsements")
@auth.staff_required()
def endorsement_queue():
    state = request.args.get("state", "pending")
    state = state if state in ENDORSEMENT_STATES else "pending"
    target_value = request.args.get("target", "")
    target = target_of(target_value)
    return render_template(
        "endorsements/staff/queue.html",
        rows=endorsements.queue(state, target).all(),
        state=state,
        states=ENDORSEMENT_STATES,
        by_state=endorsements.counts_by_state(target),
        targets=targets(),
        target_value=value_of(target) if target is not None else "",
    )


def back(endorsement=None, state=None):
    args = {"state": state or (endorsement.state if endorsement is not None else "pending")}
    target = request.form.get("target") or request.args.get("target")
    if target:
        args["target"] = target
    return redirect(url_for("staff.endorsement_queue", **args), code=303)


@bp.route("/endorsements/new", methods=["GET", "POST"])
@csrf.exempt  # the form checks its own token: the body is read under the logo's limit
@auth.staff_required()
def new_endorser():
    config = current_app.config
    choices = targets()
    chosen = request.values.get("target", "")
    try:
        form = StaffEndorserForm(language=current_language())
        valid = request.method == "POST" and form.validate()
    except RequestEntityTooLarge:
        return too_large()
    target = target_of(chosen)
    page = {"form": form, "targets": choices, "target_value": chosen, "endorsement": None}
    if request.method == "GET":
        return render_template("endorsements/staff/form.html", **page)
    if target is None:
        page["target_error"] = _("Choose the petition or day of action.")
        return render_template("endorsements/staff/form.html", **page), 400
    if not valid:
        return render_template("endorsements/staff/form.html", **page), 400
    try:
        logo = stored_logo(form)
    except uploads.UploadError as exc:
        form.logo.errors = [exc.message]
        return render_template("endorsements/staff/form.html", **page), 400
    with endorsements.logo_kept_if_committed(logo, config):
        entry, merged = endorsements.add_by_staff(
            target,
            form.organisation("en"),
            config,
            logo=logo,
            added_by=current_user.email,
        )
        audit("endorsement.merge" if merged else "endorsement.add", entry)
        db.session.commit()
    jobs.wake(current_app)
    flash(
        _("Merged into the entry of %(name)s.", name=entry.name)
        if merged
        else _("Added and listed: %(name)s.", name=entry.name)
    )
    return redirect(url_for("staff.endorsement_queue", state="approved"), code=303)


@bp.route("/endorsements/<int:endorsement_id>/edit", methods=["GET", "POST"])
@csrf.exempt  # as new_endorser
@auth.staff_required()
def edit_endorser(endorsement_id):
    config = current_app.config
    endorsement = db.get_or_404(Endorsement, endorsement_id)
    try:
        form = StaffEndorserForm(
            language=current_language(),
            data=staff_data(endorsement) if request.method == "GET" else None,
        )
        valid = request.method == "POST" and form.validate()
    except RequestEntityTooLarge:
        return too_large()
    page = {"form": form, "endorsement": endorsement}
    if not valid:
        status = 400 if request.method == "POST" else 200
        return render_template("endorsements/staff/form.html", **page), status
    try:
        logo = stored_logo(form)
    except uploads.UploadError as exc:
        form.logo.errors = [exc.message]
        return render_template("endorsements/staff/form.html", **page), 400
    with endorsements.logo_kept_if_committed(logo, config):
        fields = endorsements.edit(endorsement, form.organisation(endorsement.language))
        if logo is not None:
            endorsements.set_logo(endorsement, logo, config)
            fields.append("logo")
        elif form.remove_logo.data == "y" and endorsement.logo_name:
            endorsements.set_logo(endorsement, None, config)
            fields.append("logo")
        if fields:
            audit("endorsement.edit", endorsement, fields=fields)
        db.session.commit()
    flash(_("Changes saved.") if fields else _("Nothing changed."))
    return back(endorsement)


@bp.post("/endorsements/<int:endorsement_id>/approve")
@auth.staff_required()
def approve_endorsement(endorsement_id):
    endorsement = db.get_or_404(Endorsement, endorsement_id)
    repeat = endorsement.repeat_of_id is not None
    detail = audit_detail(endorsement)
    try:
        entry = endorsements.approve(endorsement, current_app.config)
    except StateError:
        db.session.rollback()
        flash(_("Nothing changed: that endorsement cannot be approved now."), "error")
        return back(endorsement)
    auth.audit(
        "endorsement.merge" if repeat else "endorsement.approve",
        petition_id=entry.petition_id,
        **detail,
        **({"into": entry.id} if repeat else {}),
    )
    db.session.commit()
    jobs.wake(current_app)
    flash(_("Approved and listed: %(name)s.", name=entry.name))
    return back(state="pending")


@bp.post("/endorsements/<int:endorsement_id>/reject")
@auth.staff_required()
def reject_endorsement(endorsement_id):
    endorsement = db.get_or_404(Endorsement, endorsement_id)
    reason = (request.form.get("reason") or "").strip()[:1000]
    try:
        endorsements.reject(endorsement, reason, current_app.config)
    except StateError:
        db.session.rollback()
        flash(_("Nothing changed: that endorsement cannot be rejected now."), "error")
        return back(endorsement)
    audit("endorsement.reject", endorsement, reason=reason)
    db.session.commit()
    jobs.wake(current_app)
    flash(_("Rejected: %(name)s.", name=endorsement.name))
    return back(state="pending")


@bp.post("/endorsements/<int:endorsement_id>/remove")
@auth.staff_required()
def remove_endorsement(endorsement_id):
    endorsement = db.get_or_404(Endorsement, endorsement_id)
    state, name = endorsement.state, endorsement.name
    audit("endorsement.remove", endorsement, state=state)
    endorsements.remove(endorsement, current_app.config)
    db.session.commit()
    flash(_("Removed: %(name)s.", name=name))
    return back(state=state)


@bp.get("/endorsements/logos/<name>")
@auth.staff_required()
def endorsement_logo(name):
    """Staff see every logo whatever its state (the public route serves approved ones)."""
    if endorsements.logo_entry(name) is None:
        abort(404)
    return send_logo(name, "private, no-store")


@bp.get("/endorsements.csv")
@auth.staff_required()
def endorsements_csv():
    target = target_of(request.args.get("target", ""))
    query = select(Endorsement).order_by(Endorsement.id)
    if target is not None:
        query = query.where(endorsements.target_filter(target))
    auth.audit(
        "endorsement.export",
        petition_id=target.id if target is not None and endorsements.is_petition(target) else None,
        target=value_of(target) if target is not None else "all",
    )
    # The audit entry commits before the first byte: the export is on record even if the
    # download is cut off.
    db.session.commit()

    def rows():
        for e in db.session.execute(query).scalars():
            yield [
                e.id,
                e.petition.slug if e.petition_id else "",
                e.day.slug if e.day_id else "",
                e.state,
                e.name,
                e.website,
                e.country,
                e.statement,
                "yes" if e.logo_name else "no",
                e.contact_name,
                e.contact_email,
                e.repeat_of_id or "",
                e.held_reason or "",
                e.added_by,
                spreadsheets.iso(e.created_at),
                spreadsheets.iso(e.confirmed_at),
                spreadsheets.iso(e.approved_at),
            ]

    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%d-%H%M")
    return Response(
        stream_with_context(spreadsheets.csv_chunks(CSV_COLUMNS, rows())),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="endorsements-{stamp}.csv"'},
    )
