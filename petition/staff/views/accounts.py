"""Admin only: staff accounts and the audit log."""

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from wtforms import EmailField, PasswordField, SelectField
from wtforms.validators import DataRequired, Length, ValidationError

from petition.core.emails import InvalidEmail, check_email
from petition.core.extensions import db
from petition.staff import auth
from petition.staff.models import STAFF_ROLES, Staff
from petition.staff.views import bp

admin_required = auth.staff_required("admin")

ROLE_NAMES = {"admin": _l("Administrator"), "campaigner": _l("Campaigner")}


@bp.app_template_filter()
def role_name(role):
    return ROLE_NAMES.get(role, role)


def role_choices():
    return [(role, ROLE_NAMES.get(role, role)) for role in STAFF_ROLES]


def new_password_rules(required_message):
    """Validators of a new password field: present, at least auth.MIN_PASSWORD characters."""
    return [
        DataRequired(required_message),
        Length(
            min=auth.MIN_PASSWORD,
            max=1000,
            message=_l("Use at least %(n)s characters.", n=auth.MIN_PASSWORD),
        ),
    ]


class StaffForm(FlaskForm):
    email = EmailField(
        _l("Email"),
        filters=[lambda v: v.strip().lower() if v else v],
        validators=[DataRequired(_l("Please enter an email address.")), Length(max=320)],
    )
    role = SelectField(_l("Role"), choices=role_choices)
    password = PasswordField(
        _l("Initial password"),
        validators=new_password_rules(_l("Please set a password.")),
    )

    def validate_email(self, field):
        try:
            check_email(field.data)
        except InvalidEmail as exc:
            raise ValidationError(
                _l("This email address is not valid: %(reason)s", reason=str(exc))
            ) from None


class RoleForm(FlaskForm):
    role = SelectField(_l("Role"), choices=role_choices)


class ResetPasswordForm(FlaskForm):
    password = PasswordField(
        _l("New password"),
        validators=new_password_rules(_l("Please set a password.")),
    )


@bp.get("/accounts")
@admin_required
def accounts(error=None, status=200):
    staff = db.session.execute(select(Staff).order_by(Staff.email)).scalars().all()
    return render_template(
        "staff/accounts.html", accounts=staff, roles=STAFF_ROLES, error=error
    ), status


@bp.route("/accounts/new", methods=["GET", "POST"])
@admin_required
def account_new():
    form = StaffForm()
    if form.validate_on_submit():
        try:
            account = auth.create_staff(form.email.data, form.password.data, form.role.data)
            db.session.flush()
            auth.audit("staff.create", email=account.email, role=account.role, via="web")
            db.session.commit()
        except auth.AccountError as exc:
            db.session.rollback()
            form.email.errors.append(str(exc))
        except IntegrityError:
            db.session.rollback()
            form.email.errors.append(_("There is already an account for this address."))
        else:
            flash(_("Account created for %(email)s.", email=account.email), "success")
            return redirect(url_for("staff.accounts"), code=303)
    status = 400 if form.is_submitted() else 200
    return render_template("staff/account_new.html", form=form), status


def other_account(staff_id):
    """The account to change, or an error message: nobody changes their own role or status."""
    account = db.session.get(Staff, staff_id)
    if account is None:
        return None, _("There is no such account.")
    if account.id == current_user.id:
        return None, _("You cannot change your own account; ask another admin.")
    return account, None


@bp.post("/accounts/<int:staff_id>/deactivate")
@admin_required
def account_deactivate(staff_id):
    return set_active(staff_id, False)


@bp.post("/accounts/<int:staff_id>/reactivate")
@admin_required
def account_reactivate(staff_id):
    return set_active(staff_id, True)


def set_active(staff_id, active):
    account, error = other_account(staff_id)
    if error:
        return accounts(error=error, status=400)
    # Both ways the account's sessions end (auth.set_active says why).
    if auth.set_active(account, active):
        auth.audit("staff.reactivate" if active else "staff.deactivate", email=account.email)
        db.session.commit()
    if active:
        flash(_("%(email)s can log in again.", email=account.email), "success")
    else:
        flash(_("%(email)s is deactivated and logged out.", email=account.email), "success")
    return redirect(url_for("staff.accounts"), code=303)


@bp.post("/accounts/<int:staff_id>/role")
@admin_required
def account_role(staff_id):
    form = RoleForm()
    if not form.validate():
        return accounts(error=_("Choose one of the roles."), status=400)
    account, error = other_account(staff_id)
    if error:
        return accounts(error=error, status=400)
    if account.role != form.role.data:
        auth.audit("staff.role", email=account.email, old=account.role, new=form.role.data)
        account.role = form.role.data
        db.session.commit()
        flash(
            _("%(email)s is now %(role)s.", email=account.email, role=role_name(account.role)),
            "success",
        )
    return redirect(url_for("staff.accounts"), code=303)


@bp.route("/accounts/<int:staff_id>/password", methods=["GET", "POST"])
@admin_required
def account_password(staff_id):
    if staff_id == current_user.id:
        # Here no current password is asked for; one's own goes through the page that asks.
        return accounts(error=_("Change your own password on the Password page."), status=400)
    account, error = other_account(staff_id)
    if error:
        return accounts(error=error, status=400)
    form = ResetPasswordForm()
    if form.validate_on_submit():
        auth.set_password(account, form.password.data)
        auth.audit("staff.password_reset", email=account.email, via="web")
        db.session.commit()
        flash(
            _("%(email)s has a new password and is logged out everywhere.", email=account.email),
            "success",
        )
        return redirect(url_for("staff.accounts"), code=303)
    status = 400 if form.is_submitted() else 200
    return render_template(
        "staff/account_password.html",
        form=form,
        account=account,
        min_password=auth.MIN_PASSWORD,
    ), status
