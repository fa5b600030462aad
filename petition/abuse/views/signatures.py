"""A petition's signatures for staff: search, invalidate and restore, export, import."""

import datetime as dt
import json
import logging

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
from flask_babel import format_datetime
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import exists, select, tuple_
from wtforms import Form, IntegerField, SelectField, StringField
from wtforms.validators import AnyOf, DataRequired, Length, NumberRange, Optional, ValidationError

from petition.abuse import bulk as moderation_jobs
from petition.abuse import defences as abuse
from petition.abuse import moderation
from petition.abuse import search as signature_search
from petition.core import countries
from petition.core.db import row_id
from petition.core.extensions import db
from petition.core.i18n import current_language
from petition.jobs import runner as jobs
from petition.jobs.models import Job
from petition.petitions import exports, snapshots
from petition.petitions.models import SIGNATURE_STATES, Petition, Signature
from petition.staff import auth
from petition.staff.models import Staff
from petition.staff.views import bp, petition_links

log = logging.getLogger(__name__)

PAGE_SIZE = 50
MAX_PAGE_SIZE = 200


def refresh_public_count(petition_slug):
    """After a change to the count: mail leaves, and the cached snapshot goes at once."""
    snapshots.count_changed(current_app, petition_slug)


# --- the list ---------------------------------------------------------------------------------


class Parsed:
    """Validator: run a signature_search parser, keep its value on the field as `parsed`."""

    def __init__(self, parse):
        self.parse = parse

    def __call__(self, form, field):
        field.parsed = None
        try:
            field.parsed = self.parse(field.data)
        except ValueError as exc:
            raise ValidationError(str(exc)) from None


def strip(value):
    return value.strip() if value else value


class SearchForm(Form):
    """The filters, from the query string (a GET form: no CSRF token, nothing changes).

    The bulk moderation form posts the same fields back, so both read them through this.
    """

    q = StringField(_l("Name or email"), filters=[strip])
    name = StringField(_l("Name contains"), filters=[strip])
    domain = StringField(
        _l("Email domain"), filters=[strip], validators=[Parsed(signature_search.parse_domain)]
    )
    ip = StringField(
        _l("Address or range"),
        filters=[strip],
        validators=[Parsed(signature_search.parse_network)],
    )
    country = SelectField(_l("Country"), validate_choice=False)
    state = SelectField(_l("State"), validate_choice=False)
    source = StringField(_l("Source"), filters=[strip])
    since = StringField(
        _l("Signed from (UTC)"), filters=[strip], validators=[Parsed(signature_search.parse_moment)]
    )
    until = StringField(
        _l("Signed until (UTC)"),
        filters=[strip],
        validators=[Parsed(lambda v: signature_search.parse_moment(v, end=True))],
    )
    per_page = IntegerField(
        _l("Per page"), validators=[Optional(), NumberRange(1, MAX_PAGE_SIZE)], default=PAGE_SIZE
    )

    def __init__(self, formdata, language="en"):
        super().__init__(formdata)
        self.country.choices = [("", _l("Any"))] + countries.choices(language)
        self.state.choices = (
            [("", _l("Any"))]
            + [(s, s) for s in SIGNATURE_STATES]
            + [("held", _l("held (by an abuse check)"))]
        )

    def validate_until(self, field):
        since, until = getattr(self.since, "parsed", None), getattr(field, "parsed", None)
        if since and until and until <= since:
            raise ValidationError(_l("The end of the time window is before its start."))

    def filters(self):
        """The valid filters; an invalid one is left out (the form shows why)."""

        def parsed(field):
            return None if field.errors else getattr(field, "parsed", None)

        country, state = self.country.data, self.state.data
        return signature_search.Filters(
            q=self.q.data or "",
            name=self.name.data or "",
            domain=parsed(self.domain) or "",
            ip=parsed(self.ip) or "",
            country=country if country in countries.CODES else "",
            state=state if state in signature_search.STATES else "",
            source=self.source.data or "",
            since=parsed(self.since),
            before=parsed(self.until),
        )


def search_form(formdata):
    form = SearchForm(formdata, language=current_language())
    form.validate()
    return form


def search_conditions(form):
    """WHERE clauses for the valid filters of a validated SearchForm."""
    return form.filters().conditions()


# Query-string keys that are filters (kept in links and carried by the bulk form).
FILTER_KEYS = ("q", "name", "domain", "ip", "country", "state", "source", "since", "until")


def cursor_row(petition_id, signature_id):
    """(created_at, id) of the signature a page starts after, or None."""
    if signature_id is None:
        return None
    return db.session.execute(
        select(Signature.created_at, Signature.id).where(
            Signature.id == signature_id, Signature.petition_id == petition_id
        )
    ).first()


