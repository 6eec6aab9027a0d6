"""RFC 4511 client side: reading an external LDAP/AD directory with python-ldap (libldap).

Every call blocks, so callers run it in a worker thread (the fronts call `authenticate` off
their event loop; the scheduler uses `asyncio.to_thread`). Values put in filters are escaped
per RFC 4515 §3 and values put in DNs per RFC 4514 §2.4; an empty password is never sent,
because RFC 4513 §5.1.2 makes it an unauthenticated bind that "succeeds".
"""

from __future__ import annotations

import enum
import re
import socket
import ssl
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import ldap.filter
from ldap.controls import SimplePagedResultsControl

import ldap
from keyhall.connectors.entries import (
    ExternalGroup,
    ExternalUser,
    RawEntry,
    group_attributes,
    ranged_values,
    to_group,
    to_user,
    user_attributes,
)
from keyhall.connectors.presets import PRESETS
from keyhall.connectors.settings import ExternalConfig
from keyhall.errors import KeyhallError

PAGE_SIZE = 500
TOTP_ATTRIBUTE = "totptoken"


class DirectoryUnavailable(KeyhallError):
    """The external directory could not be asked: unreachable, slow, refused our service bind."""

    code = "external_unavailable"


class LoginOutcome(enum.StrEnum):
    OK = "ok"
    UNKNOWN_USER = "unknown_user"
    AMBIGUOUS = "ambiguous"
    BAD_PASSWORD = "bad_password"  # noqa: S105 - an outcome, not a secret
    DISABLED = "disabled"
    """The password was right but the directory refuses the account (AD: disabled, expired)."""
    UNAVAILABLE = "unavailable"


# MS-ADTS / Windows logon sub-codes AD (and Samba) put in a failed bind's diagnostic message
# ("... AcceptSecurityContext error, data 533, ..."). They are sent only when the password
# was right; a wrong one gets 52e.
_AD_REFUSALS = {
    "530": "logon not permitted at this time",
    "531": "logon not permitted from this workstation",
    "532": "password expired",
    "533": "account disabled",
    "701": "account expired",
    "773": "password must be reset",
    "775": "account locked out",
}
_AD_DATA = re.compile(r"\bdata ([0-9a-f]{3})\b")


@dataclass(frozen=True, slots=True)
class LoginCheck:
    outcome: LoginOutcome
    user: ExternalUser | None = None
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.outcome is LoginOutcome.OK


def login_filter(config: ExternalConfig, login: str) -> str:
    """The filter that must match exactly one entry for `login` (RFC 4515 escaping)."""
    name = strip_domain(login)
    value = ldap.filter.escape_filter_chars(name)
    if "@" in name:
        attrs = (config.email_attribute, *PRESETS[config.provider].email_login_attributes)
        match = "".join(f"({a}={value})" for a in attrs if a)
        match = f"(|{match})" if match.count("(") > 1 else match
    else:
        match = f"({config.username_attribute}={value})"
    base = config.users_filter
    if "%u" in base:
        return base.replace("%u", value)
    return f"(&{base}{match})" if base else match


def strip_domain(login: str) -> str:
    """`WORKGROUP\\smith` logs in as `smith` (seed 004): the domain part is discarded."""
    return login.strip().rpartition("\\")[2]


def dynamic_dn(config: ExternalConfig, login: str) -> str:
    return config.bind_dn_template.replace("%u", ldap.dn.escape_dn_chars(strip_domain(login)))


def totp_dn(dn: str, totp: str | None) -> str:
    """Providers that check 2FA upstream read the code from the bind DN's first RDN.

    Cloudron's scheme, which Keyhall's LDAP server follows: `uid=alice+totptoken=123456,...`.
    """
    if not totp:
        return dn
    rdns = ldap.dn.str2dn(dn)
    rdns[0] = [*rdns[0], (TOTP_ATTRIBUTE, totp, ldap.AVA_STRING)]
    return str(ldap.dn.dn2str(rdns))


