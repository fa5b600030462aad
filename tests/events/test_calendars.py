"""iCalendar files of events, parsed back with icalendar: local times, zones, status, folding."""

import datetime as dt
from zoneinfo import ZoneInfo

import icalendar
import pytest

from petition.events import calendars

UTC = dt.UTC
UPDATED = dt.datetime(2027, 8, 1, 12, 30, tzinfo=UTC)


def event(
    event_id=1,
    *,
    local=(2027, 9, 3, 18, 0),
    zone="Europe/Dublin",
    length=dt.timedelta(hours=1, minutes=30),
    **fields,
):
    starts_at = dt.datetime(*local, tzinfo=ZoneInfo(zone)).astimezone(UTC)
    values = {
        "uid": calendars.uid_for(event_id, "petition.example.org"),
        "sequence": 0,
        "title": f"Speak Out {event_id}",
        "starts_at": starts_at,
        "ends_at": starts_at + length if length else None,
        "timezone": zone,
        "location": "In front of the embassy",
        "url": f"https://petition.example.org/events/{event_id}",
        "description": "Bring a sign.",
        "updated_at": UPDATED,
    }
    values.update(fields)
    return calendars.CalendarEvent(**values)


def parse(body):
    assert isinstance(body, bytes)
    return icalendar.Calendar.from_ical(body)


def vevents(cal):
    return {str(e["UID"]): e for e in cal.walk("VEVENT")}


def vtimezones(cal):
    return {tz.tz_name: tz for tz in cal.walk("VTIMEZONE")}


def utc_of(prop, cal):
    """The instant a property names, by the file's own VTIMEZONE (not the reader's zone data)."""
    tzid = prop.params["TZID"]
    local = prop.dt.replace(tzinfo=None)
    own_zone = vtimezones(cal)[tzid].to_tz(lookup_tzid=False)
    return local.replace(tzinfo=own_zone).astimezone(UTC)


def test_uid_for():
    assert calendars.uid_for(42, "petition.example.org") == "event-42@petition.example.org"


def test_the_calendar_header():
    cal = parse(calendars.calendar_bytes([event()], "Global Speak Out"))
    assert str(cal["PRODID"]) == "-//petition//events//EN"
    assert str(cal["VERSION"]) == "2.0"
    assert str(cal["X-WR-CALNAME"]) == "Global Speak Out"
    assert str(cal["METHOD"]) == "PUBLISH"
    cal = parse(calendars.calendar_bytes([event()], "Mine", method="REQUEST"))
    assert str(cal["METHOD"]) == "REQUEST"


def test_an_empty_calendar_is_still_a_calendar():
    cal = parse(calendars.calendar_bytes([], "Nothing yet"))
    assert cal.walk("VEVENT") == []
    assert str(cal["X-WR-CALNAME"]) == "Nothing yet"


@pytest.mark.parametrize(
    ("zone", "utc_hour"),
    [
        ("Europe/Dublin", 17),  # Irish Standard Time, +01:00
        ("America/Argentina/Buenos_Aires", 21),  # -03:00
        ("Asia/Tokyo", 9),  # +09:00
    ],
)
def test_each_event_is_at_its_wall_time_in_its_own_zone(zone, utc_hour):
    cal = parse(calendars.calendar_bytes([event(zone=zone)], "Day"))
    (entry,) = cal.walk("VEVENT")
    start = entry["DTSTART"]
    assert start.params["TZID"] == zone
    assert start.dt.replace(tzinfo=None) == dt.datetime(2027, 9, 3, 18, 0)
    expected = dt.datetime(2027, 9, 3, utc_hour, 0, tzinfo=UTC)
    assert start.dt.astimezone(UTC) == expected
    assert utc_of(start, cal) == expected
    end = entry["DTEND"]
    assert end.params["TZID"] == zone
    assert end.dt.replace(tzinfo=None) == dt.datetime(2027, 9, 3, 19, 30)
    assert utc_of(end, cal) == expected + dt.timedelta(hours=1, minutes=30)


def test_events_in_three_zones_in_one_file_each_with_its_vtimezone():
    zones = ["Europe/Dublin", "America/Argentina/Buenos_Aires", "Asia/Tokyo"]
    events = [event(n, zone=zone) for n, zone in enumerate(zones, start=1)]
    cal = parse(calendars.calendar_bytes(events, "Global Speak Out"))
    entries = vevents(cal)
    assert len(entries) == 3
    assert set(vtimezones(cal)) == set(zones)
    assert cal.get_missing_tzids() == set()
    instants = {utc_of(e["DTSTART"], cal) for e in entries.values()}
    assert instants == {
        dt.datetime(2027, 9, 3, 17, tzinfo=UTC),
        dt.datetime(2027, 9, 3, 21, tzinfo=UTC),
        dt.datetime(2027, 9, 3, 9, tzinfo=UTC),
    }
    # Each VTIMEZONE comes before the events that name it, as some readers read in one pass.
    kinds = [c.name for c in cal.subcomponents]
    assert kinds == ["VTIMEZONE"] * 3 + ["VEVENT"] * 3


def test_a_zone_used_twice_gets_one_vtimezone():
    events = [event(1), event(2, local=(2027, 12, 1, 19, 0))]
    cal = parse(calendars.calendar_bytes(events, "Dublin"))
    assert list(vtimezones(cal)) == ["Europe/Dublin"]


