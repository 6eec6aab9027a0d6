"""The connector's settings: one table of keys, types and defaults shared by CLI, API and pages.

Values are stored per key in `external_settings`; keys never set fall back to the provider
preset (presets.py), then to the defaults below. Secrets (`bind_password`) are sealed with
AES-GCM under a key derived from the instance secret and are never shown back.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from keyhall.connectors.presets import PRESETS, Provider
from keyhall.directory.sealing import Sealer
from keyhall.errors import InvalidInput

SEAL_PURPOSE = "external-directory"
SECRET_SHOWN = "(set)"  # noqa: S105 - the mask shown instead of a secret


@dataclass(frozen=True, slots=True)
class Key:
    kind: str
    """str, bool, int, float, choice, mapping (JSON object) or list (comma-separated)."""
    default: Any
    help: str
    secret: bool = False
    choices: tuple[str, ...] = ()
    minimum: float | None = None
    preset: bool = False
    """The default comes from the provider preset."""


def _attr(help: str) -> Key:
    return Key("str", "", help, preset=True)


KEYS: dict[str, Key] = {
    "enabled": Key("bool", False, "use the external directory for login and sync"),
    "provider": Key("choice", "generic", "vendor preset", choices=tuple(p.value for p in Provider)),
    "url": Key("str", "", "ldap://host:389 or ldaps://host:636", preset=True),
    "start_tls": Key("bool", False, "upgrade ldap:// with StartTLS (RFC 4511 §4.14)"),
    "ca_cert_file": Key("str", "", "PEM file of the CA that signed the server certificate"),
    "accept_self_signed": Key("bool", False, "accept any server certificate (self-signed)"),
    "follow_referrals": Key("bool", False, "follow LDAP referrals (ignored by default)"),
    "bind_mode": Key(
        "choice", "fixed", "fixed service account or dynamic DN", choices=("fixed", "dynamic")
    ),
    "bind_dn": Key("str", "", "service account DN (fixed mode; empty for anonymous search)"),
    "bind_password": Key("str", "", "service account password", secret=True),
    "bind_dn_template": Key("str", "", "user DN with %u, e.g. uid=%u,ou=people,dc=example"),
    "users_base_dn": Key("str", "", "where users are searched (subtree)", preset=True),
    "users_filter": _attr("LDAP filter of user entries; %u, if present, is the login"),
    "username_attribute": _attr("attribute holding the username"),
    "email_attribute": _attr("attribute holding the email address"),
    "display_name_attribute": _attr("attribute holding the display name"),
    "given_name_attribute": _attr("attribute holding the given name"),
    "family_name_attribute": _attr("attribute holding the family name"),
    "external_id_attribute": _attr("stable id attribute (entryUUID, objectGUID...)"),
    "disabled_attribute": _attr("attribute telling the account is disabled upstream"),
    "expires_attribute": _attr("attribute holding the account expiry"),
    "sync_groups": Key("bool", True, "create external groups locally with their members"),
    "groups_base_dn": Key("str", "", "where groups are searched (subtree)", preset=True),
    "groups_filter": _attr("LDAP filter of group entries"),
    "group_name_attribute": _attr("attribute holding the group name"),
    "member_attribute": _attr("member, uniqueMember, memberUid, or memberOf (on users)"),
    "group_mappings": Key("mapping", {}, 'JSON object: {"external group DN": "local group"}'),
    "auto_join_groups": Key("list", [], "local groups every user created from the directory joins"),
    "auto_create": Key("bool", True, "create users at their first login"),
    "link_existing_by_email": Key(
        "bool",
        False,
        "RISKY: link a directory user to a local account with the same email instead of "
        "reporting a conflict (whoever controls the directory can take over that account)",
    ),
    "sync_interval": Key(
        "int",
        4 * 3600,
        "seconds between syncs (4h, 30m also accepted); 0 syncs only on demand",
        minimum=60,
    ),
    "connect_timeout": Key("float", 5.0, "seconds to wait for a connection", minimum=0.1),
    "read_timeout": Key("float", 10.0, "seconds to wait for an answer", minimum=0.1),
    "max_deactivate_percent": Key(
        "float", 10.0, "abort a sync that would deactivate more than this share of users", minimum=0
    ),
}

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}
_DURATION = re.compile(r"(\d+)\s*([smhd]?)")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


@dataclass(frozen=True, slots=True)
class ExternalConfig:
    """The effective settings: stored values over the provider preset over the defaults."""

    enabled: bool
    provider: Provider
    url: str
    start_tls: bool
    ca_cert_file: str
    accept_self_signed: bool
    follow_referrals: bool
    bind_mode: str
    bind_dn: str
    bind_password: str
    bind_dn_template: str
    users_base_dn: str
    users_filter: str
    username_attribute: str
    email_attribute: str
    display_name_attribute: str
    given_name_attribute: str
    family_name_attribute: str
    external_id_attribute: str
    disabled_attribute: str
    expires_attribute: str
    sync_groups: bool
    groups_base_dn: str
    groups_filter: str
    group_name_attribute: str
    member_attribute: str
    group_mappings: dict[str, str] = field(default_factory=dict)
    auto_join_groups: list[str] = field(default_factory=list)
    auto_create: bool = True
    link_existing_by_email: bool = False
    sync_interval: int = 4 * 3600
    connect_timeout: float = 5.0
    read_timeout: float = 10.0
    max_deactivate_percent: float = 10.0

    @property
    def passes_2fa_through(self) -> bool:
        """Seed 000: with these providers the upstream enforces 2FA, so there's no local one."""
        return PRESETS[self.provider].passes_2fa_through


