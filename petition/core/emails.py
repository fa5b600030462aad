"""Email addresses: validation and the canonical form that deduplicates."""

from dataclasses import dataclass

from email_validator import EmailNotValidError, validate_email

GMAIL_DOMAINS = {"gmail.com", "googlemail.com"}


class InvalidEmail(ValueError):
    """The address cannot receive mail; the message says why, for the form."""


@dataclass(frozen=True)
class Email:
    normalized: str
    canonical: str


def check_email(address, check_deliverability=False):
    """Validate an address and return its normalized and canonical forms."""
    try:
        valid = validate_email(
            address, check_deliverability=check_deliverability, allow_smtputf8=True, strict=True
        )
    except EmailNotValidError as exc:
        raise InvalidEmail(str(exc)) from exc
    return Email(valid.normalized, canonical_email(valid.local_part, valid.ascii_domain))


def canonical_email(local_part, ascii_domain):
    """One spelling per mailbox: lower-case, IDNA domain, no +tag, no gmail dots."""
    local = local_part.lower().split("+", 1)[0]
    domain = ascii_domain.lower()
    if domain in GMAIL_DOMAINS:
        domain = "gmail.com"
        local = local.replace(".", "")
    return f"{local}@{domain}"
