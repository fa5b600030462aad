"""What partner sites see of a petition, cached so page views do not reach the database.

One snapshot per petition holds everything the API, the widget and the badge show. It lives
COUNT_CACHE_SECONDS in the cache (per process, or shared in Redis), so however many requests
arrive, each process or the whole cluster reads a petition from the database about once a
second, and a confirmation is visible at most that long after it commits. The counts read are
exact whether or not the count journal has been folded yet (Petition.signature_count includes
the unfolded entries, loaded in the same SELECT; counting.by_country likewise).
"""

import hashlib
import json
import logging

from flask import current_app
from redis import RedisError
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from petition.core.extensions import cache, db
from petition.core.urls import petition_url, with_language
from petition.jobs import runner as jobs
from petition.petitions import cards as petition_cards
from petition.petitions import counting, texts
from petition.petitions.models import Petition

log = logging.getLogger(__name__)

MISSING = {"missing": True}


def iso(value):
    return value.isoformat().replace("+00:00", "Z") if value else None


def build(slug):
    """Read a petition's public picture from the database; None for unknown or draft ones."""
    petition = db.session.execute(
        select(Petition).where(Petition.slug == slug, Petition.state != "draft")
    ).scalar_one_or_none()
    if petition is None:
        return None
    return describe(petition, with_countries=True)


def describe(petition, with_countries=False):
    """The DESIGN shape of a petition (the list leaves out the per-country table)."""
    body = {
        "slug": petition.slug,
        "title": petition.title,
        "target": petition.target,
        "url": petition_url(current_app.config, petition),
        "state": petition.state,
        "signature_count": petition.signature_count,
        "goal": counting.goal(petition),
        "milestones": [
            {"count": m.count, "label": m.label, "reached_at": iso(m.reached_at)}
            for m in petition.milestones
        ],
        "updated_at": iso(petition.count_changed_at),
        "languages": petition.languages,
        # Kept for in_language(); not part of the API's answer.
        "titles": texts.titles(petition),
    }
    if with_countries:
        body["signatures_by_country"] = counting.by_country(petition.id)
    return body


def in_language(snapshot, language=None):
    """The API's shape of a snapshot: with `language` (?lang=) one the petition is published in,
    its title in that language and a link to the page in it."""
    body = {k: v for k, v in snapshot.items() if k != "titles"}
    title = snapshot.get("titles", {}).get(language) if language else None
    if title:
        body["title"] = title
        body["url"] = with_language(body["url"], language)
    return body


def cached(key, compute):
    """compute() through the cache; the database stays the fallback when Redis is away."""
    try:
        found = cache.get(key)
    except (RedisError, OSError):
        log.warning("count cache unavailable; reading the database", exc_info=True)
        found = None
    if found is not None:
        return found
    value = compute()
    store(key, value)
    return value


def store(key, value):
    try:
        cache.set(key, value, timeout=current_app.config["COUNT_CACHE_SECONDS"])
    except (RedisError, OSError):
        log.warning("count cache unavailable; not stored", exc_info=True)


def count_changed(app, slug):
    """Once a change to the count has committed: milestone mail leaves, the cached count goes."""
    jobs.wake(app)
    forget(slug)


def forget(slug):
    """Drop every cached picture of a petition (snapshot, count answer, listing, this process's
    sign card) so a change staff just committed shows at once rather than within
    COUNT_CACHE_SECONDS."""
    petition_cards.forget(slug)
    try:
        cache.delete_many(f"snapshot:{slug}", count_key(slug), "listing")
    except (RedisError, OSError):
        log.warning("count cache unavailable; snapshot left to expire", exc_info=True)


def get(slug):
    """The cached snapshot of a public petition, or None."""
    # Unknown slugs are cached too, so a flood of made-up ones cannot reach the database.
    found = cached(f"snapshot:{slug}", lambda: build(slug) or MISSING)
    return None if found == MISSING else found


def count_key(slug):
    """The cache key of the count endpoint's answer (also read by partners/fastcount.py)."""
    return f"count:{slug}"


def count_entry(slug):
    """The count endpoint's answer, cached ready to send: (JSON body, ETag), or None if unknown.

    Its own cache key, filled straight from the database rather than from the snapshot, so it
    is never older than COUNT_CACHE_SECONDS either; a small tuple of bytes, cheap to unpickle,
    and the widgets' polls need no JSON encoding or body hashing per request.
    """

    def compute():
        snapshot = build(slug) or MISSING
        # Just read in full: refresh the snapshot the other views use as well.
        store(f"snapshot:{slug}", snapshot)
        if snapshot == MISSING:
            return MISSING
        # updated_at lets a poller ignore an older snapshot from another app server's cache.
        body = json.dumps(
            {
                "signature_count": snapshot["signature_count"],
                "goal": snapshot["goal"],
                "updated_at": snapshot["updated_at"],
            },
            separators=(",", ":"),
            sort_keys=True,  # as jsonify writes it
        ).encode()
        body += b"\n"
        # The digest werkzeug's add_etag would compute from the same body.
        return body, hashlib.sha1(body).hexdigest()  # noqa: S324 an ETag, not a secret

    found = cached(count_key(slug), compute)
    return None if found == MISSING else tuple(found)


def listing():
    """The cached list of public petitions, newest first."""

    def compute():
        rows = db.session.execute(
            select(Petition)
            .where(Petition.state != "draft")
            .order_by(Petition.created_at.desc())
            .options(selectinload(Petition.translations))
        ).scalars()
        return [describe(p) for p in rows]

    return cached("listing", compute)
