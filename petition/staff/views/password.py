"""Any staff member: change one's own password."""

from flask import current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_user
from flask_wtf import FlaskForm
from wtforms import PasswordField
from wtforms.validators import DataRequired, EqualTo, Length, ValidationError

from petition.core.extensions import db, limiter
from petition.staff import auth
from petition.staff.views import bp
from petition.staff.views.accounts import new_password_rules


class PasswordForm(FlaskForm):
    current_password = PasswordField(
        _l("Current password"),
        validators=[DataRequired(_l("Please enter your current password.")), Length(max=1000)],
    )
    new_password = PasswordField(
        _l("New password"),
        validators=new_password_rules(_l("Please choose a new password.")),
    )
    repeat_password = PasswordField(
        _l("New password again"),
        validators=[EqualTo("new_password", _l("The two new passwords differ."))],
    )

    def validate_new_password(self, field):
        if field.data == self.current_password.data:
            raise ValidationError(_l("Choose a password different from the current one."))


def account_key():
    """The logged-in account: a stolen session cannot guess its password faster than a login."""
    return f"staff:{current_user.id}"


@bp.route("/password", methods=["GET", "POST"])
@limiter.limit(
    lambda: current_app.config["LOGIN_LIMIT_PER_ACCOUNT"],
    methods=["POST"],
    key_func=account_key,
    scope="staff-password-account",
    exempt_when=lambda: not current_user.is_authenticated,
)
@auth.staff_required()
def password():
    me = current_user._get_current_object()  # the Staff row, not the proxy, for the ORM
    form = PasswordForm()
    if form.validate_on_submit():
        try:
            auth.change_password(me, form.current_password.data, form.new_password.data)
        except auth.WrongPassword:
            db.session.rollback()
            form.current_password.errors.append(
                _("That is not your current password; nothing was changed.")
            )
        except auth.AccountError as exc:
            db.session.rollback()
            form.new_password.errors.append(str(exc))
        else:
            auth.audit("staff.password")
            db.session.commit()
            # The version went up, which logged out every session of the account, this one
            # included: log this one in again at the new version.
            login_user(me)
            flash(_("Your password is changed; your other sessions are logged out."), "success")
            return redirect(url_for("staff.home"), code=303)
    status = 400 if form.is_submitted() else 200
    return render_template("staff/password.html", form=form, min_password=auth.MIN_PASSWORD), status
