"""Second factors and app passwords; LDAP service account state.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

Timestamp = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "totp_secrets",
        sa.Column(
            "user_id",
            sa.String(36),
            sa.ForeignKey("users.id", ondelete="CASCADE", name="fk_totp_secrets_user_id"),
            primary_key=True,
        ),
        sa.Column("sealed_secret", sa.Text, nullable=False),
        sa.Column("confirmed", sa.Boolean, nullable=False),
        sa.Column("last_step", sa.BigInteger, nullable=False),
        sa.Column("created_at", Timestamp, nullable=False),
    )
    op.create_table(
        "app_passwords",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column(
            "user_id",
            sa.String(36),
            sa.ForeignKey("users.id", ondelete="CASCADE", name="fk_app_passwords_user_id"),
            nullable=False,
            index=True,
        ),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("digest", sa.String(64), nullable=False, unique=True),
        sa.Column("created_at", Timestamp, nullable=False),
        sa.Column("last_used_at", Timestamp),
        sa.UniqueConstraint("user_id", "name", name="uq_app_passwords_user_id_name"),
    )
    op.create_table(
        "ldap_state",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("sealed_secret", sa.Text, nullable=False),
        sa.Column("allowlist", sa.JSON, nullable=False),
        sa.Column("rotated_at", Timestamp, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("ldap_state")
    op.drop_table("app_passwords")
    op.drop_table("totp_secrets")
