"""Petitions in the staff area: the list (the staff home), create, edit, open, close, dashboard.

Also the audit log page: staff's record of every action, filtered and linked by petition (the
log itself, and audit(), are the staff feature's; the page needs the petitions to name them).
"""

import json

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import format_datetime, to_user_timezone
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from petition.core.db import MAX_ID, StateError, row_id
from petition.core.extensions import db
from petition.core.i18n import language_name
from petition.jobs import runner as jobs
from petition.petitions import charts, manage, reports, snapshots, texts
from petition.petitions.forms import NewPetitionForm, PetitionForm, TranslationForm
from petition.petitions.models import Petition
from petition.staff import auth
from petition.staff.models import AuditLog, Staff
from petition.staff.views import bp

bp.add_app_template_global(format_datetime, "format_datetime")


@bp.app_template_global()
def staff_link(endpoint, **values):
    """The URL of a staff page, or None while its view is not part of this app (yet)."""
    if endpoint not in current_app.view_functions:
        return None
    return url_for(endpoint, **values)


def commit(petition):
    """The request's one commit point; then mail leaves and the public count is refreshed."""
    db.session.commit()
    jobs.wake(current_app)
    snapshots.forget(petition.slug)


@bp.get("/", endpoint="home")
@auth.staff_required()
def petitions():
    rows = db.session.execute(select(Petition).order_by(Petition.created_at.desc())).scalars()
    return render_template("petitions/staff/petitions.html", petitions=rows.all())


@bp.route("/petitions/new", methods=["GET", "POST"])
@auth.staff_required()
def new_petition():
    form = NewPetitionForm()
    if form.validate_on_submit():
        values = form.values()
        try:
            petition = manage.create(form.slug.data, values, current_app.config)
            auth.audit(
                "petition.create",
                petition_id=petition.id,
                slug=petition.slug,
                title=petition.title,
                offline_count=values["offline_count"],
                milestones=[f"{count}: {label}" for count, label in values["milestones"]],
            )
            commit(petition)
        except IntegrityError:
            # Another request took the slug between the check and the insert.
            db.session.rollback()
            form.slug.errors.append(_("Another petition already has this slug."))
        else:
            flash(_("Petition created as a draft."), "success")
            return redirect(url_for("staff.petition", slug=petition.slug), code=303)
    status = 400 if form.is_submitted() else 200
    return render_template("petitions/staff/petition_form.html", form=form, petition=None), status


@bp.route("/petitions/<slug>/edit", methods=["GET", "POST"])
@auth.staff_required()
def edit_petition(slug):
    petition = db.one_or_404(select(Petition).where(Petition.slug == slug))
    form = PetitionForm(
        stored_closes_at=petition.closes_at,
        other_versions=[t.language for t in petition.translations],
    )
    if not form.is_submitted():
        form.process(data=form_data(petition))
    elif form.validate():
        changes = manage.edit(petition, form.values(), current_app.config)
        if changes:
            auth.audit("petition.edit", petition_id=petition.id, **audit_changes(changes))
            commit(petition)
            flash(_("Changes saved."), "success")
        else:
            flash(_("Nothing changed."), "info")
        return redirect(url_for("staff.petition", slug=petition.slug), code=303)
    status = 400 if form.is_submitted() else 200
    return render_template(
        "petitions/staff/petition_form.html", form=form, petition=petition
    ), status


def form_data(petition):
    """The petition as the edit form shows it (WTForms prefers obj attributes to kwargs)."""
    data = {name: getattr(petition, name) for name in manage.PLAIN_FIELDS}
    data["offline_count"] = petition.offline_count
    data["milestones"] = manage.format_milestones(petition)
    if petition.closes_at:
        data["closes_at"] = to_user_timezone(petition.closes_at).replace(tzinfo=None)
    return data


# Long texts go into the log by name only; the rest with their old and new values.
LONG_FIELDS = {"text", "cover_letter", "share_text"}


def audit_changes(changes):
    detail = {}
    for field, (old, new) in changes.items():
        if field in LONG_FIELDS:
            detail[field] = "changed"
        elif field == "milestones":
            detail[field] = {
                "old": [f"{c}: {label}" for c, label in old],
                "new": [f"{c}: {label}" for c, label in new],
            }
        else:
            detail[field] = {"old": old, "new": new}
    return detail


def version_of(slug, language):
    """The petition, and the language of a version staff may write (a served one, not its own)."""
    petition = db.one_or_404(select(Petition).where(Petition.slug == slug))
    if language not in current_app.config["LANGUAGES"] or language == petition.language:
        abort(404)
    return petition


