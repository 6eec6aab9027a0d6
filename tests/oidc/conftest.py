from __future__ import annotations

from collections.abc import Iterator

import pytest
from tests.support.oidc_rp import Receiver, close_all
from tests.support.server import RunningServer, keyhall_env


@pytest.fixture(autouse=True)
def _close_http_clients() -> Iterator[None]:
    yield
    close_all()


@pytest.fixture(scope="module")
def shared_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """One `keyhall serve` for a whole module: tests there use their own users and clients."""
    server = RunningServer(keyhall_env(tmp_path_factory.mktemp("oidc") / "data"))
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def module_receiver() -> Iterator[Receiver]:
    receiver = Receiver()
    yield receiver
    receiver.close()
