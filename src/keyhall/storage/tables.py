"""The schema, as SQLAlchemy Core tables. Alembic migrations create it; code reads it from here.

Every directory row carries the directory version of its last change, and deletions leave a
row in `deletions`, so each process can load exactly what changed since the version it saw.
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_name)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s",
        "pk": "pk_%(table_name)s",
    }
)

Timestamp = sa.DateTime(timezone=True)

directory_state = sa.Table(
    "directory_state",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("version", sa.BigInteger, nullable=False),
)

users = sa.Table(
    "users",
    metadata,
    sa.Column("number", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("id", sa.String(36), nullable=False, unique=True),
    sa.Column("username", sa.String(64), nullable=False, unique=True),
    sa.Column("email", sa.String(254), nullable=False),
    sa.Column("email_key", sa.String(254), nullable=False, unique=True),
    sa.Column("display_name", sa.String(256), nullable=False),
    sa.Column("given_name", sa.String(256), nullable=False),
    sa.Column("family_name", sa.String(256), nullable=False),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("active", sa.Boolean, nullable=False),
    sa.Column("source", sa.String(64), nullable=False),
    sa.Column("external_id", sa.String(255)),
    sa.Column("external_missing", sa.Boolean, nullable=False),
    sa.Column("password_hash", sa.Text),
    sa.Column("created_at", Timestamp, nullable=False),
    sa.Column("updated_at", Timestamp, nullable=False),
    sa.Column("version", sa.BigInteger, nullable=False, index=True),
    sa.UniqueConstraint("source", "external_id", name="uq_users_source_external_id"),
)

groups = sa.Table(
    "groups",
    metadata,
    sa.Column("number", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("id", sa.String(36), nullable=False, unique=True),
    sa.Column("name", sa.String(64), nullable=False, unique=True),
    sa.Column("description", sa.String(512), nullable=False),
    sa.Column("source", sa.String(64), nullable=False),
    sa.Column("external_id", sa.String(255)),
    sa.Column("external_missing", sa.Boolean, nullable=False),
    sa.Column("created_at", Timestamp, nullable=False),
    sa.Column("updated_at", Timestamp, nullable=False),
    sa.Column("version", sa.BigInteger, nullable=False, index=True),
    sa.UniqueConstraint("source", "external_id", name="uq_groups_source_external_id"),
)

memberships = sa.Table(
    "memberships",
    metadata,
    sa.Column(
        "group_number",
        sa.Integer,
        sa.ForeignKey("groups.number", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column(
        "user_number",
        sa.Integer,
        sa.ForeignKey("users.number", ondelete="CASCADE"),
        primary_key=True,
        index=True,
    ),
)

deletions = sa.Table(
    "deletions",
    metadata,
    sa.Column("version", sa.BigInteger, nullable=False, index=True),
    sa.Column("kind", sa.String(8), nullable=False),
    sa.Column("id", sa.String(36), nullable=False),
)

settings = sa.Table(
    "settings",
    metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("value", sa.JSON, nullable=False),
)

audit_events = sa.Table(
    "audit_events",
    metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True),
    sa.Column("at", Timestamp, nullable=False, index=True),
    sa.Column("actor", sa.String(128), nullable=False),
    sa.Column("action", sa.String(64), nullable=False, index=True),
    sa.Column("target", sa.String(256), nullable=False),
    sa.Column("outcome", sa.String(32), nullable=False),
    sa.Column("ip", sa.String(64)),
    sa.Column("details", sa.JSON, nullable=False),
)
