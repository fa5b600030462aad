"""Links to the public site, built from PUBLIC_URL (never from the request's Host header)."""


def public_url(config, *segments):
    """PUBLIC_URL and the path segments: public_url(config, "embed", "widget.js")."""
    return "/".join((config["PUBLIC_URL"], *segments))


def petition_url(config, petition):
    """The petition's public page."""
    return public_url(config, "petitions", petition.slug)
