"""Endorsing: the form's submission, the contact's confirmation, staff's decisions, the list.

An organisation endorses a petition or a day of action (the target). Through the form, the
contact confirms their address from a mail (unverified -> pending) and staff approve or reject;
staff may add one directly, approved at once. An organisation is recognised by its website's
domain or its contact's canonical address: a repeat from it never makes a second entry. Through
the form, a repeat is kept apart (repeat_of) until staff approve it, which merges what it says
into the first entry, so a stranger cannot change an approved organisation's listing by sending
the form again; from staff, it merges at once.
"""

import contextlib
import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from redis import RedisError
from sqlalchemy import event, func, select, update
from sqlalchemy.orm import Session

from petition.core import uploads
from petition.core.db import StateError, utcnow
from petition.core.emails import Email
from petition.core.extensions import cache, db
from petition.core.urls import public_url
from petition.endorsements.models import Endorsement, day_model
from petition.mail import outbox as mail
from petition.petitions import snapshots, texts
from petition.petitions.models import Petition

# -- targets -----------------------------------------------------------------------------------


def is_petition(target):
    # A page's petition is the reader's version of it (texts.Localized).
    return isinstance(target, (Petition, texts.Localized))


def target_filter(target):
    if is_petition(target):
        return Endorsement.petition_id == target.id
    return Endorsement.day_id == target.id


def target_fields(target):
    return {"petition_id": target.id} if is_petition(target) else {"day_id": target.id}


def target_url(config, target):
    kind = "petitions" if is_petition(target) else "days"
    return public_url(config, kind, target.slug)


def target_title(target, language):
    if is_petition(target):
        return texts.localized(target, language).title
    return target.title


def find_target(petition_slug=None, day_slug=None, public=True):
    """The petition or day of action of a slug (drafts only when not public), or None."""
    if petition_slug is not None:
        query = select(Petition).where(Petition.slug == petition_slug)
        if public:
            query = query.where(Petition.state != "draft")
        return db.session.execute(query).scalar_one_or_none()
    day_class = day_model()
    query = select(day_class).where(day_class.slug == day_slug)
    if public:
        query = query.where(day_class.state != "draft")
    return db.session.execute(query).scalar_one_or_none()


def accepts_endorsements(target):
    """Organisations may endorse an open petition, or a day of action not yet closed."""
    return target.state == "open"


# -- websites ----------------------------------------------------------------------------------


class WebsiteError(ValueError):
    def __init__(self, message):
        super().__init__(str(message))
        self.message = message


def normalize_website(value):
    """(url, domain) of a website as people type it ("glaad.org", "https://www.GLAAD.org/x").

    The URL keeps what was typed (with https:// added where no scheme was); the domain is the
    host in lower case without "www.", in its ASCII (IDNA) form, so that two spellings of one
    site are one organisation.
    """
    value = (value or "").strip()
    if not value:
        return "", ""
    if "://" not in value:
        value = "https://" + value
    try:
        parts = urlsplit(value)
        host = parts.hostname or ""
        port = parts.port
    except ValueError as exc:
        raise WebsiteError(_l("This is not a website address we can use.")) from exc
    if parts.scheme not in ("http", "https"):
        raise WebsiteError(_l("Please give an address starting with https:// or http://."))
    if parts.username or parts.password or port not in (None, 80, 443):
        raise WebsiteError(_l("This is not a website address we can use."))
    try:
        ascii_host = host.encode("idna").decode("ascii").lower()
    except UnicodeError as exc:
        raise WebsiteError(_l("This is not a website address we can use.")) from exc
    labels = ascii_host.split(".")
    if len(labels) < 2 or not all(labels) or any(len(label) > 63 for label in labels):
        raise WebsiteError(_l("Please give the full address of the website, such as example.org."))
    if any(not all(c.isalnum() or c == "-" for c in label) for label in labels):
        raise WebsiteError(_l("This is not a website address we can use."))
    domain = ascii_host.removeprefix("www.")
    url = urlunsplit((parts.scheme, parts.netloc.lower(), parts.path, parts.query, ""))
    return url, domain


# -- submission --------------------------------------------------------------------------------


@dataclass(frozen=True)
class EndorsementData:
    name: str
    website: str = ""
    domain: str = ""
    country: str = ""
    statement: str = ""
    contact_name: str = ""
    contact_email: Email | None = None
    language: str = "en"
    ip: str | None = None


def digest(plain):
    return hashlib.sha256(plain.encode("utf-8")).hexdigest()


