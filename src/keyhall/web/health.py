"""Liveness and readiness probes for load balancers and orchestrators."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from keyhall.runtime import Instance


async def healthz(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> Response:
    """Ready when the database answers; reports the directory version this node serves."""
    inst: Instance = request.app.state.instance
    try:
        await run_in_threadpool(inst.store.ping)
    except Exception:
        return JSONResponse({"status": "unavailable", "database": "unreachable"}, status_code=503)
    return JSONResponse({"status": "ok", "directory_version": inst.directory.view.version})
