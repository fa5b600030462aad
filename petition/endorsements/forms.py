"""The endorse form (public) and the staff form for an endorser."""

import unicodedata

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField
from wtforms import HiddenField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from petition.core import countries
from petition.core.forms import BIDI_CONTROLS, PublicForm, clean_text, plain_text
from petition.endorsements.operations import EndorsementData, WebsiteError, normalize_website

STATEMENT_MAX = 1000


def strip(value):
    return value.strip() if isinstance(value, str) else value


def multiline(value):
    if value is None:
        return None
    lines = value.replace("\r\n", "\n").split("\n")
    return "\n".join(clean_text(line) for line in lines).strip()


def statement_text(form, field):
    """A short statement: line breaks allowed, no other control or invisible character.

    Shown escaped, so < and > are kept.
    """
    value = field.data or ""
    if "\ufffd" in value:
        raise ValidationError(_l("This contains bytes that are not valid text (UTF-8)."))
    for ch in value:
        if ch != "\n" and (
            unicodedata.category(ch) in ("Cc", "Cs", "Co", "Cn") or ch in BIDI_CONTROLS
        ):
            raise ValidationError(_l("This contains control or invisible characters."))


def name_field(label, required=True):
    return StringField(
        label,
        filters=[clean_text],
        validators=[
            DataRequired(_l("Please fill this in.")) if required else Optional(),
            Length(max=200, message=_l("Please keep this under %(max)d characters.")),
            plain_text,
        ],
    )


class OrganisationFields(PublicForm):
    org_name = name_field(_l("Name of the organisation"))
    website = StringField(
        _l("Website"),
        filters=[strip],
        validators=[
            Optional(),
            Length(max=300, message=_l("Please keep this under %(max)d characters.")),
        ],
    )
    country = SelectField(_l("Country"), validate_choice=False)
    statement = TextAreaField(
        _l("Why you endorse (a sentence or two, shown on the page)"),
        filters=[multiline],
        validators=[
            Optional(),
            Length(max=STATEMENT_MAX, message=_l("Please keep this under %(max)d characters.")),
            statement_text,
        ],
    )
    logo = FileField(_l("Logo (PNG, JPEG or WebP, optional)"))

    def __init__(self, *args, language="en", **kwargs):
        super().__init__(*args, **kwargs)
        self.country.choices = [("", _l("Choose the country"))] + countries.choices(language)
        self.site = ("", "")

    def validate_country(self, field):
        if field.data and field.data not in countries.CODES:
            raise ValidationError(_l("Please choose the country from the list."))

    def validate_website(self, field):
        try:
            self.site = normalize_website(field.data)
        except WebsiteError as exc:
            raise ValidationError(exc.message) from exc

    def logo_bytes(self):
        upload = self.logo.data
        if upload is None or not getattr(upload, "filename", ""):
            return None
        return upload.read()

    def organisation(self, language, **more):
        url, domain = self.site
        return EndorsementData(
            name=self.org_name.data,
            website=url,
            domain=domain,
            country=self.country.data or "",
            statement=self.statement.data or "",
            language=language,
            **more,
        )


class EndorseForm(OrganisationFields):
    contact_name = name_field(_l("Your name (not shown)"))
    contact_email = StringField(
        _l("Your email (not shown; we send a link to confirm)"),
        filters=[strip],
        validators=[DataRequired(_l("Please enter your email address.")), Length(max=254)],
    )
    # Bot traps as on the sign form: never an error, a tripped one holds the endorsement.
    nickname = StringField(_l("Leave this field empty"))
    t = HiddenField()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.checked_email = None

    def validate_country(self, field):
        if not field.data:
            raise ValidationError(_l("Please choose the country."))
        super().validate_country(field)

    def validate_contact_email(self, field):
        self.checked_email = self.check_email_field(field)

    def endorsement_data(self, language, ip):
        return self.organisation(
            language,
            contact_name=self.contact_name.data,
            contact_email=self.checked_email,
            ip=ip,
        )


class StaffEndorserForm(OrganisationFields):
    """Staff add or correct an endorser: no contact, approved at once."""

    remove_logo = HiddenField()


def staff_data(endorsement):
    return {
        "org_name": endorsement.name,
        "website": endorsement.website,
        "country": endorsement.country,
        "statement": endorsement.statement,
    }
