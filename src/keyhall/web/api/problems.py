"""RFC 9457: problem details for HTTP APIs, for every error the admin API returns.

Domain errors map to their status here and only here; validation errors are 422 with the
field (`errors[].field`), import problems 422 with the file's line (`errors[].line`).
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from keyhall.errors import Conflict, Forbidden, InvalidInput, KeyhallError, NotFound
from keyhall.transfer.problems import ImportRejected

MEDIA_TYPE = "application/problem+json"
STATUS = {InvalidInput: 422, NotFound: 404, Conflict: 409, Forbidden: 403}
TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    413: "Content Too Large",
    422: "Unprocessable Content",
    500: "Internal Server Error",
}
PROBLEM_SCHEMA: dict[str, Any] = {
    "description": "RFC 9457 problem details",
    "content": {
        MEDIA_TYPE: {
            "schema": {
                "type": "object",
                "properties": {
                    "type": {"type": "string"},
                    "title": {"type": "string"},
                    "status": {"type": "integer"},
                    "detail": {"type": "string"},
                    "errors": {"type": "array", "items": {"type": "object"}},
                },
                "required": ["type", "title", "status"],
            }
        }
    },
}


def problem(
    status: int,
    detail: str | None = None,
    *,
    errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {"type": "about:blank", "title": TITLES.get(status, "Error")}
    body["status"] = status
    if detail:
        body["detail"] = detail
    if errors is not None:
        body["errors"] = errors
    return JSONResponse(body, status_code=status, media_type=MEDIA_TYPE, headers=headers)


def status_of(exc: KeyhallError) -> int:
    for cls, status in STATUS.items():
        if isinstance(exc, cls):
            return status
    return 400


async def _domain(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, KeyhallError)
    errors: list[dict[str, Any]] | None = None
    if isinstance(exc, ImportRejected):
        errors = [{"line": p.line, "detail": p.message} for p in exc.problems]
    elif isinstance(exc, InvalidInput) and exc.field:
        errors = [{"field": exc.field, "detail": exc.message}]
    return problem(status_of(exc), exc.message, errors=errors)


async def _validation(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [
        {"field": ".".join(str(p) for p in e["loc"][1:]) or str(e["loc"][0]), "detail": e["msg"]}
        for e in exc.errors()
    ]
    return problem(422, "the request has invalid fields", errors=errors)


async def _http(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    detail = exc.detail if isinstance(exc.detail, str) else None
    return problem(exc.status_code, detail, headers=dict(exc.headers or {}))


def install(api: FastAPI) -> None:
    api.add_exception_handler(KeyhallError, _domain)
    api.add_exception_handler(RequestValidationError, _validation)
    api.add_exception_handler(HTTPException, _http)
