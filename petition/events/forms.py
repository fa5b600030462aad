"""The host form and the RSVP form."""

import datetime as dt
import functools
import unicodedata
import zoneinfo

from flask import has_request_context
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import MultipleFileField
from wtforms import (
    BooleanField,
    DateField,
    HiddenField,
    IntegerField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice as Choice
from wtforms.validators import DataRequired, Length, NumberRange, Optional, ValidationError

from petition.core import countries
from petition.core.forms import (
    BIDI_CONTROLS,
    PublicForm,
    checkbox,
    clean_text,
    plain_text,
)
from petition.events import gazetteer
from petition.events.operations import (
    SLUG_PATTERN,
    EventData,
    LocalTimeError,
    local,
    slug_taken,
    to_utc,
)

LOCAL_FORMAT = "%Y-%m-%dT%H:%M"


@functools.cache
def zone_names():
    return sorted(
        z for z in zoneinfo.available_timezones() if "/" in z and not z.startswith("Etc/")
    )


def strip(value):
    return value.strip() if isinstance(value, str) else value


def multiline(value):
    """Like clean_text, keeping line breaks (descriptions are paragraphs)."""
    if value is None:
        return None
    return "\n".join(clean_text(line) for line in value.replace("\r\n", "\n").split("\n")).strip()


def text_block(form, field):
    """A description: line breaks allowed, no other control or invisible character.

    Shown escaped, so < and > are kept ("< 5 minutes from the station").
    """
    value = field.data or ""
    if "\ufffd" in value:
        raise ValidationError(_l("This contains bytes that are not valid text (UTF-8)."))
    for ch in value:
        if ch == "\n":
            continue
        if unicodedata.category(ch) in ("Cc", "Cs", "Co", "Cn") or ch in BIDI_CONTROLS:
            raise ValidationError(_l("This contains control or invisible characters."))


class Base(PublicForm):
    # Bot traps as on the sign form (events/defences.py): never an error, a tripped one holds.
    website = StringField(_l("Leave this field empty"))
    t = HiddenField()


def name_field(label, required=True, max_length=200):
    return StringField(
        label,
        filters=[clean_text],
        validators=[
            DataRequired(_l("Please fill this in.")) if required else Optional(),
            Length(max=max_length, message=_l("Please keep this under %(max)d characters.")),
            plain_text,
        ],
    )


class HostForm(Base):
    title = name_field(_l("Event title"))
    host_name = name_field(_l("Your name"))
    host_email = StringField(
        _l("Your email"),
        filters=[strip],
        validators=[DataRequired(_l("Please enter your email address.")), Length(max=254)],
    )
    mode = RadioField(
        _l("Where"),
        choices=[Choice("in_person", _l("In person")), Choice("online", _l("Online"))],
        default="in_person",
        validators=[DataRequired(_l("Please choose in person or online."))],
    )
    venue = name_field(_l("Place (e.g. in front of the embassy)"), required=False)
    address = name_field(_l("Street address"), required=False, max_length=300)
    address_visibility = RadioField(
        _l("Who sees the address"),
        choices=[
            Choice("public", _l("Everyone")),
            Choice("attendees", _l("Only people who RSVP")),
        ],
        default="public",
    )
    city = name_field(_l("City"), required=False, max_length=100)
    country = SelectField(
        _l("Country"),
        validate_choice=False,
        validators=[DataRequired(_l("Please choose the country."))],
    )
    starts_at = StringField(
        _l("Starts (local time)"),
        filters=[strip],
        validators=[DataRequired(_l("Please give the date and time it starts."))],
    )
    ends_at = StringField(_l("Ends (local time, optional)"), filters=[strip])
    timezone = SelectField(_l("Time zone"), validate_choice=False, filters=[strip])
    online_url = StringField(
        _l("Link to join (online events)"),
        filters=[strip],
        validators=[
            Optional(),
            Length(max=500, message=_l("Please keep this under %(max)d characters.")),
        ],
    )
    capacity = IntegerField(
        _l("Places (optional)"),
        validators=[
            Optional(),
            NumberRange(
                min=1, max=1_000_000, message=_l("Please give a number from 1 to 1,000,000.")
            ),
        ],
    )
    description = TextAreaField(
        _l("What will happen"),
        filters=[multiline],
        validators=[
            Optional(),
            Length(max=5000, message=_l("Please keep this under %(max)d characters.")),
            text_block,
        ],
    )
    accessibility = TextAreaField(
        _l("Accessibility (step-free access, seating, sign language...)"),
        filters=[multiline],
        validators=[
            Optional(),
            Length(max=1000, message=_l("Please keep this under %(max)d characters.")),
            text_block,
        ],
    )
    details_to_come = BooleanField(
        _l("Time and place still to be confirmed (details to come)"), validators=[checkbox]
    )

    def __init__(self, *args, day=None, language="en", ask_requirements=True, **kwargs):
        super().__init__(*args, **kwargs)
        self.day = day
        self.requirements = day.requirement_list if day and ask_requirements else []
        self.country.choices = [("", _l("Choose the country"))] + countries.choices(language)
        self.timezone.choices = [("", _l("From the city"))] + [(z, z) for z in zone_names()]
        self.place = None
        self.starts_utc = self.ends_utc = None
        self.agree_errors = {}
        self.agreed = {}

    def validate(self, extra_validators=None):
        valid = super().validate(extra_validators)
        from flask import request

        for n, _text in enumerate(self.requirements, start=1):
            raw = request.form.get(f"agree_{n}") if has_request_context() else None
            self.agreed[n] = bool(raw)
            if not raw:
                self.agree_errors[n] = _l("Please tick this to host an event.")
                valid = False
        if valid and not (self.errors or self.agree_errors):
            valid = self.check_place_and_time()
        return valid and not self.agree_errors

    def event_data(self, host_email, language, ip):
        """The validated form as EventData (the host's email comes from the form or the event)."""
        place = self.place
        return EventData(
            title=self.title.data,
            host_name=self.host_name.data,
            host_email=host_email,
            mode=self.mode.data,
            country=self.country.data,
            timezone=self.zone,
            starts_at=self.starts_utc,
            ends_at=self.ends_utc,
            venue=self.venue.data or "",
            address=self.address.data or "",
            address_visibility=self.address_visibility.data or "public",
            city=self.city.data or (place.name if place else ""),
            lat=place.lat if place else None,
            lon=place.lon if place else None,
            online_url=self.online_url.data or "",
            capacity=self.capacity.data,
            description=self.description.data or "",
            accessibility=self.accessibility.data or "",
            details_to_come=bool(self.details_to_come.data),
            language=language,
            ip=ip,
        )

    def validate_host_email(self, field):
        self.checked_email = self.check_email_field(field)

    def validate_country(self, field):
        if field.data not in countries.CODES:
            raise ValidationError(_l("Please choose the country from the list."))

    def validate_timezone(self, field):
        if field.data and field.data not in zone_names():
            raise ValidationError(_l("Please choose a time zone from the list."))

    def validate_online_url(self, field):
        if field.data and not field.data.lower().startswith(("https://", "http://")):
            raise ValidationError(_l("Please give a link that starts with https://."))

    def check_place_and_time(self):
        """The city on the map, the zone, and the local times in UTC: errors on the fields."""
        in_person = self.mode.data == "in_person"
        if in_person and not self.city.data:
            self.city.errors = [_l("Please give the city.")]
            return False
        if (
            self.mode.data == "online"
            and not self.online_url.data
            and not self.details_to_come.data
        ):
            self.online_url.errors = [
                _l("Please give the link to join, or tick “details to come”.")
            ]
            return False
        if self.city.data:
            self.place = gazetteer.lookup(self.city.data, self.country.data)
        zone = self.timezone.data or (self.place.timezone if self.place else None)
        if not zone:
            zones = gazetteer.timezones_for(self.country.data)
            if len(zones) == 1:
                zone = zones[0]
            else:
                self.timezone.errors = [
                    _l("We could not find this city on our map: please choose its time zone.")
                ]
                return False
        self.zone = zone
        self.starts_utc = self.parse_local(self.starts_at)
        if self.starts_utc is None:
            return False
        if self.ends_at.data:
            self.ends_utc = self.parse_local(self.ends_at)
            if self.ends_utc is None:
                return False
            if self.ends_utc <= self.starts_utc:
                self.ends_at.errors = [_l("The end must be after the start.")]
                return False
        if self.day is not None:
            start_day = self.starts_utc.astimezone(zoneinfo.ZoneInfo(zone)).date()
            if not (self.day.starts_on <= start_day <= self.day.ends_on):
                self.starts_at.errors = [self.window_message()]
                return False
        return True

    def window_message(self):
        from flask_babel import format_date

        if self.day.starts_on == self.day.ends_on:
            return _l(
                "The event must be on %(date)s.", date=format_date(self.day.starts_on, "long")
            )
        return _l(
            "The event must be between %(start)s and %(end)s.",
            start=format_date(self.day.starts_on, "long"),
            end=format_date(self.day.ends_on, "long"),
        )

    def parse_local(self, field):
        try:
            moment = dt.datetime.strptime(field.data, LOCAL_FORMAT)
        except (TypeError, ValueError):
            field.errors = [_l("Please give a date and time like 2027-09-03T18:00.")]
            return None
        try:
            return to_utc(moment, self.zone)
        except LocalTimeError:
            field.errors = [
                _l(
                    "This time does not exist in %(zone)s: the clocks change that night.",
                    zone=self.zone,
                )
            ]
            return None


class EditForm(HostForm):
    """The host's (or staff's) edit of an event: the host form without the email to confirm."""

    host_email = None

    def __init__(self, *args, **kwargs):
        super().__init__(*args, ask_requirements=False, **kwargs)


def edit_data(event):
    """An event as the edit form's starting values, in the event's local time."""
    place = gazetteer.lookup(event.city, event.country) if event.city else None
    return {
        "title": event.title,
        "host_name": event.host_name,
        "mode": event.mode,
        "venue": event.venue,
        "address": event.address,
        "address_visibility": event.address_visibility,
        "city": event.city,
        "country": event.country,
        "starts_at": local(event.starts_at, event.timezone).strftime(LOCAL_FORMAT),
        "ends_at": local(event.ends_at, event.timezone).strftime(LOCAL_FORMAT)
        if event.ends_at
        else "",
        # Empty when it came from the city, so that moving the event to another city moves its
        # zone too; kept when the host chose it.
        "timezone": "" if place and place.timezone == event.timezone else event.timezone,
        "online_url": event.online_url,
        "capacity": event.capacity,
        "description": event.description,
        "accessibility": event.accessibility,
        "details_to_come": event.details_to_come,
    }


class MessageForm(Base):
    subject = name_field(_l("Subject"))
    body = TextAreaField(
        _l("Message"),
        filters=[multiline],
        validators=[
            DataRequired(_l("Please write your message.")),
            Length(max=5000, message=_l("Please keep this under %(max)d characters.")),
            text_block,
        ],
    )
    include_waiting = BooleanField(
        _l("Also send it to people on the wait list"), validators=[checkbox]
    )


class PhotoForm(Base):
    """Report-back photos: the files are checked by core/uploads.py, not here."""

    photos = MultipleFileField(_l("Photos (JPEG or PNG)"))
    caption = name_field(_l("Caption (optional)"), required=False, max_length=300)


class DayForm(FlaskForm):
    """Staff's form for a day of action (new and edit)."""

    title = name_field(_l("Title"))
    starts_on = DateField(_l("First day"), validators=[DataRequired(_l("Please give a date."))])
    ends_on = DateField(_l("Last day (empty: one day)"), validators=[Optional()])
    petition = SelectField(_l("Petition (optional)"), validate_choice=False)
    toolkit = TextAreaField(
        _l("Host toolkit (Markdown)"),
        filters=[multiline],
        validators=[Optional(), Length(max=20000), text_block],
    )
    requirements = TextAreaField(
        _l("Host requirements (one a line; hosts tick each)"),
        filters=[multiline],
        validators=[Optional(), Length(max=5000), text_block],
    )
    slogans = TextAreaField(
        _l("Poster slogans (one a line)"),
        filters=[multiline],
        validators=[Optional(), Length(max=2000), text_block],
    )
    approval_required = BooleanField(
        _l("Events need our approval before they are public"), default=True
    )
    state = SelectField(
        _l("State"),
        choices=[
            Choice("draft", _l("Draft (not public)")),
            Choice("open", _l("Open (hosts can add events)")),
            Choice("closed", _l("Closed (public, no new events)")),
        ],
    )

    def __init__(self, *args, petitions=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.petition.choices = [("", _l("None"))] + [(str(p.id), p.title) for p in petitions]
        self.petition_ids = {str(p.id) for p in petitions}

    def validate_petition(self, field):
        if field.data and field.data not in self.petition_ids:
            raise ValidationError(_l("Please choose a petition from the list."))

    def validate_ends_on(self, field):
        if field.data and self.starts_on.data and field.data < self.starts_on.data:
            raise ValidationError(_l("The last day cannot be before the first."))

    def values(self):
        return {
            "title": self.title.data,
            "starts_on": self.starts_on.data,
            "ends_on": self.ends_on.data or self.starts_on.data,
            "petition_id": int(self.petition.data) if self.petition.data else None,
            "toolkit": self.toolkit.data or "",
            "requirements": self.requirements.data or "",
            "slogans": self.slogans.data or "",
            "approval_required": bool(self.approval_required.data),
            "state": self.state.data,
        }


class NewDayForm(DayForm):
    slug = StringField(
        _l("Slug (the address: /days/slug)"),
        filters=[strip],
        validators=[DataRequired(_l("Please choose a slug.")), Length(max=100)],
    )

    def validate_slug(self, field):
        if not SLUG_PATTERN.fullmatch(field.data):
            raise ValidationError(
                _l("Use lower-case letters, digits and single hyphens, e.g. speak-out.")
            )
        if slug_taken(field.data):
            raise ValidationError(_l("Another day of action already has this slug."))


def day_data(day):
    return {
        "title": day.title,
        "starts_on": day.starts_on,
        "ends_on": day.ends_on,
        "petition": str(day.petition_id) if day.petition_id else "",
        "toolkit": day.toolkit,
        "requirements": day.requirements,
        "slogans": day.slogans,
        "approval_required": day.approval_required,
        "state": day.state,
    }


class RsvpForm(Base):
    name = name_field(_l("Your name"))
    email = StringField(
        _l("Email"),
        filters=[strip],
        validators=[DataRequired(_l("Please enter your email address.")), Length(max=254)],
    )
    share_with_host = BooleanField(
        _l("Share my name and email with the host"), validators=[checkbox]
    )

    def validate_email(self, field):
        self.checked_email = self.check_email_field(field)