def same_organisation(target, domain, canonical_email, name=""):
    """The entry of this organisation for the target (same domain, contact or name), or None.

    Repeats waiting for staff and rejected entries are not "the entry": the first is merged
    into it, and a rejected organisation that asks again starts afresh. A target has dozens or
    hundreds of endorsers, not millions: they are compared here rather than in SQL, where
    SQLite folds the case of ASCII letters only.
    """
    folded = name.casefold()
    rows = db.session.execute(
        select(Endorsement)
        .where(
            target_filter(target),
            Endorsement.repeat_of_id.is_(None),
            Endorsement.state != "rejected",
        )
        .order_by(Endorsement.id)
    ).scalars()
    matches = [
        e
        for e in rows
        if (domain and e.domain == domain)
        or (canonical_email and e.contact_canonical_email == canonical_email)
        or (folded and e.name.casefold() == folded)
    ]
    # An approved entry first, then the oldest.
    matches.sort(key=lambda e: e.state != "approved")
    return matches[0] if matches else None


def store_logo(data, config):
    """Re-encode a logo upload and store it: (name, width, height); UploadError if refused."""
    png, width, height = uploads.reencode_logo(
        data, config["LOGO_MAX_BYTES"], config["LOGO_MAX_PIXELS"], config["LOGO_MAX_SIDE"]
    )
    return uploads.store(config["UPLOAD_DIR"], png, suffix=".png"), width, height


def discard_logo(name, config):
    """Delete a stored logo (after a rollback, or when its entry goes or gets another)."""
    if name:
        uploads.remove(config["UPLOAD_DIR"], name)


@contextlib.contextmanager
def logo_kept_if_committed(logo, config):
    """Around the commit of a change that stored a logo (store_logo): if anything in it fails,
    the transaction rolls back and the file goes, so no logo is left that no row names."""
    try:
        yield
    except BaseException:
        db.session.rollback()
        discard_logo(logo[0] if logo else None, config)
        raise


def endorse(target, data, config, logo=None, held_reason=None):
    """Record an endorsement from the form as unverified and mail the contact the link.

    `logo` is the (name, width, height) of a stored logo (store_logo); the caller discards it
    if the transaction does not commit.
    """
    now = utcnow()
    plain = secrets.token_urlsafe(32)
    email = data.contact_email
    repeat = same_organisation(target, data.domain, email.canonical if email else "", data.name)
    endorsement = Endorsement(
        **target_fields(target),
        name=data.name,
        website=data.website,
        domain=data.domain,
        country=data.country,
        statement=data.statement,
        contact_name=data.contact_name,
        contact_email=email.normalized if email else "",
        contact_canonical_email=email.canonical if email else "",
        language=data.language,
        state="unverified",
        repeat_of_id=repeat.id if repeat else None,
        token_hash=digest(plain),
        ip=data.ip,
        held_reason=held_reason,
        created_at=now,
        updated_at=now,
    )
    if logo:
        endorsement.logo_name, endorsement.logo_width, endorsement.logo_height = logo
    # The form must not become a way to flood someone's inbox: past the cap, the endorsement is
    # kept (staff see it) but no further mail goes to that address in the window.
    capped = email and mails_to(email.canonical, now, config) >= config["MAIL_CAP_PER_ADDRESS"]
    if capped:
        endorsement.held_reason = held_reason or "held: mail cap reached for this address"
        endorsement.token_hash = None  # no mail, so no link
    db.session.add(endorsement)
    db.session.flush()
    if not capped:
        mail_contact(
            endorsement,
            target,
            _l("Confirm your endorsement: %(title)s"),
            "endorsements/mail/confirm.txt",
            confirm_url=public_url(config, "endorsements", "confirm", plain),
        )
    return endorsement


def mail_contact(endorsement, target, subject, template, **context):
    """A mail to the contact in the language they endorsed in, naming the petition or day in
    it; subject: a lazy string with %(title)s, translated in that language."""
    with force_locale(endorsement.language):
        title = target_title(target, endorsement.language)
        mail.enqueue(
            endorsement.contact_email,
            str(subject) % {"title": title},
            template,
            endorsement=endorsement,
            title=title,
            **context,
        )


def mails_to(canonical_email, now, config):
    """How many confirmation mails the form sent this address in MAIL_CAP_WINDOW."""
    since = now - dt.timedelta(seconds=config["MAIL_CAP_WINDOW"])
    return db.session.execute(
        select(func.count()).where(
            Endorsement.contact_canonical_email == canonical_email,
            Endorsement.token_hash.is_not(None),
            Endorsement.created_at >= since,
        )
    ).scalar_one()


def find_by_token(plain):
    if not plain or len(plain) > 100:
        return None
    return db.session.execute(
        select(Endorsement).where(Endorsement.token_hash == digest(plain))
    ).scalar_one_or_none()


