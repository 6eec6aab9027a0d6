"""`keyhall user totp-enroll` and `keyhall user app-password`: second factor, app passwords."""

from __future__ import annotations

import click

from keyhall.cli.common import emit, instance, json_option
from keyhall.cli.users import user
from keyhall.directory.credentials import Credentials
from keyhall.directory.models import CLI_ACTOR


@user.command("totp-enroll")
@click.argument("username")
@json_option
def totp_enroll(username: str, as_json: bool) -> None:
    """Give USERNAME a new TOTP secret, active at once; print its otpauth:// URI."""
    with instance() as inst:
        uri = Credentials(inst.directory, inst.secret_key).enroll_totp(
            username, actor=CLI_ACTOR, confirmed=True
        )
        emit(as_json, {"username": username, "otpauth_uri": uri}, uri)


@user.command("totp-remove")
@click.argument("username")
@json_option
def totp_remove(username: str, as_json: bool) -> None:
    """Remove USERNAME's TOTP second factor."""
    with instance() as inst:
        removed = Credentials(inst.directory, inst.secret_key).remove_totp(
            username, actor=CLI_ACTOR
        )
        text = f"removed {username}'s TOTP" if removed else f"{username} had no TOTP"
        emit(as_json, {"username": username, "removed": removed}, text)


@user.group("app-password")
def app_password() -> None:
    """Per-app passwords that bind without a second factor."""


@app_password.command("add")
@click.argument("username")
@click.argument("name")
@json_option
def app_password_add(username: str, name: str, as_json: bool) -> None:
    """Create an app password named NAME; it is printed once and can't be shown again."""
    with instance() as inst:
        created, secret = Credentials(inst.directory, inst.secret_key).add_app_password(
            username, name, actor=CLI_ACTOR
        )
        data = {"username": username, "name": created.name, "password": secret}
        emit(as_json, data, secret)


@app_password.command("list")
@click.argument("username")
@json_option
def app_password_list(username: str, as_json: bool) -> None:
    """List USERNAME's app passwords (names and dates, never the secrets)."""
    with instance() as inst:
        found = Credentials(inst.directory, inst.secret_key).app_passwords(username)
        rows = [
            {
                "name": p.name,
                "created_at": p.created_at.isoformat(),
                "last_used_at": None if p.last_used_at is None else p.last_used_at.isoformat(),
            }
            for p in found
        ]
        lines = [
            f"{r['name']:<32} created {r['created_at']}  last used {r['last_used_at'] or 'never'}"
            for r in rows
        ]
        emit(as_json, rows, "\n".join(lines) or "no app passwords")


@app_password.command("revoke")
@click.argument("username")
@click.argument("name")
@json_option
def app_password_revoke(username: str, name: str, as_json: bool) -> None:
    """Revoke USERNAME's app password NAME: binds with it fail from now on."""
    with instance() as inst:
        Credentials(inst.directory, inst.secret_key).revoke_app_password(
            username, name, actor=CLI_ACTOR
        )
        emit(as_json, {"username": username, "name": name, "revoked": True}, f"revoked {name}")
