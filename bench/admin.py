"""The admin API and dashboard lists with a large directory (issue 5).

Keyhall runs as `keyhall serve` on a fresh data dir (bench/oidc_servers.py); `--users` users
are imported through `POST /api/v1/import`, which also writes one audit event each. Then each
scenario sends `--requests` requests one after another (a single admin, keep-alive) and reports
the p50/p95 latency and the server's CPU seconds per request (its process tree, from /proc).
The lists are answered from the in-memory view (users) or one indexed query (audit log).

    .venv/bin/python -m bench.admin [--users 10000] [--requests 200]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import tempfile
import time
from collections.abc import Callable
from contextlib import closing
from pathlib import Path

import httpx

from bench.oidc_servers import KEYHALL, PASSWORD, USERNAME, start_keyhall
from bench.procstat import cpu_seconds
from bench.web import base_url, percentile

RESULTS_DIR = Path(__file__).resolve().parent / "results"
FIELDS = re.compile(r'name="(flow|csrf_token)" value="([^"]+)"')


def import_users(api: httpx.Client, count: int) -> float:
    lines = "".join(
        json.dumps(
            {
                "type": "user",
                "username": f"user{i:06d}",
                "email": f"user{i:06d}@example.org",
                "display_name": f"User Number {i}",
            }
        )
        + "\n"
        for i in range(count)
    )
    started = time.perf_counter()
    response = api.post("/import", params={"format": "json"}, content=lines, timeout=600)
    response.raise_for_status()
    return time.perf_counter() - started


def sign_in(base: str) -> httpx.Client:
    browser = httpx.Client(base_url=base, timeout=30)
    page = browser.get("/login", params={"return_to": "/admin"}, follow_redirects=True)
    fields = dict(FIELDS.findall(page.text))
    done = browser.post("/login", data={**fields, "username": USERNAME, "password": PASSWORD})
    assert done.status_code == 303 and done.headers["location"] == "/admin", done.text
    return browser


def measure(pid: int, requests: int, call: Callable[[], httpx.Response]) -> dict[str, float]:
    call()  # warm
    cpu_before = cpu_seconds(pid)
    latencies = []
    for _ in range(requests):
        started = time.perf_counter()
        response = call()
        latencies.append(time.perf_counter() - started)
        assert response.status_code == 200, response.text[:200]
    cpu = cpu_seconds(pid) - cpu_before
    return {
        "p50_ms": round(percentile(latencies, 50) * 1000, 2),
        "p95_ms": round(percentile(latencies, 95) * 1000, 2),
        "server_cpu_ms_per_request": round(cpu / requests * 1000, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="keyhall-bench-admin-") as tmp:
        work = Path(tmp)
        server = start_keyhall(work)
        try:
            env = {**os.environ, "KEYHALL_DATA_DIR": str(work / "keyhall-data")}
            out = subprocess.run(
                [str(KEYHALL), "token", "create", "bench", "--json"],
                env=env, capture_output=True, text=True, check=True,
            ).stdout  # fmt: skip
            base = base_url(server)
            headers = {"Authorization": f"Bearer {json.loads(out)['token']}"}
            with httpx.Client(base_url=f"{base}/api/v1", headers=headers, timeout=30) as api:
                took = import_users(api, args.users)
                print(f"import of {args.users} users over the API: {took:.1f} s")
                last = max(0, args.users - 50)
                scenarios: dict[str, Callable[[], httpx.Response]] = {
                    "api users first page": lambda: api.get("/users", params={"limit": 50}),
                    "api users last page": lambda: api.get(
                        "/users", params={"limit": 50, "offset": last}
                    ),
                    "api users search": lambda: api.get("/users", params={"search": "number 99"}),
                    "api audit prefix": lambda: api.get("/audit", params={"action": "user."}),
                }
                with closing(sign_in(base)) as browser:
                    scenarios["dashboard users page"] = lambda: browser.get("/admin/users")
                    scenarios["dashboard users search"] = lambda: browser.get(
                        "/admin/users", params={"q": "number 99"}
                    )
                    scenarios["dashboard audit page"] = lambda: browser.get("/admin/audit")
                    results = {
                        name: measure(server.proc.pid, args.requests, call)
                        for name, call in scenarios.items()
                    }
        finally:
            server.stop()
    for name, r in results.items():
        print(
            f"{name:<24} p50 {r['p50_ms']:>6} ms  p95 {r['p95_ms']:>6} ms  "
            f"server CPU {r['server_cpu_ms_per_request']:>5} ms/request"
        )
    RESULTS_DIR.mkdir(exist_ok=True)
    out_file = RESULTS_DIR / "admin.json"
    out_file.write_text(json.dumps({"users": args.users, "import_s": took, **results}, indent=2))
    print(f"results: {out_file}")


if __name__ == "__main__":
    main()
