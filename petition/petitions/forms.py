"""The petition create and edit forms."""

import datetime as dt
import re
import unicodedata

from flask import current_app
from flask_babel import lazy_gettext as _l
from flask_babel import to_utc
from flask_wtf import FlaskForm
from wtforms import DateTimeLocalField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional, ValidationError

from petition.core.db import utcnow
from petition.core.forms import BIDI_CONTROLS
from petition.core.i18n import language_name
from petition.petitions import manage

HASHTAG = re.compile(r"#?\w{1,99}")


def nfc(value):
    """NFC and trimmed; None stays None."""
    return unicodedata.normalize("NFC", value).strip() if value is not None else None


def multiline(value):
    """NFC, and the CRLF line ends browsers send made LF; None stays None."""
    if value is None:
        return None
    return unicodedata.normalize("NFC", value).replace("\r\n", "\n").replace("\r", "\n")


def one_line(form, field):
    """No control characters or bidi overrides in a title, target or hashtag."""
    for ch in field.data or "":
        if unicodedata.category(ch) in ("Cc", "Cs", "Co", "Cn") or ch in BIDI_CONTROLS:
            raise ValidationError(_l("This contains control or invisible characters."))


def no_controls(form, field):
    """Multi-line text may hold line breaks and tabs, but no other control characters."""
    for ch in field.data or "":
        if ch not in "\r\n\t" and (unicodedata.category(ch) in ("Cc", "Cs") or ch in BIDI_CONTROLS):
            raise ValidationError(_l("This contains control or invisible characters."))


class PetitionTextsForm(FlaskForm):
    """What each language's version of a petition has of its own (petitions/texts.py)."""

    title = StringField(
        _l("Title"),
        filters=[nfc],
        validators=[DataRequired(_l("Please give a title.")), Length(max=200), one_line],
    )
    text = TextAreaField(
        _l("Text (Markdown)"), filters=[multiline], validators=[Length(max=20_000), no_controls]
    )
    hashtag = StringField(
        _l("Hashtag (optional)"),
        filters=[lambda v: v.strip() if v else v],
        validators=[Optional(), Length(max=100), one_line],
    )
    share_text = TextAreaField(
        _l("Share text (optional: what share links say; the title when empty)"),
        filters=[multiline],
        validators=[Length(max=500), no_controls],
    )

    def validate_hashtag(self, field):
        if field.data and not HASHTAG.fullmatch(field.data):
            raise ValidationError(_l("One word of letters, digits or _, e.g. #SpeakOut."))


class PetitionForm(PetitionTextsForm):
    target = StringField(
        _l("Target (who receives it)"),
        filters=[nfc],
        validators=[DataRequired(_l("Please say who receives it.")), Length(max=200), one_line],
    )
    cover_letter = TextAreaField(
        _l("Cover letter to the target (Markdown, opens the delivery bundle)"),
        filters=[multiline],
        validators=[Length(max=20_000), no_controls],
    )
    milestones = TextAreaField(
        _l('Milestones (one a line: "N: label")'),
        validators=[Length(max=10_000), no_controls],
    )
    offline_count = IntegerField(
        _l("Offline signatures"),
        default=0,
        validators=[
            Optional(),
            NumberRange(
                min=0, max=manage.MAX_COUNT, message=_l("Enter a whole number, 0 or more.")
            ),
        ],
    )
    closes_at = DateTimeLocalField(
        _l("Closes at (UTC, optional)"),
        format=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"],
        validators=[Optional()],
    )
    language = SelectField(_l("Language of the title and text"), default="en")

    def __init__(self, *args, stored_closes_at=None, other_versions=(), **kwargs):
        self.stored_closes_at = stored_closes_at
        self.other_versions = set(other_versions)
        super().__init__(*args, **kwargs)
        self.language.choices = language_choices()

    def validate_language(self, field):
        if field.data in self.other_versions:
            raise ValidationError(
                _l("The petition has a version in this language: remove it first, or edit it.")
            )

    def validate_milestones(self, field):
        try:
            self.parsed_milestones = manage.parse_milestones(field.data)
        except manage.MilestoneLineError as exc:
            # One message a bad line, each shown on its own.
            field.errors.extend(exc.errors[:-1])
            raise ValidationError(exc.errors[-1]) from None

    def validate_closes_at(self, field):
        when = self.closing_time()
        # A past date is refused when set, not when a closed petition's old one is kept.
        if when is not None and when != self.stored_closes_at and when <= utcnow():
            raise ValidationError(_l("The closing time must be in the future."))

    def closing_time(self):
        """The closing time as an aware UTC datetime (the form shows the app's time zone)."""
        local = self.closes_at.data
        if not local:
            return None
        when = to_utc(local).replace(tzinfo=dt.UTC)
        stored = self.stored_closes_at
        # The form shows minutes; an unchanged value keeps the stored seconds.
        if stored is not None and when == stored.replace(second=0, microsecond=0):
            return stored
        return when

    def values(self):
        """The cleaned values for manage.create and manage.edit."""
        hashtag = self.hashtag.data
        return {
            "title": self.title.data,
            "target": self.target.data,
            "text": self.text.data or "",
            "cover_letter": self.cover_letter.data or "",
            "hashtag": ("#" + hashtag.lstrip("#")) if hashtag else None,
            "share_text": (self.share_text.data or "").strip(),
            "language": self.language.data,
            "closes_at": self.closing_time(),
            "offline_count": self.offline_count.data or 0,
            "milestones": self.parsed_milestones,
        }


class NewPetitionForm(PetitionForm):
    slug = StringField(
        _l("Slug (the address: /petitions/slug)"),
        filters=[lambda v: v.strip() if v else v],
        validators=[DataRequired(_l("Please choose a slug.")), Length(max=100)],
    )

    def validate_slug(self, field):
        if not manage.SLUG_PATTERN.fullmatch(field.data):
            raise ValidationError(
                _l("Use lower-case letters, digits and single hyphens, e.g. speak-out.")
            )
        if manage.slug_taken(field.data):
            raise ValidationError(_l("Another petition already has this slug."))


def language_choices():
    """The languages the site serves, each named in the staff member's language."""
    return [(code, language_name(code)) for code in current_app.config["LANGUAGES"]]


class TranslationForm(PetitionTextsForm):
    """The petition's version in one more language (petitions/texts.py)."""

    cover_letter = TextAreaField(
        _l("Cover letter (empty: the bundle prints its standard letter in this language)"),
        filters=[multiline],
        validators=[Length(max=20_000), no_controls],
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.hashtag.label.text = _l("Hashtag (optional; empty: the original's)")

    def values(self):
        return {
            "title": self.title.data,
            "text": self.text.data or "",
            "cover_letter": self.cover_letter.data or "",
            "share_text": self.share_text.data or "",
            "hashtag": self.hashtag.data or "",
        }
