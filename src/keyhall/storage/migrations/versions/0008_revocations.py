"""What ended opaque access tokens early: they are sealed now, not stored.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "oidc_revocations",
        sa.Column("key", sa.String(200), primary_key=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=False, index=True),
    )


def downgrade() -> None:
    op.drop_table("oidc_revocations")
