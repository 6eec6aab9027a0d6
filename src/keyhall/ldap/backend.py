"""What every LDAP session of one process shares: the tree, the access policy, credential checks.

The tree is rebuilt (reusing unchanged entries) when the directory view's version moves; the
access policy and settings are re-read from the database at the same moments, by `reload`,
which the listener runs in a worker thread.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from typing import Any, Protocol

from keyhall.config import Config
from keyhall.directory.credentials import Credentials
from keyhall.directory.models import AuthResult
from keyhall.directory.service import Directory
from keyhall.ldap.access import AccessPolicy, LdapAccess
from keyhall.ldap.dn import normalize_dn
from keyhall.ldap.entries import Dit, DitBuilder, TreeOptions
from keyhall.ldap.throttle import BindThrottle


def _version() -> str:
    try:
        return version("keyhall")
    except PackageNotFoundError:
        return "0"


class LdapHost(Protocol):
    """What the LDAP front needs of an instance: `runtime.Instance` or the LDAP process's own."""

    config: Config
    directory: Directory
    secret_key: bytes


class LdapBackend:
    def __init__(self, inst: LdapHost) -> None:
        self.inst = inst
        self.view = inst.directory.view
        self.base_dn = normalize_dn(inst.config.ldap_base_dn)
        self.credentials = Credentials(inst.directory, inst.secret_key)
        self.access = LdapAccess(inst.directory, inst.secret_key)
        self.throttle = BindThrottle()
        self.vendor_version = _version()
        self._policy: AccessPolicy | None = None
        self._settings: dict[str, Any] = {}
        self._builder: DitBuilder | None = None
        self._dit: Dit | None = None
        self.loaded_version = -2

    # -- blocking: run in a worker thread ---------------------------------------------------
    def reload(self) -> None:
        """Re-read the access policy and settings (they change with the directory version)."""
        self._policy = self.access.policy()
        self._settings = self.inst.directory.settings()
        limit = int(self._settings["ldap_failed_binds_limit"])
        # The first sixth of the allowance is free (people mistype), the rest is slowed down.
        self.throttle.busy_after, self.throttle.free = limit, limit // 6

    def check_user(self, login: str, secret: str, totp: str | None, ip: str) -> AuthResult:
        return self.credentials.authenticate(login, secret, totp_code=totp, ip=ip, via="ldap")

    # -- on the event loop ----------------------------------------------------------------
    @property
    def policy(self) -> AccessPolicy:
        assert self._policy is not None, "reload() first"
        return self._policy

    @property
    def size_limit(self) -> int:
        return int(self._settings.get("ldap_size_limit", 5000))

    def tree(self) -> Dit:
        dit = self._dit
        # Every request asks: the common answer, nothing changed, costs two comparisons.
        if dit is not None and dit.version == self.view.version and self._settings is dit.settings:
            return dit
        options = TreeOptions(
            self.base_dn,
            show_disabled=bool(self._settings.get("ldap_show_disabled", False)),
            vendor_version=self.vendor_version,
        )
        if self._builder is None or self._builder.options != options:
            self._builder = DitBuilder(options)
            self._dit = None
        if self._dit is None or self._dit.version != self.view.version:
            self._dit = self._builder.build(self.view)
        self._dit.settings = self._settings
        return self._dit

    def is_admin(self, user_id: str) -> bool:
        user = self.view.users.get(user_id)
        return user is not None and user.is_admin and user.can_log_in
