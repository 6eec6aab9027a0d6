"""Accounts on the web: recovery codes, passkeys, reset/invitation links, avatars, throttling.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

Timestamp = sa.DateTime(timezone=True)


def _user_fk(table: str, *, primary_key: bool = False) -> sa.Column[str]:
    return sa.Column(
        "user_id",
        sa.String(36),
        sa.ForeignKey("users.id", ondelete="CASCADE", name=f"fk_{table}_user_id"),
        primary_key=primary_key,
        nullable=False,
        index=not primary_key,
    )


def upgrade() -> None:
    op.create_table(
        "recovery_codes",
        _user_fk("recovery_codes"),
        sa.Column("digest", sa.String(64), primary_key=True),
        sa.Column("created_at", Timestamp, nullable=False),
        sa.Column("used_at", Timestamp),
    )
    op.create_table(
        "webauthn_credentials",
        sa.Column("id", sa.String(1400), primary_key=True),
        _user_fk("webauthn_credentials"),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("public_key", sa.LargeBinary, nullable=False),
        sa.Column("sign_count", sa.BigInteger, nullable=False),
        sa.Column("transports", sa.JSON, nullable=False),
        sa.Column("device_type", sa.String(16), nullable=False),
        sa.Column("created_at", Timestamp, nullable=False),
        sa.Column("last_used_at", Timestamp),
    )
    op.create_table(
        "webauthn_challenges",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("purpose", sa.String(16), nullable=False),
        sa.Column("user_id", sa.String(36)),
        sa.Column("challenge", sa.String(128), nullable=False),
        sa.Column("expires_at", Timestamp, nullable=False, index=True),
    )
    op.create_table(
        "account_links",
        sa.Column("digest", sa.String(64), primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        _user_fk("account_links"),
        sa.Column("created_at", Timestamp, nullable=False),
        sa.Column("expires_at", Timestamp, nullable=False, index=True),
        sa.Column("used_at", Timestamp),
    )
    op.create_table(
        "avatars",
        _user_fk("avatars", primary_key=True),
        sa.Column("content_type", sa.String(32), nullable=False),
        sa.Column("data", sa.LargeBinary, nullable=False),
        sa.Column("updated_at", Timestamp, nullable=False),
    )
    op.create_table(
        "login_throttle",
        sa.Column("key", sa.String(300), primary_key=True),
        sa.Column("failures", sa.Integer, nullable=False),
        sa.Column("last_failure_at", Timestamp, nullable=False, index=True),
    )
    op.create_table(
        "known_browsers",
        _user_fk("known_browsers", primary_key=True),
        sa.Column("browser_hash", sa.String(64), primary_key=True),
        sa.Column("last_seen_at", Timestamp, nullable=False),
    )


def downgrade() -> None:
    for table in (
        "known_browsers",
        "login_throttle",
        "avatars",
        "account_links",
        "webauthn_challenges",
        "webauthn_credentials",
        "recovery_codes",
    ):
        op.drop_table(table)
