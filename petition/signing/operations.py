"""Email canonicalisation, signing, confirming and withdrawing: plain functions.

None of these commit: the caller (a view, a CLI command) owns the transaction, so a signature,
its tokens, its count and its mail land together or not at all.
"""

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import or_, select, update

from petition.abuse import defences as abuse
from petition.core.db import utcnow
from petition.core.emails import Email
from petition.core.extensions import db
from petition.core.urls import petition_url, public_url
from petition.mail import outbox as mail
from petition.mail import pending_push
from petition.petitions import counting, texts
from petition.petitions.models import Petition, Signature
from petition.signing import insert as sign_insert
from petition.signing.models import Token


class PetitionClosed(Exception):
    """The petition does not take signatures now."""


def digest(plain):
    return hashlib.sha256(plain.encode("utf-8")).hexdigest()


def find_token(plain, purpose):
    """The token row for a link, or None; a token only ever works for its own purpose."""
    if not plain or len(plain) > 100:
        return None
    return db.session.execute(
        select(Token).where(Token.token_hash == digest(plain), Token.purpose == purpose)
    ).scalar_one_or_none()


@dataclass(frozen=True)
class SignData:
    name: str
    email: Email
    country: str
    city: str | None = None
    postcode: str | None = None
    updates: bool = False
    source: str | None = None
    locale: str | None = None
    ip: str | None = None


def sign(petition, data, config, hold=None):
    """Record a signature or handle a repeat; queue the mail that tells the person.

    `petition` is a Petition or a petitions.cards.Card (id, slug, title): whether it is open is
    checked again by the insert. `hold` is a reason from abuse.hold_reason: a new signature is
    then stored as 'fraudulent' with that reason and not counted, yet gets the same mail and
    page as any other, so a bot cannot tell. Returns "new", "held" or "duplicate" for logs and
    tests only: the supporter sees the same page either way, so the form never reveals who has
    signed.
    """
    if not petition.is_open:
        raise PetitionClosed(petition.slug)
    confirm_first = config["CONFIRMATION_REQUIRED"]
    now = utcnow()
    values = {
        "petition_id": petition.id,
        "name": data.name,
        "email": data.email.normalized,
        "canonical_email": data.email.canonical,
        "country": data.country,
        "city": data.city or None,
        "postcode": data.postcode or None,
        "updates": data.updates,
        "source": data.source or None,
        "locale": data.locale,
        "ip": data.ip,
        "state": "pending" if confirm_first else "confirmed",
        "moderation_reason": None,
        "held": False,
        "created_at": now,
        "confirmed_at": None if confirm_first else now,
        "mail_count": 1,
        "mail_window_start": now,
    }
    inserted = dict(values)
    if hold:
        inserted["state"] = "fraudulent"
        inserted["moderation_reason"] = hold[:500]
        inserted["held"] = True
    # The mail a new signature gets, rendered before the write: a repeat throws it away, but
    # nothing slow then happens while the transaction (on SQLite, the write lock) is held.
    plain = new_tokens(("confirm", "withdraw") if confirm_first else ("withdraw",))
    to, locale = data.email.normalized, data.locale
    if confirm_first:
        composed = compose_confirmation(petition, plain, to, locale, config)
    else:
        composed = compose_thanks(petition, plain, to, locale, config)
    written = sign_insert.write_new(
        db.session, inserted, [(p, digest(value)) for p, value in plain.items()], composed
    )
    if written is not None:
        pending_push.note(db.session, "mail", written[1])
        if not confirm_first and not hold:
            counting.add_confirmed(petition.id, data.country, +1)
        return "held" if hold else "new"

    # Nothing inserted: signed already, or the petition closed since the caller looked.
    if not petition_open_now(petition.id, now):
        raise PetitionClosed(petition.slug)
    existing = db.session.execute(
        select(Signature).where(
            Signature.petition_id == petition.id,
            Signature.canonical_email == data.email.canonical,
        )
    ).scalar_one()
    if existing.state in ("fraudulent", "invalidated"):
        return "duplicate"
    reactivated = existing.state == "withdrawn"
    if reactivated and not reactivate(existing, values, confirm_first, config, hold=hold):
        return "duplicate"
    outcome = "held" if reactivated and hold else "duplicate"
    if not take_mail_slot(existing.id, config, now):
        return outcome
    # The mail goes to the address typed now: the same mailbox, spelled as its owner spells it.
    locale = data.locale or existing.locale
    if existing.state == "pending" or (reactivated and hold and confirm_first):
        # A held reactivation gets the confirmation mail a normal one would, like a new hold.
        send_confirmation(petition, existing.id, to, locale, config, again=not reactivated)
    elif reactivated:
        send_thanks(petition, existing.id, to, locale, config)
    else:
        send_already_signed(petition, existing.id, to, locale, config)
    return outcome