@bp.route("/petitions/<slug>/languages/<language>", methods=["GET", "POST"])
@auth.staff_required()
def edit_version(slug, language):
    """The petition in another language, written beside the original."""
    petition = version_of(slug, language)
    row = petition.translation(language)
    form = TranslationForm(obj=row)
    if form.validate_on_submit():
        values = form.values()
        texts.publish(petition, language, current_app.config["LANGUAGES"], **values)
        auth.audit(
            "petition.translate",
            petition_id=petition.id,
            language=language,
            title=values["title"],
            new=row is None,
        )
        commit(petition)
        flash(
            _(
                "The %(language)s version is published.",
                language=language_name(language, sentence=True),
            ),
            "success",
        )
        return redirect(url_for("staff.petition", slug=petition.slug), code=303)
    status = 400 if form.is_submitted() else 200
    return render_template(
        "petitions/staff/version_form.html",
        form=form,
        petition=petition,
        language=language,
        published=row is not None,
    ), status


@bp.post("/petitions/<slug>/languages/<language>/remove")
@auth.staff_required()
def remove_version(slug, language):
    petition = version_of(slug, language)
    if texts.withdraw(petition, language):
        auth.audit("petition.untranslate", petition_id=petition.id, language=language)
        commit(petition)
        flash(
            _(
                "The %(language)s version is no longer published; its signatures still count.",
                language=language_name(language, sentence=True),
            ),
            "success",
        )
    return redirect(url_for("staff.petition", slug=petition.slug), code=303)


def transition(slug, action):
    """Open or close by the model's state rules; a refused move changes nothing."""
    petition = db.one_or_404(select(Petition).where(Petition.slug == slug))
    try:
        getattr(petition, action)()
    except StateError:
        db.session.rollback()
        state = {"draft": _("a draft"), "open": _("open"), "closed": _("closed")}[petition.state]
        if action == "open":
            message = _("Only a draft can be opened; this one is %(state)s.", state=state)
        else:
            message = _("Only an open petition can be closed; this one is %(state)s.", state=state)
        flash(message, "error")
        return redirect(url_for("staff.petition", slug=slug), code=303)
    auth.audit(f"petition.{action}", petition_id=petition.id)
    commit(petition)
    flash(_("Petition opened.") if action == "open" else _("Petition closed."), "success")
    return redirect(url_for("staff.petition", slug=slug), code=303)


@bp.post("/petitions/<slug>/open")
@auth.staff_required()
def open_petition(slug):
    return transition(slug, "open")


@bp.post("/petitions/<slug>/close")
@auth.staff_required()
def close_petition(slug):
    return transition(slug, "close")


@bp.get("/petitions/<slug>")
@auth.staff_required()
def petition(slug):
    petition = db.one_or_404(select(Petition).where(Petition.slug == slug))
    figures = reports.dashboard(petition)
    return render_template(
        "petitions/staff/dashboard.html",
        petition=petition,
        figures=figures,
        chart=charts.bar_chart(figures["per_day"]),
    )


# --- the audit log ----------------------------------------------------------------------------

admin_required = auth.staff_required("admin")
AUDIT_PAGE_SIZE = 50
MAX_AUDIT_PAGE = MAX_ID // AUDIT_PAGE_SIZE


def describe(detail):
    """An audit entry's JSON detail as (key, text) pairs for the page."""
    try:
        data = json.loads(detail or "{}")
    except ValueError:
        return [("", detail)]
    if not isinstance(data, dict):
        return [("", str(data))]
    pairs = []
    for key, value in data.items():
        if isinstance(value, dict) and set(value) == {"old", "new"}:
            text = f"{as_text(value['old'])} → {as_text(value['new'])}"
        else:
            text = as_text(value)
        pairs.append((key, text))
    return pairs


def as_text(value):
    if value is None:
        return "–"
    if isinstance(value, list):
        return "; ".join(as_text(v) for v in value) or "–"
    return str(value)


@bp.get("/audit")
@admin_required
def audit_log():
    petition_id = row_id(request.args.get("petition"))
    staff_id = row_id(request.args.get("staff"))
    # Past the last page is an empty page, but an offset beyond 64 bits is a database error.
    page_number = min(max(1, request.args.get("page", 1, type=int)), MAX_AUDIT_PAGE)
    query = select(AuditLog).order_by(AuditLog.created_at.desc(), AuditLog.id.desc())
    if petition_id:
        query = query.where(AuditLog.petition_id == petition_id)
    if staff_id:
        query = query.where(AuditLog.staff_id == staff_id)
    page = db.paginate(query, page=page_number, per_page=AUDIT_PAGE_SIZE, error_out=False)
    petitions = db.session.execute(
        select(Petition.id, Petition.slug, Petition.title).order_by(Petition.title)
    ).all()
    staff = db.session.execute(select(Staff.id, Staff.email).order_by(Staff.email)).all()
    return render_template(
        "petitions/staff/audit.html",
        page=page,
        entries=[(entry, describe(entry.detail)) for entry in page.items],
        petitions=petitions,
        titles={p.id: p for p in petitions},
        staff=staff,
        petition_id=petition_id,
        staff_id=staff_id,
    )
