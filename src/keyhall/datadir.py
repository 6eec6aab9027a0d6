"""The data directory: created on first start, private to the Keyhall user."""

from __future__ import annotations

import os
import secrets
from pathlib import Path


def ensure_data_dir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(path, 0o700)
    return path


def ensure_secret(path: Path, nbytes: int = 32) -> bytes:
    """Read a secret file, creating it with 0600 permissions on first use."""
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(nbytes))
    return bytes.fromhex(path.read_text().strip())
