"""Shared pieces of the CLI: opening the instance, printing text or JSON, reading passwords."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import click

from keyhall.config import load_config
from keyhall.directory.models import Group, User
from keyhall.errors import KeyhallError
from keyhall.runtime import Instance, open_instance

F = TypeVar("F", bound=Callable[..., Any])


def json_option(fn: F) -> F:
    return click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")(fn)


@contextmanager
def instance() -> Iterator[Instance]:
    inst = open_instance(load_config())
    try:
        yield inst
    finally:
        inst.close()


def emit(as_json: bool, data: Any, text: str) -> None:
    click.echo(json.dumps(data, indent=2, default=str) if as_json else text)


def read_password() -> str:
    line = sys.stdin.readline()
    if not line:
        raise click.UsageError("--password-stdin: nothing on standard input")
    return line.rstrip("\r\n")


def user_json(user: User, groups: list[str]) -> dict[str, Any]:
    return {
        "id": user.id,
        "username": user.username,
        "email": user.email,
        "display_name": user.display_name,
        "given_name": user.given_name,
        "family_name": user.family_name,
        "role": user.role.value,
        "active": user.active,
        "source": user.source,
        "external_missing": user.external_missing,
        "groups": groups,
        "created_at": user.created_at.isoformat(),
        "updated_at": user.updated_at.isoformat(),
    }


def group_json(group: Group, members: list[str]) -> dict[str, Any]:
    return {
        "id": group.id,
        "name": group.name,
        "description": group.description,
        "source": group.source,
        "members": members,
        "created_at": group.created_at.isoformat(),
    }


class KeyhallGroup(click.Group):
    """Turns domain errors into one line on stderr and exit status 1."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except KeyhallError as exc:
            click.echo(f"keyhall: error: {exc.message}", err=True)
            ctx.exit(1)
