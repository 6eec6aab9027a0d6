"""The use cases the dashboard and the JSON API call, built once per application.

Both fronts are adapters over the same objects, so a change made through one reads the same
through the other (and through the CLI, which builds its own over the same database).
"""

from __future__ import annotations

from dataclasses import dataclass

from keyhall.accounts.service import Accounts
from keyhall.connectors.connector import ExternalDirectory
from keyhall.directory.credentials import Credentials
from keyhall.directory.service import Directory
from keyhall.directory.tokens import Tokens
from keyhall.ldap.access import SERVICE_RDN, LdapAccess
from keyhall.oidc.keys import KeyRing
from keyhall.oidc.registry import ClientRegistry
from keyhall.oidc.sessions import Sessions
from keyhall.runtime import Instance
from keyhall.storage.oidc_store import OidcStore


@dataclass(frozen=True)
class AdminServices:
    inst: Instance
    directory: Directory
    clients: ClientRegistry
    ldap: LdapAccess
    external: ExternalDirectory
    accounts: Accounts
    """Invitations and second factors (the account pages' use cases)."""
    tokens: Tokens

    @property
    def credentials(self) -> Credentials:
        return self.accounts.credentials

    @classmethod
    def of(cls, inst: Instance, accounts: Accounts | None = None) -> AdminServices:
        d = inst.directory
        if accounts is None:
            store = OidcStore(inst.store)
            keys = KeyRing(store, inst.secret_key)
            accounts = Accounts(inst, lambda: Sessions(store, keys, inst.config.issuer))
        return cls(
            inst=inst,
            directory=d,
            clients=ClientRegistry(d),
            ldap=LdapAccess(d, inst.secret_key),
            external=ExternalDirectory(d, inst.secret_key),
            accounts=accounts,
            tokens=Tokens(d),
        )

    @property
    def ldap_bind_dn(self) -> str:
        return f"{SERVICE_RDN},{self.inst.config.ldap_base_dn.strip().lower()}"

    def ldap_urls(self) -> list[str]:
        """The LDAP front's listening URLs, as a client would type them."""
        config = self.inst.config
        urls = []
        if config.ldaps_addr:
            urls.append(
                f"ldaps://{_host(config.public_url)}:{config.ldaps_addr.rpartition(':')[2]}"
            )
        if config.ldap_addr:
            urls.append(f"ldap://{config.ldap_addr}")
        return urls

    def ldapsearch_example(self) -> str:
        """Seed 000's troubleshooting command, for this instance's address and tree."""
        urls = self.ldap_urls()
        base = self.inst.config.ldap_base_dn.strip().lower()
        where = urls[0] if urls else "ldap://HOST:389"
        return f'ldapsearch -x -H {where} -D "{self.ldap_bind_dn}" -W -b "ou=users,{base}"'

    def instance_name(self) -> str:
        return str(self.directory.settings()["name"])


def _host(public_url: str) -> str:
    from urllib.parse import urlsplit

    return urlsplit(public_url).hostname or "localhost"
