"""Links to the public site, built from PUBLIC_URL (never from the request)."""


def petition_url(config, petition):
    return f"{config['PUBLIC_URL']}/petitions/{petition.slug}"
