"""The `keyhall` command. Each command is parse -> one use case -> print; errors are one line."""

from __future__ import annotations

import os

import click

from keyhall.cli import accounts as _accounts  # noqa: F401 - adds `user` subcommands
from keyhall.cli import credentials as _credentials  # noqa: F401 - adds `user` subcommands
from keyhall.cli.clients import client
from keyhall.cli.common import KeyhallGroup, emit, instance, json_option
from keyhall.cli.external import external
from keyhall.cli.groups import group
from keyhall.cli.keys import keys
from keyhall.cli.ldap import ldap
from keyhall.cli.settings import settings
from keyhall.cli.tokens import token
from keyhall.cli.transfer import export_, import_
from keyhall.cli.users import user
from keyhall.config import load_config
from keyhall.logs import configure_logging


@click.group(cls=KeyhallGroup)
@click.version_option(package_name="keyhall")
def main() -> None:
    """Keyhall: one account for every self-hosted app."""
    # Everything Keyhall writes (database, keys, secrets) is private to its user.
    os.umask(0o077)
    # Commands print results on stdout (often JSON); logs go to stderr, warnings and up.
    configure_logging("warning")


@main.command()
def serve() -> None:
    """Start the HTTP server and the LDAP listener."""
    from keyhall.serve import run

    run(load_config())


@main.command()
@json_option
def migrate(as_json: bool) -> None:
    """Bring the database schema up to date."""
    from keyhall.storage.migrate import current_revision

    with instance() as inst:
        revision = current_revision(inst.store.engine)
        emit(as_json, {"revision": revision}, f"database schema at revision {revision}")


for command in (user, group, settings, ldap, external, client, keys, token, import_, export_):
    main.add_command(command)
