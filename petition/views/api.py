"""The public JSON API (shapes per DESIGN; caching and CORS come with the widget work)."""

from flask import Blueprint, current_app, jsonify
from sqlalchemy import select

from .. import counting
from ..extensions import db
from ..models import Petition
from ..signing import petition_url

bp = Blueprint("api", __name__, url_prefix="/api")


class ApiError(Exception):
    def __init__(self, status, code, message):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


@bp.errorhandler(ApiError)
def api_error(exc):
    return jsonify(error={"code": exc.code, "message": exc.message}), exc.status


def iso(value):
    return value.isoformat().replace("+00:00", "Z") if value else None


def find(slug):
    petition = db.session.execute(
        select(Petition).where(Petition.slug == slug, Petition.state != "draft")
    ).scalar_one_or_none()
    if petition is None:
        raise ApiError(404, "not_found", f"No petition with the slug {slug!r}.")
    return petition


def summary(petition):
    return {
        "slug": petition.slug,
        "title": petition.title,
        "target": petition.target,
        "url": petition_url(current_app.config, petition),
        "state": petition.state,
        "signature_count": petition.signature_count,
        "goal": counting.goal(petition),
    }


@bp.get("/petitions")
def petitions():
    rows = db.session.execute(
        select(Petition).where(Petition.state != "draft").order_by(Petition.created_at.desc())
    ).scalars()
    return jsonify(petitions=[summary(p) for p in rows])


@bp.get("/petitions/<slug>")
def petition(slug):
    p = find(slug)
    body = summary(p)
    body["milestones"] = [
        {"count": m.count, "label": m.label, "reached_at": iso(m.reached_at)} for m in p.milestones
    ]
    body["signatures_by_country"] = counting.by_country(p.id)
    body["updated_at"] = iso(p.updated_at)
    return jsonify(body)


@bp.get("/petitions/<slug>/count")
def count(slug):
    p = find(slug)
    return jsonify(signature_count=p.signature_count, goal=counting.goal(p))