def confirm(plain):
    """The contact confirms their address: the endorsement waits for staff.

    Returns (outcome, endorsement): "invalid", "already" or "pending"; safe to repeat.
    """
    endorsement = find_by_token(plain)
    if endorsement is None:
        return "invalid", None
    now = utcnow()
    changed = db.session.execute(
        update(Endorsement)
        .where(Endorsement.id == endorsement.id, Endorsement.state == "unverified")
        .values(state="pending", confirmed_at=now, updated_at=now)
    ).rowcount
    db.session.refresh(endorsement)
    return ("pending" if changed else "already"), endorsement


# -- staff -------------------------------------------------------------------------------------

MERGED_FIELDS = ("name", "website", "domain", "country", "statement")
CONTACT_FIELDS = ("contact_name", "contact_email", "contact_canonical_email", "language")


def merge(repeat, into, config):
    """What a repeat says goes into the organisation's entry (its empty fields change nothing);
    the repeat row goes. Returns the entry."""
    for field in MERGED_FIELDS:
        value = getattr(repeat, field)
        if value:
            setattr(into, field, value)
    if repeat.contact_email:
        for field in CONTACT_FIELDS:
            setattr(into, field, getattr(repeat, field))
    if repeat.logo_name:
        old = into.logo_name
        name, width, height = repeat.logo_name, repeat.logo_width, repeat.logo_height
        # The unique name moves to the entry: the repeat lets go of it first.
        repeat.logo_name = None
        db.session.flush()
        into.logo_name, into.logo_width, into.logo_height = name, width, height
        after_commit_discard(old, config)
    into.updated_at = utcnow()
    db.session.delete(repeat)
    db.session.flush()
    return into


def after_commit_discard(name, config):
    """Delete a logo file once the transaction that stopped using it has committed."""
    if not name:
        return
    session = db.session()
    pending = session.info.setdefault("discard_logos", [])
    pending.append((name, config["UPLOAD_DIR"]))


@event.listens_for(Session, "after_commit")
def _discard_after_commit(session):
    for name, directory in session.info.pop("discard_logos", []):
        uploads.remove(directory, name)


@event.listens_for(Session, "after_rollback")
def _keep_after_rollback(session):
    session.info.pop("discard_logos", None)


def approve(endorsement, config):
    """Approve (a repeat: merge it into the organisation's entry, approved). Returns the entry
    now on the list; StateError where there is nothing to approve."""
    if endorsement.state not in ("pending", "rejected"):
        raise StateError(f"cannot approve an endorsement that is {endorsement.state}")
    now = utcnow()
    entry = endorsement
    if endorsement.repeat_of is not None:
        entry = merge(endorsement, endorsement.repeat_of, config)
    first_time = entry.state != "approved"
    entry.state = "approved"
    entry.approved_at = entry.approved_at or now
    entry.reject_reason = None
    entry.updated_at = now
    if first_time and entry.contact_email:
        mail_contact(
            entry,
            entry.target,
            _l("Your endorsement is listed: %(title)s"),
            "endorsements/mail/approved.txt",
            page_url=target_url(config, entry.target),
        )
    changed(entry.target)
    return entry


def reject(endorsement, reason, config):
    if endorsement.state not in ("pending", "approved"):
        raise StateError(f"cannot reject an endorsement that is {endorsement.state}")
    was_listed = endorsement.state == "approved"
    endorsement.state = "rejected"
    endorsement.reject_reason = reason or None
    endorsement.updated_at = utcnow()
    if endorsement.contact_email and not was_listed:
        mail_contact(
            endorsement,
            endorsement.target,
            _l("About your endorsement: %(title)s"),
            "endorsements/mail/rejected.txt",
            reason=reason,
        )
    changed(endorsement.target)
    return endorsement


def edit(endorsement, data):
    """Staff correct an entry from an EndorsementData: name, website (and so domain), country,
    statement. Returns the names of the fields that changed."""
    changed_fields = []
    for field in MERGED_FIELDS:
        value = getattr(data, field)
        if getattr(endorsement, field) != value:
            setattr(endorsement, field, value)
            changed_fields.append(field)
    if changed_fields:
        endorsement.updated_at = utcnow()
        changed(endorsement.target)
    return [f for f in changed_fields if f != "domain"]


def set_logo(endorsement, logo, config):
    """A new logo (name, width, height) for an entry, or None to remove it."""
    old = endorsement.logo_name
    endorsement.logo_name, endorsement.logo_width, endorsement.logo_height = logo or (
        None,
        None,
        None,
    )
    endorsement.updated_at = utcnow()
    after_commit_discard(old, config)
    changed(endorsement.target)


def remove(endorsement, config):
    target = endorsement.target
    after_commit_discard(endorsement.logo_name, config)
    # Its repeats waiting for staff go with it, their logos too.
    for repeat in db.session.execute(
        select(Endorsement).where(Endorsement.repeat_of_id == endorsement.id)
    ).scalars():
        after_commit_discard(repeat.logo_name, config)
        db.session.delete(repeat)
    db.session.delete(endorsement)
    db.session.flush()
    changed(target)


