"""Who is signing a petition most right now, and one mail to staff when someone passes a threshold.

The report groups a petition's signatures of the last TREND_WINDOW_SECONDS by client address and
by email domain, in every state, with how many of them an abuse check held. The window is a
range on the (petition_id, created_at, id) index, so it costs the same on a petition of ten
million signatures as on one of a thousand.

The alert (a periodic job) claims each offender with a unique TrendAlert row per petition per
UTC day before mailing: the insert that wins is the one that mails, in the same transaction, so
several workers checking at once still send one mail per offender.
"""

import dataclasses
import datetime as dt
import logging
import time
from urllib.parse import urlencode

from flask_babel import force_locale, format_decimal, ngettext
from flask_babel import gettext as _
from sqlalchemy import String, case, func, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from petition.abuse import defences as abuse
from petition.abuse.models import TrendAlert
from petition.core import db as dbutil
from petition.core.db import utcnow
from petition.core.extensions import db
from petition.core.urls import public_url
from petition.jobs import runner as jobs
from petition.mail import outbox as mail
from petition.petitions.models import Petition, Signature

log = logging.getLogger(__name__)

# Rows in each table of the report.
TOP = 10
# Offenders one check looks at per petition and kind; all new ones go into one mail.
ALERT_BATCH = 100
PARAMS = {"address": "ip", "domain": "domain"}


class email_domain(FunctionElement):  # noqa: N801  (reads as an SQL function)
    """The part of an address after the '@' (canonical emails have exactly one)."""

    type = String()
    inherit_cache = True
    name = "email_domain"


@compiles(email_domain)
def _email_domain_sqlite(element, compiler, **kw):
    column = compiler.process(next(iter(element.clauses)), **kw)
    return f"substr({column}, instr({column}, '@') + 1)"


@compiles(email_domain, "postgresql")
def _email_domain_postgresql(element, compiler, **kw):
    column = compiler.process(next(iter(element.clauses)), **kw)
    return f"split_part({column}, '@', 2)"


@dataclasses.dataclass(frozen=True)
class Row:
    value: str
    count: int
    held: int


@dataclasses.dataclass(frozen=True)
class Report:
    since: dt.datetime
    addresses: list
    domains: list
    alerts: list


def window_start(config, now=None):
    return (now or utcnow()) - dt.timedelta(seconds=config["TREND_WINDOW_SECONDS"])


def _held():
    return func.coalesce(func.sum(case((Signature.held, 1), else_=0)), 0)


def _top(key, petition_id, since, limit, at_least):
    count = func.count().label("n")
    query = (
        select(key.label("value"), count, _held().label("held"))
        .where(
            Signature.petition_id == petition_id,
            Signature.created_at >= since,
        )
        .group_by(key)
        .order_by(count.desc(), key)
        .limit(limit)
    )
    if at_least > 1:
        query = query.having(func.count() >= at_least)
    return query


def top_addresses(petition_id, since, limit=TOP, at_least=1):
    """The client addresses with the most signatures since `since`: [Row], most first."""
    query = _top(Signature.ip, petition_id, since, limit, at_least).where(Signature.ip.is_not(None))
    return [Row(r.value, r.n, r.held) for r in db.session.execute(query)]


def top_domains(petition_id, since, limit=TOP, at_least=1):
    """The email domains with the most signatures since `since`: [Row], most first."""
    query = _top(email_domain(Signature.canonical_email), petition_id, since, limit, at_least)
    return [Row(r.value, r.n, r.held) for r in db.session.execute(query)]


def report(petition, config, now=None, limit=TOP):
    """The trending report of one petition, and its alerts of today and yesterday."""
    now = now or utcnow()
    since = window_start(config, now)
    alerts = (
        db.session.execute(
            select(TrendAlert)
            .where(
                TrendAlert.petition_id == petition.id,
                TrendAlert.day >= now.date() - dt.timedelta(days=1),
            )
            .order_by(TrendAlert.created_at.desc(), TrendAlert.id.desc())
        )
        .scalars()
        .all()
    )
    return Report(
        since=since,
        addresses=top_addresses(petition.id, since, limit),
        domains=top_domains(petition.id, since, limit),
        alerts=alerts,
    )


def ignored_domain(domain, config):
    """A big webmail provider (or a subdomain of one): volume from it says nothing."""
    ignored = config["TREND_ALERT_IGNORE_DOMAINS"]
    parts = domain.split(".")
    return any(".".join(parts[i:]) in ignored for i in range(len(parts)))