def page_of(petition_id, where, per_page, before=None, after=None):
    """Newest first, keyset-paged on (created_at, id), which one index serves at any depth.

    Returns (rows, has_newer, has_older).
    """
    where = [Signature.petition_id == petition_id, *where]
    key = tuple_(Signature.created_at, Signature.id)
    types = [Signature.created_at.type, Signature.id.type]  # bound like the columns they meet
    query = select(Signature).where(*where)
    if after is not None:
        rows = (
            db.session.execute(
                query.where(key > tuple_(*after, types=types))
                .order_by(Signature.created_at, Signature.id)
                .limit(per_page + 1)
            )
            .scalars()
            .all()
        )
        has_newer = len(rows) > per_page
        rows = list(reversed(rows[:per_page]))
        has_older = True
    else:
        if before is not None:
            query = query.where(key < tuple_(*before, types=types))
        rows = (
            db.session.execute(
                query.order_by(Signature.created_at.desc(), Signature.id.desc()).limit(per_page + 1)
            )
            .scalars()
            .all()
        )
        has_older = len(rows) > per_page
        rows = rows[:per_page]
        has_newer = before is not None
    if rows and after is None and before is not None:
        first = (rows[0].created_at, rows[0].id)
        has_newer = db.session.execute(
            select(exists().where(*where, key > tuple_(*first, types=types)))
        ).scalar()
    return rows, has_newer, has_older


def int_arg(name):
    return row_id(request.args.get(name))


@bp.get("/petitions/<slug>/signatures")
@auth.staff_required()
def signatures(slug):
    petition = db.one_or_404(select(Petition).where(Petition.slug == slug))
    form = search_form(request.args)
    filters = form.filters()
    where = filters.conditions()
    per_page = form.per_page.data if not form.per_page.errors and form.per_page.data else PAGE_SIZE
    before = cursor_row(petition.id, int_arg("before"))
    after = cursor_row(petition.id, int_arg("after")) if before is None else None
    rows, has_newer, has_older = page_of(petition.id, where, per_page, before, after)
    by_state = signature_search.count_by_state(petition.id, where)
    args = {k: v for k, v in request.args.items() if k not in ("before", "after") and v}
    return render_template(
        "abuse/staff/signatures.html",
        petition=petition,
        form=form,
        rows=rows,
        filters=args,
        matches=sum(by_state.values()),
        by_state=by_state,
        bulk=bulk_choices(form, filters, by_state),
        bulk_filters={k: v for k, v in args.items() if k in FILTER_KEYS},
        bulk_jobs=recent_bulk_jobs(petition.id),
        newer_url=(
            url_for("staff.signatures", slug=slug, after=rows[0].id, **args)
            if has_newer and rows
            else None
        ),
        older_url=(
            url_for("staff.signatures", slug=slug, before=rows[-1].id, **args)
            if has_older and rows
            else None
        ),
        export_url=url_for("staff.export_signatures", slug=slug, **args),
        links=petition_links(petition),
        when=format_datetime,
        here=request.full_path,
        is_held=abuse.is_held,
    )


# --- bulk moderation --------------------------------------------------------------------------


def bulk_choices(form, filters, by_state):
    """Which bulk actions the page offers for these matches: none without a valid filter."""
    if form.errors or not filters:
        return {"invalidate": False, "restore": False, "release": False}
    restorable = sum(by_state.get(s, 0) for s in moderation.RESTORABLE)
    return {
        "invalidate": any(by_state.get(s, 0) for s in moderation.INVALIDATABLE),
        "restore": bool(restorable),
        # Only held signatures among the restorable ones: the button says "Release".
        "release": bool(restorable) and filters.state == "held",
    }


def recent_bulk_jobs(petition_id, limit=5):
    """The petition's latest bulk moderations, newest first, for the progress panel."""
    rows = db.session.execute(
        select(Job, Staff.email)
        .outerjoin(Staff, Staff.id == Job.staff_id)
        .where(Job.kind == moderation_jobs.KIND, Job.petition_id == petition_id)
        .order_by(Job.id.desc())
        .limit(limit)
    ).all()
    shown = []
    for job, email in rows:
        params = json.loads(job.params or "{}")
        shown.append(
            {
                "job": job,
                "by": email or params.get("staff_email") or "",
                "action": params.get("action"),
                "reason": params.get("reason"),
                "expected": params.get("expected"),
                "result": json.loads(job.result) if job.result else None,
                "active": job.state in ("queued", "running"),
            }
        )
    return shown


class BulkForm(FlaskForm):
    action = StringField(validators=[AnyOf(moderation_jobs.ACTIONS)])
    reason = StringField(
        _l("Reason"),
        filters=[lambda v: " ".join(v.split()) if v else v],
        validators=[Length(max=moderation.REASON_MAX)],
    )
    # The count the page showed: recorded beside the number the job actually finds.
    expected = IntegerField(validators=[Optional(), NumberRange(min=0)])


