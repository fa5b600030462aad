"""Signing defences: which rule, if any, a new signature trips.

A signature that trips one is held, not refused: signing.sign stores it as 'fraudulent' with the
reason, counts nothing, and the person sees and gets exactly what any signer does, so a bot
learns nothing from the response. Staff can restore held signatures (petition/abuse/moderation.py).

The per-address limits are counted from the signature rows themselves, as the UK Parliament
petitions site does, so they hold across every app process and machine: two COUNTs on the
(petition_id, ip, created_at) index, each bounded by its time window. The count and the insert
are not atomic: requests from one address that arrive together all count the rows committed
before them, so a concurrent burst can pass the limit by at most the number of requests in
flight at once (the app's workers times threads). That is accepted: the limit is there to keep
a flood out of the count, not to be exact, and serialising every sign per address (an advisory
lock) would cost more than the few extra signatures, which staff can still review.

Blocked domains and ranges are the operator's config lists plus the ones staff edit at
/staff/blocklists (petition/abuse/blocklists.py), read from a per-process snapshot, not per sign.
"""

import datetime as dt
import ipaddress
import time

from flask_babel import format_decimal, ngettext
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import func, select

from petition.abuse import blocklists
from petition.core.db import utcnow
from petition.core.extensions import db
from petition.petitions.models import Signature

FORM_TIME_SALT = "sign-form-time"
# Every hold reason starts with this, for staff reading it; the held column is what tells held
# signatures apart from staff verdicts.
HELD = "held: "


def is_held(signature):
    """Held by an abuse check, as opposed to marked fraudulent by staff."""
    return signature.held


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


def blocked_domain(domain, config, lists=None):
    """A hold reason if the domain (or a parent) is blocked, or disposable and not allowed.

    Blocks (config and staff) win over staff "allow" entries, which only exempt a domain that
    the disposable list names wrongly.
    """
    lists = lists or blocklists.Snapshot()
    configured = config["BLOCKED_EMAIL_DOMAINS"]
    suffixes = _domain_suffixes(domain)
    for suffix in suffixes:
        if suffix in configured or suffix in lists.blocked_domains:
            return f"{HELD}email domain {suffix} is blocked"
    if not config["BLOCK_DISPOSABLE_EMAIL"]:
        return None
    if any(suffix in lists.allowed_domains for suffix in suffixes):
        return None
    disposable = disposable_domains()
    for suffix in suffixes:
        if suffix in disposable:
            return f"{HELD}disposable email domain {suffix}"
    return None


def blocked_network(ip, config, lists=None):
    lists = lists or blocklists.Snapshot()
    networks = (*config["BLOCKED_NETWORKS"], *lists.networks)
    if not networks or not ip:
        return None
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return None
    for network in networks:
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


def over_address_limits(config, count):
    """(rows seen, window in seconds) of the first per-address limit (SIGN_BURST_*, then
    SIGN_SUSTAINED_*) that count(seconds) reaches, or None."""
    for kind in ("BURST", "SUSTAINED"):
        limit, seconds = config[f"SIGN_{kind}_COUNT"], config[f"SIGN_{kind}_SECONDS"]
        if limit <= 0 or seconds <= 0:
            continue
        seen = count(seconds)
        if seen >= limit:
            return seen, seconds
    return None


def address_limits(petition, ip, config, now=None):
    if not ip:
        return None
    now = now or utcnow()
    over = over_address_limits(
        config, lambda seconds: recent_from_address(petition.id, ip, seconds, now)
    )
    if over is None:
        return None
    seen, seconds = over
    return f"{HELD}{seen + 1} signatures from this address in {describe(seconds)}"


def describe(seconds):
    if seconds % 3600 == 0:
        hours = seconds // 3600
        return "1 hour" if hours == 1 else f"{hours} hours"
    if seconds % 60 == 0:
        minutes = seconds // 60
        return "1 minute" if minutes == 1 else f"{minutes} minutes"
    return f"{seconds} seconds"


def describe_window(seconds):
    """A time window in the reader's language (describe() writes the stored reasons)."""
    if seconds % 3600 == 0:
        hours = seconds // 3600
        return ngettext("%(n)s hour", "%(n)s hours", hours, n=format_decimal(hours))
    if seconds % 60 == 0:
        minutes = seconds // 60
        return ngettext("%(n)s minute", "%(n)s minutes", minutes, n=format_decimal(minutes))
    return ngettext("%(n)s second", "%(n)s seconds", seconds, n=format_decimal(seconds))


def form_trap_reason(form_meta, config):
    """The bot traps of any public form (sign, host, RSVP): the hidden field and the form time.

    `form_meta` holds "honeypot" (the hidden field's value) and "t" (the signed time the form
    was shown). Returns a held reason or None; the caller checks ABUSE_CHECKS.
    """
    if (form_meta.get("honeypot") or "").strip():
        return f"{HELD}hidden honeypot field was filled in"
    minimum = config["SIGN_MIN_SECONDS"]
    if minimum > 0:
        age = form_age(config, form_meta.get("t"))
        if age is None:
            return f"{HELD}form time missing or forged"
        if age < minimum:
            return f"{HELD}form posted {max(age, 0):.1f} s after it was shown"
        # Else one form time, signed once, would pass this check for ever after.
        maximum = config["SIGN_FORM_MAX_SECONDS"]
        if maximum > 0 and age > maximum:
            return f"{HELD}form posted {age / 3600:.0f} hours after it was shown"
    return None


def submission_hold_reason(form_meta, config, model, ip, now=None):
    """Why a submission of another public form (host, RSVP, endorse) should be held, or None.

    `form_meta` holds the bot traps ("honeypot", "t"); `model` is the submission's table, whose
    rows from the same address in the sign limits' windows are counted (it has `ip` and
    `created_at`).
    """
    if not config["ABUSE_CHECKS"]:
        return None
    reason = form_trap_reason(form_meta, config)
    if reason:
        return reason
    if not ip:
        return None
    now = now or utcnow()

    def count(seconds):
        return db.session.execute(
            select(func.count())
            .select_from(model)
            .where(model.ip == ip, model.created_at >= now - dt.timedelta(seconds=seconds))
        ).scalar_one()

    over = over_address_limits(config, count)
    if over is None:
        return None
    seen, seconds = over
    return f"{HELD}{seen + 1} from this address in {seconds} s"


def hold_reason(petition, data, form_meta, config):
    """Why this signature should be held, or None. `data` is a signing.SignData; `form_meta`
    holds the form's bot traps: "honeypot" (the hidden field's value) and "t" (the signed
    time the form was shown)."""
    if not config["ABUSE_CHECKS"]:
        return None
    reason = form_trap_reason(form_meta, config)
    if reason:
        return reason
    domain = data.email.canonical.rpartition("@")[2]
    lists = blocklists.current()
    reason = blocked_domain(domain, config, lists) or blocked_network(data.ip, config, lists)
    if reason:
        return reason
    # Last: the only checks that query the database on every sign.
    return address_limits(petition, data.ip, config)
