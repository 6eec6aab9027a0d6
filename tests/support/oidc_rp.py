"""A relying party and a browser for OIDC tests: Authlib's OAuth client, httpx, joserfc.

The browser follows the provider's own redirects (login page, resume) and stops at the first
response that leaves the provider, so tests assert on the exact bytes sent to the client.
"""

from __future__ import annotations

import json
import queue
import re
import threading
import warnings
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import authlib.deprecate
import httpx
from authlib.common.security import generate_token
from joserfc import jwt
from joserfc.errors import SecurityWarning
from joserfc.jwk import KeySet

# Authlib's httpx integration announces at import that it would rather use `httpx2`
# (AuthlibDeprecationWarning); the httpx API it wraps is unchanged. `authlib.deprecate`, imported
# above, already put its "always" filter first in the list, so this "ignore", scoped to this one
# import, comes before it and wins.
with warnings.catch_warnings():
    warnings.filterwarnings(
        "ignore", "The httpx module is deprecated", authlib.deprecate.AuthlibDeprecationWarning
    )
    from authlib.integrations.httpx_client import OAuth2Client

from tests.support.server import RunningServer

PASSWORD = "correct horse battery staple"
OPEN_CLIENTS: list[httpx.Client] = []
"""Every HTTP client the helpers open; `close_all` (an autouse fixture) closes them."""


def close_all() -> None:
    while OPEN_CLIENTS:
        OPEN_CLIENTS.pop().close()


def _track(client: Any) -> Any:
    OPEN_CLIENTS.append(client)
    return client


def add_user(server: RunningServer, username: str, *extra: str) -> None:
    server.cli(
        "user", "add", username, "--email", f"{username}@example.com", "--password-stdin", *extra,
        input=PASSWORD + "\n",
    )  # fmt: skip


def add_client(server: RunningServer, *args: str) -> dict[str, Any]:
    return json.loads(server.cli("client", "add", *args, "--json").stdout)  # type: ignore[no-any-return]


def metadata(server: RunningServer) -> dict[str, Any]:
    return httpx.get(f"{server.url}/.well-known/openid-configuration").json()  # type: ignore[no-any-return]


def decode(server: RunningServer, token: str, *, alg: str | None = None) -> dict[str, Any]:
    """Verify a JWT against the provider's published JWKS and return its claims."""
    keys = KeySet.import_key_set(httpx.get(f"{server.url}/openid/jwks").json())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SecurityWarning)  # EdDSA's RFC 9864 deprecation notice
        decoded = jwt.decode(token, keys, algorithms=[alg] if alg else ["RS256", "ES256", "EdDSA"])
    return dict(decoded.claims)


def query(location: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


@dataclass
class Browser:
    server: RunningServer
    http: httpx.Client = field(default_factory=lambda: _track(httpx.Client(follow_redirects=False)))

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.http.get(url if url.startswith("http") else self.server.url + url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.http.post(url if url.startswith("http") else self.server.url + url, **kwargs)

    def follow(
        self, response: httpx.Response, *, username: str = "alice", password: str = PASSWORD
    ) -> httpx.Response:
        """Go through the provider's pages, signing in when asked, until a response leaves it."""
        for _ in range(8):
            location = response.headers.get("location")
            if response.status_code == 200 and 'name="password"' in response.text:
                response = self.submit_login(response, username, password)
                continue
            if response.status_code not in (302, 303) or location is None:
                return response
            if location.startswith("http") and not location.startswith(self.server.url):
                return response
            response = self.get(location)
        raise AssertionError("too many redirects")

    def submit_login(self, page: httpx.Response, username: str, password: str) -> httpx.Response:
        fields = dict(re.findall(r'name="(flow|csrf_token)" value="([^"]+)"', page.text))
        return self.post("/login", data={**fields, "username": username, "password": password})


class RelyingParty:
    def __init__(
        self,
        server: RunningServer,
        client_id: str,
        client_secret: str | None = None,
        *,
        redirect_uri: str = "https://rp.example/cb",
        scope: str = "openid profile email",
        auth_method: str = "client_secret_basic",
    ) -> None:
        self.server = server
        self.meta = metadata(server)
        self.client = _track(
            OAuth2Client(
                client_id,
                client_secret,
                scope=scope,
                redirect_uri=redirect_uri,
                code_challenge_method="S256",
                token_endpoint_auth_method=auth_method if client_secret else "none",
            )
        )
        self.verifier = generate_token(48)

    def authorization_url(self, **params: str) -> str:
        url, self.state = self.client.create_authorization_url(
            self.meta["authorization_endpoint"], code_verifier=self.verifier, **params
        )
        return str(url)

    def fetch_token(self, location: str) -> dict[str, Any]:
        return dict(
            self.client.fetch_token(
                self.meta["token_endpoint"],
                authorization_response=location,
                code_verifier=self.verifier,
            )
        )

    def token_request(self, **data: str) -> httpx.Response:
        """A raw token request, for asserting on error bodies."""
        auth = (
            (self.client.client_id, self.client.client_secret)
            if self.client.client_secret
            else None
        )
        return httpx.post(self.meta["token_endpoint"], data=data, auth=auth)


class Receiver:
    """A tiny back-channel logout endpoint: records each POSTed logout_token."""

    def __init__(self) -> None:
        self.tokens: queue.Queue[str] = queue.Queue()
        tokens = self.tokens

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"])).decode()
                tokens.put(parse_qs(body)["logout_token"][0])
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/backchannel"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def next(self, timeout: float = 15.0) -> str:
        return self.tokens.get(timeout=timeout)

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
