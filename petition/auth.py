"""Staff accounts: passwords, sessions (Flask-Login), roles, and the audit log."""

import functools
import json
from urllib.parse import urlsplit

from flask import abort, has_request_context, request
from flask_login import current_user
from sqlalchemy import func, select
from werkzeug.security import check_password_hash, generate_password_hash

from .extensions import db, login_manager
from .models import STAFF_ROLES, AuditLog, Staff, utcnow

MIN_PASSWORD = 12
# Verifying against this when the account does not exist costs the same time as a real check,
# so response times do not tell which addresses have accounts.
_DUMMY_HASH = generate_password_hash("not-a-real-password")


class AccountError(ValueError):
    """A staff account cannot be created or changed as asked; the message says why."""


def hash_password(password):
    """A slow, salted hash (scrypt, werkzeug's default)."""
    return generate_password_hash(password)


def create_staff(email, password, role):
    """Add a staff account to the session; the caller commits."""
    email = (email or "").strip().lower()
    if "@" not in email or len(email) > 320:
        raise AccountError("a staff account needs a valid email address")
    if role not in STAFF_ROLES:
        raise AccountError(f"role must be one of {', '.join(STAFF_ROLES)}")
    if len(password or "") < MIN_PASSWORD:
        raise AccountError(f"the password needs at least {MIN_PASSWORD} characters")
    exists = db.session.execute(select(Staff.id).where(Staff.email == email)).scalar()
    if exists:
        raise AccountError(f"there is already an account for {email}")
    staff = Staff(email=email, password_hash=hash_password(password), role=role, active=True)
    db.session.add(staff)
    return staff


def authenticate(email, password):
    """The active account with this email and password, or None."""
    email = (email or "").strip().lower()
    staff = db.session.execute(
        select(Staff).where(func.lower(Staff.email) == email)
    ).scalar_one_or_none()
    if staff is None or not staff.active:
        check_password_hash(_DUMMY_HASH, password or "")
        return None
    if not check_password_hash(staff.password_hash, password or ""):
        return None
    staff.last_login_at = utcnow()
    return staff


@login_manager.user_loader
def load_staff(staff_id):
    try:
        staff = db.session.get(Staff, int(staff_id))
    except (TypeError, ValueError):
        return None
    return staff if staff is not None and staff.active else None


def staff_required(role=None):
    """Decorator: a logged-in, active staff member (of this role, if given)."""

    def decorate(view):
        @functools.wraps(view)
        def wrapped(*args, **kwargs):
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if role is not None and current_user.role != role:
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorate


def safe_next(target, fallback):
    """A `next` URL only if it stays on this site (a path, no scheme, no host)."""
    if not target:
        return fallback
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return fallback
    if "\\" in target or any(ord(ch) < 32 for ch in target):
        return fallback
    return target


def audit(action, petition_id=None, staff=None, **detail):
    """Record a staff action in the caller's transaction (it commits with the action)."""
    staff = staff or (current_user if current_user and current_user.is_authenticated else None)
    db.session.add(
        AuditLog(
            staff_id=getattr(staff, "id", None),
            staff_email=getattr(staff, "email", None),
            action=action,
            petition_id=petition_id,
            detail=json.dumps(detail, ensure_ascii=False, sort_keys=True, default=str),
            ip=request.remote_addr if has_request_context() else None,
        )
    )


def init_app(app):
    login_manager.init_app(app)
    login_manager.login_view = "staff.login"
    # "strong" would clear the session of any supporter whose session lacks a login marker,
    # adding a cookie to every public page; "basic" only marks a moved session not fresh.
    login_manager.session_protection = "basic"
