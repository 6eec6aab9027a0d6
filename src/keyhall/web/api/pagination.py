"""Paged lists: `offset` and `limit` query parameters in, `{items, total, offset, limit}` out."""

from __future__ import annotations

from typing import Annotated, Generic, TypeVar

from fastapi import Query
from pydantic import BaseModel

from keyhall.directory.listing import MAX_LIMIT

T = TypeVar("T")

Offset = Annotated[int, Query(ge=0, le=10**9, description="items to skip")]
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="most items to return")]


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int
    """How many items match the filters, over all pages."""
    offset: int
    limit: int
