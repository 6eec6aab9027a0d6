"""Opening an instance: data directory, database, migrations, directory service."""

from __future__ import annotations

from dataclasses import dataclass

from keyhall.accounts import mandatory as accounts_mandatory
from keyhall.config import Config
from keyhall.connectors.connector import ExternalDirectory
from keyhall.datadir import ensure_data_dir, ensure_secret
from keyhall.directory.service import Directory
from keyhall.oidc import offboarding as oidc_offboarding
from keyhall.storage import migrate
from keyhall.storage.store import Store


@dataclass
class Instance:
    config: Config
    store: Store
    directory: Directory
    secret_key: bytes

    def close(self) -> None:
        self.store.close()


def open_instance(config: Config) -> Instance:
    ensure_data_dir(config.data_dir)
    # One instance secret for HMACs and encryption at rest; several nodes must share it.
    secret_key = (
        bytes.fromhex(config.secret_key)
        if config.secret_key
        else ensure_secret(config.data_dir / "secret.key")
    )
    store = Store(config.db_url)
    migrate.upgrade(store.engine)
    directory = Directory(store)
    # Directory users' passwords are checked upstream, whichever front asks.
    ExternalDirectory(directory, secret_key).attach()
    instance = Instance(config, store, directory, secret_key)
    # Disabling, deleting or re-passwording a user ends their SSO sessions and tokens.
    oidc_offboarding.register(instance)
    # Turning on mandatory 2FA signs out everyone without a second factor, at once.
    accounts_mandatory.register(instance)
    return instance
