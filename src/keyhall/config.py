"""Process configuration: `KEYHALL_*` environment variables, or the same keys in keyhall.toml.

The environment wins over the file. The file lives in the data directory, so the data
directory itself can only come from the environment.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from keyhall.errors import InvalidInput


class Config(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="KEYHALL_", extra="ignore")

    data_dir: Path = Path("./keyhall-data")
    database_url: str = ""
    http_addr: str = "127.0.0.1:8080"
    http_workers: int = Field(default_factory=lambda: os.cpu_count() or 1, ge=1)
    """Processes running the HTTP app on the one HTTP socket; default: one per core."""
    public_url: str = "http://127.0.0.1:8080"
    ldap_addr: str = "127.0.0.1:3890"
    ldaps_addr: str = ""
    tls_cert: str = ""
    tls_key: str = ""
    ldap_base_dn: str = "dc=keyhall"
    secret_key: str = ""
    """Hex; shared by every node of a cluster. Default: `secret.key` in the data dir."""
    log_level: str = "info"
    log_format: str = "console"
    """`console` for people, `json` for log collectors."""
    smtp_host: str = ""
    """Mail server for password resets and invitations; empty: no mail is sent."""
    smtp_port: int = 587
    smtp_username: str = ""
    smtp_password: str = ""
    smtp_from: str = ""
    smtp_security: str = "starttls"
    """`starttls`, `tls` (implicit, port 465) or `none` (a relay on loopback only)."""

    @field_validator("public_url")
    @classmethod
    def _strip_slash(cls, value: str) -> str:
        return value.rstrip("/")

    @property
    def db_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir.resolve() / 'keyhall.db'}"

    @property
    def issuer(self) -> str:
        return f"{self.public_url}/openid"

    @property
    def secure_cookies(self) -> bool:
        return self.public_url.startswith("https://")


def split_addr(addr: str) -> tuple[str, int]:
    host, sep, port = addr.rpartition(":")
    if not sep or not port.isdigit():
        raise InvalidInput(f"address {addr!r} must be HOST:PORT")
    return host.strip("[]") or "0.0.0.0", int(port)  # noqa: S104


def load_config(**overrides: Any) -> Config:
    data_dir = Path(os.environ.get("KEYHALL_DATA_DIR", "./keyhall-data"))
    file_values: dict[str, Any] = {}
    toml_path = data_dir / "keyhall.toml"
    if toml_path.is_file():
        with toml_path.open("rb") as fh:
            file_values = {k.lower(): v for k, v in tomllib.load(fh).items()}
    env_keys = {k[len("KEYHALL_") :].lower() for k in os.environ if k.startswith("KEYHALL_")}
    # Pass only the file's keys the environment does not set: the environment wins.
    from_file = {k: v for k, v in file_values.items() if k not in env_keys}
    return Config(**{**from_file, **overrides})
