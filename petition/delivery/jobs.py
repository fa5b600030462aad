"""The background job that builds a bundle for staff: kind "delivery_pdf"."""

import contextlib

from flask import has_app_context

from petition.core.extensions import db
from petition.delivery.build import DeliveryError, build_delivery, default_out
from petition.petitions.models import Petition


def delivery_pdf(app, job_id, params, report):
    """Build under instance/deliveries/; params: petition_id, since_last, staff_id, created_by,
    languages (the cover letters', the first also the headings'; default the petition's own)."""
    context = contextlib.nullcontext() if has_app_context() else app.app_context()
    with context:
        petition = db.session.get(Petition, params["petition_id"])
        if petition is None:
            raise DeliveryError("the petition no longer exists")
        result = build_delivery(
            petition,
            default_out(app.instance_path, petition.slug),
            since_last=bool(params.get("since_last")),
            created_by=params.get("created_by") or "staff",
            staff_id=params.get("staff_id"),
            progress=report,
            languages=params.get("languages") or None,
        )
        return result.as_dict()
