"""The day's world map: inline SVG drawn on the server from bundled outlines and city points.

Country outlines come from the countryinfo package (public low-resolution GeoJSON shipped in
the wheel), cities from the gazetteer: no tile server, no third-party request, no script, so a
supporter's visit tells nobody anything and the map works where JavaScript is off.
"""

import functools
from dataclasses import dataclass

from markupsafe import Markup, escape

WIDTH = 1000
# Latitudes drawn: Antarctica and the far Arctic take room and hold no Speak Out.
NORTH, SOUTH = 84.0, -58.0
HEIGHT = round(WIDTH * (NORTH - SOUTH) / 360)


def project(lat, lon):
    """Plate carrée: x and y in the SVG's units."""
    x = (lon + 180.0) * WIDTH / 360.0
    y = (NORTH - max(min(lat, NORTH), SOUTH)) * WIDTH / 360.0
    # Whole units (0.36 degrees): finer would double the page for no visible difference.
    return round(x), round(y)


def ring_path(ring):
    points = []
    for lon, lat, *_ in ring:
        point = project(lat, lon)
        if not points or points[-1] != point:
            points.append(point)
    if len(points) < 3:
        return ""
    head, *rest = points
    return f"M{head[0]} {head[1]}" + "".join(f"L{x} {y}" for x, y in rest) + "Z"


@functools.cache
def outlines():
    """{alpha-2: SVG path data}, built once per process (about 50 ms)."""
    from countryinfo import all_countries

    paths = {}
    for country in all_countries():
        try:
            code = country.iso()["alpha2"]
            features = country.geo_json().get("features", [])
        except (KeyError, TypeError, AttributeError):
            continue
        parts = []
        for feature in features:
            geometry = feature.get("geometry") or {}
            polygons = geometry.get("coordinates") or []
            if geometry.get("type") == "Polygon":
                polygons = [polygons]
            for polygon in polygons:
                parts.extend(ring_path(ring) for ring in polygon)
        data = "".join(p for p in parts if p)
        if data and code != "AQ":
            paths[code] = data
    return paths


@dataclass(frozen=True)
class Pin:
    lat: float
    lon: float
    label: str
    url: str


def svg(pins, highlight=(), title="Map"):
    """The map as inline SVG markup: countries (those in `highlight` marked), and a linked pin
    per point. The page lists the same events beside it for screen readers and keyboards."""
    highlight = set(highlight)
    out = [
        f'<svg class="world-map" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">'
    ]
    for code, data in sorted(outlines().items()):
        css = "land active" if code in highlight else "land"
        out.append(f'<path class="{css}" data-country="{code}" d="{data}"/>')
    for pin in pins:
        x, y = project(pin.lat, pin.lon)
        out.append(
            f'<a href="{escape(pin.url)}" class="pin"><circle cx="{x}" cy="{y}" r="6">'
            f"<title>{escape(pin.label)}</title></circle></a>"
        )
    out.append("</svg>")
    return Markup("".join(out))  # noqa: S704 every value in it is escaped or a number
