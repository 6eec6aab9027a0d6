"""Attribute-name mapping for sources with non-standard names (`--map uid=sAMAccountName`).

The left side is the standard name Keyhall reads (an LDAP attribute such as `uid` or `mail`,
or a CSV column such as `username`); the right side is what the file calls it. A mapping can
also come from a file (`--map @FILE`) holding one `standard=theirs` pair per line.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

from keyhall.errors import InvalidInput


class AttributeMap:
    def __init__(self, pairs: Mapping[str, str] | None = None) -> None:
        self._theirs = {k.lower(): v.lower() for k, v in (pairs or {}).items()}

    def name(self, standard: str) -> str:
        """The name the file uses for a standard attribute or column (lower-cased)."""
        return self._theirs.get(standard.lower(), standard.lower())

    def as_dict(self) -> dict[str, str]:
        return dict(self._theirs)


def parse_map(specs: Iterable[str]) -> AttributeMap:
    """`["uid=sAMAccountName", "@mapping.txt"]` -> an AttributeMap; InvalidInput if malformed."""
    pairs: dict[str, str] = {}
    for spec in specs:
        if spec.startswith("@"):
            path = Path(spec[1:])
            try:
                text = path.read_text()
            except OSError as exc:
                raise InvalidInput(f"--map {spec}: {exc.strerror}", field="map") from None
            lines = [ln.strip() for ln in text.splitlines()]
            pairs.update(_pair(ln) for ln in lines if ln and not ln.startswith("#"))
        else:
            key, value = _pair(spec)
            pairs[key] = value
    return AttributeMap(pairs)


def _pair(spec: str) -> tuple[str, str]:
    standard, sep, theirs = spec.partition("=")
    if not sep or not standard.strip() or not theirs.strip():
        raise InvalidInput(f"mapping {spec!r} must look like standard=theirs", field="map")
    return standard.strip().lower(), theirs.strip().lower()
