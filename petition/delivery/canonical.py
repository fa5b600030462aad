"""The delivered rows in a form anyone can recompute, and their SHA-256.

Canonical form of a delivery: its rows in bundle order (countries by their English name, inside
a country by confirmed_at, then by signature id), each written as one line

    seq TAB name TAB city TAB country_code TAB date LF

where seq is the row's number in the bundle (1, 2, ...); name and city are in Unicode NFC with
any tab, carriage return or line feed replaced by a space (an absent city is empty);
country_code is the ISO 3166-1 alpha-2 code as stored ("FR"); and date is the UTC date of the
confirmation, YYYY-MM-DD. The lines are encoded as UTF-8 and the SHA-256 is taken over their
concatenation, written as 64 lower-case hex digits. The PDF prints exactly these fields, so a
recipient who types or exports the list to a CSV file with the header seq,name,city,country,date
can check it:

    python -m petition.delivery.canonical rows.csv

or with a few lines in any language.
"""

import csv
import datetime as dt
import hashlib
import sys
import unicodedata
from typing import NamedTuple

from petition.core import countries


class Row(NamedTuple):
    seq: int
    name: str
    city: str
    country: str
    date: str


_SEPARATORS = str.maketrans({"\t": " ", "\r": " ", "\n": " "})


def clean(value):
    """A name or city as the bundle prints and hashes it: NFC, no tabs or line breaks."""
    if not value:
        return ""
    if "\t" in value or "\n" in value or "\r" in value:
        value = value.translate(_SEPARATORS)
    return unicodedata.normalize("NFC", value)


def canonical_line(seq, name, city, country, date):
    return f"{seq}\t{clean(name)}\t{clean(city)}\t{country}\t{date}\n"


def row_hash(rows):
    """SHA-256 (hex) of rows given as (seq, name, city, country, date), in bundle order."""
    digest = hashlib.sha256()
    for seq, name, city, country, date in rows:
        digest.update(canonical_line(seq, name, city, country, date).encode("utf-8"))
    return digest.hexdigest()


def country_sort_key(code):
    """Countries in the bundle: by English name, accents ignored; unknown codes by code."""
    return (countries.sort_key(countries.name(code, "en")), code)


def utc_date(moment):
    return moment.astimezone(dt.UTC).date().isoformat()


def bundle_rows(signatures):
    """Rows in bundle order from signatures (objects with id, name, city, country, confirmed_at).

    The builder streams the same order from the database; this is the in-memory definition,
    for checks and small sets.
    """
    ordered = sorted(signatures, key=lambda s: (country_sort_key(s.country), s.confirmed_at, s.id))
    return [
        Row(seq, clean(s.name), clean(s.city), s.country, utc_date(s.confirmed_at))
        for seq, s in enumerate(ordered, start=1)
    ]


def read_csv(path):
    """Rows from a CSV file with the header seq,name,city,country,date."""
    with open(path, encoding="utf-8-sig", newline="") as f:
        for record in csv.DictReader(f):
            yield (
                int(record["seq"]),
                record["name"],
                record["city"],
                record["country"],
                record["date"],
            )


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        sys.stderr.write("usage: python -m petition.delivery.canonical rows.csv\n")
        return 2
    rows = list(read_csv(argv[0]))
    sys.stdout.write(f"rows: {len(rows)}\nsha256: {row_hash(rows)}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
