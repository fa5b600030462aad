"""The sign form."""

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, HiddenField, SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from petition.core import countries
from petition.core.forms import PublicForm, checkbox, clean_source, clean_text, plain_text


class SignForm(PublicForm):
    name = StringField(
        _l("Your name"),
        filters=[clean_text],
        validators=[
            DataRequired(_l("Please enter your name.")),
            Length(max=200, message=_l("Please keep your name under 200 characters.")),
            plain_text,
        ],
    )
    email = StringField(
        _l("Email"),
        filters=[lambda v: v.strip() if v else v],
        validators=[
            DataRequired(_l("Please enter your email address.")),
            Length(max=254, message=_l("An email address has at most 254 characters.")),
        ],
    )
    country = SelectField(
        _l("Country"),
        validate_choice=False,
        validators=[DataRequired(_l("Please choose your country."))],
    )
    city = StringField(
        _l("City (optional)"),
        filters=[clean_text],
        validators=[
            Optional(),
            Length(max=100, message=_l("Please keep the city under 100 characters.")),
            plain_text,
        ],
    )
    postcode = StringField(
        _l("Postcode (optional)"),
        filters=[clean_text],
        validators=[
            Optional(),
            Length(max=20, message=_l("Please keep the postcode under 20 characters.")),
            plain_text,
        ],
    )
    updates = BooleanField(_l("Keep me updated about this campaign"), validators=[checkbox])
    source = HiddenField(filters=[lambda v: clean_source(v)])
    # Bot traps (abuse/defences.py): never errors, a tripped one holds the signature instead.
    # The honeypot is hidden from people by CSS and from assistive tech; bots fill it in.
    website = StringField(_l("Leave this field empty"))
    # When the form was shown, signed with SECRET_KEY.
    t = HiddenField()

    def __init__(self, *args, language="en", **kwargs):
        super().__init__(*args, **kwargs)
        self.country.choices = [("", _l("Choose your country"))] + countries.choices(language)

    def validate_email(self, field):
        self.checked_email = self.check_email_field(field)

    def validate_country(self, field):
        if field.data not in countries.CODES:
            raise ValidationError(_l("Please choose your country from the list."))
