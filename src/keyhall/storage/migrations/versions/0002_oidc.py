"""OpenID Connect: clients, signing keys, login flows, SSO sessions, codes and tokens.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

Timestamp = sa.DateTime(timezone=True)
BigId = sa.BigInteger().with_variant(sa.Integer, "sqlite")


def upgrade() -> None:
    op.create_table(
        "oidc_clients",
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
    op.create_table(
        "oidc_keys",
        sa.Column("kid", sa.String(64), primary_key=True),
        sa.Column("alg", sa.String(16), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("public_jwk", sa.JSON, nullable=False),
        sa.Column("private_enc", sa.LargeBinary, nullable=False),
        sa.Column("created_at", Timestamp, nullable=False),
        sa.Column("retire_at", Timestamp),
    )
    op.create_table(
        "login_flows",
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
    op.create_table(
        "oidc_sessions",
        sa.Column("sid", sa.String(64), primary_key=True),
        sa.Column("cookie_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("user_id", sa.String(36), nullable=False, index=True),
        sa.Column("auth_time", Timestamp, nullable=False),
        sa.Column("amr", sa.JSON, nullable=False),
        sa.Column("created_at", Timestamp, nullable=False),
        sa.Column("expires_at", Timestamp, nullable=False, index=True),
    )
    op.create_table(
        "oidc_session_clients",
        sa.Column("sid", sa.String(64), primary_key=True),
        sa.Column("client_id", sa.String(128), primary_key=True),
    )
    op.create_table(
        "oidc_consents",
        sa.Column("user_id", sa.String(36), primary_key=True),
        sa.Column("client_id", sa.String(128), primary_key=True),
        sa.Column("scope", sa.Text, nullable=False),
        sa.Column("granted_at", Timestamp, nullable=False),
    )
    op.create_table(
        "oidc_codes",
        sa.Column("code_hash", sa.String(64), primary_key=True),
        sa.Column("grant_id", sa.String(64), nullable=False),
        sa.Column("client_id", sa.String(128), nullable=False),
        sa.Column("user_id", sa.String(36), nullable=False),
        sa.Column("sid", sa.String(64), nullable=False),
        sa.Column("redirect_uri", sa.Text, nullable=False),
        sa.Column("scope", sa.Text, nullable=False),
        sa.Column("details", sa.JSON, nullable=False),
        sa.Column("used", sa.Boolean, nullable=False),
        sa.Column("expires_at", Timestamp, nullable=False, index=True),
    )
    op.create_table(
        "oidc_tokens",
        sa.Column("token_hash", sa.String(64), primary_key=True),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("grant_id", sa.String(64), nullable=False, index=True),
        sa.Column("client_id", sa.String(128), nullable=False),
        sa.Column("user_id", sa.String(36), nullable=False, index=True),
        sa.Column("sid", sa.String(64), nullable=False, index=True),
        sa.Column("scope", sa.Text, nullable=False),
        sa.Column("details", sa.JSON, nullable=False),
        sa.Column("issued_at", Timestamp, nullable=False),
        sa.Column("expires_at", Timestamp, nullable=False, index=True),
        sa.Column("revoked", sa.Boolean, nullable=False),
        sa.Column("rotated", sa.Boolean, nullable=False),
    )
    op.create_table(
        "oidc_logout_outbox",
        sa.Column("id", BigId, primary_key=True),
        sa.Column("client_id", sa.String(128), nullable=False),
        sa.Column("uri", sa.Text, nullable=False),
        sa.Column("logout_token", sa.Text, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_attempt_at", Timestamp, nullable=False, index=True),
        sa.Column("created_at", Timestamp, nullable=False),
    )


def downgrade() -> None:
    for table in (
        "oidc_logout_outbox", "oidc_tokens", "oidc_codes", "oidc_consents",
        "oidc_session_clients", "oidc_sessions", "login_flows", "oidc_keys", "oidc_clients",
    ):  # fmt: skip
        op.drop_table(table)
