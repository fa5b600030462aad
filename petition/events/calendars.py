"""iCalendar files of events, each in its own zone with its VTIMEZONE (the icalendar package)."""

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
    updated_at: dt.datetime
    cancelled: bool = False


def uid_for(event_id, host):
    """Stable for the event's life: calendar apps update the entry with this UID, not add one."""
    return f"event-{event_id}@{host}"


def calendar_bytes(events, name, method="PUBLISH"):
    cal = icalendar.Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("method", method)
    cal.add("x-wr-calname", name)
    for event in events:
        cal.add_component(vevent(event))
    # VTIMEZONEs built from the zone database for every TZID used, so that calendar apps
    # without that zone (or with an older one) still place the event right.
    cal.add_missing_timezones()
    return cal.to_ical()


def vevent(event):
    tz = ZoneInfo(event.timezone)
    start = event.starts_at.astimezone(tz)
    end = (event.ends_at or event.starts_at + DEFAULT_LENGTH).astimezone(tz)
    entry = icalendar.Event()
    entry.add("uid", event.uid)
    entry.add("sequence", event.sequence)
    entry.add("dtstamp", event.updated_at.astimezone(dt.UTC))
    entry.add("last-modified", event.updated_at.astimezone(dt.UTC))
    entry.add("dtstart", start)
    entry.add("dtend", end)
    entry.add("summary", event.title)
    if event.location:
        entry.add("location", event.location)
    entry.add("url", event.url)
    # Apps that hide URL show the description: the link goes there too.
    description = (
        f"{event.description.strip()}\n\n{event.url}" if event.description.strip() else event.url
    )
    entry.add("description", description)
    entry.add("status", "CANCELLED" if event.cancelled else "CONFIRMED")
    return entry
