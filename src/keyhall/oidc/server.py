"""Authlib's authorization server behind a thin, framework-free request type.

Handlers build a `Request` from what they parsed; Authlib's grants and endpoints validate it and
return `(status, body, headers)`, which the web layer renders. Authlib's own transport check is
skipped on purpose: TLS is terminated by the proxy in front of Keyhall.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from authlib.oauth2.rfc6749 import AuthorizationServer
from authlib.oauth2.rfc6749.requests import OAuth2Payload, OAuth2Request

from keyhall.oidc.clients import Client

if TYPE_CHECKING:
    from keyhall.oidc.provider import Provider

Response = tuple[int, Any, list[tuple[str, str]]]


class Payload(OAuth2Payload):  # type: ignore[misc]
    def __init__(self, items: Iterable[tuple[str, str]]) -> None:
        self._datalist: defaultdict[str, list[str]] = defaultdict(list)
        for key, value in items:
            self._datalist[key].append(value)
        self._data = {k: v[0] for k, v in self._datalist.items()}

    @property
    def data(self) -> dict[str, str]:
        return self._data

    @property
    def datalist(self) -> defaultdict[str, list[str]]:
        return self._datalist


class Request(OAuth2Request):  # type: ignore[misc]
    def __init__(
        self,
        method: str,
        uri: str,
        headers: Mapping[str, str],
        params: Iterable[tuple[str, str]],
    ) -> None:
        # Not calling OAuth2Request.__init__: it refuses http URIs (see module docstring).
        self.method = method
        self.uri = uri
        self.headers = headers
        self._body = None
        self.payload = Payload(params)
        self.client: Client | None = None
        self.auth_method: str | None = None
        self.user: Any = None
        self.authorization_code: Any = None
        self.refresh_token: Any = None
        self.credential: Any = None
        self._scope: str | None = None

    @property
    def form(self) -> dict[str, str]:
        return self.payload.data

    @property
    def args(self) -> dict[str, str]:
        return self.payload.data


class Server(AuthorizationServer):  # type: ignore[misc]
    def __init__(self, provider: Provider) -> None:
        super().__init__(scopes_supported=None)
        self.provider = provider

    def query_client(self, client_id: str) -> Client | None:
        return self.provider.client(client_id)

    def save_token(self, token: dict[str, Any], request: Request) -> None:
        """Tokens are stored where they are minted (`Provider.issue_tokens`)."""

    def create_oauth2_request(self, request: Request) -> Request:
        return request

    def handle_response(self, status: int, body: Any, headers: Any) -> Response:
        return status, body, list(headers)

    def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
        """No signal subscribers."""
