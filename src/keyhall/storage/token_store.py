"""SQL for admin API tokens (table from migration 0005). Only digests are stored."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from keyhall.directory.models import AuditEvent
from keyhall.errors import Conflict
from keyhall.storage.store import Store, insert_audit, utc
from keyhall.storage.tables import Timestamp, metadata

api_tokens = sa.Table(
    "api_tokens",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("digest", sa.String(64), nullable=False, unique=True),
    sa.Column("scope", sa.String(32), nullable=False),
    sa.Column("created_by", sa.String(128), nullable=False),
    sa.Column("created_at", Timestamp, nullable=False),
    sa.Column("last_used_at", Timestamp),
)


@dataclass(frozen=True, slots=True)
class TokenRow:
    name: str
    scope: str
    created_by: str
    created_at: datetime
    last_used_at: datetime | None


def _row(r: Any) -> TokenRow:
    return TokenRow(r[0], r[1], r[2], utc(r[3]), utc(r[4]) if r[4] is not None else None)


_COLUMNS = (
    api_tokens.c.name,
    api_tokens.c.scope,
    api_tokens.c.created_by,
    api_tokens.c.created_at,
    api_tokens.c.last_used_at,
)


class TokenStore:
    def __init__(self, store: Store) -> None:
        self.engine = store.engine

    def insert(self, row: TokenRow, digest: str, event: AuditEvent) -> None:
        try:
            with self.engine.begin() as conn:
                conn.execute(
                    sa.insert(api_tokens).values(
                        name=row.name,
                        digest=digest,
                        scope=row.scope,
                        created_by=row.created_by,
                        created_at=row.created_at,
                    )
                )
                insert_audit(conn, event)
        except IntegrityError:
            raise Conflict(f"a token named {row.name!r} already exists") from None

    def delete(self, name: str, event: AuditEvent) -> bool:
        with self.engine.begin() as conn:
            gone = conn.execute(sa.delete(api_tokens).where(api_tokens.c.name == name)).rowcount
            if gone:
                insert_audit(conn, event)
        return bool(gone)

    def all(self) -> list[TokenRow]:
        with self.engine.connect() as conn:
            return [_row(r) for r in conn.execute(sa.select(*_COLUMNS).order_by(api_tokens.c.name))]

    def by_digest(self, digest: str) -> TokenRow | None:
        with self.engine.connect() as conn:
            r = conn.execute(sa.select(*_COLUMNS).where(api_tokens.c.digest == digest)).first()
        return None if r is None else _row(r)

    def touch(self, name: str, at: datetime) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                sa.update(api_tokens).where(api_tokens.c.name == name).values(last_used_at=at)
            )
