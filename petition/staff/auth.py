"""Staff accounts: passwords, sessions (Flask-Login), roles, and the audit log."""

import functools
import json
import re
from urllib.parse import urlsplit

from flask import abort, has_request_context, request
from flask_login import current_user
from sqlalchemy import func, select, update
from sqlalchemy.orm.attributes import set_committed_value
from werkzeug.security import check_password_hash, generate_password_hash

from petition.core.db import MAX_ID, utcnow
from petition.core.extensions import db, login_manager
from petition.staff.models import STAFF_ROLES, AuditLog, Staff

MIN_PASSWORD = 12
# Verifying against this when the account does not exist costs the same time as a real check,
# so response times do not tell which addresses have accounts.
_DUMMY_HASH = generate_password_hash("not-a-real-password")


class AccountError(ValueError):
    """A staff account cannot be created or changed as asked; the message says why."""


class WrongPassword(AccountError):
    """The current password given to change it is not the account's."""


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


def staff_by_email(email):
    """The account with this email (in any case), or None."""
    email = (email or "").strip().lower()
    return db.session.execute(
        select(Staff).where(func.lower(Staff.email) == email)
    ).scalar_one_or_none()


def authenticate(email, password):
    """The active account with this email and password, or None."""
    staff = staff_by_email(email)
    if staff is None or not staff.active:
        check_password_hash(_DUMMY_HASH, password or "")
        return None
    if not check_password_hash(staff.password_hash, password or ""):
        return None
    staff.last_login_at = utcnow()
    return staff


def end_sessions(staff):
    """Log out every session of this account (at its next request); the caller commits.

    One UPDATE adding to the stored version, so two changes racing each count, and the new
    version is read back from the same statement.
    """
    version = db.session.execute(
        update(Staff)
        .where(Staff.id == staff.id)
        .values(session_version=Staff.session_version + 1)
        .returning(Staff.session_version),
        execution_options={"synchronize_session": False},
    ).scalar_one()
    set_committed_value(staff, "session_version", version)
    return version


def set_password(staff, password):
    """Give an account a new password and end its sessions; the caller commits."""
    if len(password or "") < MIN_PASSWORD:
        raise AccountError(f"the password needs at least {MIN_PASSWORD} characters")
    staff.password_hash = hash_password(password)
    end_sessions(staff)


def change_password(staff, current, new):
    """Someone changing their own password, which takes the current one; the caller commits."""
    if not check_password_hash(staff.password_hash, current or ""):
        raise WrongPassword("that is not the current password")
    if new == current:
        raise AccountError("the new password must differ from the current one")
    set_password(staff, new)


def set_active(staff, active):
    """Deactivate or reactivate an account; False if it already was. The caller commits."""
    if staff.active == active:
        return False
    staff.active = active
    # Reactivating ends sessions too: those of an account deactivated before versions existed
    # still hold version 0, and must not come back with it.
    end_sessions(staff)
    return True


# A session's id: "<id>:<version>", or "<id>" alone from before versions (taken as version 0).
_SESSION_ID = re.compile(r"([0-9]{1,10})(?::([0-9]{1,10}))?")


@login_manager.user_loader
def load_staff(session_id):
    """The account a session names, if it is active and the session is of its current version."""
    found = _SESSION_ID.fullmatch(session_id) if isinstance(session_id, str) else None
    if found is None or not 0 < int(found[1]) <= MAX_ID:
        return None
    staff = db.session.get(Staff, int(found[1]))
    version = int(found[2] or 0)
    if staff is None or not staff.active or staff.session_version != version:
        return None
    return staff


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
