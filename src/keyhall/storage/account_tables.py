"""Tables for accounts on the web (migration 0006): recovery codes, passkeys, one-time links,
avatars, WebAuthn challenges and login throttling state.

Every secret a user could replay (recovery codes, reset and invitation links) is stored only as
a keyed digest; passkeys keep only their public keys.
"""

from __future__ import annotations

import sqlalchemy as sa

from keyhall.storage.tables import Timestamp, metadata


def _user_fk(table: str, *, primary_key: bool = False) -> sa.Column[str]:
    return sa.Column(
        "user_id",
        sa.String(36),
        sa.ForeignKey("users.id", ondelete="CASCADE", name=f"fk_{table}_user_id"),
        primary_key=primary_key,
        nullable=False,
        index=not primary_key,
    )


recovery_codes = sa.Table(
    "recovery_codes",
    metadata,
    _user_fk("recovery_codes"),
    sa.Column("digest", sa.String(64), primary_key=True),
    sa.Column("created_at", Timestamp, nullable=False),
    sa.Column("used_at", Timestamp),
)

webauthn_credentials = sa.Table(
    "webauthn_credentials",
    metadata,
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

webauthn_challenges = sa.Table(
    "webauthn_challenges",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("purpose", sa.String(16), nullable=False),
    sa.Column("user_id", sa.String(36)),
    sa.Column("challenge", sa.String(128), nullable=False),
    sa.Column("expires_at", Timestamp, nullable=False, index=True),
)

account_links = sa.Table(
    "account_links",
    metadata,
    sa.Column("digest", sa.String(64), primary_key=True),
    sa.Column("kind", sa.String(16), nullable=False),
    _user_fk("account_links"),
    sa.Column("created_at", Timestamp, nullable=False),
    sa.Column("expires_at", Timestamp, nullable=False, index=True),
    sa.Column("used_at", Timestamp),
)

avatars = sa.Table(
    "avatars",
    metadata,
    _user_fk("avatars", primary_key=True),
    sa.Column("content_type", sa.String(32), nullable=False),
    sa.Column("data", sa.LargeBinary, nullable=False),
    sa.Column("updated_at", Timestamp, nullable=False),
)

login_throttle = sa.Table(
    "login_throttle",
    metadata,
    sa.Column("key", sa.String(300), primary_key=True),
    sa.Column("failures", sa.Integer, nullable=False),
    sa.Column("last_failure_at", Timestamp, nullable=False, index=True),
)

known_browsers = sa.Table(
    "known_browsers",
    metadata,
    _user_fk("known_browsers", primary_key=True),
    sa.Column("browser_hash", sa.String(64), primary_key=True),
    sa.Column("last_seen_at", Timestamp, nullable=False),
)
