"""The reader's language, the catalogs the app serves, and the template helpers that format.

The language is, in order: `?lang=` (remembered in a cookie), that cookie, the browser's
Accept-Language, then the page's default (a petition's own language, see
`use_default_language`), then English. Catalogs are compiled from the .po files in the
package into the instance folder when the app starts, so a production set-up that never runs
`make` still serves every language.
"""

import io
import os

from babel import Locale, UnknownLocaleError
from babel import numbers as babel_numbers
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask import current_app, g, has_request_context, request, url_for
from flask_babel import format_date, get_locale, refresh
from werkzeug.routing import BuildError

from petition.core import countries
from petition.core.files import private_dir
from petition.core.text import render_markdown

COOKIE = "lang"
COOKIE_SECONDS = 365 * 24 * 3600
RIGHT_TO_LEFT = {"ar", "he", "fa", "ur"}


def source_dir(app):
    return os.path.join(app.root_path, "translations")


def available_languages(app):
    folder = source_dir(app)
    found = os.listdir(folder) if os.path.isdir(folder) else []
    return ["en"] + sorted(
        name
        for name in found
        if os.path.isfile(os.path.join(folder, name, "LC_MESSAGES", "messages.po"))
    )


def compile_catalogs(app):
    """Compile every messages.po into instance/translations (what Flask-Babel reads).

    Only a missing or older .mo is written, through a temporary file and a rename, so workers
    starting together never read half a catalog. Returns the folder.
    """
    target = os.path.join(app.instance_path, "translations")
    for language in available_languages(app)[1:]:
        po = os.path.join(source_dir(app), language, "LC_MESSAGES", "messages.po")
        folder = private_dir(os.path.join(target, language, "LC_MESSAGES"))
        mo = os.path.join(folder, "messages.mo")
        if os.path.exists(mo) and os.path.getmtime(mo) >= os.path.getmtime(po):
            continue
        tmp = f"{mo}.{os.getpid()}.tmp"
        with open(tmp, "wb") as f:
            f.write(compiled(po, language))
        os.replace(tmp, mo)
    return target


_compiled = {}  # (path, mtime) -> .mo bytes: an app made again in one process (tests) reuses them


def compiled(po, language):
    key = (po, os.stat(po).st_mtime_ns)
    if key not in _compiled:
        with open(po, "rb") as f:
            catalog = read_po(f, locale=language)
        out = io.BytesIO()
        write_mo(out, catalog)
        _compiled[key] = out.getvalue()
    return _compiled[key]


def configure(app):
    """Before babel.init_app: the catalogs compiled, the languages known."""
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = compile_catalogs(app)
    app.config.setdefault("LANGUAGES", available_languages(app))
    app.after_request(remember_language)


def current_language():
    """The reader's language as a bare code ("es", not "es_AR")."""
    return str(get_locale() or "en").split("_")[0]


def asked_language():
    """A valid ?lang= of this request, or None."""
    value = (request.args.get("lang") or "").strip().lower()
    return value if value in current_app.config["LANGUAGES"] else None


def select_locale():
    if not has_request_context():
        return None  # mail from a worker or a command: the default, or force_locale's
    languages = current_app.config["LANGUAGES"]
    asked = asked_language()
    if asked:
        return asked
    remembered = request.cookies.get(COOKIE)
    if remembered in languages:
        return remembered
    best = request.accept_languages.best_match(languages)
    if best:
        return best
    default = g.get("default_language")
    return default if default in languages else "en"


def use_default_language(language):
    """For a page about something written in `language` (a petition): a reader whose request
    names no language we serve reads the page in that one rather than in English."""
    g.default_language = language
    refresh()  # a locale chosen earlier in the request is chosen again


