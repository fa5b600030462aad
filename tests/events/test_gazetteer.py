"""The offline gazetteer: cities by name in any script within a country, and a country's zones."""

import threading
import unicodedata

import pytest

from petition.events import gazetteer


@pytest.mark.parametrize(
    ("city", "country", "name", "zone"),
    [
        ("Galway", "IE", "Galway", "Europe/Dublin"),
        ("Gothenburg", "SE", "Gothenburg", "Europe/Stockholm"),
        ("Göteborg", "SE", "Gothenburg", "Europe/Stockholm"),
        ("Asunción", "PY", "Asunción", "America/Asuncion"),
        ("Asuncion", "PY", "Asunción", "America/Asuncion"),
        ("Mexico City", "MX", "Mexico City", "America/Mexico_City"),
        ("Ciudad de México", "MX", "Mexico City", "America/Mexico_City"),
        ("Buenos Aires", "AR", "Buenos Aires", "America/Argentina/Buenos_Aires"),
        ("Toronto", "CA", "Toronto", "America/Toronto"),
        ("Vancouver", "CA", "Vancouver", "America/Vancouver"),
        ("New York", "US", "New York City", "America/New_York"),
        ("New York City", "US", "New York City", "America/New_York"),
        # Only in the cities of 5000 and more, not in those of 15000 and more.
        ("Montpelier", "US", "Montpelier", "America/New_York"),
    ],
)
def test_cities_are_found(city, country, name, zone):
    place = gazetteer.lookup(city, country)
    assert place is not None
    assert (place.name, place.country, place.timezone) == (name, country, zone)
    assert isinstance(place.geonameid, int)
    assert -90 <= place.lat <= 90
    assert -180 <= place.lon <= 180


def test_the_country_decides_which_moscow():
    idaho = gazetteer.lookup("Moscow", "US")
    russia = gazetteer.lookup("Moscow", "RU")
    assert idaho is not None
    assert russia is not None
    # Moscow, Idaho is in the Idaho panhandle, on Pacific time (not America/Boise's Mountain).
    assert idaho.timezone == "America/Los_Angeles"
    assert 46 < idaho.lat < 47
    assert russia.timezone == "Europe/Moscow"
    assert russia.geonameid != idaho.geonameid


@pytest.mark.parametrize(
    ("city", "country", "name"),
    [
        ("Москва", "RU", "Moscow"),
        ("Dublín", "IE", "Dublin"),
        ("東京", "JP", "Tokyo"),
        ("القاهرة", "EG", "Cairo"),
        ("Αθήνα", "GR", "Athens"),
    ],
)
def test_names_in_other_scripts(city, country, name):
    place = gazetteer.lookup(city, country)
    assert place is not None
    assert place.name == name


def test_case_space_and_normalisation_do_not_matter():
    expected = gazetteer.lookup("Göteborg", "SE")
    decomposed = unicodedata.normalize("NFD", "Göteborg")
    assert decomposed != "Göteborg"
    for typed in ("  GÖTEBORG ", "göteborg", decomposed, "gothenburg"):
        assert gazetteer.lookup(typed, "se") == expected
    assert gazetteer.lookup("new   york", "us") == gazetteer.lookup("New York", "US")


def test_a_shared_name_goes_to_the_most_populous():
    # Portland, Oregon rather than Portland, Maine; within Canada, London is Ontario's.
    portland = gazetteer.lookup("Portland", "US")
    assert portland is not None
    assert portland.timezone == "America/Los_Angeles"
    london = gazetteer.lookup("London", "CA")
    assert london is not None
    assert london.timezone == "America/Toronto"
    assert gazetteer.lookup("London", "GB").timezone == "Europe/London"


@pytest.mark.parametrize(
    ("city", "country"),
    [
        ("Nowhereville Upon Sea", "US"),
        ("Moscow", "IE"),
        ("Galway", "XX"),
        ("", "IE"),
        ("   ", "IE"),
        ("Galway", ""),
        ("Galway", "IRL"),
    ],
)
def test_unknown_is_none(city, country):
    assert gazetteer.lookup(city, country) is None


def test_timezones_for_a_country():
    us = gazetteer.timezones_for("US")
    assert "America/New_York" in us
    assert "America/Los_Angeles" in us
    assert len(us) == len(set(us))
    # The most used first: far more US towns are on Eastern than on Hawaiian time.
    assert us.index("America/New_York") < us.index("Pacific/Honolulu")
    assert gazetteer.timezones_for("ie") == ["Europe/Dublin"]
    assert gazetteer.timezones_for("JP") == ["Asia/Tokyo"]
    assert gazetteer.timezones_for("XX") == []
    assert gazetteer.timezones_for("") == []


def test_the_zone_lists_are_the_callers_to_change():
    gazetteer.timezones_for("IE").append("Mars/Olympus_Mons")
    assert gazetteer.timezones_for("IE") == ["Europe/Dublin"]


def test_the_index_is_built_once_for_concurrent_first_lookups(monkeypatch):
    monkeypatch.setattr(gazetteer, "_index", None)
    real_build = gazetteer._build
    builds = []

    def counting_build():
        builds.append(1)
        return real_build()

    monkeypatch.setattr(gazetteer, "_build", counting_build)
    found = []
    threads = [
        threading.Thread(target=lambda: found.append(gazetteer.lookup("Galway", "IE")))
        for _ in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(builds) == 1
    assert len(found) == 4
    assert len(set(found)) == 1
