"""Dashboard: the front page — the instance at a glance, links to each area."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from keyhall.storage import audit_log
from keyhall.web.admin.common import Admin, page

RECENT = 10


def _page(admin: Admin) -> Response:
    svc = admin.services
    view = svc.directory.view
    users = list(view.all_users())
    return admin.render(
        "overview.html",
        {
            "users": len(users),
            "admins": sum(1 for u in users if u.is_admin),
            "disabled": sum(1 for u in users if not u.active),
            "groups": sum(1 for _ in view.all_groups()),
            "clients": len(svc.clients.all()),
            "settings": svc.directory.settings(),
            "recent": audit_log.search(
                svc.directory.store, audit_log.AuditFilter(), limit=RECENT
            ).items,
        },
    )


async def overview(request: Request) -> Response:
    return await page(request, _page)


ROUTES = [Route("/admin", overview, methods=["GET"])]
