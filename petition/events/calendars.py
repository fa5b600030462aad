"""iCalendar files of events, each in its own zone with its VTIMEZONE (the icalendar package)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import icalendar

PRODID = "-//petition//events//EN"
# An event with no end is given one, as calendar apps draw a point in time badly.
DEFAULT_LENGTH = dt.timedelta(hours=2)


@dataclass(frozen=True)
class CalendarEvent:
    uid: str
    sequence: int
    title: str
    starts_at: dt.datetime
    ends_at: dt.datetime | None
    timezone: str
    location: str
    url: str
    description: str
    # Before `cancelled` only because a field without a default cannot follow one with a default.
    updated_at: dt.datetime
    cancelled: bool = False


def uid_for(event_id: int, host: str) -> str:
    """Stable for the event's life: calendar apps update the entry with this UID, not add one."""
    return f"event-{event_id}@{host}"


def calendar_bytes(events: list[CalendarEvent], name: str, method: str = "PUBLISH") -> bytes:
    """A VCALENDAR of the events, each at its local time in its own zone."""
    cal = icalendar.Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("method", method)
    cal.add("x-wr-calname", name)
    entries = [_vevent(event) for event in events]
    for entry in entries:
        cal.add_component(entry)
    if entries:
        # VTIMEZONEs from the zone database for every TZID used, so that apps without that zone
        # (or with an older rule for it) still place the event right. For the years the events
        # span: icalendar's default range, 1970 to 2038, stops short of events after 2037 and
        # lists some seventy years of changes per zone where a few are needed.
        starts = [entry.DTSTART for entry in entries]
        ends = [entry.DTEND for entry in entries]
        cal.add_missing_timezones(
            first_date=dt.date(min(starts).year - 1, 1, 1),
            last_date=dt.date(max(ends).year + 2, 1, 1),
        )
    return cal.to_ical()


def _utc(value: dt.datetime, field: str) -> dt.datetime:
    if value.tzinfo is None:
        # A naive time here is a bug upstream (the models hand back aware UTC): guessing a zone
        # would put the event at a wrong hour in every attendee's calendar.
        raise ValueError(f"{field} must be an aware datetime")
    return value.astimezone(dt.UTC)


def _vevent(event: CalendarEvent) -> icalendar.Event:
    zone = ZoneInfo(event.timezone)
    starts_at = _utc(event.starts_at, "starts_at")
    ends_at = _utc(event.ends_at, "ends_at") if event.ends_at else starts_at + DEFAULT_LENGTH
    entry = icalendar.Event()
    entry.add("uid", event.uid)
    entry.add("sequence", event.sequence)
    entry.add("dtstamp", _utc(event.updated_at, "updated_at"))
    entry.add("last-modified", _utc(event.updated_at, "updated_at"))
    # The wall time in the event's own zone, so the entry reads "18:00 Dublin" and moves with a
    # change of that zone's rules rather than staying pinned to a UTC instant.
    entry.add("dtstart", starts_at.astimezone(zone))
    entry.add("dtend", ends_at.astimezone(zone))
    entry.add("summary", event.title)
    if event.location:
        entry.add("location", event.location)
    entry.add("url", event.url)
    # Apps that hide URL show the description: the link goes there too, on a line of its own.
    text = event.description.strip()
    entry.add("description", f"{text}\n\n{event.url}" if text else event.url)
    entry.add("status", "CANCELLED" if event.cancelled else "CONFIRMED")
    return entry