def petition_open_now(petition_id, now):
    """Whether the petition takes signatures at this moment, read from its row."""
    return bool(
        db.session.execute(
            select(Petition.id).where(Petition.id == petition_id, Petition.open_at(now))
        ).first()
    )


def reactivate(signature, values, confirm_first, config, hold=None):
    """Someone who withdrew signs again: the row starts over with the new details.

    A `hold` reason applies as it does to a new signature: the row becomes 'fraudulent' with
    that reason and is not counted, so withdrawing and signing again cannot skip the defences.
    """
    fields = {k: values[k] for k in ("name", "email", "country", "city", "postcode", "updates")}
    fields["source"] = values["source"]
    fields["moderation_reason"] = hold[:500] if hold else values["moderation_reason"]
    fields["state"] = "fraudulent" if hold else values["state"]
    fields["held"] = bool(hold)
    fields["confirmed_at"] = values["confirmed_at"]
    fields["withdrawn_at"] = None
    changed = db.session.execute(
        update(Signature)
        .where(Signature.id == signature.id, Signature.state == "withdrawn")
        .values(**fields)
    ).rowcount
    if not changed:
        return False
    if not confirm_first and not hold:
        counting.add_confirmed(signature.petition_id, values["country"], +1)
    db.session.refresh(signature)
    return True


def take_mail_slot(signature_id, config, now):
    """Count one more mail against the address's cap, atomically; False when it is spent."""
    window_start = now - dt.timedelta(seconds=config["MAIL_CAP_WINDOW"])
    expired = or_(Signature.mail_window_start.is_(None), Signature.mail_window_start < window_start)
    restarted = db.session.execute(
        update(Signature)
        .where(Signature.id == signature_id, expired)
        .values(mail_count=1, mail_window_start=now)
    ).rowcount
    if restarted:
        return True
    return bool(
        db.session.execute(
            update(Signature)
            .where(
                Signature.id == signature_id,
                Signature.mail_count < config["MAIL_CAP_PER_ADDRESS"],
            )
            .values(mail_count=Signature.mail_count + 1)
        ).rowcount
    )


def new_tokens(purposes):
    """A fresh plain token per purpose; only their hashes are stored."""
    return {p: secrets.token_urlsafe(32) for p in purposes}


def links(config, signature_id, purposes):
    """A new token per purpose for a signature, inserted in one statement; {purpose: plain}."""
    plain = new_tokens(purposes)
    db.session.execute(
        TOKEN_INSERT,
        [
            {"signature_id": signature_id, "purpose": p, "token_hash": digest(value)}
            for p, value in plain.items()
        ],
    )
    return plain


def urls(config, plain):
    """The mail links of plain tokens: {purpose: URL}."""
    return {p: public_url(config, p, value) for p, value in plain.items()}


# Plain rows rather than Token objects: nothing reads them back in the request, and the ORM's
# unit of work cost more than the insert itself.
TOKEN_INSERT = Token.__table__.insert()


def send_confirmation(petition, signature_id, to, locale, config, again=False):
    plain = links(config, signature_id, ("confirm", "withdraw"))
    mail.add(*compose_confirmation(petition, plain, to, locale, config, again=again))


def send_thanks(petition, signature_id, to, locale, config):
    plain = links(config, signature_id, ("withdraw",))
    mail.add(*compose_thanks(petition, plain, to, locale, config))


