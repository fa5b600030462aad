"""Staff pages of abuse: the signature list and its moderation, blocklists and trending."""

from petition.abuse.views import blocklists, signatures  # noqa: F401  (routes on the staff bp)
