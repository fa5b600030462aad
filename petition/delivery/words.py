"""The bundle's own words (headings, labels, the default cover letter) in a chosen language.

The pages are drawn in worker processes that know neither Flask nor the catalogs, so every
phrase is translated here, in the building process, and handed to them in the spec: complete
sentences, or patterns with %(name)s that render.py fills with numbers it formats through
Babel in the same language.
"""

from babel.dates import format_date
from babel.numbers import format_decimal
from flask_babel import force_locale, ngettext
from flask_babel import gettext as _


def number(value, language):
    """A count as the language writes it (Latin digits: a recipient checks them against the
    figures the API and the count show)."""
    return format_decimal(value, locale=language)


def long_date(day, language):
    return format_date(day, "long", locale=language)


def frame(language):
    """The labels and patterns of every page, in `language`."""
    with force_locale(language):
        return {
            "page": _("Page %(page)s of %(pages)s"),
            "header": _("Delivery %(number)s · %(date)s"),
            "continued": _("%(country)s (continued)"),
            "no": _("No."),
            "name": _("Name"),
            "city": _("City"),
            "country": _("Country"),
            "date": _("Date"),
            "subtotal": _("Subtotal, %(country)s"),
            "to": _("To"),
            "petition": _("Petition"),
            "summary": _("Summary"),
            "addressed_to": _("Addressed to"),
            "delivery": _("Delivery"),
            "delivery_value": _("Number %(number)s, built on %(date)s"),
            "contents": _("Contents"),
            "since": _("Signatures confirmed since delivery number %(number)s"),
            "all": _("All confirmed signatures"),
            "in_delivery": _("Signatures in this delivery"),
            "countries": _("Countries"),
            "dated": _("Signatures dated"),
            "dated_value": _("%(first)s to %(last)s"),
            "total": _("Petition total at delivery"),
            "with_offline": _("%(total)s, including %(offline)s on paper delivered separately"),
            "verification": _("Verification"),
            "rows": _("Rows"),
            "canonical": _(
                "The SHA-256 is computed over the rows in the order printed, each written as its "
                "number, name, city, ISO 3166 country code and date (YYYY-MM-DD) separated by "
                "tabs and ended by a line feed, in UTF-8 after Unicode NFC normalisation."
            ),
            "how_to_verify": _(
                "To verify: the rows are attached to this PDF as the file rows.tsv, and its "
                "SHA-256 (for example: qpdf --show-attachment=rows.tsv bundle.pdf | sha256sum) "
                "equals the one above."
            ),
            "milestones": _("Milestones reached"),
            "reached": _("%(label)s (reached %(date)s)"),
            "none_yet": _("None yet."),
            "by_country": _("Signatures by country"),
            "signatures": _("Signatures"),
            "share": _("Share"),
        }


def milestone_label(count, language):
    with force_locale(language):
        return ngettext(
            "%(number)s signature", "%(number)s signatures", count, number=number(count, language)
        )


def endorsed_heading(count, language):
    """The endorsers page's heading, the words of the petition page's (one translation)."""
    with force_locale(language):
        # Flask-Babel fills %(num)s with the count itself (a handful: no grouping to do).
        return ngettext(
            "Endorsed by %(num)s organisation", "Endorsed by %(num)s organisations", count
        )


def letter_labels(language):
    """The address lines above a cover letter, in the letter's language."""
    with force_locale(language):
        return {"to": _("To"), "petition": _("Petition")}


def default_letter(spec, title, language):
    """The cover letter when staff wrote none for this language: who signed, what follows."""
    rows, countries = spec["rows"], len(spec["countries"])
    with force_locale(language):
        people = ngettext(
            "%(number)s person", "%(number)s people", rows, number=number(rows, language)
        )
        places = ngettext(
            "%(number)s country",
            "%(number)s countries",
            countries,
            number=number(countries, language),
        )
        parts = [
            _(
                "We are delivering to you the petition “%(title)s”, signed by %(people)s from "
                "%(places)s.",
                title=title,
                people=people,
                places=places,
            )
        ]
        if spec["since"]:
            parts.append(
                _(
                    "This is delivery number %(number)s. It adds the signatures confirmed since "
                    "delivery number %(since)s.",
                    number=spec["number"],
                    since=spec["since"],
                )
            )
        parts.append(
            _(
                "Every signer confirmed their signature by email. The pages that follow list "
                "each signer's name, city, country and the date of confirmation, after a "
                "summary that gives the totals and a checksum with which the list can be "
                "verified."
            )
        )
        parts.append(_("We ask you to hear them and to act on their call."))
        parts.append(_("Yours sincerely,"))
        parts.append(_("The signers of “%(title)s”", title=title))
    return "\n\n".join(parts)
