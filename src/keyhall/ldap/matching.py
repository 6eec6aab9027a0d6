"""RFC 4517 §4.2 matching rules, with RFC 4518 string preparation, reduced to what we serve.

`prepare(rule, value)` turns a value into the form two values compare equal in (or None when
the value is not valid for the rule's syntax, which makes a filter item Undefined).
"""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, datetime, timedelta, timezone

from keyhall.ldap.dn import normalize_dn
from keyhall.ldap.schema import Rule

Prepared = str | int | datetime

_SPACES = re.compile(r"\s+")
_INTEGER = re.compile(r"-?[0-9]+")
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_TIME = re.compile(
    r"(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})?(\d{2})?(?:[.,](\d+))?(Z|[+-]\d{2}(?:\d{2})?)"
)
_UID_SUFFIX = re.compile(r"#'[01]*'B$")


def prepare_string(value: str, *, fold: bool) -> str:
    """RFC 4518: NFKC, case folding for caseIgnore rules, insignificant space handling."""
    if value.isascii():
        text = value if " " not in value and value.isprintable() else _SPACES.sub(" ", value)
    else:
        text = _SPACES.sub(" ", unicodedata.normalize("NFKC", value))
    text = text.strip(" ")
    if fold:
        folded = text.casefold()
        # Keep the original object when nothing changed: trees hold many such values.
        text = text if folded == text else folded
    return text


def parse_time(value: str) -> datetime | None:
    """RFC 4517 §3.3.13 GeneralizedTime (minutes, seconds, fraction optional)."""
    m = _TIME.fullmatch(value.strip())
    if m is None:
        return None
    year, month, day, hour, minute, second, fraction, zone = m.groups()
    tz = UTC
    if zone != "Z":
        sign = -1 if zone[0] == "-" else 1
        tz = timezone(sign * timedelta(hours=int(zone[1:3]), minutes=int(zone[3:5] or 0)))
    try:
        at = datetime(
            int(year),
            int(month),
            int(day),
            int(hour),
            int(minute or 0),
            int(second or 0),
            tzinfo=tz,
        )
    except ValueError:
        return None
    if fraction:
        at += timedelta(seconds=float(f"0.{fraction}"))
    return at.astimezone(UTC)


def format_time(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y%m%d%H%M%SZ")


def prepare(rule: Rule, value: str) -> Prepared | None:
    if rule in (Rule.CASE_IGNORE, Rule.CASE_IGNORE_IA5, Rule.OID):
        return prepare_string(value, fold=True)
    if rule is Rule.CASE_EXACT_IA5:
        return prepare_string(value, fold=False)
    if rule is Rule.DN:
        return _dn(value)
    if rule is Rule.UNIQUE_MEMBER:
        # RFC 4517 §3.3.21: a DN with an optional #'bits'B unique identifier.
        return _dn(_UID_SUFFIX.sub("", value))
    if rule is Rule.INTEGER:
        text = value.strip()
        return int(text) if _INTEGER.fullmatch(text) else None
    if rule is Rule.TIME:
        return parse_time(value)
    if rule is Rule.UUID:
        text = value.strip().lower()
        return text if _UUID.fullmatch(text) else None
    return value  # octetStringMatch


def _dn(value: str) -> str | None:
    try:
        return normalize_dn(value)
    except Exception:  # an unparsable DN is an invalid value: Undefined
        return None
