"""`keyhall group`: manage groups."""

from __future__ import annotations

import click

from keyhall.cli.common import emit, group_json, instance, json_option
from keyhall.directory.models import CLI_ACTOR, Group
from keyhall.runtime import Instance


# -- groups ------------------------------------------------------------------------------
@click.group()
def group() -> None:
    """Manage groups."""


@group.command("add")
@click.argument("name")
@click.option("--description", default="")
@json_option
def group_add(name: str, description: str, as_json: bool) -> None:
    """Create a group."""
    with instance() as inst:
        created = inst.directory.create_group(name, description=description, actor=CLI_ACTOR)
        emit(as_json, group_json(created, []), f"created group {created.name}")


@group.command("list")
@json_option
def group_list(as_json: bool) -> None:
    """List groups with their member counts."""
    with instance() as inst:
        view = inst.directory.view
        inst.directory.refresh()
        groups = sorted(view.all_groups(), key=lambda g: g.name)
        rows = [group_json(g, _member_names(inst, g)) for g in groups]
        lines = [f"{g.name:<24} {len(view.members(g.id)):>6} members" for g in groups]
        emit(as_json, rows, "\n".join(lines) or "no groups")


@group.command("delete")
@click.argument("name")
@json_option
def group_delete(name: str, as_json: bool) -> None:
    """Delete a group (its members stay)."""
    with instance() as inst:
        inst.directory.delete_group(name, actor=CLI_ACTOR)
        emit(as_json, {"name": name, "deleted": True}, f"deleted group {name}")


@group.command("add-member")
@click.argument("name")
@click.argument("usernames", nargs=-1, required=True)
@json_option
def group_add_member(name: str, usernames: tuple[str, ...], as_json: bool) -> None:
    """Add users to a group."""
    with instance() as inst:
        added = inst.directory.add_members(name, usernames, actor=CLI_ACTOR)
        emit(as_json, {"group": name, "added": added}, f"added {len(added)} to {name}")


@group.command("remove-member")
@click.argument("name")
@click.argument("usernames", nargs=-1, required=True)
@json_option
def group_remove_member(name: str, usernames: tuple[str, ...], as_json: bool) -> None:
    """Remove users from a group."""
    with instance() as inst:
        removed = inst.directory.remove_members(name, usernames, actor=CLI_ACTOR)
        emit(as_json, {"group": name, "removed": removed}, f"removed {len(removed)} from {name}")


def _member_names(inst: Instance, g: Group) -> list[str]:
    users = inst.directory.view.users
    return sorted(users[u].username for u in inst.directory.view.members(g.id) if u in users)
