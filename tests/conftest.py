"""Fixtures shared by every test package: real servers on loopback, nothing mocked."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from tests.support.postgres import PostgresCluster
from tests.support.server import RunningServer, keyhall_env

from keyhall.directory.service import Directory
from keyhall.storage import migrate
from keyhall.storage.store import Store


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[PostgresCluster]:
    cluster = PostgresCluster()
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def pg_url(postgres_cluster: PostgresCluster) -> str:
    """A fresh, empty database on the session's throwaway PostgreSQL cluster."""
    return postgres_cluster.create_database()


ServerFactory = Callable[..., RunningServer]


@pytest.fixture
def keyhall_server(tmp_path: Path) -> Iterator[ServerFactory]:
    """Start `keyhall serve` processes; each call gets its own data dir and ports."""
    started: list[RunningServer] = []

    def start(**env_overrides: str) -> RunningServer:
        data_dir = tmp_path / f"node{len(started)}" / "data"
        server = RunningServer(keyhall_env(data_dir, **env_overrides))
        started.append(server)
        server.start()
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Each storage test runs on both engines Keyhall supports."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'keyhall.db'}"
    cluster: PostgresCluster = request.getfixturevalue("postgres_cluster")
    return cluster.create_database()


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    s = Store(database_url)
    migrate.upgrade(s.engine)
    yield s
    s.close()


@pytest.fixture
def directory(store: Store) -> Directory:
    return Directory(store)
