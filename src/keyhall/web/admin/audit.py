"""Dashboard: the audit log, newest first, filtered by action, actor, target and time range."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from keyhall.errors import InvalidInput
from keyhall.storage import audit_log
from keyhall.web.admin.common import Admin, page

PAGE_SIZE = 50
FILTERS = ("action", "actor", "target", "since", "until")


def _time(name: str, text: str) -> datetime | None:
    """The browser's `datetime-local` value, taken as UTC (the log shows UTC)."""
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInput(f"{name}: not a date and time", field=name) from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _page(admin: Admin) -> Response:
    q = {k: admin.query.get(k, "").strip()[:256] for k in FILTERS}
    offset = int(admin.query["offset"]) if admin.query.get("offset", "").isdigit() else 0
    error = None
    try:
        f = audit_log.AuditFilter(
            action=q["action"] or None,
            actor=q["actor"] or None,
            target=q["target"] or None,
            since=_time("since", q["since"]),
            until=_time("until", q["until"]),
        )
    except InvalidInput as exc:
        f, error = audit_log.AuditFilter(), exc.message
    found = audit_log.search(
        admin.services.directory.store, f, offset=min(offset, 10**9), limit=PAGE_SIZE
    )
    filters = {k: v for k, v in q.items() if v}
    return admin.render(
        "audit.html",
        {
            "page": found,
            "filters": filters,
            "base": "/admin/audit?" + urlencode(filters) + ("&" if filters else ""),
            "error": error,
        },
        section="audit",
    )


async def show_audit(request: Request) -> Response:
    return await page(request, _page)


ROUTES = [Route("/admin/audit", show_audit, methods=["GET"])]
