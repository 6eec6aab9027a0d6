"""Dashboard: groups and their members; groups synced from a directory are read-only."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from urllib.parse import quote, urlencode

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from keyhall.directory import listing
from keyhall.directory.models import LOCAL_SOURCE
from keyhall.errors import KeyhallError
from keyhall.web.admin.common import Admin, Form, action, done, page, words

PAGE_SIZE = 50
Endpoint = Callable[[Request], Awaitable[Response]]


def _list(admin: Admin, error: str | None = None, form: Form | None = None) -> Response:
    q = admin.query
    offset = int(q["offset"]) if q.get("offset", "").isdigit() else 0
    view = admin.services.directory.view
    found = listing.groups(view, q.get("q", "")[:256], offset=min(offset, 10**9), limit=PAGE_SIZE)
    return admin.render(
        "groups.html",
        {
            "page": found,
            "search": q.get("q", ""),
            "base": "/admin/groups?" + (urlencode({"q": q["q"]}) + "&" if q.get("q") else ""),
            "members": lambda g: listing.member_names(view, g),
            "local": LOCAL_SOURCE,
            "form": form or {},
            "error": error,
        },
        section="groups",
    )


def _group(admin: Admin, name: str, error: str | None = None) -> Response:
    group = admin.services.directory.group(name)
    view = admin.services.directory.view
    members = [view.users[i] for i in view.members(group.id) if i in view.users]
    return admin.render(
        "group.html",
        {
            "group": group,
            "members": sorted(members, key=lambda u: u.username),
            "read_only": group.source != LOCAL_SOURCE,
            "error": error,
        },
        section="groups",
    )


async def list_groups(request: Request) -> Response:
    return await page(request, _list)


async def create_group(request: Request) -> Response:
    def handle(admin: Admin, f: Form) -> Response:
        group = admin.services.directory.create_group(
            f.get("name", ""), description=f.get("description", ""), actor=admin.actor
        )
        return done(f"/admin/groups/{quote(group.name)}", "group_created")

    def failed(admin: Admin, f: Form, exc: KeyhallError) -> Response:
        return _list(admin, exc.message, f)

    return await action(request, handle, failed)


async def show_group(request: Request) -> Response:
    name = str(request.path_params["name"])
    return await page(request, lambda admin: _group(admin, name))


def _on_group(run: str) -> Endpoint:
    async def endpoint(request: Request) -> Response:
        name = str(request.path_params["name"])

        def handle(admin: Admin, f: Form) -> Response:
            d = admin.services.directory
            if run == "delete":
                d.delete_group(name, actor=admin.actor)
                return done("/admin/groups", "group_deleted")
            if run == "add":
                d.add_members(name, words(f.get("usernames", ""), commas=True), actor=admin.actor)
                return done(f"/admin/groups/{quote(name)}", "members_added")
            d.remove_members(name, [f.get("username", "")], actor=admin.actor)
            return done(f"/admin/groups/{quote(name)}", "members_removed")

        def failed(admin: Admin, f: Form, exc: KeyhallError) -> Response:
            try:
                return _group(admin, name, exc.message)
            except KeyhallError:
                return _list(admin, exc.message)

        return await action(request, handle, failed)

    return endpoint


ROUTES = [
    Route("/admin/groups", list_groups, methods=["GET"]),
    Route("/admin/groups", create_group, methods=["POST"]),
    Route("/admin/groups/{name}", show_group, methods=["GET"]),
    Route("/admin/groups/{name}/members", _on_group("add"), methods=["POST"]),
    Route("/admin/groups/{name}/members/remove", _on_group("remove"), methods=["POST"]),
    Route("/admin/groups/{name}/delete", _on_group("delete"), methods=["POST"]),
]
