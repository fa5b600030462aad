"""A petition's signatures for staff: search, invalidate and restore, export, import."""

import datetime as dt
import hashlib
import logging
import os
import tempfile

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
from flask_babel import format_datetime, get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from redis import RedisError
from sqlalchemy import exists, or_, select, tuple_
from werkzeug.exceptions import RequestEntityTooLarge
from wtforms import DateField, Form, IntegerField, SelectField, StringField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from ... import auth, countries, exports, imports, jobs, moderation
from ...extensions import cache, csrf, db
from ...models import SIGNATURE_STATES, ImportRun, Petition, Signature
from ...signing import InvalidEmail, check_email
from . import bp

log = logging.getLogger(__name__)

PAGE_SIZE = 50
MAX_PAGE_SIZE = 200
# Rejected lines shown on the import report page; the counts are exact.
REPORT_LINES = 200


def find_petition(slug):
    petition = db.session.execute(
        select(Petition).where(Petition.slug == slug)
    ).scalar_one_or_none()
    if petition is None:
        abort(404)
    return petition


def petition_links(petition):
    """Links between this petition's staff pages; the dashboard's if that view exists."""
    dashboard = None
    if "staff.petition" in current_app.view_functions:
        dashboard = url_for("staff.petition", slug=petition.slug)
    return {
        "dashboard": dashboard,
        "signatures": url_for("staff.signatures", slug=petition.slug),
        "import": url_for("staff.import_signatures", slug=petition.slug),
    }


def refresh_public_count(petition_slug):
    """After a change to the count: mail leaves, and the cached snapshot goes at once."""
    jobs.wake(current_app)
    try:
        cache.delete_many(f"snapshot:{petition_slug}", "listing")
    except (RedisError, OSError):
        log.warning("count cache unavailable; snapshot left to expire", exc_info=True)


# --- the list ---------------------------------------------------------------------------------


class SearchForm(Form):
    """The filters, from the query string (a GET form: no CSRF token, nothing changes)."""

    q = StringField(_l("Name or email"), filters=[lambda v: v.strip() if v else v])
    country = SelectField(_l("Country"), validate_choice=False)
    state = SelectField(_l("State"), validate_choice=False)
    source = StringField(_l("Source"), filters=[lambda v: v.strip() if v else v])
    since = DateField(_l("Signed from"), validators=[Optional()])
    until = DateField(_l("Signed until"), validators=[Optional()])
    per_page = IntegerField(
        _l("Per page"), validators=[Optional(), NumberRange(1, MAX_PAGE_SIZE)], default=PAGE_SIZE
    )

    def __init__(self, formdata, language="en"):
        super().__init__(formdata)
        self.country.choices = [("", _l("Any"))] + countries.choices(language)
        self.state.choices = [("", _l("Any"))] + [(s, s) for s in SIGNATURE_STATES]


def search_conditions(form):
    """WHERE clauses for the valid filters; an invalid one is left out (the form shows why)."""
    where = []
    q = form.q.data
    if q:
        try:
            email = check_email(q)
        except InvalidEmail:
            email = None
        if email is not None:
            # A whole address: the unique index finds that mailbox however it was spelled.
            where.append(Signature.canonical_email == email.canonical)
        else:
            where.append(
                or_(
                    Signature.name.icontains(q, autoescape=True),
                    Signature.email.icontains(q, autoescape=True),
                )
            )
    if form.country.data in countries.CODES:
        where.append(Signature.country == form.country.data)
    if form.state.data in SIGNATURE_STATES:
        where.append(Signature.state == form.state.data)
    if form.source.data:
        where.append(Signature.source == form.source.data)
    if form.since.data and not form.since.errors:
        where.append(Signature.created_at >= day_start(form.since.data))
    if form.until.data and not form.until.errors:
        where.append(Signature.created_at < day_start(form.until.data + dt.timedelta(days=1)))
    return where


