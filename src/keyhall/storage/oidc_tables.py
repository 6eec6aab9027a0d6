"""The OpenID Connect provider's tables: clients, keys, login flows, sessions, codes, tokens.

Every piece of flow state lives here so that several nodes sharing one database can serve any
step of a flow. Secrets (client secrets, session cookies, codes, tokens) are stored as SHA-256
digests only; signing keys' private halves are encrypted with a key derived from the instance
secret. Migration 0002 creates these tables.
"""

from __future__ import annotations

import sqlalchemy as sa

from keyhall.storage.tables import Timestamp, metadata

oidc_clients = sa.Table(
    "oidc_clients",
    metadata,
    sa.Column("id", sa.String(128), primary_key=True),
    sa.Column("name", sa.String(256), nullable=False),
    sa.Column("secret_hash", sa.String(64)),
    sa.Column("redirect_uris", sa.JSON, nullable=False),
    sa.Column("post_logout_redirect_uris", sa.JSON, nullable=False),
    sa.Column("backchannel_logout_uri", sa.Text),
    sa.Column("settings", sa.JSON, nullable=False),
    sa.Column("created_at", Timestamp, nullable=False),
    sa.Column("updated_at", Timestamp, nullable=False),
)

oidc_keys = sa.Table(
    "oidc_keys",
    metadata,
    sa.Column("kid", sa.String(64), primary_key=True),
    sa.Column("alg", sa.String(16), nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("public_jwk", sa.JSON, nullable=False),
    sa.Column("private_enc", sa.LargeBinary, nullable=False),
    sa.Column("created_at", Timestamp, nullable=False),
    sa.Column("retire_at", Timestamp),
)

login_flows = sa.Table(
    "login_flows",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("browser_hash", sa.String(64), nullable=False),
    sa.Column("step", sa.String(32), nullable=False),
    sa.Column("request", sa.JSON, nullable=False),
    sa.Column("user_id", sa.String(36)),
    sa.Column("session_sid", sa.String(64)),
    sa.Column("amr", sa.JSON, nullable=False),
    sa.Column("created_at", Timestamp, nullable=False),
    sa.Column("expires_at", Timestamp, nullable=False, index=True),
)

oidc_sessions = sa.Table(
    "oidc_sessions",
    metadata,
    sa.Column("sid", sa.String(64), primary_key=True),
    sa.Column("cookie_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("user_id", sa.String(36), nullable=False, index=True),
    sa.Column("auth_time", Timestamp, nullable=False),
    sa.Column("amr", sa.JSON, nullable=False),
    sa.Column("created_at", Timestamp, nullable=False),
    sa.Column("expires_at", Timestamp, nullable=False, index=True),
)

oidc_session_clients = sa.Table(
    "oidc_session_clients",
    metadata,
    sa.Column("sid", sa.String(64), primary_key=True),
    sa.Column("client_id", sa.String(128), primary_key=True),
)

oidc_consents = sa.Table(
    "oidc_consents",
    metadata,
    sa.Column("user_id", sa.String(36), primary_key=True),
    sa.Column("client_id", sa.String(128), primary_key=True),
    sa.Column("scope", sa.Text, nullable=False),
    sa.Column("granted_at", Timestamp, nullable=False),
)

# Redeemed authorization codes, by digest, until they would have expired: codes carry their
# grant sealed (keyhall.oidc.codes), so this is all that makes one single-use. One b-tree on
# SQLite, written once per code flow (migration 0009).
oidc_codes = sa.Table(
    "oidc_codes",
    metadata,
    sa.Column("code_hash", sa.String(64), primary_key=True),
    sa.Column("expires_at", Timestamp, nullable=False),
    sqlite_with_rowid=False,
)

oidc_tokens = sa.Table(
    "oidc_tokens",
    metadata,
    sa.Column("token_hash", sa.String(64), primary_key=True),
    sa.Column("kind", sa.String(8), nullable=False),
    sa.Column("grant_id", sa.String(64), nullable=False),
    sa.Column("client_id", sa.String(128), nullable=False),
    sa.Column("user_id", sa.String(36), nullable=False),
    sa.Column("sid", sa.String(64), nullable=False),
    sa.Column("scope", sa.Text, nullable=False),
    sa.Column("details", sa.JSON, nullable=False),
    sa.Column("issued_at", Timestamp, nullable=False),
    sa.Column("expires_at", Timestamp, nullable=False, index=True),
    sa.Column("revoked", sa.Boolean, nullable=False),
    sa.Column("rotated", sa.Boolean, nullable=False),
    # Revocations by user, by user and session, by user, session and grant (migration 0007).
    sa.Index("ix_oidc_tokens_holder", "user_id", "sid", "grant_id"),
)

# What ended opaque access tokens early, which are sealed rather than stored: a token, a grant,
# a session or all of a user's, by key ("token:<digest>", "grant:<id>", "session:<sid>",
# "user:<id>"); kept as long as a token issued before could live (migration 0008).
oidc_revocations = sa.Table(
    "oidc_revocations",
    metadata,
    sa.Column("key", sa.String(200), primary_key=True),
    sa.Column("revoked_at", Timestamp, nullable=False, index=True),
)

oidc_logout_outbox = sa.Table(
    "oidc_logout_outbox",
    metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True),
    sa.Column("client_id", sa.String(128), nullable=False),
    sa.Column("uri", sa.Text, nullable=False),
    sa.Column("logout_token", sa.Text, nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("next_attempt_at", Timestamp, nullable=False, index=True),
    sa.Column("created_at", Timestamp, nullable=False),
)
