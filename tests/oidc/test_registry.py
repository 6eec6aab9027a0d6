"""RFC 6749 §2 registration as administrators do it: ids, secrets shown once, presets, audit."""

from __future__ import annotations

import pytest

from keyhall.config import Config
from keyhall.directory.models import Actor
from keyhall.directory.service import Directory
from keyhall.errors import Conflict, InvalidInput, NotFound
from keyhall.oidc.clients import hash_secret
from keyhall.oidc.registry import ClientRegistry, endpoints

ADMIN = Actor("user", "ada", "192.0.2.1")


@pytest.fixture
def registry(directory: Directory) -> ClientRegistry:
    return ClientRegistry(directory)


def test_create_confidential_and_public(registry: ClientRegistry) -> None:
    made = registry.create(
        "Wiki", ["https://wiki.example/cb", "https://wiki.example/cb"], actor=ADMIN
    )
    assert made.secret is not None and len(made.client.id) == 24
    assert made.client.redirect_uris == ("https://wiki.example/cb",)
    stored = registry.get(made.client.id)
    assert stored.secret_hash == hash_secret(made.secret) and made.secret not in repr(stored)
    public = registry.create(
        "App", ["com.example.app:/cb"], actor=ADMIN, client_id="app", public=True
    )
    assert public.secret is None and registry.get("app").public
    with pytest.raises(Conflict):
        registry.create("Again", ["https://x.example/"], actor=ADMIN, client_id="app")
    with pytest.raises(InvalidInput):
        registry.rotate_secret("app", actor=ADMIN)
    assert [c.id for c in registry.all()] == ["app", made.client.id]


def test_bad_registrations_change_nothing(registry: ClientRegistry) -> None:
    for uris, extra in [
        ([], {}),
        (["https://x.example/#f"], {}),
        (["javascript:alert(1)"], {}),
        (["https://x.example/"], {"client_id": "has space"}),
        (["https://x.example/"], {"settings": {"signing_alg": "none"}}),
        (["https://x.example/"], {"backchannel_logout_uri": "ftp://x.example/"}),
    ]:
        with pytest.raises(InvalidInput):
            registry.create("x", uris, actor=ADMIN, **extra)  # type: ignore[arg-type]
    assert registry.all() == []


def test_update_rotate_delete_and_audit(registry: ClientRegistry, directory: Directory) -> None:
    made = registry.create("Wiki", ["https://wiki.example/cb"], actor=ADMIN)
    cid = made.client.id
    changed = registry.update(
        cid, {"signing_alg": "ES256", "extra_claims": "is_admin"}, actor=ADMIN
    )
    assert changed.settings.signing_alg == "ES256" and changed.settings.extra_claims == (
        "is_admin",
    )
    new = registry.rotate_secret(cid, actor=ADMIN)
    assert new.secret and new.secret != made.secret
    assert registry.get(cid).check_client_secret(new.secret)
    assert not registry.get(cid).check_client_secret(made.secret or "")
    registry.delete(cid, actor=ADMIN)
    with pytest.raises(NotFound):
        registry.delete(cid, actor=ADMIN)
    events = directory.store.audit_events(limit=10)
    assert [e.action for e in events] == [
        "client.delete", "client.rotate_secret", "client.update", "client.create"
    ]  # fmt: skip
    assert {e.actor for e in events} == {"user:ada"} and events[0].ip == "192.0.2.1"
    assert made.secret is not None and made.secret not in str([e.details for e in events])


def test_opencloud_preset(registry: ClientRegistry) -> None:
    made = registry.preset("opencloud", "https://cloud.example.com/", actor=ADMIN)
    assert [c.id for c in made] == ["web", "OpenCloudDesktop", "OpenCloudAndroid", "OpenCloudIOS"]
    assert all(c.public and c.settings.access_token_format == "jwt" for c in made)
    assert made[0].redirect_uris[0] == "https://cloud.example.com/"
    with pytest.raises(Conflict):
        registry.preset("opencloud", "https://cloud.example.com", actor=ADMIN)
    with pytest.raises(InvalidInput):
        registry.preset("nextcloud", "https://x.example", actor=ADMIN)


def test_endpoint_table_names_the_provider() -> None:
    table = endpoints(Config(public_url="https://id.example.com"), "Acme")
    assert table["Provider name"] == "Acme"
    assert table["Issuer URL"] == "https://id.example.com/openid"
    assert table["Keys URL (RSA only)"] == "https://id.example.com/openid/jwks_rsaonly"
    assert table["Discovery URL"] == "https://id.example.com/.well-known/openid-configuration"
