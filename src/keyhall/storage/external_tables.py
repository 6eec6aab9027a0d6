"""Tables of the external directory connector (migration 0004): settings, lease, sync reports."""

from __future__ import annotations

import sqlalchemy as sa

from keyhall.storage.tables import Timestamp, metadata

external_settings = sa.Table(
    "external_settings",
    metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    # Secrets are stored sealed (see connectors/settings.py), never in clear.
    sa.Column("value", sa.JSON, nullable=False),
)

external_leases = sa.Table(
    "external_leases",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("holder", sa.String(128), nullable=False),
    sa.Column("expires_at", Timestamp, nullable=False),
)

external_sync_runs = sa.Table(
    "external_sync_runs",
    metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True),
    sa.Column("started_at", Timestamp, nullable=False, index=True),
    sa.Column("finished_at", Timestamp, nullable=False),
    sa.Column("trigger", sa.String(32), nullable=False),
    sa.Column("dry_run", sa.Boolean, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("created", sa.Integer, nullable=False),
    sa.Column("updated", sa.Integer, nullable=False),
    sa.Column("disabled", sa.Integer, nullable=False),
    sa.Column("restored", sa.Integer, nullable=False),
    sa.Column("groups_created", sa.Integer, nullable=False),
    sa.Column("groups_updated", sa.Integer, nullable=False),
    sa.Column("memberships_changed", sa.Integer, nullable=False),
    sa.Column("conflicts", sa.JSON, nullable=False),
    sa.Column("errors", sa.JSON, nullable=False),
    sa.Column("duration_ms", sa.Integer, nullable=False),
)
