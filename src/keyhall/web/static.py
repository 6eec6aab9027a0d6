"""The few static files the pages use (one script), served from package data."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

STATIC = Path(__file__).parent / "static"
TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}


@cache
def _file(name: str) -> bytes | None:
    path = STATIC / name
    if "/" in name or name.startswith(".") or path.suffix not in TYPES or not path.is_file():
        return None
    return path.read_bytes()


async def static(request: Request) -> Response:
    name = str(request.path_params["name"])
    body = _file(name)
    if body is None:
        return Response(status_code=404)
    return Response(
        body,
        media_type=TYPES[Path(name).suffix],
        headers={"Cache-Control": "public, max-age=3600", "X-Content-Type-Options": "nosniff"},
    )


ROUTES = [Route("/static/{name}", static, methods=["GET"])]
