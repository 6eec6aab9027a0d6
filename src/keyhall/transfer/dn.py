"""RFC 4514: distinguished names, just enough to compare them and read their first RDN."""

from __future__ import annotations


def split_rdns(dn: str) -> list[str]:
    """Split at unescaped commas (RFC 4514 §2.4: a `\\,` is part of the value)."""
    parts: list[str] = []
    current: list[str] = []
    escaped = False
    for ch in dn:
        if escaped:
            current.append(ch)
            escaped = False
        elif ch == "\\":
            current.append(ch)
            escaped = True
        elif ch == ",":
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
    parts.append("".join(current))
    return [p.strip() for p in parts if p.strip()]


def normalize(dn: str) -> str:
    """A comparison key: attribute types and values lower-cased, spaces around '=' dropped.

    Case-folding values matches the caseIgnoreMatch rule of the attributes that name users
    and groups (uid, cn, ou, dc); it is a key for matching, never written anywhere.
    """
    rdns = []
    for rdn in split_rdns(dn):
        atoms = []
        for atom in rdn.split("+"):
            attr, _, value = atom.partition("=")
            atoms.append(f"{attr.strip().lower()}={value.strip().lower()}")
        rdns.append("+".join(sorted(atoms)))
    return ",".join(rdns)


def first_rdn(dn: str) -> tuple[str, str]:
    """The first RDN's attribute type (lower-cased) and value, unescaped."""
    rdns = split_rdns(dn)
    if not rdns:
        return "", ""
    attr, _, value = rdns[0].split("+")[0].partition("=")
    return attr.strip().lower(), _unescape(value.strip())


def escape_value(value: str) -> str:
    """RFC 4514 §2.4 escaping of an attribute value for use in a DN."""
    out = []
    for i, ch in enumerate(value):
        if ch in ',+"\\<>;=' or (ch == "#" and i == 0) or (ch == " " and i in (0, len(value) - 1)):
            out.append("\\" + ch)
        elif ch == "\x00":
            out.append("\\00")
        else:
            out.append(ch)
    return "".join(out)


def _unescape(value: str) -> str:
    out = []
    i = 0
    while i < len(value):
        ch = value[i]
        if ch == "\\" and i + 1 < len(value):
            pair = value[i + 1 : i + 3]
            if len(pair) == 2 and all(c in "0123456789abcdefABCDEF" for c in pair):
                out.append(chr(int(pair, 16)))
                i += 3
                continue
            out.append(value[i + 1])
            i += 2
            continue
        out.append(ch)
        i += 1
    return "".join(out)
