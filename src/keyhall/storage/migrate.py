"""Run Alembic migrations from code: at `keyhall serve`, `keyhall migrate` and any CLI command."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from keyhall.logs import get_logger

log = get_logger("keyhall.storage")
MIGRATIONS = Path(__file__).parent / "migrations"


def _config(engine: sa.Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def head_revision(engine: sa.Engine) -> str | None:
    return ScriptDirectory.from_config(_config(engine)).get_current_head()


def current_revision(engine: sa.Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: sa.Engine) -> bool:
    """Bring the schema to the newest revision; return whether anything ran."""
    before, head = current_revision(engine), head_revision(engine)
    if before == head:
        return False
    command.upgrade(_config(engine), "head")
    log.info("database migrated", revision_from=before or "empty", revision_to=head)
    return True
