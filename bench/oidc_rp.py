"""The relying party of bench/oidc.py: OIDC discovery, a login once, code + PKCE, tokens.

RFC 6749 (authorization code, refresh), RFC 7636 (PKCE S256), OpenID Connect Core 1.0.
The login form is found by its `autocomplete="username"` / `"current-password"` fields, so any
hidden CSRF field of the page is sent back as it came.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qs, quote, urlencode, urljoin, urlsplit

import aiohttp

from bench.oidc_servers import USERNAME, BenchError, Server

SCOPES = ("openid", "profile", "email", "groups", "offline_access")


@dataclass
class LoginForm:
    action: str
    method: str
    fields: dict[str, str]


class _FormFinder(HTMLParser):
    """Finds the form holding `autocomplete="username"` and `"current-password"` fields."""

    def __init__(self, page_url: str) -> None:
        super().__init__()
        self.page_url = page_url
        self.forms: list[tuple[LoginForm, set[str]]] = []
        self._open = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            action = urljoin(self.page_url, a.get("action") or self.page_url)
            self.forms.append((LoginForm(action, a.get("method", "get").upper(), {}), set()))
            self._open = True
        elif self._open and tag in ("input", "button") and a.get("name"):
            form, roles = self.forms[-1]
            role = a.get("autocomplete", "")
            if role in ("username", "current-password"):
                roles.add(role)
                form.fields[a["name"]] = f"\0{role}"
            elif tag == "input" and a.get("type", "text") not in ("checkbox", "radio", "submit"):
                form.fields.setdefault(a["name"], a.get("value", ""))

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._open = False


def find_login_form(html: str, page_url: str, username: str, password: str) -> LoginForm | None:
    finder = _FormFinder(page_url)
    finder.feed(html)
    for form, roles in finder.forms:
        if roles == {"username", "current-password"}:
            values = {"\0username": username, "\0current-password": password}
            filled = {k: values.get(v, v) for k, v in form.fields.items()}
            return LoginForm(form.action, form.method, filled)
    return None


@dataclass
class Client:
    """One virtual client: its own connection and cookie jar (the SSO session), its tokens."""

    http: aiohttp.ClientSession
    access_token: str = ""
    refresh_token: str = ""
    hops: int = 0


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _basic_auth(client_id: str, secret: str) -> str:
    # RFC 6749 §2.3.1: form-urlencode both parts before Basic encoding.
    raw = f"{quote(client_id, safe='')}:{quote(secret, safe='')}".encode()
    return "Basic " + base64.b64encode(raw).decode()


async def authorize(server: Server, c: Client, *, log_in: bool = False) -> tuple[str, str, str]:
    """An authorization request with PKCE; returns (code, verifier, nonce).

    Redirects are followed until one lands on the redirect URI; a login form is filled only
    when `log_in` is set, so a measured flow fails if the SSO session did not hold.
    """
    verifier = _b64url(secrets.token_bytes(32))
    challenge = _b64url(hashlib.sha256(verifier.encode()).digest())
    state, nonce = secrets.token_urlsafe(16), secrets.token_urlsafe(16)
    query = {
        "response_type": "code",
        "client_id": server.client_id,
        "redirect_uri": server.redirect_uri,
        "scope": server.endpoints["scope"],
        "state": state,
        "nonce": nonce,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    url, method = server.endpoints["authorization"] + "?" + urlencode(query), "GET"
    data: dict[str, str] | None = None
    for _ in range(10):
        c.hops += 1
        async with c.http.request(method, url, data=data, allow_redirects=False) as r:
            body = await r.text()
            location = urljoin(url, r.headers.get("Location", ""))
            status = r.status
        if status in (302, 303) and location.split("?")[0] == server.redirect_uri:
            params = parse_qs(urlsplit(location).query)
            if params.get("state") != [state] or "code" not in params:
                raise BenchError(f"{server.name}: bad authorization response {location}")
            return params["code"][0], verifier, nonce
        if status in (301, 302, 303, 307, 308):
            url, method, data = location, "GET", None
            continue
        form = None
        if log_in and server.login and status == 200:
            form = find_login_form(body, url, server.login["username"], server.login["password"])
        if form is None:
            raise BenchError(f"{server.name}: {method} {url} -> {status}: {body[:200]!r}")
        url, method, data = form.action, form.method, form.fields
    raise BenchError(f"{server.name}: too many redirects from the authorization endpoint")


async def token(server: Server, c: Client, form: dict[str, str]) -> dict[str, Any]:
    headers = {"Authorization": _basic_auth(server.client_id, server.client_secret)}
    async with c.http.post(server.endpoints["token"], data=form, headers=headers) as r:
        body = await r.read()
        if r.status != 200:
            raise BenchError(f"{server.name}: token {form['grant_type']} -> {r.status}: {body!r}")
    tokens: dict[str, Any] = json.loads(body)
    if "access_token" not in tokens or "id_token" not in tokens:
        raise BenchError(f"{server.name}: token response lacks a token: {sorted(tokens)}")
    return tokens


async def exchange(server: Server, c: Client, code: str, verifier: str) -> dict[str, Any]:
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": server.redirect_uri,
        "code_verifier": verifier,
    }
    return await token(server, c, form)


# -- set-up of one server ----------------------------------------------------------------
async def discover(server: Server, http: aiohttp.ClientSession) -> None:
    async with http.get(server.discovery_url) as r:
        if r.status != 200:
            raise BenchError(f"{server.name}: discovery -> {r.status}")
        meta: dict[str, Any] = await r.json(content_type=None)
    supported = set(meta.get("scopes_supported") or SCOPES)
    server.endpoints = {
        "issuer": meta["issuer"],
        "authorization": meta["authorization_endpoint"],
        "token": meta["token_endpoint"],
        "userinfo": meta["userinfo_endpoint"],
        "jwks": meta["jwks_uri"],
        "scope": " ".join(s for s in SCOPES if s in supported or s == "openid"),
    }


async def profile(server: Server, http: aiohttp.ClientSession, tokens: dict[str, Any],
                  nonce: str) -> dict[str, Any]:  # fmt: skip
    """Check the tokens a flow returned, so both servers are shown to do the same work."""
    from joserfc import jwt
    from joserfc.jwk import KeySet

    async with http.get(server.endpoints["jwks"]) as r:
        keys = KeySet.import_key_set(await r.json(content_type=None))
    id_token = jwt.decode(tokens["id_token"], keys, algorithms=["RS256", "ES256", "EdDSA"])
    claims = id_token.claims
    aud = claims.get("aud")
    if claims.get("iss") != server.endpoints["issuer"] or server.client_id not in (
        aud if isinstance(aud, list) else [aud]
    ):
        raise BenchError(f"{server.name}: ID token for the wrong issuer/audience: {claims}")
    if claims.get("nonce") != nonce or claims.get("sub") != USERNAME:
        raise BenchError(f"{server.name}: ID token nonce/sub mismatch: {claims}")
    return {
        "id_token_alg": id_token.header["alg"],
        "access_token_format": "jwt" if tokens["access_token"].count(".") == 2 else "opaque",
        "refresh_token": "refresh_token" in tokens,
        "scope": server.endpoints["scope"],
        "id_token_claims": sorted(claims),
    }


async def prepare(server: Server, n: int) -> tuple[list[Client], dict[str, Any]]:
    """Log in each virtual client once; keep its session cookie, access and refresh tokens."""
    clients: list[Client] = []
    for _ in range(n):
        http = aiohttp.ClientSession(
            cookie_jar=aiohttp.CookieJar(unsafe=True),  # cookies for 127.0.0.1
            connector=aiohttp.TCPConnector(limit=1),
        )
        clients.append(Client(http))
    await discover(server, clients[0].http)
    checked: dict[str, Any] = {}
    for c in clients:
        code, verifier, nonce = await authorize(server, c, log_in=True)
        tokens = await exchange(server, c, code, verifier)
        if not tokens.get("refresh_token"):
            raise BenchError(f"{server.name}: no refresh token for a confidential client")
        c.access_token, c.refresh_token = tokens["access_token"], tokens["refresh_token"]
        checked = checked or await profile(server, c.http, tokens, nonce)
    return clients, checked