@bp.post("/petitions/<slug>/signatures/bulk")
@auth.staff_required()
def bulk_moderate(slug):
    petition = db.one_or_404(select(Petition).where(Petition.slug == slug))
    search = search_form(request.form)
    filters = search.filters()
    back = url_for(
        "staff.signatures",
        slug=slug,
        **{k: v for k, v in request.form.items() if k in FILTER_KEYS and v},
    )
    form = BulkForm()
    if not form.validate_on_submit():
        if "csrf_token" in form.errors:
            abort(400)
        flash(_("That bulk action was not understood; nothing changed."), "error")
        return redirect(back, code=303)
    if search.errors:
        flash(_("Correct the filters first; nothing changed."), "error")
        return redirect(back, code=303)
    if not filters:
        flash(_("Choose at least one filter before acting on all signatures."), "error")
        return redirect(back, code=303)
    action = form.action.data
    if action == "invalidate" and not form.reason.data:
        flash(_("To invalidate signatures, give a reason."), "error")
        return redirect(back, code=303)
    params = moderation_jobs.params_for(
        petition,
        action,
        filters,
        current_user,
        reason=form.reason.data if action == "invalidate" else None,
        expected=form.expected.data,
    )
    job = jobs.enqueue(
        moderation_jobs.KIND, params, staff_id=current_user.id, petition_id=petition.id
    )
    db.session.flush()
    auth.audit(
        f"signatures.bulk_{action}",
        petition_id=petition.id,
        job_id=job.id,
        filters=params["filters"],
        expected=params["expected"],
        reason=params["reason"],
    )
    db.session.commit()
    jobs.wake(current_app)
    flash(_("Started: this page shows the progress."), "info")
    return redirect(back, code=303)


# --- invalidate and restore -------------------------------------------------------------------


class ModerateForm(FlaskForm):
    reason = StringField(
        _l("Reason"),
        filters=[lambda v: " ".join(v.split()) if v else v],
        validators=[
            DataRequired(_l("Give a reason.")),
            Length(max=moderation.REASON_MAX),
        ],
    )


def back_to_list(slug):
    return auth.safe_next(request.form.get("next"), url_for("staff.signatures", slug=slug))


@bp.post("/petitions/<slug>/signatures/<int:signature_id>/invalidate")
@auth.staff_required()
def invalidate_signature(slug, signature_id):
    petition = db.one_or_404(select(Petition).where(Petition.slug == slug))
    form = ModerateForm()
    if not form.validate():
        flash(_("To invalidate a signature, give a reason."), "error")
        return redirect(back_to_list(slug), code=303)
    changed = moderation.invalidate(
        signature_id, form.reason.data, current_user, petition_id=petition.id
    )
    db.session.commit()
    if changed:
        refresh_public_count(slug)
        flash(_("Signature invalidated: %(name)s.", name=changed[0].name), "success")
    else:
        flash(_("Nothing changed: that signature cannot be invalidated now."), "error")
    return redirect(back_to_list(slug), code=303)


@bp.post("/petitions/<slug>/signatures/<int:signature_id>/restore")
@auth.staff_required()
def restore_signature(slug, signature_id):
    petition = db.one_or_404(select(Petition).where(Petition.slug == slug))
    row = db.session.get(Signature, signature_id)
    held = row is not None and abuse.is_held(row)
    changed = moderation.restore(
        signature_id, current_user, current_app.config, petition_id=petition.id
    )
    db.session.commit()
    if changed and held:
        refresh_public_count(slug)
        flash(_("Signature released: %(name)s.", name=changed[0].name), "success")
    elif changed:
        refresh_public_count(slug)
        flash(_("Signature restored: %(name)s.", name=changed[0].name), "success")
    else:
        flash(_("Nothing changed: that signature is not invalidated or held."), "error")
    return redirect(back_to_list(slug), code=303)


# --- export -----------------------------------------------------------------------------------


@bp.get("/petitions/<slug>/signatures.csv")
@auth.staff_required()
def export_signatures(slug):
    petition = db.one_or_404(select(Petition).where(Petition.slug == slug))
    where = search_conditions(search_form(request.args))
    filters = {k: v for k, v in request.args.items() if v}
    auth.audit("signatures.export", petition_id=petition.id, filters=filters)
    # The audit entry commits before the first byte: the export is on record even if the
    # download is cut off.
    db.session.commit()
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%d-%H%M")
    return Response(
        stream_with_context(exports.csv_chunks(petition.id, where)),
        mimetype="text/csv",
        headers={
            "Content-Disposition": f'attachment; filename="{slug}-signatures-{stamp}.csv"',
        },
    )