class LdapSource:
    def __init__(self, config: ExternalConfig) -> None:
        self.config = config

    # -- connections ---------------------------------------------------------------------
    @contextmanager
    def connection(self, *, service_bind: bool = True) -> Iterator[Any]:
        """An open connection, bound as the service account in fixed mode."""
        conn = self._open()
        try:
            if service_bind and self.config.bind_mode == "fixed" and self.config.bind_dn:
                self._call(conn.simple_bind_s, self.config.bind_dn, self.config.bind_password)
            yield conn
        finally:
            with suppress(ldap.LDAPError):
                conn.unbind_s()

    def _open(self) -> Any:
        c = self.config
        conn = ldap.initialize(c.url)
        conn.set_option(ldap.OPT_PROTOCOL_VERSION, 3)
        conn.set_option(ldap.OPT_REFERRALS, 1 if c.follow_referrals else 0)
        conn.set_option(ldap.OPT_NETWORK_TIMEOUT, c.connect_timeout)
        conn.set_option(ldap.OPT_TIMEOUT, c.read_timeout)
        # python-ldap's synchronous calls wait this long for each result.
        conn.timeout = c.read_timeout
        if c.url.startswith("ldaps://"):
            tls_preflight(c)
        if c.url.startswith("ldaps://") or c.start_tls:
            require = ldap.OPT_X_TLS_NEVER if c.accept_self_signed else ldap.OPT_X_TLS_DEMAND
            conn.set_option(ldap.OPT_X_TLS_REQUIRE_CERT, require)
            if c.ca_cert_file:
                conn.set_option(ldap.OPT_X_TLS_CACERTFILE, c.ca_cert_file)
            # TLS options take effect on a new TLS context, which must be made last.
            conn.set_option(ldap.OPT_X_TLS_NEWCTX, 0)
        if c.start_tls:
            try:
                self._call(conn.start_tls_s)
            except DirectoryUnavailable:
                with suppress(ldap.LDAPError):
                    conn.unbind_s()
                raise
        return conn

    def _call(self, fn: Any, *args: Any) -> Any:
        try:
            return fn(*args)
        except ldap.INVALID_CREDENTIALS:
            raise DirectoryUnavailable(
                f"{self.config.url}: the service account bind was refused (check bind_dn and "
                "bind_password)"
            ) from None
        except ldap.LDAPError as exc:
            raise DirectoryUnavailable(describe(self.config, exc)) from None

    # -- authentication ------------------------------------------------------------------
    def check_login(self, login: str, password: str, totp: str | None = None) -> LoginCheck:
        """Find the one entry for `login` and bind as it with `password`."""
        if not password or not strip_domain(login):
            return LoginCheck(LoginOutcome.BAD_PASSWORD, detail="empty password or login")
        try:
            if self.config.bind_mode == "dynamic":
                return self._check_dynamic(login, password, totp)
            return self._check_fixed(login, password, totp)
        except DirectoryUnavailable as exc:
            return LoginCheck(LoginOutcome.UNAVAILABLE, detail=exc.message)

    def _check_fixed(self, login: str, password: str, totp: str | None) -> LoginCheck:
        with self.connection() as conn:
            found = self._search(
                conn,
                self.config.users_base_dn,
                login_filter(self.config, login),
                user_attributes(self.config),
            )
            if not found:
                return LoginCheck(LoginOutcome.UNKNOWN_USER)
            if len(found) > 1:
                return LoginCheck(LoginOutcome.AMBIGUOUS, detail=f"{len(found)} entries match")
            dn, raw = found[0]
            refused = self._bind_as(conn, totp_dn(dn, totp), password)
            if refused is not None:
                return refused
            return LoginCheck(LoginOutcome.OK, to_user(self.config, dn, raw, datetime.now(UTC)))

    def _check_dynamic(self, login: str, password: str, totp: str | None) -> LoginCheck:
        dn = dynamic_dn(self.config, login)
        with self.connection(service_bind=False) as conn:
            refused = self._bind_as(conn, totp_dn(dn, totp), password)
            if refused is not None:
                return refused
            found = self._search(
                conn, dn, "(objectClass=*)", user_attributes(self.config), base=True
            )
            if len(found) != 1:
                return LoginCheck(LoginOutcome.UNKNOWN_USER)
            return LoginCheck(
                LoginOutcome.OK, to_user(self.config, dn, found[0][1], datetime.now(UTC))
            )

    def _bind_as(self, conn: Any, dn: str, password: str) -> LoginCheck | None:
        """None when the bind succeeds, else why it was refused."""
        try:
            conn.simple_bind_s(dn, password)
        except ldap.INVALID_CREDENTIALS as exc:
            info = exc.args[0].get("info", "") if exc.args and isinstance(exc.args[0], dict) else ""
            match = _AD_DATA.search(str(info))
            if match and match[1] in _AD_REFUSALS:
                return LoginCheck(LoginOutcome.DISABLED, detail=_AD_REFUSALS[match[1]])
            return LoginCheck(LoginOutcome.BAD_PASSWORD)
        except (ldap.INVALID_DN_SYNTAX, ldap.UNWILLING_TO_PERFORM):
            return LoginCheck(LoginOutcome.BAD_PASSWORD)
        except ldap.LDAPError as exc:
            raise DirectoryUnavailable(describe(self.config, exc)) from None
        return None

    # -- reading -------------------------------------------------------------------------
    def _search(
        self, conn: Any, base_dn: str, filter: str, attrs: list[str], *, base: bool = False
    ) -> list[tuple[str, RawEntry]]:
        scope = ldap.SCOPE_BASE if base else ldap.SCOPE_SUBTREE
        try:
            results = conn.search_ext_s(
                base_dn, scope, filter, attrs, timeout=self.config.read_timeout
            )
        except ldap.NO_SUCH_OBJECT:
            return []
        except ldap.LDAPError as exc:
            raise DirectoryUnavailable(describe(self.config, exc)) from None
        # With referrals ignored, search references come back as (None, [urls]): skip them.
        return [(dn, entry) for dn, entry in results if dn is not None and isinstance(entry, dict)]

    def paged(
        self, conn: Any, base_dn: str, filter: str, attrs: list[str]
    ) -> Iterator[tuple[str, RawEntry]]:
        """RFC 2696 simple paged results: the whole subtree, PAGE_SIZE entries at a time."""
        control = SimplePagedResultsControl(True, size=PAGE_SIZE, cookie="")
        while True:
            try:
                msgid = conn.search_ext(
                    base_dn, ldap.SCOPE_SUBTREE, filter, attrs, serverctrls=[control]
                )
                _, data, _, controls = conn.result3(msgid, all=1, timeout=self.config.read_timeout)
            except ldap.NO_SUCH_OBJECT:
                return
            except ldap.LDAPError as exc:
                raise DirectoryUnavailable(describe(self.config, exc)) from None
            for dn, entry in data:
                if dn is not None and isinstance(entry, dict):
                    yield dn, entry
            cookie = next(
                (
                    c.cookie
                    for c in controls
                    if c.controlType == SimplePagedResultsControl.controlType
                ),
                b"",
            )
            if not cookie:
                return
            control.cookie = cookie

    def fetch_users(self, conn: Any) -> list[ExternalUser]:
        c = self.config
        now = datetime.now(UTC)
        filter = c.users_filter.replace("%u", "*") if c.users_filter else "(objectClass=*)"
        return [
            to_user(c, dn, raw, now)
            for dn, raw in self.paged(conn, c.users_base_dn, filter, user_attributes(c))
        ]

    def fetch_groups(self, conn: Any) -> list[ExternalGroup]:
        c = self.config
        base = c.groups_base_dn or c.users_base_dn
        filter = c.groups_filter or "(objectClass=groupOfNames)"
        member = c.member_attribute
        groups = []
        for dn, raw in self.paged(conn, base, filter, group_attributes(c)):
            members: list[str] = []
            if member.lower() != "memberof":
                members, next_start = ranged_values(raw, member)
                while next_start is not None:
                    more, next_start = self.next_range(conn, dn, member, next_start)
                    members.extend(more)
            groups.append(to_group(c, dn, raw, members))
        return groups

    def next_range(
        self, conn: Any, dn: str, attribute: str, start: int
    ) -> tuple[list[str], int | None]:
        found = self._search(
            conn, dn, "(objectClass=*)", [f"{attribute};range={start}-*"], base=True
        )
        if not found:
            return [], None
        return ranged_values(found[0][1], attribute)


