"""RFC 4180 CSV with a header row: one user per row, groups named in a column.

Columns (any order; only `username` and `email` are required; names can be remapped with
`--map username=login`):

    username, email, display_name, given_name, family_name, password_hash, password,
    groups (names separated by ';'; missing groups are created), role (user|admin),
    active (true|false), external_id, id, number

`export --format csv` writes the same columns (without `password`), so a spreadsheet round trip
works; group descriptions and empty groups need the JSON format.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Iterator

from keyhall.directory.models import User
from keyhall.transfer.mapping import AttributeMap
from keyhall.transfer.problems import LocatedError
from keyhall.transfer.records import Item, UserRecord

COLUMNS = (
    "username",
    "email",
    "display_name",
    "given_name",
    "family_name",
    "password_hash",
    "password",
    "groups",
    "role",
    "active",
    "external_id",
    "id",
    "number",
)
EXPORT_COLUMNS = tuple(c for c in COLUMNS if c != "password")
_TRUE = {"true", "yes", "1", ""}
_FALSE = {"false", "no", "0"}


def read(lines: Iterable[str], amap: AttributeMap | None = None) -> Iterator[Item]:
    amap = amap or AttributeMap()
    reader = csv.reader(lines)
    try:
        head = next(reader)
    except StopIteration:
        return
    except csv.Error as exc:
        raise LocatedError(1, f"invalid CSV: {exc}") from None
    index = {name.strip().lower(): i for i, name in enumerate(head)}
    theirs = {column: amap.name(column) for column in COLUMNS}
    for column in ("username", "email"):
        if theirs[column] not in index:
            raise LocatedError(1, f"header has no {theirs[column]!r} column")
    known = set(theirs.values())
    unknown = sorted(name for name in index if name not in known)
    if unknown:
        raise LocatedError(1, f"unknown column(s): {', '.join(unknown)}")
    while True:
        line = reader.line_num + 1
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise LocatedError(reader.line_num, f"invalid CSV: {exc}") from None
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(head):
            raise LocatedError(line, f"expected {len(head)} fields, found {len(row)}")

        def cell(column: str, row: list[str] = row) -> str | None:
            i = index.get(theirs[column])
            value = row[i].strip() if i is not None else ""
            return value or None

        yield _user(line, cell)


def _user(line: int, get: Callable[[str], str | None]) -> UserRecord:
    active = (get("active") or "").lower()
    if active not in _TRUE | _FALSE:
        raise LocatedError(line, f"active must be true or false, not {active!r}")
    number = get("number")
    if number is not None and not number.isdigit():
        raise LocatedError(line, f"number must be a positive whole number, not {number!r}")
    groups = tuple(g.strip() for g in (get("groups") or "").split(";") if g.strip())
    return UserRecord(
        line=line,
        username=get("username") or "",
        email=get("email") or "",
        display_name=get("display_name"),
        given_name=get("given_name"),
        family_name=get("family_name"),
        password_hash=get("password_hash"),
        password=get("password"),
        external_id=get("external_id"),
        groups=groups,
        id=get("id"),
        number=int(number) if number is not None else None,
        role=get("role"),
        active=active in _TRUE,
    )


def header() -> str:
    return _row(list(EXPORT_COLUMNS))


def user_row(user: User, groups: list[str], password_hash: str | None) -> str:
    return _row(
        [
            user.username,
            user.email,
            user.display_name,
            user.given_name,
            user.family_name,
            password_hash or "",
            ";".join(groups),
            user.role.value,
            "true" if user.active else "false",
            user.external_id or "",
            user.id,
            str(user.number),
        ]
    )


def _row(values: list[str]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerow(values)
    return buffer.getvalue()
