"""`keyhall external`: the external LDAP / Active Directory connector."""

from __future__ import annotations

import json
from typing import Any

import click

from keyhall.cli.common import emit, instance, json_option, read_password
from keyhall.connectors.connector import ExternalDirectory
from keyhall.connectors.settings import KEYS
from keyhall.connectors.sync import SyncReport
from keyhall.directory.models import CLI_ACTOR


@click.group()
def external() -> None:
    """Users and groups from an external LDAP or Active Directory."""


@external.command("show")
@json_option
def external_show(as_json: bool) -> None:
    """Show the connector's settings (secrets masked) and the last sync."""
    with instance() as inst:
        shown = ExternalDirectory(inst.directory, inst.secret_key).show()
        lines = [f"{k:<24} {json.dumps(v)}" for k, v in shown["settings"].items()]
        last = shown["last_sync"]
        lines.append(f"last sync: {_run_line(last) if last else 'never'}")
        emit(as_json, shown, "\n".join(lines))


@external.command("set")
@click.argument("assignments", nargs=-1, required=True)
@json_option
def external_set(assignments: tuple[str, ...], as_json: bool) -> None:
    """Change settings: KEY=VALUE... (KEY= resets a key to its preset or default).

    Keys: see `keyhall external show`. bind_password may be given as bind_password=-
    to read it from standard input.
    """
    values: dict[str, str] = {}
    for item in assignments:
        key, sep, value = item.partition("=")
        if not sep:
            raise click.UsageError(f"{item!r}: expected KEY=VALUE")
        if key in KEYS and KEYS[key].secret and value == "-":
            value = read_password()
        values[key.strip()] = value
    with instance() as inst:
        shown = ExternalDirectory(inst.directory, inst.secret_key).set(values, actor=CLI_ACTOR)
        changed = {k: shown[k] for k in values if k in shown}
        emit(as_json, shown, "\n".join(f"{k} = {json.dumps(v)}" for k, v in changed.items()))


@external.command("test")
@click.argument("username")
@click.option("--password-stdin", is_flag=True, required=True, help="Read the password.")
@click.option("--totp", default=None, help="One-time code, for providers that check it.")
@json_option
def external_test(username: str, password_stdin: bool, totp: str | None, as_json: bool) -> None:
    """Check USERNAME's password against the directory (local accounts are not touched)."""
    password = read_password()
    with instance() as inst:
        check = ExternalDirectory(inst.directory, inst.secret_key).test_login(
            username, password, totp
        )
    found = check.user
    data: dict[str, Any] = {"outcome": check.outcome.value, "detail": check.detail}
    if found is not None:
        data["entry"] = {
            "dn": found.dn,
            "external_id": found.external_id,
            "username": found.username,
            "email": found.email,
            "display_name": found.display_name,
            "given_name": found.given_name,
            "family_name": found.family_name,
            "disabled": found.disabled,
        }
    text = f"{check.outcome.value}" + (f": {check.detail}" if check.detail else "")
    if found is not None:
        text += f"\n  dn: {found.dn}\n  username: {found.username}\n  email: {found.email}"
    emit(as_json, data, text)
    if not check.ok:
        raise click.exceptions.Exit(1)


@external.command("sync")
@click.option("--dry-run", is_flag=True, help="Show what would change; change nothing.")
@json_option
def external_sync(dry_run: bool, as_json: bool) -> None:
    """Sync users and groups from the directory now."""
    with instance() as inst:
        report = ExternalDirectory(inst.directory, inst.secret_key).sync(
            actor=CLI_ACTOR, dry_run=dry_run
        )
    emit(as_json, report.as_dict(), _report_text(report))
    if report.status != "ok":
        raise click.exceptions.Exit(1)


@external.command("disable")
@json_option
def external_disable(as_json: bool) -> None:
    """Stop using the directory: its users become local users with no password set."""
    with instance() as inst:
        counts = ExternalDirectory(inst.directory, inst.secret_key).disable(actor=CLI_ACTOR)
    emit(
        as_json,
        counts,
        f"disabled; {counts['users']} users and {counts['groups']} groups are now local "
        "(users need a password set before they can log in)",
    )


def _report_text(report: SyncReport) -> str:
    prefix = "dry run: " if report.dry_run else ""
    lines = [prefix + _run_line(report.as_dict())]
    lines += [f"conflict: {c}" for c in report.conflicts]
    lines += [f"error: {e}" for e in report.errors]
    return "\n".join(lines)


def _run_line(run: dict[str, Any]) -> str:
    return (
        f"{run['status']}: {run['created']} created, {run['updated']} updated, "
        f"{run['disabled']} disabled, {run['restored']} restored, "
        f"{run['groups_created']} groups created, {run['memberships_changed']} memberships "
        f"changed, {len(run['conflicts'])} conflicts, {run['duration_ms']} ms"
    )
