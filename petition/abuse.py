"""Signing defences: which rule, if any, a new signature trips.

A signature that trips one is held, not refused: signing.sign stores it as 'fraudulent' with the
reason, counts nothing, and the person sees and gets exactly what any signer does, so a bot
learns nothing from the response. Staff can restore held signatures (petition/moderation.py).

The per-address limits are counted from the signature rows themselves, as the UK Parliament
petitions site does, so they hold across every app process and machine: two COUNTs on the
(petition_id, ip, created_at) index, each bounded by its time window.
"""

import datetime as dt
import ipaddress
import time

from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import func, select

from .extensions import db
from .models import Signature, utcnow

FORM_TIME_SALT = "sign-form-time"
# Every hold reason starts with this, so held signatures are told apart from staff verdicts.
HELD = "held: "


def _serializer(config):
    return URLSafeTimedSerializer(config["SECRET_KEY"], salt=FORM_TIME_SALT)


def form_time(config, now=None):
    """The signed value for the sign form's hidden `t` field: when the form was shown."""
    return _serializer(config).dumps(round(now if now is not None else time.time(), 3))


def form_age(config, value, now=None):
    """Seconds since the form carrying `value` was shown, or None if missing or forged."""
    if not value or len(value) > 200:
        return None
    try:
        shown = _serializer(config).loads(value)
    except BadSignature:
        return None
    if not isinstance(shown, (int, float)):
        return None
    return (now if now is not None else time.time()) - shown


def disposable_domains():
    """The disposable-mail domains of the disposable-email-domains package (a set)."""
    from disposable_email_domains import blocklist

    return blocklist


def _domain_suffixes(domain):
    """example.co.uk -> example.co.uk, co.uk, uk: a blocked domain covers its subdomains."""
    parts = domain.split(".")
    return [".".join(parts[i:]) for i in range(len(parts))]


def blocked_domain(domain, config):
    blocked = set(config["BLOCKED_EMAIL_DOMAINS"])
    disposable = disposable_domains() if config["BLOCK_DISPOSABLE_EMAIL"] else set()
    for suffix in _domain_suffixes(domain):
        if suffix in blocked:
            return f"{HELD}email domain {suffix} is blocked"
        if suffix in disposable:
            return f"{HELD}disposable email domain {suffix}"
    return None


def blocked_network(ip, config):
    networks = config["BLOCKED_NETWORKS"]
    if not networks or not ip:
        return None
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return None
    for network in networks:
        network = ipaddress.ip_network(network, strict=False)
        if address.version == network.version and address in network:
            return f"{HELD}address {ip} is in blocked network {network}"
    return None


def recent_from_address(petition_id, ip, seconds, now):
    """Signatures from this address on this petition in the last `seconds`, in any state."""
    since = now - dt.timedelta(seconds=seconds)
    return db.session.execute(
        select(func.count())
        .select_from(Signature)
        .where(
            Signature.petition_id == petition_id,
            Signature.ip == ip,
            Signature.created_at >= since,
        )
    ).scalar_one()


def address_limits(petition, ip, config, now=None):
    if not ip:
        return None
    now = now or utcnow()
    for kind in ("BURST", "SUSTAINED"):
        limit, seconds = config[f"SIGN_{kind}_COUNT"], config[f"SIGN_{kind}_SECONDS"]
        if limit <= 0 or seconds <= 0:
            continue
        seen = recent_from_address(petition.id, ip, seconds, now)
        if seen >= limit:
            return f"{HELD}{seen + 1} signatures from this address in {describe(seconds)}"
    return None


def describe(seconds):
    if seconds % 3600 == 0:
        hours = seconds // 3600
        return "1 hour" if hours == 1 else f"{hours} hours"
    if seconds % 60 == 0:
        minutes = seconds // 60
        return "1 minute" if minutes == 1 else f"{minutes} minutes"
    return f"{seconds} seconds"


def hold_reason(petition, data, form_meta, config):
    """Why this signature should be held, or None. `data` is a signing.SignData; `form_meta`
    holds the form's bot traps: "honeypot" (the hidden field's value) and "t" (the signed
    time the form was shown)."""
    if not config["ABUSE_CHECKS"]:
        return None
    if (form_meta.get("honeypot") or "").strip():
        return f"{HELD}hidden honeypot field was filled in"
    minimum = config["SIGN_MIN_SECONDS"]
    if minimum > 0:
        age = form_age(config, form_meta.get("t"))
        if age is None:
            return f"{HELD}form time missing or forged"
        if age < minimum:
            return f"{HELD}form posted {max(age, 0):.1f} s after it was shown"
    domain = data.email.canonical.rpartition("@")[2]
    reason = blocked_domain(domain, config) or blocked_network(data.ip, config)
    if reason:
        return reason
    # Last: the only checks that touch the database.
    return address_limits(petition, data.ip, config)
