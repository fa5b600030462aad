"""Logging in and out."""

from flask import current_app, redirect, render_template, request, url_for
from flask_login import current_user, login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired, Length

from petition.core.extensions import db, limiter
from petition.staff import auth
from petition.staff.views import bp, mark_active


class LoginForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(), Length(max=320)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=1000)])


def login_account_key():
    """The account being tried, so one account cannot be guessed at from many addresses."""
    return "account:" + (request.form.get("email") or "").strip().lower()[:320]


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(
    lambda: current_app.config["LOGIN_LIMIT_PER_ADDRESS"], methods=["POST"], scope="staff-login"
)
@limiter.limit(
    lambda: current_app.config["LOGIN_LIMIT_PER_ACCOUNT"],
    methods=["POST"],
    key_func=login_account_key,
    scope="staff-login-account",
)
def login():
    if current_user.is_authenticated:
        return redirect(url_for("staff.home"))
    form = LoginForm()
    error = None
    if form.validate_on_submit():
        staff = auth.authenticate(form.email.data, form.password.data)
        if staff is not None:
            auth.audit("login", staff=staff)
            db.session.commit()
            login_user(staff)
            mark_active()
            target = auth.safe_next(request.args.get("next"), url_for("staff.home"))
            return redirect(target, code=303)
        error = "Wrong email or password."
    status = 400 if request.method == "POST" else 200
    return render_template("staff/login.html", form=form, error=error), status


@bp.post("/logout")
@auth.staff_required()
def logout():
    auth.audit("logout")
    # The signed cookie would otherwise keep working wherever a copy of it is: a new session
    # version ends it for good (and the account's sessions elsewhere, as a password change does).
    auth.end_sessions(current_user._get_current_object())
    db.session.commit()
    logout_user()
    return redirect(url_for("staff.login"), code=303)