def day_start(date):
    return dt.datetime.combine(date, dt.time(), tzinfo=dt.UTC)


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
    try:
        return int(request.args[name])
    except (KeyError, ValueError):
        return None


@bp.get("/petitions/<slug>/signatures")
@auth.staff_required()
def signatures(slug):
    petition = find_petition(slug)
    form = SearchForm(request.args, language=str(get_locale() or "en").split("_")[0])
    form.validate()
    where = search_conditions(form)
    per_page = form.per_page.data if not form.per_page.errors and form.per_page.data else PAGE_SIZE
    before = cursor_row(petition.id, int_arg("before"))
    after = cursor_row(petition.id, int_arg("after")) if before is None else None
    rows, has_newer, has_older = page_of(petition.id, where, per_page, before, after)
    filters = {k: v for k, v in request.args.items() if k not in ("before", "after") and v}
    return render_template(
        "staff/signatures.html",
        petition=petition,
        form=form,
        rows=rows,
        filters=filters,
        newer_url=(
            url_for("staff.signatures", slug=slug, after=rows[0].id, **filters)
            if has_newer and rows
            else None
        ),
        older_url=(
            url_for("staff.signatures", slug=slug, before=rows[-1].id, **filters)
            if has_older and rows
            else None
        ),
        export_url=url_for("staff.export_signatures", slug=slug, **filters),
        links=petition_links(petition),
        when=format_datetime,
        here=request.full_path,
    )


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
    petition = find_petition(slug)
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
    petition = find_petition(slug)
    changed = moderation.restore(
        signature_id, current_user, current_app.config, petition_id=petition.id
    )
    db.session.commit()
    if changed:
        refresh_public_count(slug)
        flash(_("Signature restored: %(name)s.", name=changed[0].name), "success")
    else:
        flash(_("Nothing changed: that signature is not invalidated."), "error")
    return redirect(back_to_list(slug), code=303)


# --- export -----------------------------------------------------------------------------------


@bp.get("/petitions/<slug>/signatures.csv")
@auth.staff_required()
def export_signatures(slug):
    petition = find_petition(slug)
    form = SearchForm(request.args)
    form.validate()
    where = search_conditions(form)
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


# --- import -----------------------------------------------------------------------------------


class ImportForm(FlaskForm):
    file = FileField(_l("CSV file"), validators=[FileRequired(_l("Choose a CSV file."))])


class ResumeForm(FlaskForm):
    """Go on with an import that was cut off, from the upload kept in instance/imports/."""

    run = IntegerField(validators=[DataRequired()])


def upload_limit():
    return current_app.config["IMPORT_MAX_BYTES"]


def too_large():
    limit_mb = upload_limit() / 1024 / 1024
    message = _(
        "The file is larger than the upload limit of %(limit)s MB. Split it, or import it "
        "on the server with: flask signatures import SLUG FILE.csv",
        limit=f"{limit_mb:g}",
    )
    return render_template("error.html", title=_("File too large"), message=message), 413


@bp.before_request
def allow_large_upload():
    """Raise the body limit for the import upload only, and only for staff.

    Every other request keeps MAX_CONTENT_LENGTH. The form here checks its own CSRF token
    (the global check would read the body under the small limit first).
    """
    if request.endpoint != "staff.import_signatures" or request.method != "POST":
        return None
    if not current_user.is_authenticated:
        return None
    # Room for the multipart envelope and the other fields around the file.
    limit = upload_limit() + 64 * 1024
    if request.content_length is not None and request.content_length > limit:
        return too_large()
    request.max_content_length = limit
    return None


def imports_dir():
    path = os.path.join(current_app.instance_path, "imports")
    os.makedirs(path, exist_ok=True)
    return path


