"""OIDC throughput, side by side: Keyhall against node-oidc-provider (issue 3).

Both servers are started here, on loopback, with the same client (confidential,
client_secret_basic, one exact redirect URI), PKCE S256, RS256 ID tokens and opaque access
tokens. Each of `--clients` virtual clients logs in once (its own cookie jar holds the SSO
session), then three scenarios run for `--duration` seconds each (or `--max-ops` operations):

- `auth_code`: a full authorization-code + PKCE flow for the logged-in session
  (GET authorization endpoint -> redirect with a code -> POST token endpoint);
- `refresh`: a refresh-token grant;
- `userinfo`: a userinfo GET with the bearer access token.

One load generator (asyncio + aiohttp, one keep-alive connection per virtual client) drives
both servers, so its cost is the same on each side. Reported per server and scenario:
operations/s, p50/p99 latency, the server's CPU seconds per operation (its process and
children, from /proc), and Keyhall/node ratios. Results also go to bench/results/oidc-*.json.

    .venv/bin/python bench/oidc.py [--duration 10] [--clients 8] [--only keyhall|node]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import ctypes
import hashlib
import json
import os
import platform
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import asdict, dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlencode, urljoin, urlsplit

import aiohttp

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
PEER_DIR = BENCH_DIR / "peers" / "oidc-provider"
RESULTS_DIR = BENCH_DIR / "results"
KEYHALL = ROOT / ".venv" / "bin" / "keyhall"

USERNAME = "bench"
PASSWORD = "bench-password-" + secrets.token_urlsafe(12)
SCOPES = ("openid", "profile", "email", "groups", "offline_access")
SCENARIOS = ("auth_code", "refresh", "userinfo")
TICKS = os.sysconf("SC_CLK_TCK")


class BenchError(Exception):
    """A server answered something a correct OIDC provider would not."""


# -- processes ---------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def cpu_seconds(pid: int) -> float:
    """User + system CPU of `pid` and its live descendants, plus children it has reaped."""
    total = 0
    for p in [pid, *_descendants(pid)]:
        with contextlib.suppress(OSError):
            # Fields after the `(comm)`: utime, stime, cutime, cstime are 14-17 (1-based).
            stat = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            total += sum(int(v) for v in stat[11:15])
    return total / TICKS


def _descendants(pid: int) -> Iterator[int]:
    with contextlib.suppress(OSError):
        for task in Path(f"/proc/{pid}/task").iterdir():
            for child in (task / "children").read_text().split():
                yield int(child)
                yield from _descendants(int(child))


def die_with_parent() -> None:
    """A `preexec_fn`: the kernel sends the server SIGTERM if this benchmark dies (prctl(2))."""
    pr_set_pdeathsig = 1
    ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


@dataclass
class Server:
    """A server under test: its process and what a relying party needs to know."""

    name: str
    proc: subprocess.Popen[bytes]
    discovery_url: str
    client_id: str
    client_secret: str
    redirect_uri: str
    login: dict[str, str] = field(default_factory=dict)
    endpoints: dict[str, str] = field(default_factory=dict)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def wait_ready(proc: subprocess.Popen[bytes], url: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise BenchError(f"{proc.args!r} exited with {proc.returncode} before serving {url}")
        with contextlib.suppress(OSError), urllib.request.urlopen(url, timeout=2) as r:  # noqa: S310
            if r.status == 200:
                return
        time.sleep(0.2)
    raise BenchError(f"{url} did not answer within {timeout:.0f} s")


def start_node_peer(work: Path) -> Server:
    """node-oidc-provider from bench/peers/oidc-provider, installed by `npm ci` on first use."""
    if not (PEER_DIR / "node_modules" / "oidc-provider" / "package.json").is_file():
        print("installing node-oidc-provider (npm ci) ...", flush=True)
        subprocess.run(
            ["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=PEER_DIR, check=True
        )
    port = free_port()
    secret = secrets.token_urlsafe(32)
    redirect_uri = f"http://127.0.0.1:{free_port()}/cb"
    env = {
        **os.environ,
        "PORT": str(port),
        "CLIENT_ID": "bench",
        "CLIENT_SECRET": secret,
        "REDIRECT_URI": redirect_uri,
        "NODE_ENV": "production",
    }
    with (work / "node.log").open("wb") as log:
        proc = subprocess.Popen(
            ["node", "server.mjs"],
            cwd=PEER_DIR,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            preexec_fn=die_with_parent,
        )
    discovery = f"http://127.0.0.1:{port}/.well-known/openid-configuration"
    server = Server("node", proc, discovery, "bench", secret, redirect_uri)
    try:
        wait_ready(proc, discovery)
    except BaseException:
        server.stop()
        raise
    return server


def start_keyhall(work: Path) -> Server:
    """`keyhall serve` on a fresh data dir, with one user and one client made by the CLI."""
    port = free_port()
    redirect_uri = f"http://127.0.0.1:{free_port()}/cb"
    env = {
        **os.environ,
        "KEYHALL_DATA_DIR": str(work / "keyhall-data"),
        "KEYHALL_HTTP_ADDR": f"127.0.0.1:{port}",
        "KEYHALL_PUBLIC_URL": f"http://127.0.0.1:{port}",
        "KEYHALL_LDAP_ADDR": "",
        "KEYHALL_LOG_LEVEL": "warning",
    }

    def cli(*args: str, stdin: str | None = None) -> str:
        done = subprocess.run(
            [str(KEYHALL), *args], env=env, input=stdin, capture_output=True, text=True
        )
        if done.returncode != 0:
            raise BenchError(f"keyhall {' '.join(args)}: {done.stderr.strip()}")
        return done.stdout

    cli("user", "add", USERNAME, "--email", "bench@example.com", "--name", "Bench User",
        "--password-stdin", stdin=PASSWORD + "\n")  # fmt: skip
    client = json.loads(cli("client", "add", "bench", "--redirect-uri", redirect_uri, "--json"))
    with (work / "keyhall.log").open("wb") as log:
        proc = subprocess.Popen(
            [str(KEYHALL), "serve"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            preexec_fn=die_with_parent,
        )
    base = f"http://127.0.0.1:{port}"
    server = Server(
        "keyhall",
        proc,
        f"{base}/.well-known/openid-configuration",
        client["client_id"],
        client["client_secret"],
        redirect_uri,
        login={"username": USERNAME, "password": PASSWORD},
    )
    try:
        wait_ready(proc, f"{base}/healthz")
        wait_ready(proc, server.discovery_url, timeout=5)
    except BaseException:
        server.stop()
        raise
    return server


# -- the relying party -------------------------------------------------------------------
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


# -- scenarios ---------------------------------------------------------------------------
async def op_auth_code(server: Server, c: Client) -> None:
    code, verifier, _ = await authorize(server, c)
    await exchange(server, c, code, verifier)


async def op_refresh(server: Server, c: Client) -> None:
    form = {"grant_type": "refresh_token", "refresh_token": c.refresh_token}
    tokens = await token(server, c, form)
    # A rotating server hands out the next refresh token; the old one is then spent.
    c.refresh_token = tokens.get("refresh_token", c.refresh_token)


async def op_userinfo(server: Server, c: Client) -> None:
    headers = {"Authorization": f"Bearer {c.access_token}"}
    async with c.http.get(server.endpoints["userinfo"], headers=headers) as r:
        body = await r.read()
        if r.status != 200:
            raise BenchError(f"{server.name}: userinfo -> {r.status}: {body!r}")
    if json.loads(body).get("sub") != USERNAME:
        raise BenchError(f"{server.name}: userinfo for the wrong subject: {body!r}")


OPERATIONS: dict[str, Callable[[Server, Client], Awaitable[None]]] = {
    "auth_code": op_auth_code,
    "refresh": op_refresh,
    "userinfo": op_userinfo,
}


@dataclass
class Result:
    ops: int
    errors: int
    seconds: float
    ops_per_s: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    server_cpu_ms_per_op: float
    client_cpu_ms_per_op: float
    requests_per_op: float
    first_error: str = ""


def percentile(sorted_values: list[float], fraction: float) -> float:
    """Nearest-rank percentile of an ascending list."""
    if not sorted_values:
        return float("nan")
    rank = max(1, round(fraction * len(sorted_values) + 0.5))
    return sorted_values[min(rank, len(sorted_values)) - 1]


async def run_scenario(
    server: Server, clients: list[Client], name: str, duration: float, max_ops: int, warmup: float
) -> Result:
    op = OPERATIONS[name]
    latencies: list[float] = []
    errors: list[str] = []
    started = [0]

    async def worker(c: Client, deadline: float, measure: bool) -> None:
        while time.perf_counter() < deadline and started[0] < max_ops and len(errors) < 50:
            if measure:
                started[0] += 1
            t = time.perf_counter()
            try:
                await op(server, c)
            except (BenchError, aiohttp.ClientError, json.JSONDecodeError) as exc:
                errors.append(str(exc))
                continue
            if measure:
                latencies.append(time.perf_counter() - t)

    # Warm-up: first requests fill caches and pools on both sides; not counted.
    await asyncio.gather(*(worker(c, time.perf_counter() + warmup, False) for c in clients))
    if errors:
        raise BenchError(f"{server.name} {name} failed during warm-up: {errors[0]}")
    hops_before = sum(c.hops for c in clients)
    server_cpu, client_cpu = cpu_seconds(server.proc.pid), time.process_time()
    t0 = time.perf_counter()
    await asyncio.gather(*(worker(c, t0 + duration, True) for c in clients))
    seconds = time.perf_counter() - t0
    server_cpu = cpu_seconds(server.proc.pid) - server_cpu
    client_cpu = time.process_time() - client_cpu
    ops = len(latencies)
    per_op = max(ops, 1)
    hops = sum(c.hops for c in clients) - hops_before
    requests = {"auth_code": hops / per_op + 1}.get(name, 1.0)
    latencies.sort()
    return Result(
        ops=ops,
        errors=len(errors),
        seconds=round(seconds, 3),
        ops_per_s=round(ops / seconds, 1),
        p50_ms=round(percentile(latencies, 0.50) * 1000, 2),
        p99_ms=round(percentile(latencies, 0.99) * 1000, 2),
        max_ms=round(latencies[-1] * 1000 if latencies else float("nan"), 2),
        server_cpu_ms_per_op=round(server_cpu * 1000 / per_op, 3),
        client_cpu_ms_per_op=round(client_cpu * 1000 / per_op, 3),
        requests_per_op=round(requests, 2),
        first_error=errors[0] if errors else "",
    )


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


# -- the run -----------------------------------------------------------------------------
STARTERS: dict[str, Callable[[Path], Server]] = {"node": start_node_peer, "keyhall": start_keyhall}


async def measure(servers: list[Server], args: argparse.Namespace) -> dict[str, Any]:
    prepared: dict[str, list[Client]] = {}
    report: dict[str, Any] = {"servers": {}, "results": {s: {} for s in args.scenarios}}
    try:
        for server in servers:
            prepared[server.name], checked = await prepare(server, args.clients)
            report["servers"][server.name] = {**checked, "endpoints": server.endpoints}
        for i, scenario in enumerate(args.scenarios):
            # Alternate who goes first, so neither side always runs on a warmer machine.
            for server in servers[:: 1 if i % 2 == 0 else -1]:
                print(f"  {scenario:<10} {server.name:<8} ...", end="", flush=True)
                result = await run_scenario(
                    server, prepared[server.name], scenario, args.duration, args.max_ops,
                    args.warmup,
                )  # fmt: skip
                report["results"][scenario][server.name] = asdict(result)
                print(f" {result.ops_per_s:>8.1f} ops/s  p99 {result.p99_ms:.1f} ms", flush=True)
    finally:
        for clients in prepared.values():
            for c in clients:
                await c.http.close()
    return report


def ratios(results: dict[str, dict[str, Any]]) -> dict[str, dict[str, float]]:
    out = {}
    for scenario, by_server in results.items():
        k, n = by_server.get("keyhall"), by_server.get("node")
        if k and n and n["ops_per_s"] and k["server_cpu_ms_per_op"]:
            out[scenario] = {
                "throughput": round(k["ops_per_s"] / n["ops_per_s"], 2),
                "server_cpu_per_op": round(
                    k["server_cpu_ms_per_op"] / max(n["server_cpu_ms_per_op"], 1e-9), 2
                ),
            }
    return out


def print_table(report: dict[str, Any], clients: int) -> None:
    print()
    for name, info in report["servers"].items():
        print(f"{name}: ID token {info['id_token_alg']}, {info['access_token_format']} access "
              f"token, refresh token {info['refresh_token']}, scope {info['scope']!r}")  # fmt: skip
    head = f"{'scenario':<10} {'server':<8} {'ops/s':>9} {'p50 ms':>8} {'p99 ms':>8} "
    print(f"\n{head}{'srv CPU ms/op':>14} {'gen CPU ms/op':>14} {'req/op':>7} {'errors':>7}")
    for scenario, by_server in report["results"].items():
        for name, r in by_server.items():
            print(
                f"{scenario:<10} {name:<8} {r['ops_per_s']:>9.1f} {r['p50_ms']:>8.2f} "
                f"{r['p99_ms']:>8.2f} {r['server_cpu_ms_per_op']:>14.3f} "
                f"{r['client_cpu_ms_per_op']:>14.3f} {r['requests_per_op']:>7.2f} "
                f"{r['errors']:>7}"
            )
            if r["first_error"]:
                print(f"    first error: {r['first_error'][:300]}")
    if report["ratios"]:
        print(f"\nKeyhall / node-oidc-provider ({clients} concurrent clients; target ≥ 1.00, "
              "Keyhall p99 < 50 ms):")  # fmt: skip
    for scenario, ratio in report["ratios"].items():
        p99 = report["results"][scenario]["keyhall"]["p99_ms"]
        ok = ratio["throughput"] >= 1.0 and p99 < 50
        print(
            f"  {scenario:<10} throughput ×{ratio['throughput']:.2f}  "
            f"server CPU/op ×{ratio['server_cpu_per_op']:.2f}  Keyhall p99 {p99:.1f} ms  "
            f"{'meets target' if ok else 'BELOW TARGET'}"
        )


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--clients", type=int, default=8, help="concurrent virtual clients")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per scenario")
    parser.add_argument("--warmup", type=float, default=1.0, help="unmeasured seconds before")
    parser.add_argument("--max-ops", type=int, default=100_000, help="cap per scenario")
    parser.add_argument("--only", choices=sorted(STARTERS), help="run one server only")
    parser.add_argument("--scenarios", nargs="+", choices=SCENARIOS, default=list(SCENARIOS))
    parser.add_argument("--output", type=Path, help="JSON file (default bench/results/...)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    names = [args.only] if args.only else ["node", "keyhall"]
    work = Path(tempfile.mkdtemp(prefix="keyhall-bench-oidc-"))
    servers: list[Server] = []
    load_before = os.getloadavg()
    try:
        for name in names:
            print(f"starting {name} ...", flush=True)
            servers.append(STARTERS[name](work))
        report = asyncio.run(measure(servers, args))
    except BenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        for log in sorted(work.glob("*.log")):
            tail = log.read_text(errors="replace").splitlines()[-15:]
            print(f"--- {log.name} (last lines)\n" + "\n".join(tail), file=sys.stderr)
        return 1
    finally:
        for server in servers:
            server.stop()
        shutil.rmtree(work, ignore_errors=True)
    report["ratios"] = ratios(report["results"])
    report["run"] = {
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "clients": args.clients,
        "duration_s": args.duration,
        "cpus": os.cpu_count(),
        "loadavg_before": [round(v, 2) for v in load_before],
        "loadavg_after": [round(v, 2) for v in os.getloadavg()],
        "python": platform.python_version(),
        "load_generator": f"aiohttp {aiohttp.__version__}",
        "node_oidc_provider": _peer_version(),
    }
    print_table(report, args.clients)
    print(f"\nload average before {report['run']['loadavg_before']}, "
          f"after {report['run']['loadavg_after']} on {os.cpu_count()} CPUs")  # fmt: skip
    output = args.output or RESULTS_DIR / f"oidc-{time.strftime('%Y%m%d-%H%M%S')}.json"
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(report, indent=2) + "\n")
    print(f"results: {output}")
    return 0


def _peer_version() -> str:
    with contextlib.suppress(OSError, ValueError):
        meta = PEER_DIR / "node_modules" / "oidc-provider" / "package.json"
        return str(json.loads(meta.read_text())["version"])
    return "unknown"


if __name__ == "__main__":
    sys.exit(main())
