"""Dashboard: users — list with search and pages, create, invite, edit, disable, delete,
reset two-factor authentication, make admin."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from keyhall.directory import listing
from keyhall.directory.models import LOCAL_SOURCE, Role
from keyhall.errors import InvalidInput, KeyhallError
from keyhall.web.admin.common import Admin, Form, action, checked, done, page

PAGE_SIZE = 50
ROLES = {"user": Role.USER, "admin": Role.ADMIN}
ACTIVE = {"yes": True, "no": False}


def _list(admin: Admin, error: str | None = None, form: Form | None = None) -> Response:
    q = admin.query
    role = ROLES.get(q.get("role", "")) or (Role.OWNER if q.get("role") == "owner" else None)
    query = listing.UserQuery(
        search=q.get("q", "")[:256], role=role, active=ACTIVE.get(q.get("active", ""))
    )
    offset = int(q["offset"]) if q.get("offset", "").isdigit() else 0
    view = admin.services.directory.view
    found = listing.users(view, query, offset=min(offset, 10**9), limit=PAGE_SIZE)
    filters = {k: q[k] for k in ("q", "role", "active") if q.get(k)}
    return admin.render(
        "users.html",
        {
            "page": found,
            "filters": filters,
            "base": "/admin/users?" + urlencode(filters) + ("&" if filters else ""),
            "groups_of": view.group_names_of,
            "form": form or {},
            "error": error,
            "mail": admin.services.accounts.smtp().enabled,
        },
        section="users",
    )


def _user(admin: Admin, username: str, error: str | None = None) -> Response:
    user = admin.services.directory.user(username)
    factors = admin.services.accounts.factors.status(user)
    return admin.render(
        "user.html",
        {
            "user": user,
            "groups": admin.services.directory.view.group_names_of(user.id),
            "factors": factors,
            "local": user.source == LOCAL_SOURCE,
            "mail": admin.services.accounts.smtp().enabled,
            "error": error,
        },
        section="users",
    )


async def list_users(request: Request) -> Response:
    return await page(request, _list)


async def create_user(request: Request) -> Response:
    def handle(admin: Admin, f: Form) -> Response:
        password = f.get("password") or None
        user = admin.services.directory.create_user(
            f.get("username", ""),
            f.get("email", ""),
            actor=admin.actor,
            display_name=f.get("display_name") or None,
            admin=checked(f, "admin"),
            password=password,
        )
        if checked(f, "invite"):
            admin.services.accounts.invite(user.username, actor=admin.actor)
            return done(f"/admin/users/{user.username}", "invited")
        return done(f"/admin/users/{user.username}", "user_created")

    def failed(admin: Admin, f: Form, exc: KeyhallError) -> Response:
        return _list(admin, exc.message, {k: v for k, v in f.items() if k != "password"})

    return await action(request, handle, failed)


async def show_user(request: Request) -> Response:
    username = str(request.path_params["username"])
    return await page(request, lambda admin: _user(admin, username))


UserChange = Callable[[Admin, str, Form], tuple[str, str]]


def _user_action(run: UserChange) -> Callable[[Request], Awaitable[Response]]:
    """A POST to /admin/users/{username}/...: run the use case, come back to the user page."""

    async def endpoint(request: Request) -> Response:
        username = str(request.path_params["username"])

        def handle(admin: Admin, f: Form) -> Response:
            target, notice = run(admin, username, f)
            return done(target, notice)

        def failed(admin: Admin, f: Form, exc: KeyhallError) -> Response:
            try:
                return _user(admin, username, exc.message)
            except KeyhallError:
                return _list(admin, exc.message)

        return await action(request, handle, failed)

    return endpoint


def _profile(admin: Admin, username: str, f: Form) -> tuple[str, str]:
    admin.services.directory.update_profile(
        username,
        actor=admin.actor,
        email=f.get("email"),
        display_name=f.get("display_name"),
        given_name=f.get("given_name"),
        family_name=f.get("family_name"),
    )
    return f"/admin/users/{username}", "user_saved"


def _role(admin: Admin, username: str, f: Form) -> tuple[str, str]:
    role = ROLES.get(f.get("role", ""))
    if role is None:
        raise InvalidInput("role must be user or admin", field="role")
    admin.services.directory.set_role(username, role, actor=admin.actor)
    return f"/admin/users/{username}", "role_saved"


def _active(admin: Admin, username: str, f: Form) -> tuple[str, str]:
    active = checked(f, "active")
    admin.services.directory.set_active(username, active, actor=admin.actor)
    return f"/admin/users/{username}", "enabled" if active else "disabled"


def _password(admin: Admin, username: str, f: Form) -> tuple[str, str]:
    admin.services.directory.set_password(username, f.get("password", ""), actor=admin.actor)
    return f"/admin/users/{username}", "password_set"


def _reset_factors(admin: Admin, username: str, f: Form) -> tuple[str, str]:
    user = admin.services.directory.user(username)
    admin.services.accounts.factors.reset(user, actor=admin.actor)
    return f"/admin/users/{username}", "factors_reset"


def _invite(admin: Admin, username: str, f: Form) -> tuple[str, str]:
    admin.services.accounts.invite(username, actor=admin.actor)
    return f"/admin/users/{username}", "invited"


def _delete(admin: Admin, username: str, f: Form) -> tuple[str, str]:
    admin.services.directory.delete_user(username, actor=admin.actor)
    return "/admin/users", "user_deleted"


ROUTES = [
    Route("/admin/users", list_users, methods=["GET"]),
    Route("/admin/users", create_user, methods=["POST"]),
    Route("/admin/users/{username}", show_user, methods=["GET"]),
    Route("/admin/users/{username}/profile", _user_action(_profile), methods=["POST"]),
    Route("/admin/users/{username}/role", _user_action(_role), methods=["POST"]),
    Route("/admin/users/{username}/active", _user_action(_active), methods=["POST"]),
    Route("/admin/users/{username}/password", _user_action(_password), methods=["POST"]),
    Route("/admin/users/{username}/reset-2fa", _user_action(_reset_factors), methods=["POST"]),
    Route("/admin/users/{username}/invite", _user_action(_invite), methods=["POST"]),
    Route("/admin/users/{username}/delete", _user_action(_delete), methods=["POST"]),
]
