"""RFC 6749 §2: client registration — types, credentials, redirect URIs and per-client settings.

Redirect URIs match exactly (RFC 6749 §3.1.2.3, RFC 9700 §4.1.3), except loopback URIs of
native apps, which match on any port (RFC 8252 §7.3). The methods named `check_*`/`get_*` are
the interface Authlib's grants call (its `ClientMixin`).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from keyhall.errors import InvalidInput

SIGNING_ALGS = ("RS256", "ES256", "EdDSA")
ACCESS_TOKEN_FORMATS = ("opaque", "jwt")
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "::1", "localhost"})
SUPPORTED_SCOPES = ("openid", "profile", "email", "groups", "offline_access")
_CLIENT_ID = re.compile(r"^[A-Za-z0-9._~:-]{1,128}$")


@dataclass(frozen=True, slots=True)
class ClientSettings:
    signing_alg: str = "RS256"
    access_token_format: str = "opaque"  # noqa: S105 - a format name
    extra_claims: tuple[str, ...] = ()
    """Claims always included (ID token, userinfo, JWT access token) whatever the scope."""
    allowed_groups: tuple[str, ...] = ()
    """When set, users outside every one of these groups are refused with access_denied."""
    consent: bool = False
    """Ask the user before the first authorization (admin-registered clients don't need it)."""
    access_token_lifetime: int = 3600
    id_token_lifetime: int = 3600
    refresh_token_lifetime: int = 30 * 24 * 3600
    quota: str = "default"
    """Value of Nextcloud's `quota` extra claim."""

    def as_json(self) -> dict[str, Any]:
        return {
            "signing_alg": self.signing_alg,
            "access_token_format": self.access_token_format,
            "extra_claims": list(self.extra_claims),
            "allowed_groups": list(self.allowed_groups),
            "consent": self.consent,
            "access_token_lifetime": self.access_token_lifetime,
            "id_token_lifetime": self.id_token_lifetime,
            "refresh_token_lifetime": self.refresh_token_lifetime,
            "quota": self.quota,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ClientSettings:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        for key in ("extra_claims", "allowed_groups"):
            if key in known:
                known[key] = tuple(known[key])
        return cls(**known)


@dataclass(frozen=True, slots=True)
class Client:
    id: str
    name: str
    secret_hash: str | None
    redirect_uris: tuple[str, ...]
    post_logout_redirect_uris: tuple[str, ...] = ()
    backchannel_logout_uri: str | None = None
    settings: ClientSettings = field(default_factory=ClientSettings)
    created_at: datetime | None = None

    @property
    def public(self) -> bool:
        return self.secret_hash is None

    @property
    def auth_methods(self) -> tuple[str, ...]:
        return ("none",) if self.public else ("client_secret_basic", "client_secret_post")

    # -- Authlib's ClientMixin -------------------------------------------------------------
    def get_client_id(self) -> str:
        return self.id

    def get_default_redirect_uri(self) -> str | None:
        # OIDC Core §3.1.2.1: redirect_uri is REQUIRED; never guess one.
        return None

    def get_allowed_scope(self, scope: str | None) -> str:
        # OIDC Core §3.1.2.1: scope values the server doesn't understand are ignored.
        requested = (scope or "").split()
        return " ".join(dict.fromkeys(s for s in requested if s in SUPPORTED_SCOPES))

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return any(redirect_uri_matches(r, redirect_uri) for r in self.redirect_uris)

    def check_client_secret(self, client_secret: str) -> bool:
        if self.secret_hash is None:
            return False
        return hmac.compare_digest(hash_secret(client_secret), self.secret_hash)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method in self.auth_methods

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code"

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type in {"authorization_code", "refresh_token"}


def redirect_uri_matches(registered: str, requested: str) -> bool:
    """Exact string match; for http loopback registrations the port may differ (RFC 8252 §7.3)."""
    if hmac.compare_digest(registered.encode(), requested.encode()):
        return True
    reg, req = urlsplit(registered), urlsplit(requested)
    if reg.scheme != "http" or req.scheme != "http" or reg.hostname not in LOOPBACK_HOSTS:
        return False
    try:
        if reg.port is not None:
            return False  # a registration naming a port matches only exactly
        req.port  # noqa: B018 - raises on a malformed port
    except ValueError:
        return False
    return (
        req.hostname == reg.hostname
        and req.username is None
        and req.password is None
        and (req.path or "/") == (reg.path or "/")
        and req.query == reg.query
        and not req.fragment
    )


def new_client_id() -> str:
    return secrets.token_hex(12)


def new_client_secret() -> str:
    """256 bits from RFC 3986 unreserved characters, so no encoding rule can mangle it."""
    return secrets.token_urlsafe(32)


def hash_secret(value: str) -> str:
    # Client secrets are 256-bit random strings: a plain digest is enough and keeps each
    # token request cheap (argon2 is for human-chosen passwords).
    return hashlib.sha256(value.encode()).hexdigest()


def check_client_id(client_id: str) -> str:
    if not _CLIENT_ID.match(client_id):
        raise InvalidInput("client id: 1-128 characters from A-Z a-z 0-9 . _ ~ : -", field="id")
    return client_id


def check_redirect_uri(uri: str) -> str:
    """Absolute, no fragment (RFC 6749 §3.1.2); custom schemes allowed for native apps."""
    parts = urlsplit(uri)
    if not parts.scheme or parts.fragment or not (parts.netloc or parts.path):
        raise InvalidInput(f"redirect URI {uri!r} must be absolute, without fragment")
    if parts.scheme in {"javascript", "data", "vbscript", "file"}:
        raise InvalidInput(f"redirect URI scheme {parts.scheme!r} is not allowed")
    return uri


def check_http_uri(uri: str) -> str:
    parts = urlsplit(uri)
    if parts.scheme not in {"http", "https"} or not parts.netloc or parts.fragment:
        raise InvalidInput(f"{uri!r} must be an absolute http(s) URL without fragment")
    return uri


def _words(raw: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(w for w in re.split(r"[,\s]+", raw.strip()) if w))


def _choice(options: tuple[str, ...]) -> Callable[[str], str]:
    def parse(raw: str) -> str:
        if raw not in options:
            raise InvalidInput(f"must be one of {', '.join(options)}")
        return raw

    return parse


def _bool(raw: str) -> bool:
    lowered = raw.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise InvalidInput("must be true or false")


def _seconds(raw: str) -> int:
    if not raw.isdigit() or not 1 <= int(raw) <= 400 * 24 * 3600:
        raise InvalidInput("must be a number of seconds between 1 and 34560000")
    return int(raw)


def _claims(raw: str) -> tuple[str, ...]:
    from keyhall.oidc.claims import EXTRA_CLAIMS

    names = _words(raw)
    unknown = [n for n in names if n not in EXTRA_CLAIMS]
    if unknown:
        raise InvalidInput(f"unknown claims {unknown} (known: {', '.join(sorted(EXTRA_CLAIMS))})")
    return names


# KEY -> parser of the text an admin types in `keyhall client set CLIENT_ID KEY=VALUE`.
SETTING_PARSERS: dict[str, Callable[[str], Any]] = {
    "signing_alg": _choice(SIGNING_ALGS),
    "access_token_format": _choice(ACCESS_TOKEN_FORMATS),
    "extra_claims": _claims,
    "allowed_groups": _words,
    "consent": _bool,
    "access_token_lifetime": _seconds,
    "id_token_lifetime": _seconds,
    "refresh_token_lifetime": _seconds,
    "quota": lambda raw: raw.strip() or "default",
}
# KEY -> parser for the registration fields that `client set` may also change.
FIELD_PARSERS: dict[str, Callable[[str], Any]] = {
    "name": lambda raw: raw.strip() or "client",
    "redirect_uris": lambda raw: tuple(check_redirect_uri(u) for u in _words(raw)),
    "post_logout_redirect_uris": lambda raw: tuple(check_redirect_uri(u) for u in _words(raw)),
    "backchannel_logout_uri": lambda raw: check_http_uri(raw.strip()) if raw.strip() else None,
}


def apply_settings(client: Client, assignments: Mapping[str, str]) -> Client:
    """Return the client with `KEY=VALUE` assignments applied, or explain the first bad one."""
    settings: dict[str, Any] = {}
    fields: dict[str, Any] = {}
    for key, raw in assignments.items():
        parser = SETTING_PARSERS.get(key) or FIELD_PARSERS.get(key)
        if parser is None:
            known = ", ".join(sorted({*SETTING_PARSERS, *FIELD_PARSERS}))
            raise InvalidInput(f"unknown client setting {key!r} (known: {known})", field=key)
        try:
            value = parser(raw)
        except InvalidInput as exc:
            raise InvalidInput(f"{key}: {exc.message}", field=key) from None
        (settings if key in SETTING_PARSERS else fields)[key] = value
    if fields.get("redirect_uris") == ():
        raise InvalidInput("a client needs at least one redirect URI", field="redirect_uris")
    return replace(client, settings=replace(client.settings, **settings), **fields)