def effective(stored: Mapping[str, Any], sealer: Sealer) -> ExternalConfig:
    provider = Provider(stored.get("provider", KEYS["provider"].default))
    preset = PRESETS[provider].values
    values: dict[str, Any] = {}
    for key, spec in KEYS.items():
        if key in stored:
            value = stored[key]
            if spec.secret and value:
                value = sealer.open(value).decode()
        elif spec.preset:
            value = preset.get(key, spec.default)
        else:
            value = spec.default
        values[key] = value
    values["provider"] = provider
    return ExternalConfig(**values)


def parse(key: str, raw: str) -> Any:
    """The typed value of `raw` for `key`; raises InvalidInput naming the key when it is wrong."""
    spec = KEYS.get(key)
    if spec is None:
        raise InvalidInput(f"unknown setting {key!r} (known: {', '.join(KEYS)})", field=key)
    text = raw.strip()
    if spec.kind == "bool":
        if text.lower() in _TRUE:
            return True
        if text.lower() in _FALSE:
            return False
        raise InvalidInput(f"{key} must be true or false, not {raw!r}", field=key)
    if spec.kind == "choice":
        if text not in spec.choices:
            raise InvalidInput(f"{key} must be one of {', '.join(spec.choices)}", field=key)
        return text
    if spec.kind in ("int", "float"):
        return _number(key, spec, text)
    if spec.kind == "mapping":
        return _mapping(key, text)
    if spec.kind == "list":
        return [item.strip().lower() for item in text.split(",") if item.strip()]
    if "\x00" in raw or "\n" in raw or len(raw) > 2048:
        raise InvalidInput(f"{key} must be one line of at most 2048 characters", field=key)
    return raw if spec.secret else text


def _number(key: str, spec: Key, text: str) -> float | int:
    value: float | int
    if spec.kind == "int" and key == "sync_interval" and (m := _DURATION.fullmatch(text)):
        value = int(m.group(1)) * _UNITS[m.group(2)]
    else:
        try:
            value = int(text) if spec.kind == "int" else float(text)
        except ValueError:
            raise InvalidInput(f"{key} must be a number, not {text!r}", field=key) from None
    if key == "sync_interval" and value == 0:
        return 0  # no schedule: sync only when asked (CLI, API, dashboard)
    if spec.minimum is not None and value < spec.minimum:
        raise InvalidInput(f"{key} must be at least {spec.minimum:g}", field=key)
    return value


def _mapping(key: str, text: str) -> dict[str, str]:
    try:
        value = json.loads(text or "{}")
    except json.JSONDecodeError:
        raise InvalidInput(f"{key} must be a JSON object", field=key) from None
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise InvalidInput(f"{key} must map strings to strings", field=key)
    return {k.strip(): v.strip().lower() for k, v in value.items()}


def check_usable(config: ExternalConfig) -> None:
    """The checks an enabled connector must pass; each names the key to fix."""
    if not config.url.startswith(("ldap://", "ldaps://")):
        raise InvalidInput("url must start with ldap:// or ldaps://", field="url")
    if config.start_tls and config.url.startswith("ldaps://"):
        raise InvalidInput("start_tls applies to ldap:// URLs only", field="start_tls")
    if config.bind_mode == "dynamic" and "%u" not in config.bind_dn_template:
        raise InvalidInput("bind_dn_template must contain %u in dynamic mode", field="bind_dn")
    if config.bind_mode == "fixed" and config.bind_dn and not config.bind_password:
        raise InvalidInput("bind_password is needed with bind_dn", field="bind_password")
    for key in ("users_base_dn", "username_attribute", "email_attribute"):
        if not getattr(config, key):
            raise InvalidInput(f"{key} must be set", field=key)
    if not config.external_id_attribute:
        raise InvalidInput("external_id_attribute must be set", field="external_id_attribute")
    for key in ("users_filter", "groups_filter"):
        value = getattr(config, key)
        if value and (not value.startswith("(") or value.count("(") != value.count(")")):
            raise InvalidInput(f"{key} must be a parenthesised LDAP filter", field=key)


def stored_value(key: str, value: Any, sealer: Sealer) -> Any:
    """What goes into the database: secrets sealed."""
    if KEYS[key].secret and value:
        return sealer.seal(str(value).encode())
    return value


def shown(config: ExternalConfig) -> dict[str, Any]:
    """The settings as the CLI, API and dashboard show them: secrets masked."""
    out: dict[str, Any] = {}
    for key, spec in KEYS.items():
        value = getattr(config, key)
        if spec.secret:
            value = SECRET_SHOWN if value else ""
        out[key] = value.value if isinstance(value, Provider) else value
    return out


def audit_value(key: str, value: Any) -> Any:
    """What an audit event records about a change: never a secret."""
    return SECRET_SHOWN if KEYS[key].secret else value
