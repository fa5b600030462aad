"""Flask-WTF forms and the text rules they enforce."""

import functools
import re
import unicodedata
from urllib.parse import unquote_to_bytes

from babel import support
from flask import abort, current_app, g, has_request_context, request
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms.i18n import messages_path
from wtforms.validators import ValidationError

from petition.core.emails import InvalidEmail, check_email

# Bidi overrides let a name re-order the text printed after it; no real name needs them.
BIDI_CONTROLS = set("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
TRUE_VALUES = {"y", "yes", "on", "true", "1"}


def undecodable_fields(req):
    """Names of urlencoded fields whose bytes are not UTF-8.

    Werkzeug re-quotes such bytes as literal "%FF" text instead of failing, which would store
    them as part of a name; so look at the raw body first. get_data caches it, and the form
    parser then reads the cached copy.
    """
    if req.method != "POST" or req.mimetype != "application/x-www-form-urlencoded":
        return set()
    broken = set()
    for pair in req.get_data(cache=True).split(b"&"):
        key, _, value = pair.partition(b"=")
        try:
            unquote_to_bytes(value.replace(b"+", b" ")).decode("utf-8")
        except UnicodeDecodeError:
            broken.add(unquote_to_bytes(key).decode("utf-8", "replace"))
    return broken


def remember_undecodable_fields():
    """before_request, ahead of CSRFProtect, which parses the form and so consumes the body."""
    g.undecodable_fields = undecodable_fields(request)


# What a browser sends a form as; every POST here is a form (the JSON API only reads).
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def refuse_non_form_bodies():
    """before_request: a request with a body other than a form is a 415, before anything reads it.

    Flask-WTF also reads JSON bodies, so without this a JSON login would take its email from
    where the per-account limit does not look, and a JSON number or list where the form expects
    text would fail inside the form code.
    """
    if request.method in ("GET", "HEAD", "OPTIONS") or request.mimetype in FORM_TYPES:
        return
    if request.routing_exception is not None:
        return  # no such page, or not that method: the 404 or 405 says more
    if request.mimetype or request.content_length or request.headers.get("Transfer-Encoding"):
        abort(415)


def refuse_nul():
    """before_request: a NUL character in the path is a 404, in the query or a form a 400.

    PostgreSQL text cannot hold NUL, so one that reached a query would fail it; no page or link
    of ours sends one. The sign form is left alone: it names the field, keeping the input; so
    are the uploads, whose bodies are read under their own larger limits by their views (whose
    forms refuse control characters).
    """
    if "\x00" in request.path:
        abort(404)
    if any("\x00" in k or "\x00" in v for k, v in request.args.items(multi=True)):
        abort(400)
    if (
        request.method == "POST"
        and request.mimetype in FORM_TYPES
        and request.endpoint
        not in (
            "public.sign",
            "staff.import_signatures",
            "events.manage_photos",
            "endorsements.endorse_petition",
            "endorsements.endorse_day",
            "staff.new_endorser",
            "staff.edit_endorser",
        )
        and any("\x00" in k or "\x00" in v for k, v in request.form.items(multi=True))
    ):
        abort(400)


def clean_source(value):
    """A campaign source tag (utm_source, partner host): a short plain token or None."""
    if not value:
        return None
    return re.sub(r"[^A-Za-z0-9._:/-]", "", value)[:100] or None


def clean_text(value):
    """NFC, trimmed, inner runs of spaces made one; None stays None."""
    if value is None:
        return None
    value = unicodedata.normalize("NFC", value)
    return " ".join(value.split(" ")).strip() if value.strip() else ""


def plain_text(form, field):
    """Refuse what no name, city or postcode contains: controls, markup, broken encoding."""
    value = field.data or ""
    if "\ufffd" in value:
        raise ValidationError(_l("This contains bytes that are not valid text (UTF-8)."))
    for ch in value:
        category = unicodedata.category(ch)
        if category in ("Cc", "Cs", "Co", "Cn") or ch in BIDI_CONTROLS:
            raise ValidationError(_l("This contains control or invisible characters."))
    if "<" in value or ">" in value:
        raise ValidationError(_l("Please leave out < and >."))


def checkbox(form, field):
    """A checkbox sends a known value or nothing; anything else is a broken client."""
    raw = field.raw_data[0] if field.raw_data else None
    if raw is not None and raw.strip().lower() not in TRUE_VALUES:
        raise ValidationError(_l("This box can only be ticked or left empty."))


@functools.lru_cache(maxsize=16)
def wtforms_catalog(locale):
    """WTForms' own messages in one language, read from disk once per process."""
    return support.Translations.load(messages_path(), [locale], domain="wtforms")


class CachedTranslations:
    """Flask-WTF's i18n, without its reload of WTForms' catalog on every request (~2 ms).

    The locale is one of LANGUAGES (select_locale), so the cache stays a handful of entries.
    """

    def gettext(self, string):
        return wtforms_catalog(str(get_locale() or "en")).ugettext(string)

    def ngettext(self, singular, plural, n):
        return wtforms_catalog(str(get_locale() or "en")).ungettext(singular, plural, n)


cached_translations = CachedTranslations()


class PublicForm(FlaskForm):
    """A public form: WTForms' messages in the reader's language, fields whose bytes were not
    UTF-8 named in the errors (remember_undecodable_fields), and the email check."""

    class Meta(FlaskForm.Meta):
        def get_translations(self, form):
            if not current_app.config.get("WTF_I18N_ENABLED", True):
                return super().get_translations(form)
            return cached_translations

    def __init__(self, *args, **kwargs):
        self.broken_fields = g.get("undecodable_fields", set()) if has_request_context() else set()
        super().__init__(*args, **kwargs)

    def validate(self, extra_validators=None):
        valid = super().validate(extra_validators)
        for name in self.broken_fields & set(self._fields):
            field = self[name]
            field.errors = [
                *field.errors,
                _l("This contains bytes that are not valid text (UTF-8)."),
            ]
            valid = False
        return valid

    def check_email_field(self, field):
        try:
            return check_email(field.data, current_app.config["EMAIL_CHECK_DELIVERABILITY"])
        except InvalidEmail as exc:
            raise ValidationError(
                _l("This email address is not valid: %(reason)s", reason=str(exc))
            ) from exc
