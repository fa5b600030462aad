"""Staff operations on petitions: parse milestone lines, create, edit. The caller commits."""

import re
import unicodedata

from sqlalchemy import select, update

from petition.core.db import utcnow
from petition.core.extensions import db
from petition.petitions import counting, milestones
from petition.petitions.models import Milestone, Petition

SLUG_PATTERN = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
# The columns are 32-bit integers on PostgreSQL.
MAX_COUNT = 2_147_483_647
_MILESTONE_LINE = re.compile(r"\s*(\d[\d,_ ]*)\s*(?::(.*))?")


class MilestoneLineError(ValueError):
    """Milestone lines that do not parse; .errors holds one message per bad line."""

    def __init__(self, errors):
        super().__init__("; ".join(errors))
        self.errors = errors


def parse_milestones(text):
    """Lines of "N: label" (or just N) to sorted (count, label) pairs.

    Blank lines are skipped; counts may use , _ or spaces between digit groups (300,000).
    Raises MilestoneLineError listing every bad line by number.
    """
    pairs, errors, seen = [], [], {}
    for number, line in enumerate((text or "").splitlines(), start=1):
        if not line.strip():
            continue
        found = _MILESTONE_LINE.fullmatch(line)
        if found is None:
            errors.append(f'line {number}: expected "N: label", e.g. "1000: Deliver to the IOC"')
            continue
        count = int(re.sub(r"[,_ ]", "", found.group(1)))
        label = unicodedata.normalize("NFC", " ".join((found.group(2) or "").split()))
        if count <= 0:
            errors.append(f"line {number}: the count must be above zero")
        elif count > MAX_COUNT:
            errors.append(f"line {number}: the count is too large")
        elif count in seen:
            errors.append(f"line {number}: {count} is already the count of line {seen[count]}")
        elif len(label) > 200:
            errors.append(f"line {number}: keep the label under 200 characters")
        else:
            seen[count] = number
            pairs.append((count, label or f"{count:,} signatures"))
    if errors:
        raise MilestoneLineError(errors)
    return sorted(pairs)


def format_milestones(petition):
    """The milestones as the lines the form edits."""
    return "\n".join(f"{m.count}: {m.label}" for m in petition.milestones)


def slug_taken(slug):
    return db.session.execute(select(Petition.id).where(Petition.slug == slug)).scalar() is not None


# Fields a form sets directly on the petition (milestones and the offline count need more).
PLAIN_FIELDS = (
    "title",
    "target",
    "text",
    "cover_letter",
    "hashtag",
    "share_text",
    "language",
    "closes_at",
)


def create(slug, values, config):
    """A new draft petition from form values; returns it, flushed. The caller audits and commits."""
    from petition.petitions.manage import create_petition

    fields = {key: values[key] for key in PLAIN_FIELDS if key in values}
    petition = create_petition(
        slug,
        milestones=values.get("milestones", ()),
        offline_count=values.get("offline_count", 0),
        **fields,
    )
    db.session.flush()
    _restamp(petition, config, quiet=True)
    return petition


def edit(petition, values, config):
    """Apply form values to a petition and keep its milestones right; return what changed.

    Milestones are matched by count, so an unchanged one keeps its reached and announced times.
    A milestone added below the total is stamped reached but not mailed (it is not news);
    one the offline count pushes the total past is announced like any other.
    """
    changes = {}
    for key in PLAIN_FIELDS:
        if key in values and getattr(petition, key) != values[key]:
            changes[key] = (getattr(petition, key), values[key])
            setattr(petition, key, values[key])

    if "offline_count" in values and values["offline_count"] != petition.offline_count:
        changes["offline_count"] = (petition.offline_count, values["offline_count"])
        petition.offline_count = values["offline_count"]

    added = set()
    if "milestones" in values:
        wanted = dict(values["milestones"])
        current = {m.count: m for m in petition.milestones}
        before = [(m.count, m.label) for m in petition.milestones]
        for count, milestone in current.items():
            if count not in wanted:
                petition.milestones.remove(milestone)
            elif milestone.label != wanted[count]:
                milestone.label = wanted[count]
        for count, label in wanted.items():
            if count not in current:
                petition.milestones.append(Milestone(count=count, label=label))
                added.add(count)
        after = sorted(wanted.items())
        if before != after:
            changes["milestones"] = (before, after)

    if changes:
        petition.updated_at = utcnow()
        db.session.flush()
        _restamp(petition, config, quiet_counts=added)
    return changes


def _restamp(petition, config, quiet=False, quiet_counts=()):
    """Stamp or clear milestones against the total as the database holds it now.

    The total is the exact one (column and count journal) read after this transaction's own
    writes, so a confirmation that committed meanwhile is counted; one committing later is
    stamped by the fold that applies it.
    """
    total = counting.totals(petition.id)["total"]
    reached = counting.stamp_milestones(petition.id, total)
    if reached:
        quiet_ids = (
            set(reached)
            if quiet
            else {m.id for m in petition.milestones if m.count in quiet_counts and m.id in reached}
        )
        if quiet_ids:
            db.session.execute(
                update(Milestone).where(Milestone.id.in_(quiet_ids)).values(announced_at=utcnow())
            )
        news = [i for i in reached if i not in quiet_ids]
        if news:
            milestones.announce(news, config)
    db.session.expire(
        petition,
        ["milestones", "confirmed_count", "unfolded_count", "unfolded_at", "offline_count"],
    )
    return reached


def create_petition(slug, title, target, text="", milestones=(), open_it=False, **fields):
    """Add a petition with milestones to the session; the caller commits."""
    petition = Petition(slug=slug, title=title, target=target, text=text, **fields)
    for count, label in milestones:
        petition.milestones.append(Milestone(count=count, label=label))
    if open_it:
        petition.open()
    db.session.add(petition)
    return petition
