"""The reader's language, and the template helpers that format for it."""

import os

from flask import request
from flask_babel import format_date, format_decimal, get_locale

from petition.core import countries
from petition.core.text import render_markdown


def available_languages(app):
    folder = os.path.join(app.root_path, "translations")
    found = os.listdir(folder) if os.path.isdir(folder) else []
    return ["en"] + sorted(found)


def select_locale():
    from flask import current_app, has_request_context

    if not has_request_context():
        return None  # mail from a worker or a command: the default, or force_locale's

    languages = current_app.config.get("LANGUAGES") or available_languages(current_app)
    current_app.config["LANGUAGES"] = languages
    return request.accept_languages.best_match(languages) or "en"


def register_template_helpers(app):
    app.jinja_env.filters["markdown"] = render_markdown
    app.jinja_env.filters["number"] = lambda n: format_decimal(n)
    app.jinja_env.filters["country_name"] = lambda code: countries.name(
        code, str(get_locale() or "en").split("_")[0]
    )

    app.jinja_env.globals["format_date"] = format_date

    @app.context_processor
    def globals_():
        return {"lang": str(get_locale() or "en").replace("_", "-")}
