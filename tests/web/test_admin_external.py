"""Dashboard external directory against a real slapd: settings form, test login, sync now,
the report and the last runs, then synced groups shown read-only."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from tests.connectors.conftest import BASE, PEOPLE, settings_for
from tests.support.admin_api import start_server
from tests.support.admin_web import browsing_as, form, submit
from tests.support.server import RunningServer
from tests.support.slapd import slapd  # noqa: F401 - a fixture
from tests.support.slapd_ext import SlapdExt, SlapdExtFactory, slapd_ext  # noqa: F401

pytestmark = pytest.mark.slapd


@pytest.fixture
def upstream(slapd_ext: SlapdExtFactory) -> SlapdExt:  # noqa: F811
    return slapd_ext(BASE, ldif=PEOPLE)


@pytest.fixture
def owner(tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    server: RunningServer = start_server(tmp_path_factory.mktemp("external-web"))
    try:
        with browsing_as(server, "owner") as client:
            yield client
    finally:
        server.stop()


def test_connect_test_login_and_sync_from_the_dashboard(
    owner: httpx.Client, upstream: SlapdExt
) -> None:
    page = "/admin/external"
    fields = form(owner.get(page).text, page).fields
    # On-demand only: a scheduled first sync would race the counts checked below.
    wanted = settings_for(upstream, sync_interval="0")
    fields.update({k: v for k, v in wanted.items() if k != "enabled"})
    fields["enabled"] = "on"
    saved = owner.post(page, data=fields)
    assert saved.status_code == 303, saved.text
    shown = owner.get(page).text
    assert upstream.password not in shown and "(set; leave empty to keep)" in shown

    ok = submit(owner, page, f"{page}/test", username="bob", password="bob-secret-1")
    assert ok.status_code == 200
    assert 'id="test-result">ok<' in ok.text and f"uid=bob,ou=users,{BASE}" in ok.text
    wrong = submit(owner, page, f"{page}/test", username="bob", password="nope")
    assert 'id="test-result">bad_password' in wrong.text

    dry = submit(owner, page, f"{page}/sync", dry_run="on")
    assert "Sync ok: 3 created" in dry.text and "Never synced." in dry.text
    done = submit(owner, page, f"{page}/sync")
    assert "Sync ok: 3 created" in done.text and "Never synced." not in done.text
    assert "<td>manual</td><td>ok</td><td>3</td>" in done.text

    staff = owner.get("/admin/groups/staff").text
    assert "synced from the external directory" in staff
    assert "/admin/groups/staff/members" not in staff  # no add or remove forms
    users = owner.get("/admin/users", params={"q": "carol"}).text
    assert '<span class="badge">external</span>' in users
