"""RFC 6749 §2 (client registration) as administrators do it: create, change, delete, presets.

The dashboard and the JSON API call these; each change is an audit event. A confidential
client's secret is generated here, returned once, and stored only as a digest. The endpoint
table is what seed 000 shows admins to paste into an app, with the instance name as
"Provider name" (issue 8).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from keyhall.config import Config
from keyhall.directory.models import Actor, AuditEvent
from keyhall.directory.service import Directory
from keyhall.errors import Conflict, InvalidInput, NotFound
from keyhall.oidc import clients as c
from keyhall.oidc.clients import Client
from keyhall.storage.oidc_store import OidcStore

# Seed 002: OpenCloud's clients, all public (code + PKCE), with their fixed ids and URIs.
OPENCLOUD_CLIENTS: tuple[tuple[str, str, tuple[str, ...], tuple[str, ...]], ...] = (
    ("web", "OpenCloud Web",
     ("{url}/", "{url}/oidc-callback.html", "{url}/oidc-silent-redirect.html"), ()),
    ("OpenCloudDesktop", "OpenCloud Desktop", ("http://127.0.0.1", "http://localhost"), ()),
    ("OpenCloudAndroid", "OpenCloud Android", ("oc://android.opencloud.eu",), ("oc://android.opencloud.eu",)),
    ("OpenCloudIOS", "OpenCloud iOS", ("oc://ios.opencloud.eu",), ("oc://ios.opencloud.eu",)),
)  # fmt: skip
PRESETS = ("opencloud",)


@dataclass(frozen=True, slots=True)
class NewClient:
    client: Client
    secret: str | None
    """The client secret in clear: exists only in this value, shown once."""


def endpoints(config: Config, instance_name: str) -> dict[str, str]:
    """Seed 000's endpoint table, named as there; "Provider name" is issue 8's addition."""
    issuer = config.issuer
    return {
        "Provider name": instance_name,
        "Discovery URL": f"{config.public_url}/.well-known/openid-configuration",
        "Issuer URL": issuer,
        "Auth URL": f"{issuer}/auth",
        "Token URL": f"{issuer}/token",
        "Keys URL": f"{issuer}/jwks",
        "Keys URL (RSA only)": f"{issuer}/jwks_rsaonly",
        "Profile URL": f"{issuer}/me",
        "Logout URL": f"{issuer}/session/end",
    }


class ClientRegistry:
    def __init__(self, directory: Directory) -> None:
        self.directory = directory
        self.store = OidcStore(directory.store)

    def all(self) -> list[Client]:
        return sorted(self.store.clients(), key=lambda x: (x.name.lower(), x.id))

    def get(self, client_id: str) -> Client:
        found = self.store.client(client_id)
        if found is None:
            raise NotFound(f"no client with id {client_id!r}")
        return found

    def create(
        self,
        name: str,
        redirect_uris: list[str],
        *,
        actor: Actor,
        client_id: str | None = None,
        public: bool = False,
        post_logout_redirect_uris: list[str] | tuple[str, ...] = (),
        backchannel_logout_uri: str | None = None,
        settings: Mapping[str, str] | None = None,
    ) -> NewClient:
        """Register a client: a generated id unless a predefined one is given."""
        uris = tuple(dict.fromkeys(c.check_redirect_uri(u.strip()) for u in redirect_uris))
        if not uris:
            raise InvalidInput("a client needs at least one redirect URI", field="redirect_uris")
        secret = None if public else c.new_client_secret()
        new = Client(
            id=c.check_client_id(client_id.strip()) if client_id else c.new_client_id(),
            name=name.strip()[:128] or "client",
            secret_hash=None if secret is None else c.hash_secret(secret),
            redirect_uris=uris,
            post_logout_redirect_uris=tuple(
                c.check_redirect_uri(u.strip()) for u in post_logout_redirect_uris
            ),
            backchannel_logout_uri=(
                c.check_http_uri(backchannel_logout_uri.strip())
                if backchannel_logout_uri and backchannel_logout_uri.strip()
                else None
            ),
        )
        if settings:
            new = c.apply_settings(new, settings)
        if not self.store.put_client(new, _now(), create=True):
            raise Conflict(f"a client with id {new.id!r} already exists")
        self._audit(actor, "client.create", new.id, public=new.public, name=new.name)
        return NewClient(new, secret)

    def update(self, client_id: str, assignments: Mapping[str, str], *, actor: Actor) -> Client:
        """Apply `KEY=VALUE` changes (the same keys as `keyhall client set`)."""
        changed = c.apply_settings(self.get(client_id), assignments)
        if not self.store.put_client(changed, _now(), create=False):
            raise NotFound(f"no client with id {client_id!r}")
        self._audit(actor, "client.update", client_id, fields=sorted(assignments))
        return changed

    def rotate_secret(self, client_id: str, *, actor: Actor) -> NewClient:
        found = self.get(client_id)
        if found.public:
            raise InvalidInput("a public client has no secret", field="client_id")
        secret = c.new_client_secret()
        changed = replace(found, secret_hash=c.hash_secret(secret))
        self.store.put_client(changed, _now(), create=False)
        self._audit(actor, "client.rotate_secret", client_id)
        return NewClient(changed, secret)

    def delete(self, client_id: str, *, actor: Actor) -> None:
        if not self.store.delete_client(client_id):
            raise NotFound(f"no client with id {client_id!r}")
        self._audit(actor, "client.delete", client_id)

    def preset(self, kind: str, url: str, *, actor: Actor) -> list[Client]:
        """Create a product's fixed clients; today OpenCloud's four public ones (seed 002)."""
        if kind not in PRESETS:
            raise InvalidInput(f"unknown preset {kind!r} (known: {', '.join(PRESETS)})", "kind")
        base = c.check_http_uri(url.strip().rstrip("/"))
        taken = [cid for cid, *_ in OPENCLOUD_CLIENTS if self.store.client(cid) is not None]
        if taken:
            raise Conflict(f"clients already exist: {', '.join(taken)}")
        created = []
        for client_id, name, redirects, post_logout in OPENCLOUD_CLIENTS:
            new = Client(
                id=client_id,
                name=name,
                secret_hash=None,
                redirect_uris=tuple(u.format(url=base) for u in redirects),
                post_logout_redirect_uris=tuple(u.format(url=base) for u in post_logout),
            )
            # OpenCloud validates JWT access tokens and reads roles from a `roles` claim.
            settings = replace(new.settings, access_token_format="jwt", extra_claims=("roles",))  # noqa: S106
            new = replace(new, settings=settings)
            if not self.store.put_client(new, _now(), create=True):
                raise Conflict(f"a client with id {client_id!r} already exists")
            created.append(new)
        self._audit(actor, "client.preset", kind, clients=[x.id for x in created], url=base)
        return created

    def _audit(self, actor: Actor, action: str, target: str, **details: object) -> None:
        self.directory.store.record_audit(
            AuditEvent(_now(), str(actor), action, target, "success", actor.ip, dict(details))
        )


def _now() -> datetime:
    return datetime.now(UTC)
