"""`/v1/clients` against a running server: secrets shown once, settings, presets, endpoints."""

from __future__ import annotations

import httpx
from tests.support.admin_api import assert_problem, eventually
from tests.support.server import RunningServer


def _introspect(server: RunningServer, client_id: str, secret: str) -> int:
    response = httpx.post(
        f"{server.url}/openid/token/introspection",
        data={"token": "whatever"},
        auth=(client_id, secret),
    )
    return response.status_code


def test_confidential_client_secret_shown_once(api: httpx.Client, server: RunningServer) -> None:
    made = api.post("/clients", json={"name": "Wiki", "redirect_uris": ["https://wiki.example/cb"]})
    assert made.status_code == 201, made.text
    body = made.json()
    client_id, secret = body["client_id"], body["client_secret"]
    assert body["type"] == "confidential" and len(secret) >= 43
    assert body["endpoints"]["Issuer URL"] == f"{server.url}/openid"
    assert body["endpoints"]["Provider name"] == "Keyhall"
    shown = api.get(f"/clients/{client_id}")
    assert "client_secret" not in shown.json() and secret not in shown.text
    listed = api.get("/clients", params={"search": "wiki"}).json()
    assert [c["client_id"] for c in listed["items"]] == [client_id]
    assert _introspect(server, client_id, secret) == 200

    rotated = api.post(f"/clients/{client_id}/secret").json()
    assert rotated["client_id"] == client_id and rotated["client_secret"] != secret
    eventually(lambda: _introspect(server, client_id, secret), 401)
    assert _introspect(server, client_id, rotated["client_secret"]) == 200


def test_predefined_id_public_client_and_settings(api: httpx.Client) -> None:
    made = api.post(
        "/clients",
        json={
            "name": "SPA",
            "client_id": "my-spa",
            "public": True,
            "redirect_uris": ["https://spa.example/", "http://127.0.0.1/cb"],
            "post_logout_redirect_uris": ["https://spa.example/bye"],
            "settings": {"access_token_format": "jwt", "extra_claims": ["is_admin"]},
        },
    )
    assert made.status_code == 201, made.text
    body = made.json()
    assert body["client_id"] == "my-spa" and body["client_secret"] is None
    assert body["type"] == "public" and body["settings"]["access_token_format"] == "jwt"
    assert body["settings"]["extra_claims"] == ["is_admin"]
    changed = api.patch(
        "/clients/my-spa",
        json={
            "signing_alg": "ES256",
            "consent": True,
            "allowed_groups": ["staff"],
            "access_token_lifetime": 600,
            "backchannel_logout_uri": "https://spa.example/bc",
        },
    ).json()
    assert changed["settings"]["signing_alg"] == "ES256" and changed["settings"]["consent"]
    assert changed["settings"]["allowed_groups"] == ["staff"]
    assert changed["settings"]["access_token_lifetime"] == 600
    assert changed["backchannel_logout_uri"] == "https://spa.example/bc"
    cleared = api.patch("/clients/my-spa", json={"backchannel_logout_uri": ""}).json()
    assert cleared["backchannel_logout_uri"] is None
    assert_problem(api.post("/clients/my-spa/secret"), 422)
    assert_problem(
        api.post("/clients", json={"name": "again", "client_id": "my-spa", "redirect_uris": ["https://a.example/"]}),
        409,
    )  # fmt: skip
    assert api.delete("/clients/my-spa").status_code == 204
    assert_problem(api.get("/clients/my-spa"), 404)


def test_provider_name_follows_the_instance_name(api: httpx.Client) -> None:
    made = api.post("/clients", json={"name": "Named", "redirect_uris": ["https://n.example/cb"]})
    client_id = made.json()["client_id"]
    assert api.patch("/settings", json={"name": "Acme Login"}).status_code == 200
    try:
        shown = api.get(f"/clients/{client_id}").json()
        assert shown["endpoints"]["Provider name"] == "Acme Login"
    finally:
        api.patch("/settings", json={"name": "Keyhall"})


def test_opencloud_preset(api: httpx.Client) -> None:
    made = api.post("/client-presets/opencloud", json={"url": "https://cloud.example.com/"})
    assert made.status_code == 201, made.text
    ids = [c["client_id"] for c in made.json()]
    assert ids == ["web", "OpenCloudDesktop", "OpenCloudAndroid", "OpenCloudIOS"]
    web = made.json()[0]
    assert (
        web["type"] == "public"
        and "https://cloud.example.com/oidc-callback.html" in web["redirect_uris"]
    )
    assert web["settings"]["access_token_format"] == "jwt"
    assert_problem(
        api.post("/client-presets/opencloud", json={"url": "https://cloud.example.com"}), 409
    )
    assert_problem(
        api.post("/client-presets/nextcloud", json={"url": "https://x.example"}), 422, "kind"
    )
    for client_id in ids:
        api.delete(f"/clients/{client_id}")


def test_bad_input(api: httpx.Client) -> None:
    before = api.get("/clients").json()["total"]
    ok = {"name": "x", "redirect_uris": ["https://x.example/"]}
    cases = [
        ({"name": "x", "redirect_uris": []}, "redirect_uris"),
        ({"name": "x", "redirect_uris": ["https://x.example/#frag"]}, None),
        ({"name": "x", "redirect_uris": ["javascript:alert(1)"]}, None),
        ({**ok, "client_id": "bad id"}, "id"),
        ({**ok, "settings": {"signing_alg": "none"}}, "settings.signing_alg"),
        ({**ok, "settings": {"extra_claims": ["password"]}}, "extra_claims"),
        ({**ok, "secret": "mine"}, "secret"),
    ]
    for body, field in cases:
        assert_problem(api.post("/clients", json=body), 422, field)
    assert api.get("/clients").json()["total"] == before
    made = api.post("/clients", json={"name": "Ok", "redirect_uris": ["https://ok.example/cb"]})
    client_id = made.json()["client_id"]
    assert_problem(
        api.patch(f"/clients/{client_id}", json={"redirect_uris": []}), 422, "redirect_uris"
    )
    assert_problem(
        api.patch(f"/clients/{client_id}", json={"id_token_lifetime": 0}), 422, "id_token_lifetime"
    )
    assert_problem(api.patch("/clients/nope", json={"name": "x"}), 404)
    assert api.get(f"/clients/{client_id}").json()["redirect_uris"] == ["https://ok.example/cb"]
