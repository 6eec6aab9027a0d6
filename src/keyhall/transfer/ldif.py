"""RFC 2849: the LDAP Data Interchange Format, content records only (no change records).

`read` streams entries from lines, so a file of any size is parsed in constant memory: it
unfolds continuation lines (RFC 2849 §3 note 2: a line starting with one space continues the
previous one), skips comments (which can be folded too), decodes `::` base64 values, and
reports a problem with the line number it started on. `write` does the reverse.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from keyhall.transfer.problems import LocatedError

WRAP = 76


@dataclass(slots=True)
class Entry:
    """One content record: its DN and its attributes (names lower-cased, options dropped)."""

    line: int
    dn: str
    attrs: dict[str, list[str]] = field(default_factory=dict)

    def first(self, name: str) -> str | None:
        values = self.attrs.get(name.lower())
        return values[0] if values else None

    def all(self, name: str) -> list[str]:
        return self.attrs.get(name.lower(), [])


def _logical_lines(lines: Iterable[str]) -> Iterator[tuple[int, str]]:
    """Unfold continuation lines; yield (first line number, logical line). Blank lines = ''."""
    current: str | None = None
    start = 0
    number = 0
    for number, raw in enumerate(lines, 1):
        line = raw.rstrip("\r\n")
        if line.startswith(" "):
            if not current:
                raise LocatedError(
                    number, "continuation line (starts with a space) with no line to continue"
                )
            current += line[1:]
            continue
        if current is not None:
            yield start, current
        current, start = line, number
    if current is not None:
        yield start, current


def read(lines: Iterable[str]) -> Iterator[Entry]:
    """Entries of an LDIF content file, as `slapcat` or `ldapsearch -LLL` write them."""
    entry: Entry | None = None
    first_record = True
    for number, line in _logical_lines(lines):
        if line == "":
            if entry is not None:
                yield entry
                entry = None
            continue
        if line.startswith("#"):
            continue
        name, value = _attr_value(number, line)
        if entry is None:
            if first_record and name == "version":
                if value != "1":
                    raise LocatedError(number, f"unsupported LDIF version {value!r}")
                first_record = False
                continue
            if name != "dn":
                raise LocatedError(
                    number,
                    f"expected 'dn:' to start an entry, found {name!r} (a missing blank line?)",
                )
            first_record = False
            entry = Entry(number, value)
            continue
        if name == "dn":
            raise LocatedError(number, "second 'dn:' in one entry (a missing blank line?)")
        if name == "changetype":
            if value.lower() != "add":
                raise LocatedError(number, f"change records ({value}) are not imported")
            continue
        entry.attrs.setdefault(name, []).append(value)
    if entry is not None:
        yield entry


def _attr_value(number: int, line: str) -> tuple[str, str]:
    name, sep, rest = line.partition(":")
    if not sep or not name or " " in name:
        raise LocatedError(
            number,
            "expected 'attribute: value' (a folded line must start with exactly one space)",
        )
    # Attribute options (;binary, ;lang-de) don't matter for what Keyhall imports.
    name = name.split(";", 1)[0].lower()
    if rest.startswith(":"):
        try:
            raw = base64.b64decode(rest[1:].strip(), validate=True)
        except binascii.Error:
            raise LocatedError(number, f"attribute {name!r}: invalid base64 value") from None
        try:
            return name, raw.decode("utf-8")
        except UnicodeDecodeError:
            # Binary values (photos, certificates) are never imported; keep a marker only.
            return name, ""
    if rest.startswith("<"):
        raise LocatedError(number, f"attribute {name!r}: URL values (':<') are not supported")
    return name, rest.lstrip(" ")


# -- writing -------------------------------------------------------------------------------


def _is_safe(value: str) -> bool:
    """RFC 2849 SAFE-STRING: ASCII without NUL/CR/LF, not starting with space, ':' or '<'."""
    if not value:
        return True
    if value[0] in " :<" or value[-1] == " ":
        return False
    return all(0 < ord(c) < 128 and c not in "\r\n" for c in value)


def format_line(name: str, value: str) -> str:
    """One attribute line, base64-encoded when RFC 2849 requires it, folded at 76 columns."""
    if _is_safe(value):
        line = f"{name}: {value}"
    else:
        line = f"{name}:: {base64.b64encode(value.encode()).decode()}"
    if len(line) <= WRAP:
        return line + "\n"
    parts = [line[:WRAP]]
    parts.extend(" " + line[i : i + WRAP - 1] for i in range(WRAP, len(line), WRAP - 1))
    return "\n".join(parts) + "\n"


def write_entry(dn: str, attrs: Iterable[tuple[str, str]]) -> str:
    """An entry's text, ending with the blank line that separates it from the next."""
    return format_line("dn", dn) + "".join(format_line(n, v) for n, v in attrs) + "\n"