def recipients(config):
    return config["TREND_ALERT_TO"] or config["MILESTONE_MAIL_TO"]


def offenders(petition_id, since, config):
    """(kind, Row) for each address and domain at or over its threshold, in a fixed order.

    The order matters on PostgreSQL: two workers claiming the same rows in the same order wait
    for each other instead of deadlocking.
    """
    found = []
    if config["TREND_ALERT_ADDRESS"] > 0:
        rows = top_addresses(petition_id, since, ALERT_BATCH, config["TREND_ALERT_ADDRESS"])
        found += [("address", row) for row in rows]
    if config["TREND_ALERT_DOMAIN"] > 0:
        rows = top_domains(petition_id, since, ALERT_BATCH, config["TREND_ALERT_DOMAIN"])
        found += [("domain", row) for row in rows if not ignored_domain(row.value, config)]
    return sorted(found, key=lambda item: (item[0], item[1].value))


def claim(petition_id, kind, row, day, now):
    """Insert the alert row unless another check did today; True if this one won."""
    won = db.session.execute(
        dbutil.insert(TrendAlert)
        .values(petition_id=petition_id, kind=kind, value=row.value, day=day)
        .values(count=row.count, held=row.held, created_at=now)
        .on_conflict_do_nothing(index_elements=["petition_id", "kind", "value", "day"])
        .returning(TrendAlert.id)
    ).scalar()
    return won is not None


def check(config, now=None):
    """Claim every new offender on every open petition and queue the mails; commits once.

    Returns [(petition slug, kind, value)] claimed by this call. One mail per petition per
    staff address, listing that petition's new offenders.
    """
    if not config["ABUSE_CHECKS"]:
        return []
    if config["TREND_ALERT_ADDRESS"] <= 0 and config["TREND_ALERT_DOMAIN"] <= 0:
        return []
    now = now or utcnow()
    since = window_start(config, now)
    petitions = (
        db.session.execute(
            select(Petition)
            .where(
                Petition.state == "open",
                (Petition.closes_at.is_(None)) | (Petition.closes_at > now),
            )
            .order_by(Petition.id)
        )
        .scalars()
        .all()
    )
    claimed = []
    try:
        for petition in petitions:
            new = [
                (kind, row)
                for kind, row in offenders(petition.id, since, config)
                if claim(petition.id, kind, row, now.date(), now)
            ]
            if new:
                claimed += [(petition.slug, kind, row.value) for kind, row in new]
                queue_mail(petition, new, config)
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return claimed


def staff_urls(petition, config):
    base = public_url(config, "staff", "petitions", petition.slug)
    return f"{base}/trending", f"{base}/signatures"


def queue_mail(petition, new, config):
    trending_url, signatures_url = staff_urls(petition, config)
    alerts = [
        {
            "kind": kind,
            "value": row.value,
            "count": row.count,
            "held": row.held,
            "search_url": f"{signatures_url}?{urlencode({PARAMS[kind]: row.value})}",
        }
        for kind, row in new
    ]
    # Staff read the petition's own language: they wrote it.
    with force_locale(petition.language):
        if len(alerts) == 1:
            first = alerts[0]
            subject = ngettext(
                "Trend alert: %(count)s signature from %(value)s",
                "Trend alert: %(count)s signatures from %(value)s",
                first["count"],
                count=format_decimal(first["count"]),
                value=first["value"],
            )
        else:
            subject = _(
                "Trend alert: %(count)s addresses and domains signing heavily",
                count=format_decimal(len(alerts)),
            )
        for to in recipients(config):
            mail.enqueue(
                to,
                _("%(subject)s (%(title)s)", subject=subject, title=petition.title),
                "abuse/mail/trend_alert.txt",
                petition=petition,
                alerts=alerts,
                window=abuse.describe_window(config["TREND_WINDOW_SECONDS"]),
                trending_url=trending_url,
            )


# Registered at a short period; each app's own TREND_CHECK_SECONDS decides when it is due.
def periodic_check(app):
    state = app.extensions.setdefault("trend_alerts", {"last": None})
    started = time.monotonic()
    if state["last"] is not None and started - state["last"] < app.config["TREND_CHECK_SECONDS"]:
        return
    state["last"] = started
    claimed = check(app.config)
    if claimed:
        log.info("trend alerts: %d new offender(s)", len(claimed))
        jobs.wake(app)
