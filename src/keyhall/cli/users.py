"""`keyhall user`: manage users."""

from __future__ import annotations

import click

from keyhall.cli.common import emit, instance, json_option, read_password, user_json
from keyhall.directory.models import CLI_ACTOR


# -- users -------------------------------------------------------------------------------
@click.group()
def user() -> None:
    """Manage users."""


@user.command("add")
@click.argument("username")
@click.option("--email", required=True)
@click.option("--name", "display_name", help="Display name (default: the username).")
@click.option("--admin", is_flag=True, help="Give the admin role.")
@click.option("--group", "groups", multiple=True, help="Add to this existing group.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@json_option
def user_add(
    username: str,
    email: str,
    display_name: str | None,
    admin: bool,
    groups: tuple[str, ...],
    password_stdin: bool,
    as_json: bool,
) -> None:
    """Create a user. The first user created owns the instance."""
    password = read_password() if password_stdin else None
    with instance() as inst:
        created = inst.directory.create_user(
            username,
            email,
            display_name=display_name,
            admin=admin,
            password=password,
            groups=groups,
            actor=CLI_ACTOR,
        )
        text = f"created {created.role.value} {created.username} <{created.email}>"
        if password is None:
            text += (
                f"\nno password set: keyhall user set-password {created.username} --password-stdin"
            )
        emit(as_json, user_json(created, sorted(groups)), text)


@user.command("list")
@json_option
def user_list(as_json: bool) -> None:
    """List users."""
    with instance() as inst:
        d = inst.directory
        d.refresh()
        users = sorted(d.view.all_users(), key=lambda u: u.username)
        rows = [user_json(u, d.view.group_names_of(u.id)) for u in users]
        lines = [
            f"{u.username:<24} {u.email:<32} {u.role.value:<6} "
            f"{'active' if u.active else 'disabled'}"
            for u in users
        ]
        emit(as_json, rows, "\n".join(lines) or "no users")


@user.command("show")
@click.argument("username")
@json_option
def user_show(username: str, as_json: bool) -> None:
    """Show one user."""
    with instance() as inst:
        found = inst.directory.user(username)
        data = user_json(found, inst.directory.view.group_names_of(found.id))
        emit(as_json, data, "\n".join(f"{k}: {v}" for k, v in data.items()))


@user.command("set-password")
@click.argument("username")
@click.option("--password-stdin", is_flag=True, required=True)
@json_option
def user_set_password(username: str, password_stdin: bool, as_json: bool) -> None:
    """Set a user's password, read from standard input."""
    password = read_password()
    with instance() as inst:
        inst.directory.set_password(username, password, actor=CLI_ACTOR)
        emit(as_json, {"username": username, "password_set": True}, f"password set for {username}")


def _set_active(username: str, active: bool, as_json: bool) -> None:
    with instance() as inst:
        changed = inst.directory.set_active(username, active, actor=CLI_ACTOR)
        state = "enabled" if active else "disabled"
        emit(
            as_json, {"username": changed.username, "active": changed.active}, f"{state} {username}"
        )


@user.command("disable")
@click.argument("username")
@json_option
def user_disable(username: str, as_json: bool) -> None:
    """Disable a user: they can no longer log in anywhere."""
    _set_active(username, False, as_json)


@user.command("enable")
@click.argument("username")
@json_option
def user_enable(username: str, as_json: bool) -> None:
    """Enable a disabled user."""
    _set_active(username, True, as_json)


@user.command("delete")
@click.argument("username")
@json_option
def user_delete(username: str, as_json: bool) -> None:
    """Delete a user and their memberships."""
    with instance() as inst:
        inst.directory.delete_user(username, actor=CLI_ACTOR)
        emit(as_json, {"username": username, "deleted": True}, f"deleted {username}")