def send_already_signed(petition, signature_id, to, locale, config):
    # Named as the signer read it: the title of the version in their language.
    petition = texts.in_language(petition, locale or "en")
    plain = links(config, signature_id, ("withdraw",))
    with force_locale(locale or "en"):
        mail.add(
            *mail.compose(
                to,
                _("You have already signed: %(title)s", title=petition.title),
                "signing/mail/already_signed.txt",
                petition=petition,
                withdraw_url=urls(config, plain)["withdraw"],
                petition_url=petition_url(config, petition),
            )
        )


def compose_confirmation(petition, plain, to, locale, config, again=False):
    """The confirmation mail for the tokens in `plain`: (to, subject, body)."""
    # Named as the signer read it: the title of the version in their language.
    petition = texts.in_language(petition, locale or "en")
    addresses = urls(config, plain)
    with force_locale(locale or "en"):
        return mail.compose(
            to,
            _("Please confirm your signature: %(title)s", title=petition.title),
            "signing/mail/confirm.txt",
            petition=petition,
            confirm_url=addresses["confirm"],
            withdraw_url=addresses["withdraw"],
            petition_url=petition_url(config, petition),
            again=again,
        )


def compose_thanks(petition, plain, to, locale, config):
    # Named as the signer read it: the title of the version in their language.
    petition = texts.in_language(petition, locale or "en")
    with force_locale(locale or "en"):
        return mail.compose(
            to,
            _("Thank you for signing: %(title)s", title=petition.title),
            "signing/mail/thanks.txt",
            petition=petition,
            withdraw_url=urls(config, plain)["withdraw"],
            petition_url=petition_url(config, petition),
        )


def confirm(plain_token, config):
    """Confirm the signature behind a link; safe to repeat. Returns (outcome, signature)."""
    token = find_token(plain_token, "confirm")
    if token is None:
        return "invalid", None
    signature = token.signature
    if signature.state == "confirmed":
        return "already", signature
    if abuse.is_held(signature):
        return confirm_held(signature, token)
    if signature.state != "pending":
        return signature.state, signature
    if not signature.petition.is_open:
        return "closed", signature
    now = utcnow()
    # Only the request whose UPDATE changes the row adds to the count, however many race.
    changed = db.session.execute(
        update(Signature)
        .where(Signature.id == signature.id, Signature.state == "pending")
        .values(state="confirmed", confirmed_at=now)
    ).rowcount
    if not changed:
        db.session.refresh(signature)
        return ("already" if signature.state == "confirmed" else signature.state), signature
    token.used_at = now
    counting.add_confirmed(signature.petition_id, signature.country, +1)
    db.session.refresh(signature)
    return "confirmed", signature


def confirm_held(signature, token):
    """A held signature's owner confirms: record it, count nothing, answer as if counted.

    confirmed_at tells staff restore (moderation.restore) to bring it back as confirmed.
    """
    if signature.confirmed_at is not None:
        return "already", signature
    if not signature.petition.is_open:
        return "closed", signature
    now = utcnow()
    changed = db.session.execute(
        update(Signature)
        .where(
            Signature.id == signature.id,
            Signature.state == "fraudulent",
            Signature.confirmed_at.is_(None),
        )
        .values(confirmed_at=now)
    ).rowcount
    db.session.refresh(signature)
    if not changed:
        return ("already" if signature.confirmed_at is not None else signature.state), signature
    token.used_at = now
    return "confirmed", signature


def withdraw(plain_token):
    """Withdraw the signature behind a link; safe to repeat. Returns (outcome, signature)."""
    token = find_token(plain_token, "withdraw")
    if token is None:
        return "invalid", None
    # Lock the row: a confirmation committing between reading the state and changing it would
    # otherwise make the withdrawal miss and be lost.
    signature = db.session.execute(
        select(Signature)
        .where(Signature.id == token.signature_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one()
    if signature.state == "withdrawn":
        return "already", signature
    if signature.state not in ("pending", "confirmed") and not abuse.is_held(signature):
        return signature.state, signature
    # A held signature withdraws like any other (it was never counted).
    was_confirmed = signature.state == "confirmed"
    now = utcnow()
    signature.held = False
    signature.state = "withdrawn"
    signature.withdrawn_at = now
    token.used_at = now
    db.session.flush()
    if was_confirmed:
        counting.add_confirmed(signature.petition_id, signature.country, -1)
    return "withdrawn", signature
