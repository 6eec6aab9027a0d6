"""NIST SP 800-63B §5.1.1.2: refuse passwords found in lists of commonly used or breached ones.

The list is the 10,000 most common passwords of the list Django ships (itself from Royce
Williams' compilation of breached passwords), bundled as package data so the check needs no
network. Matching ignores case: "Password1" is as guessable as "password1".
"""

from __future__ import annotations

import gzip
from functools import cache
from importlib import resources


@cache
def common_passwords() -> frozenset[str]:
    data = resources.files("keyhall.directory").joinpath("data/common-passwords.txt.gz")
    text = gzip.decompress(data.read_bytes()).decode()
    return frozenset(line.strip().lower() for line in text.splitlines() if line.strip())


def is_common(password: str) -> bool:
    return password.lower() in common_passwords()