def store_upload(upload):
    """Keep the upload as instance/imports/<sha256>.csv, so an import cut off can resume."""
    folder = imports_dir()
    digest = hashlib.sha256()
    size = 0
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".upload-")
    try:
        with os.fdopen(fd, "wb") as out:
            while chunk := upload.stream.read(1 << 20):
                size += len(chunk)
                if size > upload_limit():
                    raise RequestEntityTooLarge()
                digest.update(chunk)
                out.write(chunk)
        path = os.path.join(folder, digest.hexdigest() + ".csv")
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def stored_file(sha256):
    if not sha256 or len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
        return None
    path = os.path.join(imports_dir(), sha256 + ".csv")
    return path if os.path.exists(path) else None


def recent_runs(petition_id):
    runs = (
        db.session.execute(
            select(ImportRun)
            .where(ImportRun.petition_id == petition_id)
            .order_by(ImportRun.id.desc())
            .limit(10)
        )
        .scalars()
        .all()
    )
    return [(run, run.finished_at is None and stored_file(run.file_sha256)) for run in runs]


def render_import(petition, form, report=None, error=None, status=200):
    return (
        render_template(
            "staff/import.html",
            petition=petition,
            form=form,
            report=report,
            error=error,
            runs=recent_runs(petition.id),
            columns=",".join(imports.COLUMNS),
            limit_mb=f"{upload_limit() / 1024 / 1024:g}",
            report_lines=REPORT_LINES,
            links=petition_links(petition),
            when=format_datetime,
        ),
        status,
    )


def unfinished_run(petition_id, run_id):
    return db.session.execute(
        select(ImportRun).where(
            ImportRun.id == run_id,
            ImportRun.petition_id == petition_id,
            ImportRun.finished_at.is_(None),
        )
    ).scalar_one_or_none()


def run_import(petition, path, filename):
    """Import a stored upload; the file is deleted once the import has finished.

    If it fails part-way, the file stays for the resume button; if nothing was started (the
    file is unusable), it goes.
    """
    staff = current_user._get_current_object()
    sha256 = os.path.basename(path).removesuffix(".csv")
    # No transaction may stay open across the import: it commits batch by batch.
    db.session.commit()
    try:
        report = imports.import_csv(petition, path, staff=staff, filename=filename)
    except imports.ImportFileError:
        db.session.rollback()
        started = db.session.execute(
            select(ImportRun.id).where(
                ImportRun.petition_id == petition.id,
                ImportRun.file_sha256 == sha256,
                ImportRun.finished_at.is_(None),
            )
        ).first()
        if not started:
            os.unlink(path)
        raise
    os.unlink(path)
    refresh_public_count(petition.slug)
    return report


@csrf.exempt
@bp.route("/petitions/<slug>/import", methods=["GET", "POST"])
@auth.staff_required()
def import_signatures(slug):
    petition = find_petition(slug)
    try:
        resuming = request.method == "POST" and "run" in request.form
        form = ResumeForm() if resuming else ImportForm()
        submitted = form.validate_on_submit()
    except RequestEntityTooLarge:
        return too_large()
    if request.method == "GET":
        return render_import(petition, form)
    if not submitted:
        # A missing or stale CSRF token is as much a bad request as a missing file.
        return render_import(
            petition, ImportForm(formdata=None), error=form_error(form), status=400
        )

    if resuming:
        run = unfinished_run(petition.id, form.run.data)
        path = run and stored_file(run.file_sha256)
        if not path:
            error = _("That import cannot be resumed: its upload is gone. Upload the file again.")
            return render_import(petition, ImportForm(formdata=None), error=error, status=400)
        filename = run.filename
    else:
        try:
            path = store_upload(form.file.data)
        except RequestEntityTooLarge:
            return too_large()
        filename = os.path.basename(form.file.data.filename or "") or "upload.csv"
    try:
        report = run_import(petition, path, filename)
    except imports.ImportFileError as exc:
        return render_import(petition, ImportForm(formdata=None), error=str(exc), status=400)
    return render_import(petition, ImportForm(formdata=None), report=report)


def form_error(form):
    for name, errors in form.errors.items():
        if name == "csrf_token":
            return _("The form expired or came from elsewhere. Reload the page and try again.")
        if errors:
            return str(errors[0])
    return _("The request was not understood.")
