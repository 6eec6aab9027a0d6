"""`keyhall settings`: run-time settings."""

from __future__ import annotations

import json

import click

from keyhall.cli.common import emit, instance, json_option
from keyhall.directory.models import CLI_ACTOR
from keyhall.directory.settings import SETTINGS


# -- settings ----------------------------------------------------------------------------
@click.group()
def settings() -> None:
    """Show and change run-time settings."""


@settings.command("show")
@json_option
def settings_show(as_json: bool) -> None:
    """Show every setting with its current value."""
    with instance() as inst:
        values = inst.directory.settings()
        lines = [f"{k:<22} {json.dumps(values[k]):<12} {SETTINGS[k].help}" for k in values]
        emit(as_json, values, "\n".join(lines))


@settings.command("set")
@click.argument("key")
@click.argument("value")
@json_option
def settings_set(key: str, value: str, as_json: bool) -> None:
    """Change a setting."""
    with instance() as inst:
        stored = inst.directory.set_setting(key, value, actor=CLI_ACTOR)
        emit(as_json, {key: stored}, f"{key} = {json.dumps(stored)}")
