"""What personal data becomes when it is anonymised, for every feature that holds some."""

import hashlib

ANON_NAME = "Anonymous"
ANON_DOMAIN = "anonymised.invalid"


def placeholder_email(kind, row_id, secret):
    """A unique, non-reversible stand-in for an address: unique per row of a kind."""
    digest = hashlib.sha256(f"{kind}:{row_id}:{secret}".encode()).hexdigest()
    return f"anon-{digest[:24]}@{ANON_DOMAIN}"


def is_placeholder(address):
    return (address or "").endswith(f"@{ANON_DOMAIN}")
