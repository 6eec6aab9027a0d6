"""`/v1/external` against a running server and a real slapd: settings, test login, sync, runs,
and the synced groups that the API then refuses to change."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from tests.connectors.conftest import BASE, PEOPLE, settings_for
from tests.support.admin_api import api_client, assert_problem, start_server
from tests.support.admin_web import token
from tests.support.server import RunningServer
from tests.support.slapd import slapd  # noqa: F401 - a fixture
from tests.support.slapd_ext import SlapdExt, SlapdExtFactory, slapd_ext  # noqa: F401

pytestmark = pytest.mark.slapd


@pytest.fixture
def upstream(slapd_ext: SlapdExtFactory) -> SlapdExt:  # noqa: F811
    return slapd_ext(BASE, ldif=PEOPLE)


@pytest.fixture
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    server: RunningServer = start_server(tmp_path_factory.mktemp("external"))
    with api_client(server, token(server)) as client:
        yield client
    server.stop()


def test_connect_test_and_sync(api: httpx.Client, upstream: SlapdExt) -> None:
    changed = api.patch(
        "/external", json={**settings_for(upstream, sync_interval="0"), "sync_groups": True}
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["enabled"] is True and changed.json()["bind_password"] == "(set)"

    ok = api.post("/external/test", json={"username": "alice", "password": "alice-secret-1"})
    assert ok.status_code == 200, ok.text
    assert ok.json()["ok"] is True and ok.json()["entry"]["dn"] == f"uid=alice,ou=users,{BASE}"
    wrong = api.post("/external/test", json={"username": "alice", "password": "nope"}).json()
    assert (wrong["ok"], wrong["outcome"]) == (False, "bad_password")
    assert api.get("/users", params={"source": "external"}).json()["total"] == 0  # untouched

    dry = api.post("/external/sync", json={"dry_run": True}).json()
    assert (dry["status"], dry["dry_run"], dry["created"]) == ("ok", True, 3)
    assert api.get("/users", params={"source": "external"}).json()["total"] == 0
    done = api.post("/external/sync").json()
    assert (done["status"], done["created"]) == ("ok", 3)
    synced = api.get("/users", params={"source": "external"}).json()["items"]
    assert [u["username"] for u in synced] == ["alice", "bob", "carol"]
    runs = api.get("/external/runs").json()
    assert [(r["dry_run"], r["created"]) for r in runs] == [(False, 3)]  # dry runs leave no record
    assert api.get("/external").json()["last_sync"]["created"] == 3

    staff = api.get("/groups/staff").json()
    assert staff["read_only"] is True and staff["members"] == ["alice", "bob"]
    assert_problem(api.post("/groups/staff/members", json={"usernames": ["carol"]}), 403)
    assert_problem(api.post("/groups/staff/members/remove", json={"usernames": ["bob"]}), 403)
    assert api.get("/groups/staff").json()["members"] == ["alice", "bob"]
