from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from tests.support.admin_api import serve_module
from tests.support.server import RunningServer


@pytest.fixture(scope="module")
def served(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[RunningServer, httpx.Client]]:
    yield from serve_module(tmp_path_factory.mktemp("api"))


@pytest.fixture
def server(served: tuple[RunningServer, httpx.Client]) -> RunningServer:
    return served[0]


@pytest.fixture
def api(served: tuple[RunningServer, httpx.Client]) -> httpx.Client:
    """An httpx client for `/api/v1` with an admin-scoped token."""
    return served[1]
