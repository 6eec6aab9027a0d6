"""Alembic environment: the engine comes from keyhall.storage.migrate, never from an ini file."""

from __future__ import annotations

from alembic import context

from keyhall.storage.tables import metadata

engine = context.config.attributes["engine"]
with engine.begin() as connection:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    if connection.dialect.name == "postgresql":
        # Two nodes starting at once must not both migrate.
        connection.exec_driver_sql("SELECT pg_advisory_xact_lock(7201)")
    context.run_migrations()
