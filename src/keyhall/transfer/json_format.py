"""Keyhall's own transfer format: JSON Lines (RFC 8259 values, one per line), what `export` writes.

One object per line, so files of any size stream both ways and errors have line numbers:

    {"type": "keyhall-export", "format": 1, "exported_at": "…", "with_hashes": true}
    {"type": "user", "username": "alice", "email": "alice@example.com", …}
    {"type": "group", "name": "staff", "members": ["alice"], …}

Users come before groups. See README "Import and export" for every field; `username` and
`email` (users) and `name` (groups) are the only required ones. Export → import into a fresh
instance reproduces ids, numbers, timestamps, roles, memberships and hashes exactly.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from typing import Any

from keyhall.directory.models import Group, User
from keyhall.transfer.problems import LocatedError
from keyhall.transfer.records import GroupRecord, Item, UserRecord

FORMAT_VERSION = 1

_USER_FIELDS: dict[str, Callable[[Any], bool]] = {
    "username": lambda v: isinstance(v, str),
    "email": lambda v: isinstance(v, str),
    "display_name": lambda v: v is None or isinstance(v, str),
    "given_name": lambda v: v is None or isinstance(v, str),
    "family_name": lambda v: v is None or isinstance(v, str),
    "password_hash": lambda v: v is None or isinstance(v, str),
    "password": lambda v: v is None or isinstance(v, str),
    "external_id": lambda v: v is None or isinstance(v, str),
    "groups": lambda v: isinstance(v, list) and all(isinstance(g, str) for g in v),
    "id": lambda v: v is None or isinstance(v, str),
    "number": lambda v: v is None or (isinstance(v, int) and not isinstance(v, bool) and v > 0),
    "role": lambda v: v is None or isinstance(v, str),
    "active": lambda v: isinstance(v, bool),
    "source": lambda v: v is None or isinstance(v, str),
    "external_missing": lambda v: isinstance(v, bool),
    "created_at": lambda v: v is None or isinstance(v, str),
    "updated_at": lambda v: v is None or isinstance(v, str),
}
_GROUP_FIELDS: dict[str, Callable[[Any], bool]] = {
    "name": lambda v: isinstance(v, str),
    "description": lambda v: v is None or isinstance(v, str),
    "members": lambda v: isinstance(v, list) and all(isinstance(m, str) for m in v),
    "external_id": lambda v: v is None or isinstance(v, str),
    "id": lambda v: v is None or isinstance(v, str),
    "number": _USER_FIELDS["number"],
    "source": lambda v: v is None or isinstance(v, str),
    "external_missing": lambda v: isinstance(v, bool),
    "created_at": lambda v: v is None or isinstance(v, str),
    "updated_at": lambda v: v is None or isinstance(v, str),
}


def read(lines: Iterable[str]) -> Iterator[Item]:
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise LocatedError(number, f"invalid JSON: {exc.msg} (column {exc.colno})") from None
        if not isinstance(obj, dict):
            raise LocatedError(number, "each line must be a JSON object")
        kind = obj.pop("type", None)
        if kind == "keyhall-export":
            if obj.get("format") != FORMAT_VERSION:
                raise LocatedError(number, f"unsupported format {obj.get('format')!r}")
            continue
        if kind == "user":
            yield _user(number, _checked(number, obj, _USER_FIELDS, "username", "email"))
        elif kind == "group":
            yield _group(number, _checked(number, obj, _GROUP_FIELDS, "name"))
        else:
            raise LocatedError(number, f'"type" must be "user" or "group", not {kind!r}')


def _checked(
    number: int, obj: dict[str, Any], fields: dict[str, Callable[[Any], bool]], *required: str
) -> dict[str, Any]:
    for key in required:
        if key not in obj:
            raise LocatedError(number, f"missing field {key!r}")
    for key, value in obj.items():
        check = fields.get(key)
        if check is None:
            raise LocatedError(number, f"unknown field {key!r}")
        if not check(value):
            raise LocatedError(number, f"field {key!r} has the wrong type")
    for key in ("created_at", "updated_at"):
        if obj.get(key) is not None:
            try:
                obj[key] = datetime.fromisoformat(obj[key])
            except ValueError:
                raise LocatedError(number, f"field {key!r} is not an ISO 8601 time") from None
    return obj


def _user(number: int, obj: dict[str, Any]) -> UserRecord:
    groups = tuple(obj.pop("groups", ()))
    return UserRecord(line=number, groups=groups, **obj)


def _group(number: int, obj: dict[str, Any]) -> GroupRecord:
    members = tuple(obj.pop("members", ()))
    obj["description"] = obj.get("description") or ""
    return GroupRecord(line=number, member_uids=members, **obj)


# -- writing -------------------------------------------------------------------------------


def header(exported_at: datetime, with_hashes: bool) -> str:
    return _line(
        {
            "type": "keyhall-export",
            "format": FORMAT_VERSION,
            "exported_at": exported_at.isoformat(),
            "with_hashes": with_hashes,
        }
    )


def user_line(user: User, password_hash: str | None, with_hashes: bool) -> str:
    obj: dict[str, Any] = {
        "type": "user",
        "id": user.id,
        "number": user.number,
        "username": user.username,
        "email": user.email,
        "display_name": user.display_name,
        "given_name": user.given_name,
        "family_name": user.family_name,
        "role": user.role.value,
        "active": user.active,
        "source": user.source,
        "external_id": user.external_id,
        "external_missing": user.external_missing,
        "created_at": user.created_at.isoformat(),
        "updated_at": user.updated_at.isoformat(),
    }
    if with_hashes:
        obj["password_hash"] = password_hash
    return _line(obj)


def group_line(group: Group, members: list[str]) -> str:
    return _line(
        {
            "type": "group",
            "id": group.id,
            "number": group.number,
            "name": group.name,
            "description": group.description,
            "source": group.source,
            "external_id": group.external_id,
            "external_missing": group.external_missing,
            "created_at": group.created_at.isoformat(),
            "updated_at": group.updated_at.isoformat(),
            "members": members,
        }
    )


def _line(obj: dict[str, Any]) -> str:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")) + "\n"
