"""The connector's use cases, for the CLI, the JSON API and the dashboard alike.

show / set settings (each change an audit event), test a login, sync, disable.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from keyhall.connectors import settings as s
from keyhall.connectors.auth import ExternalAuthenticator
from keyhall.connectors.ldap_source import LdapSource, LoginCheck
from keyhall.connectors.plan import SOURCE
from keyhall.connectors.sync import SyncReport, run_sync
from keyhall.directory.models import LOCAL_SOURCE, Actor, AuditEvent, User
from keyhall.directory.sealing import Sealer
from keyhall.directory.service import Directory
from keyhall.errors import InvalidInput
from keyhall.storage import external_store as xs
from keyhall.storage.external_store import ExternalStore

CONFIG_TTL = 1.0
"""Seconds a node trusts its copy of the settings (changes may come from another process)."""


class ExternalDirectory:
    def __init__(self, directory: Directory, secret_key: bytes) -> None:
        self.directory = directory
        self.store = ExternalStore(directory.store)
        self.sealer = Sealer(secret_key, s.SEAL_PURPOSE)
        self._config: s.ExternalConfig | None = None
        self._loaded_at = 0.0
        self.authenticator = ExternalAuthenticator(directory, self.config)

    def attach(self) -> None:
        """Make `Directory.authenticate` consult the connector for directory users."""
        self.directory.external = self.authenticator

    # -- settings ------------------------------------------------------------------------
    def config(self, *, fresh: bool = False) -> s.ExternalConfig:
        now = time.monotonic()
        if fresh or self._config is None or now - self._loaded_at > CONFIG_TTL:
            self._config = s.effective(self.store.settings(), self.sealer)
            self._loaded_at = now
        return self._config

    def show(self) -> dict[str, Any]:
        config = self.config(fresh=True)
        runs = self.store.runs(limit=1)
        return {
            "settings": s.shown(config),
            "passes_2fa_through": config.passes_2fa_through,
            "last_sync": runs[0] if runs else None,
        }

    def set(self, assignments: Mapping[str, str], *, actor: Actor) -> dict[str, Any]:
        """Change settings; `KEY=` (empty) returns a key to its preset or default."""
        parsed: dict[str, Any] = {}
        for key, raw in assignments.items():
            if key not in s.KEYS:
                s.parse(key, raw)  # raises, naming the known keys
            spec = s.KEYS[key]
            empty = raw.strip() == "" and spec.kind in ("str", "choice", "int", "float")
            parsed[key] = None if empty else s.parse(key, raw)
        stored = {**self.store.settings()}
        for key, value in parsed.items():
            if value is None:
                stored.pop(key, None)
            else:
                stored[key] = s.stored_value(key, value, self.sealer)
        config = s.effective(stored, self.sealer)
        if config.enabled:
            s.check_usable(config)
        now = self.directory.clock()
        events = [
            AuditEvent(
                at=now,
                actor=str(actor),
                action="external.settings",
                target=key,
                outcome="success",
                ip=actor.ip,
                details={"value": s.audit_value(key, value)},
            )
            for key, value in parsed.items()
        ]
        self.store.set_settings(
            {k: None if v is None else stored[k] for k, v in parsed.items()}, events
        )
        self._config = None
        return s.shown(config)

    # -- operations ----------------------------------------------------------------------
    def test_login(self, login: str, password: str, totp: str | None = None) -> LoginCheck:
        """Check a login against the directory without touching local accounts."""
        config = self.config(fresh=True)
        s.check_usable(config)
        return LdapSource(config).check_login(login, password, totp)

    def sync(self, *, actor: Actor, trigger: str = "manual", dry_run: bool = False) -> SyncReport:
        config = self.config(fresh=True)
        if not config.enabled:
            raise InvalidInput("the external directory is not enabled (set enabled=true)")
        s.check_usable(config)
        return run_sync(self.directory, config, actor=actor, trigger=trigger, dry_run=dry_run)

    def disable(self, *, actor: Actor) -> dict[str, int]:
        """Seed 000: disabling turns every directory user into a local one (no password yet)."""
        with self.directory.store.write() as w:
            users, groups = xs.convert_to_local(w, SOURCE, LOCAL_SOURCE)
            w.audit(
                AuditEvent(
                    at=self.directory.clock(),
                    actor=str(actor),
                    action="external.disable",
                    target="external",
                    outcome="success",
                    ip=actor.ip,
                    details={"users": users, "groups": groups},
                )
            )
        self.store.set_settings({"enabled": False}, [])
        self._config = None
        if self.directory.view.loaded:
            self.directory.refresh()
        return {"users": users, "groups": groups}

    def skips_local_2fa(self, user: User) -> bool:
        """Seed 000: a provider that checks 2FA upstream means no local enrolment is asked."""
        return user.source == SOURCE and self.config().passes_2fa_through
