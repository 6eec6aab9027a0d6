"""Tables for second factors, app passwords and the LDAP front's own state (migration 0003)."""

from __future__ import annotations

import sqlalchemy as sa

from keyhall.storage.tables import Timestamp, metadata

totp_secrets = sa.Table(
    "totp_secrets",
    metadata,
    sa.Column(
        "user_id",
        sa.String(36),
        sa.ForeignKey("users.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("sealed_secret", sa.Text, nullable=False),
    sa.Column("confirmed", sa.Boolean, nullable=False),
    # RFC 6238 §5.2: a code is accepted once; this is the last time-step that was.
    sa.Column("last_step", sa.BigInteger, nullable=False),
    sa.Column("created_at", Timestamp, nullable=False),
)

app_passwords = sa.Table(
    "app_passwords",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column(
        "user_id",
        sa.String(36),
        sa.ForeignKey("users.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    sa.Column("name", sa.String(64), nullable=False),
    sa.Column("digest", sa.String(64), nullable=False, unique=True),
    sa.Column("created_at", Timestamp, nullable=False),
    sa.Column("last_used_at", Timestamp),
    sa.UniqueConstraint("user_id", "name", name="uq_app_passwords_user_id_name"),
)

ldap_state = sa.Table(
    "ldap_state",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("sealed_secret", sa.Text, nullable=False),
    sa.Column("allowlist", sa.JSON, nullable=False),
    sa.Column("rotated_at", Timestamp, nullable=False),
)
