"""ISO 3166-1 countries, named in the reader's language."""

import functools
import gettext
import unicodedata

import pycountry

CODES = frozenset(c.alpha_2 for c in pycountry.countries)


@functools.lru_cache(maxsize=64)
def choices(language):
    """(alpha-2, name) pairs for a language code, sorted by name as that language reads it."""
    try:
        translation = gettext.translation("iso3166-1", pycountry.LOCALES_DIR, languages=[language])
        translate = translation.gettext
    except OSError:
        translate = str
    pairs = [
        (c.alpha_2, translate(getattr(c, "common_name", None) or c.name))
        for c in pycountry.countries
    ]
    return sorted(pairs, key=lambda pair: sort_key(pair[1]))


def sort_key(name):
    # Accents must not push "Åland" past "Zambia"; no system locale is needed for this.
    decomposed = unicodedata.normalize("NFKD", name)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()


def name(code, language="en"):
    """The country's name, or the code itself for an unknown one."""
    return dict(choices(language)).get(code, code)
