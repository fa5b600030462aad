"""A petition in several languages: which version a reader sees, and publishing one more.

The petition row holds the version in its own language (Petition.language); every other
language is a PetitionTranslation row. All of them add to the one count: a signature belongs to
the petition, and keeps the language it was made in (Signature.locale) for its mails.
"""

from petition.core.db import utcnow
from petition.core.extensions import db
from petition.petitions.models import PetitionTranslation

FIELDS = ("title", "text", "cover_letter", "share_text", "hashtag")


class TranslationError(ValueError):
    """A version that cannot be published (its message is for staff)."""


class Localized:
    """A petition as a reader of one language sees it: that language's texts where the petition
    is published in it, else its own language's, with `fallback` set so the page can say so.
    Everything else (slug, count, milestones, state...) is the petition's."""

    def __init__(self, petition, language):
        self._petition = petition
        version = None if language == petition.language else petition.translation(language)
        self.asked = language
        self.language = version.language if version else petition.language
        self.fallback = language != self.language
        source = version or petition
        for name in FIELDS:
            setattr(self, name, getattr(source, name) or "")
        # A version with no hashtag or cover letter of its own uses the petition's.
        self.hashtag = self.hashtag or petition.hashtag or ""
        self.cover_letter = self.cover_letter or petition.cover_letter or ""

    def __getattr__(self, name):
        # Only for names this object lacks; "_petition" itself missing (a copy being built)
        # must not recurse.
        if name == "_petition":
            raise AttributeError(name)
        return getattr(self._petition, name)

    @property
    def share_line(self):
        """What a share link says beside the link: the share text, else the title."""
        return self.share_text or self.title


def localized(petition, language):
    return Localized(petition, language)


def in_language(petition, language):
    """A sign card or a petition, as a signer of `language` is told about it (their mails)."""
    if hasattr(petition, "in_language"):
        return petition.in_language(language)
    return Localized(petition, language)


def titles(petition):
    """{language: title} for every version, the petition's own included."""
    found = {t.language: t.title for t in petition.translations}
    found[petition.language] = petition.title
    return found


def clean(value):
    return (value or "").strip()


def publish(
    petition,
    language,
    languages,
    title,
    text=None,
    cover_letter=None,
    share_text=None,
    hashtag=None,
):
    """Add or update the petition's version in `language` (one of `languages`, the catalogs the
    app serves); fields left None keep what the version had. Returns the translation row; the
    caller commits and forgets the petition's cached snapshots."""
    language = clean(language).lower()
    if language not in languages:
        raise TranslationError(
            f"{language or '(none)'} is not a language this site serves: {', '.join(languages)}"
        )
    if language == petition.language:
        raise TranslationError(
            f"{language} is the petition's own language: edit the petition itself"
        )
    title = clean(title)
    if not title:
        raise TranslationError("a version needs a title")
    if len(title) > 200:
        raise TranslationError("the title is longer than 200 characters")
    row = petition.translation(language)
    if row is None:
        row = PetitionTranslation(
            language=language, title=title, text="", cover_letter="", share_text=""
        )
        petition.translations.append(row)
    row.title = title
    for name, value in (("text", text), ("cover_letter", cover_letter), ("share_text", share_text)):
        if value is not None:
            setattr(row, name, value.strip())
    if hashtag is not None:
        tag = clean(hashtag).lstrip("#")
        row.hashtag = f"#{tag}" if tag else None
    row.updated_at = utcnow()
    petition.updated_at = row.updated_at
    db.session.flush()
    return row


def withdraw(petition, language):
    """Stop publishing the petition in `language`; its signatures stay counted. True if it was."""
    row = petition.translation(language)
    if row is None:
        return False
    petition.translations.remove(row)
    petition.updated_at = utcnow()
    db.session.flush()
    return True
