"""Staff: import signatures from a CSV file."""

import hashlib
import os
import tempfile
import unicodedata

from flask import current_app, render_template, request
from flask_babel import format_datetime
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from sqlalchemy import select
from werkzeug.exceptions import RequestEntityTooLarge
from wtforms import IntegerField
from wtforms.validators import DataRequired

from petition import imports
from petition.core.db import row_id
from petition.core.extensions import csrf, db
from petition.core.files import private_dir
from petition.core.forms import BIDI_CONTROLS
from petition.imports.models import ImportRun
from petition.petitions import snapshots
from petition.petitions.models import Petition
from petition.staff import auth
from petition.staff.views import bp, petition_links

# Rejected lines shown on the import report page; the counts are exact.
REPORT_LINES = 200


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
    return render_template("core/error.html", title=_("File too large"), message=message), 413


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
    return private_dir(os.path.join(current_app.instance_path, "imports"))


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
            "imports/staff/import.html",
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
    # The form's integer may lie beyond any row id (and the database's integer type).
    run_id = row_id(run_id)
    if run_id is None:
        return None
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
    file is unusable, or the first batch failed), it goes.
    """
    staff = current_user._get_current_object()
    sha256 = os.path.basename(path).removesuffix(".csv")
    # No transaction may stay open across the import: it commits batch by batch.
    db.session.commit()
    try:
        report = imports.import_csv(petition, path, staff=staff, filename=filename)
    except Exception:
        # Whatever went wrong (an unusable file, the database), an upload nothing was started
        # from is not kept.
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
    snapshots.count_changed(current_app, petition.slug)
    return report


@csrf.exempt
@bp.route("/petitions/<slug>/import", methods=["GET", "POST"])
@auth.staff_required()
def import_signatures(slug):
    petition = db.one_or_404(select(Petition).where(Petition.slug == slug))
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
        filename = form.file.data.filename or "upload.csv"
        if not plain_filename(filename):
            # Checked before anything is written: a refused upload leaves no file behind.
            error = _(
                "The file's name has a folder or a control character in it; "
                "rename the file and upload it again."
            )
            return render_import(petition, ImportForm(formdata=None), error=error, status=400)
        try:
            path = store_upload(form.file.data)
        except RequestEntityTooLarge:
            return too_large()
    try:
        report = run_import(petition, path, filename)
    except imports.ImportFileError as exc:
        return render_import(petition, ImportForm(formdata=None), error=str(exc), status=400)
    return render_import(petition, ImportForm(formdata=None), report=report)


def plain_filename(name):
    """A file's own name as browsers send it: no folder, no NUL or other control character."""
    return not any(
        ch in "/\\" or ch in BIDI_CONTROLS or unicodedata.category(ch) in ("Cc", "Cs", "Co", "Cn")
        for ch in name
    )


def form_error(form):
    for name, errors in form.errors.items():
        if name == "csrf_token":
            return _("The form expired or came from elsewhere. Reload the page and try again.")
        if errors:
            return str(errors[0])
    return _("The request was not understood.")
