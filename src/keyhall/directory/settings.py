"""Run-time settings stored in the database: one table of names, types and defaults."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from keyhall.errors import InvalidInput


@dataclass(frozen=True, slots=True)
class Setting:
    kind: type
    default: Any
    help: str
    minimum: int | None = None


SETTINGS: dict[str, Setting] = {
    "name": Setting(str, "Keyhall", "instance name, shown on pages and to apps as provider name"),
    "mandatory_2fa": Setting(bool, False, "every user must set up a second factor"),
    "lock_profile": Setting(bool, False, "users cannot change their email or names"),
    "password_min_length": Setting(int, 8, "shortest password accepted", minimum=1),
    "argon2_memory_kib": Setting(int, 19 * 1024, "argon2id memory cost in KiB", minimum=8),
    "argon2_time_cost": Setting(int, 2, "argon2id iterations", minimum=1),
    "argon2_parallelism": Setting(int, 1, "argon2id lanes", minimum=1),
    "ldap_enabled": Setting(bool, True, "the LDAP server answers (allowlisted IPs only)"),
    "ldap_show_disabled": Setting(bool, False, "LDAP lists disabled users instead of hiding them"),
    "ldap_size_limit": Setting(int, 5000, "most entries an unpaged LDAP search returns", minimum=1),
    "ldap_failed_binds_limit": Setting(
        int, 30, "failed LDAP binds per IP in 5 minutes before `busy`", minimum=1
    ),
}

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def parse_setting(key: str, raw: str) -> Any:
    """Turn the text a user typed into the setting's typed value, or explain why not."""
    spec = SETTINGS.get(key)
    if spec is None:
        known = ", ".join(sorted(SETTINGS))
        raise InvalidInput(f"unknown setting {key!r} (known: {known})", field=key)
    if spec.kind is bool:
        lowered = raw.strip().lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
        raise InvalidInput(f"{key} must be true or false, not {raw!r}", field=key)
    if spec.kind is int:
        try:
            number = int(raw)
        except ValueError:
            raise InvalidInput(f"{key} must be a whole number, not {raw!r}", field=key) from None
        if spec.minimum is not None and number < spec.minimum:
            raise InvalidInput(f"{key} must be at least {spec.minimum}", field=key)
        return number
    value = raw.strip()
    if not value or len(value) > 128:
        raise InvalidInput(f"{key} must be 1-128 characters", field=key)
    return value


def with_defaults(stored: dict[str, Any]) -> dict[str, Any]:
    return {key: stored.get(key, spec.default) for key, spec in SETTINGS.items()}
