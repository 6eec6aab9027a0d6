"""The sign-in page under load, and how long a password sign-in takes (issue 5).

Targets on this machine: the login page served at >= 1,000 requests/s, and a password sign-in
(POST /login: argon2id m=19 MiB t=2 p=1, flow update, session, redirect) under 100 ms median.

Keyhall runs as `keyhall serve` on a fresh data dir (one user, from bench/oidc_servers.py).
`login_page`: `--clients` virtual browsers, each with its own cookie and sign-in flow, GET
`/login?flow=…` (flow lookup + page render) on keep-alive connections for `--duration` seconds.
`login_start`: GET `/login` without a flow (a new flow row is written, then a 303).
`password_login`: `--logins` sign-ins one after another (no other load), timing only the
POST. Reported: requests/s, p50/p99 latency, the server's CPU seconds per request (its process
tree, from /proc). Results also go to bench/results/web-*.json.

    .venv/bin/python -m bench.web [--duration 10] [--clients 16] [--logins 60]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import platform
import re
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp

from bench.oidc_servers import PASSWORD, USERNAME, Server, start_keyhall
from bench.procstat import cpu_seconds

RESULTS_DIR = Path(__file__).resolve().parent / "results"
FIELDS = re.compile(r'name="(flow|csrf_token)" value="([^"]+)"')


def base_url(server: Server) -> str:
    parts = urlsplit(server.discovery_url)
    return f"{parts.scheme}://{parts.netloc}"


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


async def new_flow(http: aiohttp.ClientSession, base: str) -> tuple[str, str, str]:
    """GET /login -> 303 -> the page: (page URL, flow id, CSRF token)."""
    async with http.get(f"{base}/login", allow_redirects=False) as first:
        location = first.headers["Location"]
    async with http.get(f"{base}{location}") as page:
        text = await page.text()
    fields = dict(FIELDS.findall(text))
    return f"{base}{location}", fields["flow"], fields["csrf_token"]


async def load(
    clients: int, duration: float, op: Callable[[int], Awaitable[None]]
) -> tuple[int, list[float], float]:
    latencies: list[float] = []
    deadline = time.monotonic() + duration

    async def worker(index: int) -> None:
        while time.monotonic() < deadline:
            started = time.perf_counter()
            await op(index)
            latencies.append(time.perf_counter() - started)

    began = time.monotonic()
    await asyncio.gather(*(worker(i) for i in range(clients)))
    return len(latencies), latencies, time.monotonic() - began


def summary(
    name: str, count: int, latencies: list[float], wall: float, cpu: float
) -> dict[str, Any]:
    return {
        "scenario": name,
        "requests": count,
        "per_second": round(count / wall, 1),
        "p50_ms": round(percentile(latencies, 50) * 1000, 2),
        "p99_ms": round(percentile(latencies, 99) * 1000, 2),
        "server_cpu_ms_per_request": round(cpu / count * 1000, 3),
    }


async def run(args: argparse.Namespace, server: Server) -> list[dict[str, Any]]:
    base = base_url(server)
    pid = server.proc.pid
    results = []
    connector = aiohttp.TCPConnector(limit=0)
    sessions = [
        # unsafe=True: aiohttp otherwise drops cookies set by an IP-address host.
        aiohttp.ClientSession(
            connector=connector, connector_owner=False, cookie_jar=aiohttp.CookieJar(unsafe=True)
        )
        for _ in range(args.clients)
    ]
    try:
        pages = [(await new_flow(s, base))[0] for s in sessions]

        async def page(i: int) -> None:
            async with sessions[i].get(pages[i]) as response:
                await response.read()
                if response.status != 200:
                    raise RuntimeError(f"login page answered {response.status}")

        async def start(i: int) -> None:
            async with sessions[i].get(f"{base}/login", allow_redirects=False) as response:
                await response.read()
                if response.status != 303:
                    raise RuntimeError(f"GET /login answered {response.status}")

        await load(args.clients, 2.0, page)  # warm up
        for name, op in (("login_page", page), ("login_start", start)):
            cpu0 = cpu_seconds(pid)
            count, latencies, wall = await load(args.clients, args.duration, op)
            results.append(summary(name, count, latencies, wall, cpu_seconds(pid) - cpu0))

        # Password sign-ins, one at a time: the latency a person sees.
        timings: list[float] = []
        cpu = 0.0
        for _ in range(args.logins):
            async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
                _, flow, csrf = await new_flow(http, base)
                form = {
                    "flow": flow,
                    "csrf_token": csrf,
                    "username": USERNAME,
                    "password": PASSWORD,
                }
                cpu0 = cpu_seconds(pid)
                started = time.perf_counter()
                async with http.post(f"{base}/login", data=form, allow_redirects=False) as r:
                    await r.read()
                    if r.status != 303:
                        raise RuntimeError(f"password sign-in answered {r.status}")
                timings.append(time.perf_counter() - started)
                cpu += cpu_seconds(pid) - cpu0
        row = summary("password_login", len(timings), timings, sum(timings), cpu)
        row["median_ms"] = round(statistics.median(timings) * 1000, 2)
        results.append(row)
    finally:
        for s in sessions:
            await s.close()
        await connector.close()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--logins", type=int, default=60)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="keyhall-bench-web-") as tmp:
        server = start_keyhall(Path(tmp))
        try:
            results = asyncio.run(run(args, server))
        finally:
            server.stop()
    print(f"{'scenario':<16}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}{'cpu ms/req':>12}")
    for r in results:
        print(
            f"{r['scenario']:<16}{r['per_second']:>10}{r['p50_ms']:>10}{r['p99_ms']:>10}"
            f"{r['server_cpu_ms_per_request']:>12}"
        )
    login = next(r for r in results if r["scenario"] == "password_login")
    page = next(r for r in results if r["scenario"] == "login_page")
    print(
        f"targets: login page >= 1000 req/s: {page['per_second']} "
        f"({'met' if page['per_second'] >= 1000 else 'NOT met'}); password sign-in median "
        f"< 100 ms: {login['median_ms']} ms ({'met' if login['median_ms'] < 100 else 'NOT met'})"
    )
    RESULTS_DIR.mkdir(exist_ok=True)
    out = RESULTS_DIR / f"web-{time.strftime('%Y%m%dT%H%M%S')}.json"
    out.write_text(
        json.dumps(
            {
                "machine": platform.node(),
                "python": platform.python_version(),
                "load_generator": f"aiohttp {aiohttp.__version__}",
                "args": vars(args),
                "results": results,
            },
            indent=2,
        )
    )
    print(f"results: {out}")


if __name__ == "__main__":
    main()
