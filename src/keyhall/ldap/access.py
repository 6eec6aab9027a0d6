"""Who may use the LDAP front: the service account's secret and the IP allowlist (seed 000).

The service account `cn=admin,ou=system,<base>` has one generated secret. `keyhall ldap show`
must display it, so it is sealed (AES-GCM under a key derived from the instance secret) rather
than hashed. Writes bump the directory version, so running servers pick changes up on refresh.
"""

from __future__ import annotations

import ipaddress
import secrets
from dataclasses import dataclass

from keyhall.directory.models import Actor, AuditEvent
from keyhall.directory.passwords import constant_time_equal
from keyhall.directory.sealing import Sealer
from keyhall.directory.service import Directory
from keyhall.errors import InvalidInput
from keyhall.storage.credential_store import CredentialStore, LdapState

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
DEFAULT_ALLOWLIST = ("127.0.0.0/8", "::1/128")
SERVICE_RDN = "cn=admin,ou=system"


@dataclass(frozen=True, slots=True)
class AccessPolicy:
    secret: str
    networks: tuple[Network, ...]
    enabled: bool = True
    """The `ldap_enabled` setting (seed 000: "LDAP Server can be enabled"): off refuses all."""

    def allows(self, ip: str) -> bool:
        if not self.enabled:
            return False
        try:
            address = ipaddress.ip_address(ip.split("%", 1)[0])
        except ValueError:
            return False
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        return any(address in net for net in self.networks)

    def secret_matches(self, candidate: str) -> bool:
        return bool(candidate) and constant_time_equal(candidate, self.secret)


def parse_networks(values: list[str] | tuple[str, ...]) -> tuple[Network, ...]:
    networks = []
    for value in values:
        try:
            networks.append(ipaddress.ip_network(value.strip(), strict=False))
        except ValueError:
            raise InvalidInput(f"not an IP address or CIDR range: {value!r}") from None
    return tuple(networks)


class LdapAccess:
    def __init__(self, directory: Directory, secret_key: bytes) -> None:
        self.directory = directory
        self.store = CredentialStore(directory.store)
        self._sealer = Sealer(secret_key, "ldap-service")

    def policy(self) -> AccessPolicy:
        return self.policy_of(self._state())

    def show(self) -> tuple[AccessPolicy, LdapState]:
        state = self._state()
        return self.policy_of(state), state

    def policy_of(self, state: LdapState) -> AccessPolicy:
        return AccessPolicy(
            self._sealer.open(state.sealed_secret).decode(),
            parse_networks(state.allowlist),
            enabled=bool(self.directory.settings()["ldap_enabled"]),
        )

    def allow(self, cidrs: list[str], *, actor: Actor) -> list[str]:
        added = [str(n) for n in parse_networks(cidrs)]
        state = self._state()
        allowlist = state.allowlist + [n for n in added if n not in state.allowlist]
        self._save(LdapState(state.sealed_secret, allowlist, state.rotated_at), actor, added=added)
        return allowlist

    def deny(self, cidrs: list[str], *, actor: Actor) -> list[str]:
        removed = [str(n) for n in parse_networks(cidrs)]
        state = self._state()
        allowlist = [n for n in state.allowlist if n not in removed]
        self._save(
            LdapState(state.sealed_secret, allowlist, state.rotated_at), actor, removed=removed
        )
        return allowlist

    def set_allowlist(self, cidrs: list[str], *, actor: Actor) -> list[str]:
        """Replace the allowlist whole (the dashboard's and the API's edit)."""
        allowlist = list(dict.fromkeys(str(n) for n in parse_networks(cidrs)))
        state = self._state()
        self._save(
            LdapState(state.sealed_secret, allowlist, state.rotated_at), actor, allowlist=allowlist
        )
        return allowlist

    def rotate_secret(self, *, actor: Actor) -> str:
        state = self._state()
        secret = new_secret()
        sealed = self._sealer.seal(secret.encode())
        self._save(LdapState(sealed, state.allowlist, self.directory.clock()), actor, rotated=True)
        return secret

    def _state(self) -> LdapState:
        state = self.store.ldap_state()
        if state is None:
            # First use: a fresh secret and the loopback-only allowlist.
            sealed = self._sealer.seal(new_secret().encode())
            state = LdapState(sealed, list(DEFAULT_ALLOWLIST), self.directory.clock())
            with self.directory.store.write() as w:
                if self.store.ldap_state_for_update(w) is None:
                    self.store.put_ldap_state(w, state)
            state = self.store.ldap_state() or state
        return state

    def _save(self, state: LdapState, actor: Actor, **details: object) -> None:
        with self.directory.store.write() as w:
            self.store.put_ldap_state(w, state)
            w.audit(
                AuditEvent(
                    at=self.directory.clock(),
                    actor=str(actor),
                    action="ldap.access",
                    target="ldap",
                    outcome="success",
                    ip=actor.ip,
                    details=dict(details),
                )
            )


def new_secret() -> str:
    return secrets.token_urlsafe(24)
