"""Connector fixtures: a real slapd as the external directory, Keyhall's directory in-process."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.support.slapd import slapd  # noqa: F401 - a fixture
from tests.support.slapd_ext import SlapdExt, SlapdExtFactory, slapd_ext  # noqa: F401

from keyhall.connectors.connector import ExternalDirectory
from keyhall.directory.models import CLI_ACTOR
from keyhall.directory.service import Directory
from keyhall.storage import migrate
from keyhall.storage.store import Store

BASE = "dc=example,dc=org"
SECRET = bytes(range(32))


def person(uid: str, given: str, family: str, *, ou: str = "users", mail: str = "") -> str:
    return (
        f"dn: uid={uid},ou={ou},{BASE}\n"
        "objectClass: inetOrgPerson\n"
        f"uid: {uid}\ncn: {given} {family}\ngivenName: {given}\nsn: {family}\n"
        f"mail: {mail or uid + '@example.org'}\nuserPassword: {uid}-secret-1\n"
    )


def group_of_names(cn: str, *uids: str) -> str:
    members = "".join(f"member: uid={u},ou=users,{BASE}\n" for u in uids)
    return f"dn: cn={cn},ou=groups,{BASE}\nobjectClass: groupOfNames\ncn: {cn}\n{members}"


PEOPLE = "\n".join(
    [
        person("alice", "Alice", "Liddell"),
        person("bob", "Bob", "Builder"),
        person("carol", "Carol", "Danvers"),
        group_of_names("staff", "alice", "bob"),
        group_of_names("devs", "carol"),
    ]
)


@pytest.fixture
def upstream(slapd_ext: SlapdExtFactory) -> SlapdExt:  # noqa: F811
    """slapd with alice, bob, carol; groups staff (alice, bob) and devs (carol)."""
    return slapd_ext(BASE, ldif=PEOPLE)


@pytest.fixture
def local(tmp_path: Path) -> Iterator[Directory]:
    store = Store(f"sqlite:///{tmp_path / 'keyhall.db'}")
    migrate.upgrade(store.engine)
    directory = Directory(store)
    # Cheap hashes: these tests are about the connector, not argon2.
    directory.set_setting("argon2_memory_kib", "64", actor=CLI_ACTOR)
    directory.set_setting("argon2_time_cost", "1", actor=CLI_ACTOR)
    # The first account owns the instance; directory users never do.
    directory.create_user("owner", "owner@example.net", password="owner-pass-1", actor=CLI_ACTOR)
    directory.refresh()
    yield directory
    store.close()


def settings_for(server: SlapdExt, **overrides: str) -> dict[str, str]:
    values = {
        "provider": "generic",
        "url": server.url,
        "bind_dn": server.bind_dn,
        "bind_password": server.password,
        "users_base_dn": f"ou=users,{BASE}",
        "groups_base_dn": f"ou=groups,{BASE}",
        "connect_timeout": "2",
        "read_timeout": "3",
        "enabled": "true",
    }
    values.update(overrides)
    return values


@pytest.fixture
def connector(local: Directory, upstream: SlapdExt) -> ExternalDirectory:
    """The connector, enabled against `upstream` and plugged into `local.authenticate`."""
    ext = ExternalDirectory(local, SECRET)
    ext.attach()
    ext.set(settings_for(upstream), actor=CLI_ACTOR)
    return ext