def remember_language(response):
    """?lang= sticks: the next pages are in that language without asking again."""
    asked = asked_language() if request.args.get("lang") else None
    if asked and request.cookies.get(COOKIE) != asked:
        response.set_cookie(
            COOKIE,
            asked,
            max_age=COOKIE_SECONDS,
            secure=current_app.config.get("SESSION_COOKIE_SECURE", False),
            httponly=True,
            samesite="Lax",
        )
    return response


def language_links():
    """[(code, name in its own language, this page in it)] for the switcher."""
    # A form's answer (a POST) cannot be asked for again: its links go to the home page.
    endpoint = request.endpoint if request.method == "GET" else None
    args = {k: v for k, v in request.args.items() if k != "lang"}
    values = dict(request.view_args or {})
    links = []
    for code in current_app.config["LANGUAGES"]:
        name = language_name(code, in_language=code)
        href = None
        if endpoint:
            try:
                href = url_for(endpoint, **values, **args, lang=code)
            except BuildError:
                href = None
        links.append((code, name, href or url_for("public.index", lang=code)))
    return links


def language_name(code, in_language=None, sentence=False):
    """A language's name, in the reader's language unless `in_language` says otherwise; with a
    capital as a label or menu entry, as the language writes it within a sentence (French
    "russe", German "Russisch") when `sentence`."""
    try:
        name = Locale.parse(code).get_display_name(in_language or current_language()) or code
    except (ValueError, TypeError):
        return code
    return name if sentence else name[:1].upper() + name[1:]


def text_dir(code):
    return "rtl" if (code or "").split("_")[0].split("-")[0] in RIGHT_TO_LEFT else "ltr"


def number_locale():
    """The reader's locale for numbers: their browser's region where it names one for the
    page's language, since CLDR writes Arabic with Arabic-Indic digits in Egypt or Saudi Arabia
    (١٬٢٣٤) and with Latin ones for "ar" alone or Morocco (1,234); else the page's language."""
    language = current_language()
    if not has_request_context():
        return Locale.parse(language)
    found = g.get("number_locale")
    if found is None or found[0] != language:
        chosen = Locale.parse(language)
        for value, _quality in request.accept_languages:
            code = value.replace("-", "_")
            if code.split("_")[0].lower() != language or "_" not in code:
                continue
            try:
                chosen = Locale.parse(code)
            except (ValueError, TypeError, UnknownLocaleError):
                continue  # a region Babel does not know (de-XX): the language's own
            break
        found = g.number_locale = (language, chosen)
    return found[1]


# Babel formats with a numbering system's symbols but always Latin digits; the digits of the
# systems CLDR makes a locale's default (ar-EG: arab, fa: arabext, bn: beng, mr: deva, my: mymr).
DIGITS = {
    system: str.maketrans("0123456789", digits)
    for system, digits in {
        "arab": "٠١٢٣٤٥٦٧٨٩",
        "arabext": "۰۱۲۳۴۵۶۷۸۹",
        "beng": "০১২৩৪৫৬৭৮৯",
        "deva": "०१२३४५६७८९",
        "mymr": "၀၁၂၃၄၅၆၇၈၉",
    }.items()
}


def number(value):
    """A number as the reader's locale writes it: digits, grouping and separators."""
    locale = number_locale()
    text = babel_numbers.format_decimal(value, locale=locale, numbering_system="default")
    table = DIGITS.get(locale.default_numbering_system)
    return text.translate(table) if table else text


def register_template_helpers(app):
    app.jinja_env.filters["markdown"] = render_markdown
    app.jinja_env.filters["number"] = number
    app.jinja_env.filters["country_name"] = lambda code: countries.name(code, current_language())

    app.jinja_env.globals["format_date"] = format_date
    app.jinja_env.globals["language_links"] = language_links
    app.jinja_env.globals["language_name"] = language_name
    app.jinja_env.globals["text_dir"] = text_dir

    @app.context_processor
    def globals_():
        code = str(get_locale() or "en")
        return {
            "lang": code.replace("_", "-"),
            "dir": text_dir(code),
        }