def add_by_staff(target, data, config, logo=None, added_by=""):
    """An endorser staff add, approved at once; merged into the organisation's entry if it has
    one (by domain or name). Returns (entry, merged)."""
    now = utcnow()
    existing = same_organisation(target, data.domain, "", data.name)
    incoming = Endorsement(
        **target_fields(target),
        name=data.name,
        website=data.website,
        domain=data.domain,
        country=data.country,
        statement=data.statement,
        language=data.language,
        state="pending",
        added_by=added_by,
        created_at=now,
        updated_at=now,
    )
    if logo:
        incoming.logo_name, incoming.logo_width, incoming.logo_height = logo
    db.session.add(incoming)
    db.session.flush()
    if existing is not None:
        incoming.repeat_of = existing
        entry = approve(incoming, config)
        return entry, True
    return approve(incoming, config), False


# -- lists -------------------------------------------------------------------------------------


def listed(target):
    """The approved endorsers of a target, in the order they were approved."""
    return (
        db.session.execute(
            select(Endorsement)
            .where(
                target_filter(target),
                Endorsement.state == "approved",
                Endorsement.repeat_of_id.is_(None),
            )
            .order_by(Endorsement.approved_at, Endorsement.id)
        )
        .scalars()
        .all()
    )


def logo_url(config, endorsement):
    if not endorsement.logo_name:
        return None
    return public_url(config, "endorsements", "logos", endorsement.logo_name)


def public_rows(target, config):
    """The API's `endorsers`: approved only, and nothing of the contact."""
    return [
        {
            "name": e.name,
            "website": e.website or None,
            "country": e.country or None,
            "logo_url": logo_url(config, e),
        }
        for e in listed(target)
    ]


def cache_key(kind, slug):
    return f"endorsers:{kind}:{slug}"


def cached_public_rows(config, petition_slug=None, day_slug=None):
    """public_rows of a public petition or day by slug, through the count cache (partner
    sites poll the API); None for an unknown one."""
    kind, slug = ("petition", petition_slug) if petition_slug is not None else ("day", day_slug)

    def compute():
        target = find_target(petition_slug, day_slug)
        return public_rows(target, config) if target is not None else None

    return snapshots.cached(cache_key(kind, slug), compute)


def changed(target):
    """After a change to a target's list: no cache keeps the old one (it shows at once)."""
    # Where Redis is away, the entry expires within COUNT_CACHE_SECONDS.
    with contextlib.suppress(RedisError, OSError):
        cache.delete(cache_key("petition" if is_petition(target) else "day", target.slug))
    if is_petition(target):
        snapshots.forget(target.slug)


def erase_contact(canonical_email, config):
    """A data-subject request: the contact's name and address leave every endorsement they
    sent. One never confirmed goes whole (nothing of it was public); a confirmed one keeps
    what the organisation made public (name, website, country, statement, logo). Returns the
    (erased, deleted) counts and the addresses found, whose unsent mail the caller deletes."""
    query = select(Endorsement).where(Endorsement.contact_canonical_email == canonical_email)
    return forget_contacts(query, config)


def forget_contacts_of(target, config):
    """Retention: once a petition or day of action is anonymised, its endorsements' contacts
    go too (as erase_contact). Returns (erased, deleted, addresses)."""
    query = select(Endorsement).where(
        target_filter(target),
        (Endorsement.contact_email != "") | (Endorsement.state == "unverified"),
    )
    return forget_contacts(query, config)


def forget_contacts(query, config):
    rows = db.session.execute(query).scalars().all()
    erased = deleted = 0
    addresses = set()
    for endorsement in rows:
        addresses.add(endorsement.contact_email.lower())
        if endorsement.state == "unverified":
            remove(endorsement, config)
            deleted += 1
            continue
        endorsement.contact_name = endorsement.contact_email = ""
        endorsement.contact_canonical_email = ""
        endorsement.token_hash = endorsement.ip = None
        endorsement.updated_at = utcnow()
        erased += 1
    return erased, deleted, addresses


def logo_entry(name):
    """The endorsement whose logo has this file name, or None."""
    if not name or len(name) > 80:
        return None
    return db.session.execute(
        select(Endorsement).where(Endorsement.logo_name == name)
    ).scalar_one_or_none()


def queue(state="pending", target=None):
    query = select(Endorsement).where(Endorsement.state == state)
    if target is not None:
        query = query.where(target_filter(target))
    return db.session.execute(query.order_by(Endorsement.created_at, Endorsement.id)).scalars()


def counts_by_state(target=None):
    query = select(Endorsement.state, db.func.count()).group_by(Endorsement.state)
    if target is not None:
        query = query.where(target_filter(target))
    return dict(db.session.execute(query).all())
