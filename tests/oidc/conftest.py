from __future__ import annotations

from collections.abc import Iterator

import pytest
from tests.support.oidc_rp import close_all


@pytest.fixture(autouse=True)
def _close_http_clients() -> Iterator[None]:
    yield
    close_all()
