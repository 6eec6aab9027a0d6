"""Codes carry their grant sealed: keep only the digests of redeemed ones, in one b-tree.

The old table's rows are codes that earlier versions stored at issue; they live 60 seconds at
most and are dropped, so a code issued just before the upgrade must be asked for again.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

Timestamp = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.drop_table("oidc_codes")
    op.create_table(
        "oidc_codes",
        sa.Column("code_hash", sa.String(64), primary_key=True),
        sa.Column("expires_at", Timestamp, nullable=False),
        sqlite_with_rowid=False,
    )


def downgrade() -> None:
    op.drop_table("oidc_codes")
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
