"""Links to the public site, built from PUBLIC_URL (never from the request's Host header)."""

from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit


def public_url(config, *segments):
    """PUBLIC_URL and the path segments: public_url(config, "embed", "widget.js")."""
    return "/".join((config["PUBLIC_URL"], *segments))


def petition_url(config, petition):
    """The petition's public page."""
    return public_url(config, "petitions", petition.slug)


def with_language(url, language):
    """The URL with ?lang= set (replacing one already there), for links that keep a language."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "lang"]
    query.append(("lang", language))
    return urlunsplit(parts._replace(query=urlencode(query)))
