"""`flask staff ...`"""

import click
from flask.cli import AppGroup

from petition.core.extensions import db


@click.group(cls=AppGroup)
def staff():
    """Staff accounts."""


@staff.command("create")
@click.argument("email")
@click.option("--role", type=click.Choice(["admin", "campaigner"]), required=True)
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def staff_create(email, role, password_stdin):
    """Create a staff account; the password comes from a prompt or standard input."""
    import sys

    from petition.staff.auth import AccountError, create_staff

    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        account = create_staff(email, password, role)
    except AccountError as exc:
        raise click.ClickException(str(exc)) from None
    db.session.flush()
    from petition.staff.auth import audit

    audit("staff.create", staff=None, email=account.email, role=role, via="cli")
    db.session.commit()
    click.echo(f"created {role} {account.email}")


@staff.command("password")
@click.argument("email")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def staff_password(email, password_stdin):
    """Set an account's password and log out its sessions (for an admin locked out of all)."""
    import sys

    from petition.staff.auth import AccountError, audit, set_password, staff_by_email

    account = staff_by_email(email)
    if account is None:
        raise click.ClickException(f"there is no staff account for {email.strip().lower()}")
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("New password", hide_input=True, confirmation_prompt=True)
    try:
        set_password(account, password)
    except AccountError as exc:
        raise click.ClickException(str(exc)) from None
    audit("staff.password_reset", staff=None, email=account.email, via="cli")
    db.session.commit()
    click.echo(f"new password set for {account.email}; its sessions are logged out")
