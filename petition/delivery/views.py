"""Delivery bundles in the staff area: past deliveries, starting a build, its progress, files."""

import json
import os

from flask import abort, current_app, flash, jsonify, redirect, render_template, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import SelectMultipleField, StringField
from wtforms.validators import AnyOf

from petition.core.extensions import db
from petition.core.i18n import language_name
from petition.delivery.models import Delivery
from petition.jobs import runner as jobs
from petition.jobs.models import Job
from petition.petitions.models import Petition
from petition.staff import auth
from petition.staff.models import Staff
from petition.staff.views import bp

KIND = "delivery_pdf"


class StartDeliveryForm(FlaskForm):
    # "all" confirmed signatures, or those "since_last" delivery (radio buttons in the page).
    scope = StringField(default="all", validators=[AnyOf(["all", "since_last"])])
    # The cover letter's languages, in the petition's order (checkboxes in the page); none
    # ticked means the petition's own.
    languages = SelectMultipleField(validate_choice=True)

    def __init__(self, petition, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.languages.choices = [(code, language_name(code)) for code in petition.languages]


def active_job(petition_id):
    """The bundle job of this petition that is queued or running, if any."""
    return db.session.execute(
        select(Job)
        .where(
            Job.kind == KIND, Job.petition_id == petition_id, Job.state.in_(("queued", "running"))
        )
        .order_by(Job.id.desc())
        .limit(1)
    ).scalar_one_or_none()


def last_job(petition_id):
    return db.session.execute(
        select(Job)
        .where(Job.kind == KIND, Job.petition_id == petition_id)
        .order_by(Job.id.desc())
        .limit(1)
    ).scalar_one_or_none()


@bp.get("/petitions/<slug>/deliveries", endpoint="deliveries")
@auth.staff_required()
def deliveries(slug):
    petition = db.one_or_404(select(Petition).where(Petition.slug == slug))
    rows = db.session.execute(
        select(Delivery, Staff.email)
        .outerjoin(Staff, Staff.id == Delivery.staff_id)
        .where(Delivery.petition_id == petition.id)
        .order_by(Delivery.number.desc())
    ).all()
    job = active_job(petition.id)
    failed = None
    if job is None:
        latest = last_job(petition.id)
        if latest is not None and latest.state == "failed":
            failed = latest
    return render_template(
        "delivery/staff/deliveries.html",
        petition=petition,
        deliveries=[(d, email or d.created_by) for d, email in rows],
        job=job,
        failed=failed,
        form=StartDeliveryForm(petition),
        has_previous=bool(rows),
    )


@bp.post("/petitions/<slug>/deliveries", endpoint="start_delivery")
@auth.staff_required()
def start_delivery(slug):
    petition = db.one_or_404(select(Petition).where(Petition.slug == slug))
    form = StartDeliveryForm(petition)
    if not form.validate_on_submit():
        abort(400)
    if active_job(petition.id) is not None:
        flash(_("A bundle for this petition is already being built."), "error")
        return redirect(url_for("staff.deliveries", slug=slug), code=303)
    since_last = form.scope.data == "since_last"
    job = jobs.enqueue(
        KIND,
        {
            "petition_id": petition.id,
            "since_last": since_last,
            # In the petition's order, its own language first when ticked.
            "languages": [code for code in petition.languages if code in form.languages.data],
            "staff_id": current_user.id,
            "created_by": current_user.email,
        },
        staff_id=current_user.id,
        petition_id=petition.id,
    )
    db.session.flush()
    auth.audit("delivery.start", petition_id=petition.id, since_last=since_last, job_id=job.id)
    db.session.commit()
    jobs.wake(current_app)
    flash(_("Building the bundle. This page shows its progress."), "info")
    return redirect(url_for("staff.deliveries", slug=slug), code=303)


# Parts of a job's result that describe the server: file paths, worker pids and their memory.
SERVER_ONLY = {"path", "max_rss_kb"}


@bp.get("/jobs/<int:job_id>.json", endpoint="job_status")
@auth.staff_required()
def job_status(job_id):
    job = db.session.get(Job, job_id)
    if job is None:
        return jsonify(error={"code": "not_found", "message": "No such job."}), 404
    result = json.loads(job.result) if job.result else None
    if isinstance(result, dict):
        # Where the server keeps files and which processes ran are the operator's business
        # (logs, the worker's output), not the staff page's.
        result = {k: v for k, v in result.items() if k not in SERVER_ONLY}
    return jsonify(
        id=job.id,
        kind=job.kind,
        state=job.state,
        progress=job.progress,
        total=job.total,
        message=job.message,
        result=result,
    )


@bp.get("/deliveries/<int:delivery_id>/download", endpoint="download_delivery")
@auth.staff_required()
def download_delivery(delivery_id):
    delivery = db.session.get(Delivery, delivery_id)
    if delivery is None or not delivery.file_path or not os.path.isfile(delivery.file_path):
        abort(404)
    petition = db.session.get(Petition, delivery.petition_id)
    return send_file(
        delivery.file_path,
        mimetype="application/pdf",
        as_attachment=True,
        download_name=f"{petition.slug}-delivery-{delivery.number}.pdf",
    )