@pytest.mark.parametrize(
    ("local", "utc"),
    [
        # Clocks go forward at 01:00 UTC on 28 March 2027: the evening is on summer time.
        ((2027, 3, 28, 18, 0), (2027, 3, 28, 17, 0)),
        # And back at 01:00 UTC on 31 October 2027: the evening is on winter time.
        ((2027, 10, 31, 18, 0), (2027, 10, 31, 18, 0)),
        # The day before each change, for contrast.
        ((2027, 3, 27, 18, 0), (2027, 3, 27, 18, 0)),
        ((2027, 10, 30, 18, 0), (2027, 10, 30, 17, 0)),
    ],
)
def test_dublin_on_the_days_the_clocks_change(local, utc):
    cal = parse(calendars.calendar_bytes([event(local=local)], "Dublin"))
    (entry,) = cal.walk("VEVENT")
    start = entry["DTSTART"]
    assert start.params["TZID"] == "Europe/Dublin"
    assert start.dt.replace(tzinfo=None) == dt.datetime(*local)
    assert utc_of(start, cal) == dt.datetime(*utc, tzinfo=UTC)
    assert start.dt.astimezone(UTC) == dt.datetime(*utc, tzinfo=UTC)


def test_an_event_whose_end_crosses_the_change_ends_at_the_right_instant():
    # 23:30 summer time on 30 October (22:30 UTC) for four hours ends at 02:30 UTC, which is
    # 02:30 on Dublin's winter clock, not the 03:30 that adding four hours to the wall time gives.
    cal = parse(
        calendars.calendar_bytes(
            [event(local=(2027, 10, 30, 23, 30), length=dt.timedelta(hours=4))], "Night"
        )
    )
    (entry,) = cal.walk("VEVENT")
    assert entry["DTEND"].dt.replace(tzinfo=None) == dt.datetime(2027, 10, 31, 2, 30)
    assert utc_of(entry["DTEND"], cal) == dt.datetime(2027, 10, 31, 2, 30, tzinfo=UTC)


def test_an_event_with_no_end_lasts_two_hours():
    cal = parse(calendars.calendar_bytes([event(zone="Asia/Tokyo", length=None)], "Tokyo"))
    (entry,) = cal.walk("VEVENT")
    assert entry["DTSTART"].dt.replace(tzinfo=None) == dt.datetime(2027, 9, 3, 18, 0)
    assert entry["DTEND"].dt.replace(tzinfo=None) == dt.datetime(2027, 9, 3, 20, 0)
    assert entry["DTEND"].params["TZID"] == "Asia/Tokyo"


def test_an_event_after_2037_still_has_its_zone_rules():
    cal = parse(calendars.calendar_bytes([event(local=(2040, 7, 1, 18, 0))], "Later"))
    (entry,) = cal.walk("VEVENT")
    assert utc_of(entry["DTSTART"], cal) == dt.datetime(2040, 7, 1, 17, 0, tzinfo=UTC)


def test_the_fields_of_an_event():
    given = event(7, sequence=3)
    cal = parse(calendars.calendar_bytes([given], "Day"))
    entry = vevents(cal)["event-7@petition.example.org"]
    assert int(entry["SEQUENCE"]) == 3
    assert str(entry["SUMMARY"]) == "Speak Out 7"
    assert str(entry["LOCATION"]) == "In front of the embassy"
    assert str(entry["URL"]) == "https://petition.example.org/events/7"
    assert entry["DTSTAMP"].dt == UPDATED
    assert str(entry["STATUS"]) == "CONFIRMED"
    description = str(entry["DESCRIPTION"])
    assert description.startswith("Bring a sign.")
    assert description.splitlines()[-1] == "https://petition.example.org/events/7"


def test_a_cancelled_event():
    cal = parse(calendars.calendar_bytes([event(sequence=5, cancelled=True)], "Day"))
    (entry,) = cal.walk("VEVENT")
    assert str(entry["STATUS"]) == "CANCELLED"
    assert int(entry["SEQUENCE"]) == 5
    assert str(entry["UID"]) == "event-1@petition.example.org"


def test_no_location_means_no_location_line_and_no_description_means_the_link():
    cal = parse(calendars.calendar_bytes([event(location="", description="  ")], "Day"))
    (entry,) = cal.walk("VEVENT")
    assert "LOCATION" not in entry
    assert str(entry["DESCRIPTION"]) == "https://petition.example.org/events/1"


def test_names_in_other_scripts_survive_and_long_lines_are_folded():
    title = "Выступи за правду — Москва — " * 4
    location = "ميدان التحرير، القاهرة، مصر — أمام السفارة — " * 3
    description = "在大使馆前集合，带上标语。请准时到达。" * 6
    calendar_name = "Глобальный день — 全球行动日 — يوم عالمي"
    body = calendars.calendar_bytes(
        [event(title=title, location=location, description=description, zone="Asia/Tokyo")],
        calendar_name,
    )
    for line in body.split(b"\r\n"):
        assert len(line) <= 75, line
        line.decode("utf-8")  # a fold never splits a character
    cal = parse(body)
    (entry,) = cal.walk("VEVENT")
    assert str(entry["SUMMARY"]) == title
    assert str(entry["LOCATION"]) == location
    assert str(entry["DESCRIPTION"]) == f"{description}\n\nhttps://petition.example.org/events/1"
    assert str(cal["X-WR-CALNAME"]) == calendar_name


def test_lines_end_with_crlf():
    body = calendars.calendar_bytes([event()], "Day")
    assert body.startswith(b"BEGIN:VCALENDAR\r\n")
    assert body.endswith(b"END:VCALENDAR\r\n")
    assert b"\n" not in body.replace(b"\r\n", b"")


def test_a_naive_time_is_refused():
    naive = event(starts_at=dt.datetime(2027, 9, 3, 18, 0))
    with pytest.raises(ValueError, match="starts_at"):
        calendars.calendar_bytes([naive], "Day")


def test_the_event_is_immutable():
    with pytest.raises(AttributeError):
        event().title = "Changed"  # type: ignore[misc]
