"""Directory users through Keyhall's real fronts: an OIDC login that creates the account, and an
LDAP bind of a synced user, on a running `keyhall serve`."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator

import pytest
from tests.connectors.conftest import settings_for
from tests.support.oidc_rp import Browser, RelyingParty, add_client, close_all, decode
from tests.support.server import RunningServer
from tests.support.slapd_ext import SlapdExt

import ldap

ServerFactory = Callable[..., RunningServer]


@pytest.fixture(autouse=True)
def _close_clients() -> Iterator[None]:
    yield
    close_all()


def test_directory_users_through_oidc_and_ldap(
    keyhall_server: ServerFactory, upstream: SlapdExt
) -> None:
    server = keyhall_server()
    server.cli("user", "add", "owner", "--email", "owner@example.net")
    # On-demand only: a scheduled first sync would race the counts checked below.
    settings = settings_for(upstream, bind_password="-", sync_interval="0")
    server.cli(
        "external", "set", *(f"{k}={v}" for k, v in settings.items()),
        input=upstream.password + "\n",
    )  # fmt: skip

    # OIDC: alice's first login creates her account from the directory.
    client = add_client(server, "RP", "--redirect-uri", "https://rp.example/cb")
    rp = RelyingParty(server, client["client_id"], client["client_secret"])
    browser = Browser(server)
    response = browser.follow(
        browser.get(rp.authorization_url()), username="alice", password="alice-secret-1"
    )
    assert response.status_code == 303, response.text
    claims = decode(server, rp.fetch_token(str(response.headers["location"]))["id_token"])
    assert claims["email"] == "alice@example.org"

    report = json.loads(server.cli("external", "sync", "--json").stdout)
    assert (report["status"], report["created"]) == ("ok", 2)  # bob and carol

    # LDAP: a synced user binds to Keyhall with the directory's password.
    conn = ldap.initialize(f"ldap://127.0.0.1:{server.ldap_port}")
    conn.timeout = 30
    with pytest.raises(ldap.INVALID_CREDENTIALS):
        conn.simple_bind_s("uid=carol,ou=users,dc=keyhall", "wrong")
    conn.simple_bind_s("uid=carol,ou=users,dc=keyhall", "carol-secret-1")
    assert conn.whoami_s() == "dn:uid=carol,ou=users,dc=keyhall"
    conn.unbind_s()
