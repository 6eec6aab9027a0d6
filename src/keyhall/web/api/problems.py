"""RFC 9457: problem details for HTTP APIs, for every error the admin API returns.

Domain errors map to their status and problem type here and only here (`problem_of`, which the
dashboard uses too); validation errors are 422 with the field (`errors[].field`), import
problems 422 with the file's line (`errors[].line`). Problem types are URNs named after the
domain error's code, e.g. `urn:keyhall:problem:conflict`; HTTP-level errors use `about:blank`.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from keyhall.accounts.mail import MailError
from keyhall.errors import Conflict, Forbidden, InvalidInput, KeyhallError, NotFound
from keyhall.transfer.problems import ImportRejected

MEDIA_TYPE = "application/problem+json"
STATUS: dict[type[KeyhallError], int] = {
    InvalidInput: 422,
    NotFound: 404,
    Conflict: 409,
    Forbidden: 403,
    MailError: 503,  # the SMTP server is not configured or refused the message
}
TYPE_PREFIX = "urn:keyhall:problem:"
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
    503: "Service Unavailable",
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
    type: str = "about:blank",
) -> JSONResponse:
    body: dict[str, Any] = {"type": type, "title": TITLES.get(status, "Error")}
    body["status"] = status
    if detail:
        body["detail"] = detail
    if errors is not None:
        body["errors"] = errors
    return JSONResponse(body, status_code=status, media_type=MEDIA_TYPE, headers=headers)


def problem_of(exc: KeyhallError) -> tuple[int, str]:
    """The one mapping of a domain error to its HTTP status and RFC 9457 problem type."""
    status = next((s for cls, s in STATUS.items() if isinstance(exc, cls)), 400)
    return status, TYPE_PREFIX + exc.code


def status_of(exc: KeyhallError) -> int:
    return problem_of(exc)[0]


async def _domain(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, KeyhallError)
    errors: list[dict[str, Any]] | None = None
    if isinstance(exc, ImportRejected):
        errors = [{"line": p.line, "detail": p.message} for p in exc.problems]
    elif isinstance(exc, InvalidInput) and exc.field:
        errors = [{"field": exc.field, "detail": exc.message}]
    status, kind = problem_of(exc)
    return problem(status, exc.message, errors=errors, type=kind)


async def _validation(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [
        {"field": ".".join(str(p) for p in e["loc"][1:]) or str(e["loc"][0]), "detail": e["msg"]}
        for e in exc.errors()
    ]
    return problem(
        422, "the request has invalid fields", errors=errors, type=TYPE_PREFIX + "invalid_input"
    )


async def _http(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    detail = exc.detail if isinstance(exc.detail, str) else None
    return problem(exc.status_code, detail, headers=dict(exc.headers or {}))


def install(api: FastAPI) -> None:
    api.add_exception_handler(KeyhallError, _domain)
    api.add_exception_handler(RequestValidationError, _validation)
    api.add_exception_handler(HTTPException, _http)


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI `responses` entry of a route that can answer these problem statuses."""
    return dict.fromkeys(statuses, PROBLEM_SCHEMA)
