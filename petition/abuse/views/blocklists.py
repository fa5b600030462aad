"""Abuse review for staff: the blocklists (admins edit, everyone reads) and the trending report."""

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import RadioField, SelectChoice, StringField
from wtforms.validators import Length

from petition.abuse import blocklists, trending
from petition.abuse import defences as abuse
from petition.core.extensions import db
from petition.petitions.models import Petition
from petition.staff import auth
from petition.staff.views import bp

admin_required = auth.staff_required("admin")


def squeeze(value):
    return " ".join(value.split()) if value else value


class DomainForm(FlaskForm):
    domain = StringField(_l("Email domain"), filters=[squeeze], validators=[Length(max=400)])
    kind = RadioField(
        _l("What to do"),
        choices=[
            SelectChoice("block", _l("Hold signatures from it (and its subdomains)")),
            SelectChoice("allow", _l("Allow it although the disposable-mail list names it")),
        ],
        default="block",
    )
    note = StringField(_l("Note"), filters=[squeeze], validators=[Length(max=blocklists.NOTE_MAX)])


class NetworkForm(FlaskForm):
    network = StringField(_l("Address range"), filters=[squeeze], validators=[Length(max=100)])
    note = StringField(_l("Note"), filters=[squeeze], validators=[Length(max=blocklists.NOTE_MAX)])


def search_petition():
    """The petition whose signature search the page links to: ?petition=SLUG, else the newest
    open one (blocklists are global; signature search is per petition)."""
    petitions = db.session.execute(
        select(Petition.slug, Petition.title, Petition.state).order_by(
            Petition.created_at.desc(), Petition.id.desc()
        )
    ).all()
    wanted = request.args.get("petition", "")
    chosen = next((p for p in petitions if p.slug == wanted), None)
    if chosen is None:
        chosen = next((p for p in petitions if p.state == "open"), None)
    return petitions, chosen


def render_blocklists(domain_form=None, network_form=None, status=200):
    domains, networks = blocklists.entries()
    petitions, chosen = search_petition()
    config = current_app.config
    return render_template(
        "abuse/staff/blocklists.html",
        domain_form=domain_form or DomainForm(formdata=None),
        network_form=network_form or NetworkForm(formdata=None),
        domains=domains,
        networks=networks,
        configured_domains=config["BLOCKED_EMAIL_DOMAINS"],
        configured_networks=[str(n) for n in config["BLOCKED_NETWORKS"]],
        disposable_on=config["BLOCK_DISPOSABLE_EMAIL"],
        disposable_size=len(abuse.disposable_domains()),
        checks_on=config["ABUSE_CHECKS"],
        cache_seconds=config["BLOCKLIST_CACHE_SECONDS"],
        petitions=petitions,
        chosen=chosen,
        can_edit=current_user.is_admin,
    ), status


@bp.get("/blocklists")
@auth.staff_required()
def blocklists_page():
    return render_blocklists()


def back_url():
    return auth.safe_next(request.form.get("next"), url_for("staff.blocklists_page"))


@bp.post("/blocklists/domains")
@admin_required
def blocklist_add_domain():
    form = DomainForm()
    if form.validate():
        try:
            domain = blocklists.add_domain(
                form.domain.data, form.kind.data, form.note.data, staff_id=current_user.id
            )
        except blocklists.BlocklistError as exc:
            db.session.rollback()
            form.domain.errors = [*form.domain.errors, str(exc)]
        else:
            auth.audit(
                "blocklist.domain.add", domain=domain, kind=form.kind.data, note=form.note.data
            )
            db.session.commit()
            blocklists.changed()
            if form.kind.data == "allow":
                message = _("%(domain)s is allowed despite the disposable list.", domain=domain)
            else:
                message = _("New signatures from %(domain)s are held.", domain=domain)
            flash(message, "success")
            return redirect(back_url(), code=303)
    return render_blocklists(domain_form=form, status=400)


@bp.post("/blocklists/domains/<int:entry_id>/delete")
@admin_required
def blocklist_remove_domain(entry_id):
    if not FlaskForm().validate():
        return render_blocklists(status=400)
    removed = blocklists.remove_domain(entry_id)
    if removed is None:
        flash(_("That entry was already removed."), "info")
        return redirect(url_for("staff.blocklists_page"), code=303)
    auth.audit("blocklist.domain.remove", **removed)
    db.session.commit()
    blocklists.changed()
    flash(_("%(domain)s is off the list.", domain=removed["domain"]), "success")
    return redirect(url_for("staff.blocklists_page"), code=303)


@bp.post("/blocklists/networks")
@admin_required
def blocklist_add_network():
    form = NetworkForm()
    if form.validate():
        try:
            network = blocklists.add_network(
                form.network.data, form.note.data, staff_id=current_user.id
            )
        except blocklists.BlocklistError as exc:
            db.session.rollback()
            form.network.errors = [*form.network.errors, str(exc)]
        else:
            auth.audit("blocklist.network.add", network=network, note=form.note.data)
            db.session.commit()
            blocklists.changed()
            flash(_("New signatures from %(network)s are held.", network=network), "success")
            return redirect(back_url(), code=303)
    return render_blocklists(network_form=form, status=400)


@bp.post("/blocklists/networks/<int:entry_id>/delete")
@admin_required
def blocklist_remove_network(entry_id):
    if not FlaskForm().validate():
        return render_blocklists(status=400)
    removed = blocklists.remove_network(entry_id)
    if removed is None:
        flash(_("That entry was already removed."), "info")
        return redirect(url_for("staff.blocklists_page"), code=303)
    auth.audit("blocklist.network.remove", network=removed)
    db.session.commit()
    blocklists.changed()
    flash(_("%(network)s is off the list.", network=removed), "success")
    return redirect(url_for("staff.blocklists_page"), code=303)


@bp.get("/petitions/<slug>/trending")
@auth.staff_required()
def trending_page(slug):
    petition = db.one_or_404(select(Petition).where(Petition.slug == slug))
    config = current_app.config
    found = trending.report(petition, config)
    return render_template(
        "abuse/staff/trending.html",
        petition=petition,
        report=found,
        window=abuse.describe_window(config["TREND_WINDOW_SECONDS"]),
        thresholds={
            "address": config["TREND_ALERT_ADDRESS"],
            "domain": config["TREND_ALERT_DOMAIN"],
        },
        ignored=lambda domain: trending.ignored_domain(domain, config),
        single_network=single_network,
        can_edit=current_user.is_admin,
    )


def single_network(ip):
    """One address as a CIDR range (/32 or /128), for the "block" button."""
    try:
        return blocklists.normalise_network(ip)
    except blocklists.BlocklistError:
        return None
