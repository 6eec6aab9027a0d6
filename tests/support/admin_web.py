"""Driving the dashboard over HTTP like a browser without JavaScript: cookies, forms, CSRF.

`sign_in` walks the real login page (flow id and CSRF token read from its form); `form` finds a
form on a page by its action and returns its fields with their current values, so a test posts
exactly what the page offers, CSRF token included.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from html.parser import HTMLParser

import httpx
from tests.support.server import RunningServer

PASSWORD = "correct horse battery staple"


@dataclass
class Form:
    action: str
    method: str
    fields: dict[str, str] = field(default_factory=dict)


class _Forms(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.forms: list[Form] = []
        self._textarea: str | None = None
        self._select: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.forms.append(Form(a.get("action", ""), a.get("method", "get").lower()))
        elif not self.forms:
            return
        elif tag == "input" and "name" in a:
            kind = a.get("type", "text")
            if kind in {"checkbox", "radio"}:
                if "checked" in a:
                    self.forms[-1].fields[a["name"]] = a.get("value") or "on"
            elif kind != "submit":
                self.forms[-1].fields[a["name"]] = a.get("value", "")
        elif tag == "textarea" and "name" in a:
            self._textarea = a["name"]
            self.forms[-1].fields[a["name"]] = ""
        elif tag == "select" and "name" in a:
            self._select = a["name"]
        elif tag == "option" and self._select is not None:
            fields = self.forms[-1].fields
            if "selected" in a or self._select not in fields:
                fields[self._select] = a.get("value", "\0")  # \0: take the text, below

    def handle_data(self, data: str) -> None:
        if self._textarea is not None:
            self.forms[-1].fields[self._textarea] += data
        elif self._select is not None and self.forms[-1].fields.get(self._select) == "\0":
            self.forms[-1].fields[self._select] = data.strip()

    def handle_endtag(self, tag: str) -> None:
        if tag == "textarea":
            self._textarea = None
        elif tag == "select":
            self._select = None


def forms(html: str) -> list[Form]:
    parser = _Forms()
    parser.feed(html)
    return parser.forms


def form(html: str, action: str, method: str = "post") -> Form:
    found = [f for f in forms(html) if f.action == action and f.method == method]
    assert found, f"no form posting to {action!r}; forms: {[f.action for f in forms(html)]}"
    return found[0]


def add_user(server: RunningServer, username: str, *extra: str) -> None:
    server.cli(
        "user", "add", username, "--email", f"{username}@example.com", "--password-stdin", *extra,
        input=PASSWORD + "\n",
    )  # fmt: skip


def sign_in(server: RunningServer, username: str, password: str = PASSWORD) -> httpx.Client:
    """A cookie-keeping client signed in through the login page, like a browser."""
    client = httpx.Client(base_url=server.url, follow_redirects=False, timeout=30)
    try:
        page = client.get("/login", params={"return_to": "/admin"})
        assert page.status_code == 303, page.text
        page = client.get(page.headers["location"])
        login = form(page.text, "/login")
        login.fields.update(username=username, password=password)
        done = client.post("/login", data=login.fields)
        assert done.status_code == 303, done.text
        assert done.headers["location"] == "/admin"
    except BaseException:
        client.close()
        raise
    return client


def submit(client: httpx.Client, page: str, action: str, **values: str) -> httpx.Response:
    """Post the form of `page` that goes to `action`, with some fields changed."""
    f = form(client.get(page).text, action)
    f.fields.update(values)
    return client.post(action, data=f.fields)


def token(server: RunningServer, name: str = "tests", scope: str = "admin") -> str:
    out = server.cli("token", "create", name, "--scope", scope, "--json").stdout
    value: str = json.loads(out)["token"]
    return value


@contextmanager
def browsing_as(server: RunningServer, username: str) -> Iterator[httpx.Client]:
    client = sign_in(server, username)
    try:
        yield client
    finally:
        client.close()