def tls_preflight(config: ExternalConfig) -> None:
    """Check that an ldaps:// server completes a TLS handshake within the timeouts.

    libldap as Debian builds it applies no timeout to the LDAPS handshake, so a server that
    accepts and then stays silent would hang the caller forever. This handshake only proves
    the server answers; libldap's own handshake then verifies the certificate.
    """
    try:
        parts = urlsplit(config.url)
        host, port = parts.hostname or "localhost", parts.port or 636
    except ValueError as exc:
        raise DirectoryUnavailable(f"{config.url}: {exc}") from None
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    try:
        with socket.create_connection((host, port), timeout=config.connect_timeout) as sock:
            sock.settimeout(config.read_timeout)
            with context.wrap_socket(sock, server_hostname=host):
                pass
    except TimeoutError:
        raise DirectoryUnavailable(
            f"{config.url}: no TLS handshake within read_timeout={config.read_timeout:g}s"
        ) from None
    except (OSError, ValueError) as exc:
        raise DirectoryUnavailable(
            f"{config.url}: cannot connect ({exc.strerror or exc}; "
            f"connect_timeout={config.connect_timeout:g}s)"
            if isinstance(exc, OSError)
            else f"{config.url}: {exc}"
        ) from None


def describe(config: ExternalConfig, exc: ldap.LDAPError) -> str:
    """A one-line status for people: what failed, never a password."""
    info = exc.args[0] if exc.args and isinstance(exc.args[0], dict) else {}
    text = info.get("desc") or type(exc).__name__
    extra = info.get("info")
    if isinstance(exc, ldap.TIMEOUT):
        text = f"no answer within read_timeout={config.read_timeout:g}s"
    elif isinstance(exc, ldap.SERVER_DOWN):
        text = f"cannot connect ({extra or text}; connect_timeout={config.connect_timeout:g}s)"
        extra = None
    return f"{config.url}: {text}" + (f" ({extra})" if extra else "")
