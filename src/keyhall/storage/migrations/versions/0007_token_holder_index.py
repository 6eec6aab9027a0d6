"""One index for the holder of a token (user, session, grant) instead of one for each.

Every token row was written into five b-trees besides its table; the three for its user, its
session and its grant served only revocations, each of which knows the user (and the session
for a grant). One composite index serves them all and saves two page writes per token.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_SINGLE = ("grant_id", "user_id", "sid")


def upgrade() -> None:
    op.create_index("ix_oidc_tokens_holder", "oidc_tokens", ["user_id", "sid", "grant_id"])
    for column in _SINGLE:
        op.drop_index(f"ix_oidc_tokens_{column}", table_name="oidc_tokens")


def downgrade() -> None:
    for column in _SINGLE:
        op.create_index(f"ix_oidc_tokens_{column}", "oidc_tokens", [column])
    op.drop_index("ix_oidc_tokens_holder", table_name="oidc_tokens")
