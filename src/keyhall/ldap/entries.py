"""The directory information tree (RFC 4512 §2) Keyhall serves, built from the directory view.

```
<base>                      the naming context (root DSE lists it)
├── ou=users                uid=<username>: inetOrgPerson + user + posixAccount
├── ou=groups               cn=<name>: groupOfNames + groupOfUniqueNames + group + posixGroup
│                           (with the built-in `admins` and `users`)
└── ou=system               cn=admin: the service account
```
Every DN is in one canonical form: lowercase, no spaces around separators. Usernames and
group names are validated to need no escaping, so they appear verbatim. A `Dit` is immutable
once built; a new one is built (reusing unchanged entries) when the view's version moves.
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field

from keyhall.directory import groups as builtin
from keyhall.directory.models import Group, User
from keyhall.directory.view import DirectoryView
from keyhall.ldap import schema
from keyhall.ldap.matching import Prepared, format_time, prepare

UID_BASE = 10000
"""uidNumber = UID_BASE + User.number: stable for the user's life, never reused."""
GID_BASE = 20000
"""gidNumber = GID_BASE + Group.number for stored groups."""
BUILTIN_GID = {builtin.USERS: 10000, builtin.ADMINS: 10001}
"""The built-in groups' gidNumbers; `users` is every account's primary group."""
SUBSCHEMA_DN = "cn=subschema"
LOGIN_SHELL = "/bin/bash"
# AD's userAccountControl: NORMAL_ACCOUNT (512), plus ACCOUNTDISABLE (2) when disabled.
UAC_NORMAL, UAC_DISABLED = 512, 514
# Indexed for equality: what apps look users and groups up by.
INDEXED = (
    "uid",
    "cn",
    "mail",
    "username",
    "samaccountname",
    "entryuuid",
    "objectclass",
    "member",
    "uniquemember",
    "memberuid",
    "memberof",
    "uidnumber",
    "gidnumber",
)
_USER_CLASSES = ("top", "person", "organizationalPerson", "inetOrgPerson", "user", "posixAccount")
_GROUP_CLASSES = ("top", "groupOfNames", "groupOfUniqueNames", "group", "posixGroup")
_SMALL = 8
_CANONICAL_DN_RULES = (schema.Rule.DN, schema.Rule.UNIQUE_MEMBER)
_BUILTIN_NS = uuid.UUID("6f1c3f7e-2d0b-4b63-9d4a-6b7f4f8a1c2e")


class Kind(enum.Enum):
    ROOT_DSE = "root"
    SUBSCHEMA = "subschema"
    CONTAINER = "container"
    USER = "user"
    GROUP = "group"
    SERVICE = "service"


@dataclass(eq=False, slots=True)
class Entry:
    dn: str
    kind: Kind
    attrs: dict[str, Sequence[str]]
    """Canonical attribute name -> values (user and operational alike; never empty)."""
    owner: str | None = None
    """The user id (USER) or group name (GROUP) this entry shows."""
    seq: int = 0
    """Position in the tree: search results come in this order."""
    _prepared: dict[str, Collection[Prepared]] = field(default_factory=dict)
    encoded: dict[object, bytes] = field(default_factory=dict)
    """Encoded SearchResultEntry ops by attribute selection (see `search.encoded_entry`)."""

    def values(self, attr: schema.AttributeType) -> Sequence[str] | None:
        return self.attrs.get(attr.name)

    def prepared(self, attr: schema.AttributeType) -> Collection[Prepared]:
        """The entry's values of `attr` in matching form, computed once."""
        found = self._prepared.get(attr.name)
        if found is None:
            found = self.prepare(attr)
            self._prepared[attr.name] = found
        return found

    def prepare(self, attr: schema.AttributeType) -> Collection[Prepared]:
        raw = self.attrs.get(attr.name, ())
        if attr.rule in _CANONICAL_DN_RULES:
            found: Collection[Prepared] = raw  # every DN we serve is built in canonical form
        else:
            found = tuple(p for v in raw if (p := prepare(attr.rule, v)) is not None)
        # Small tuples take a fraction of a set's memory; big groups need the set's lookups.
        return frozenset(found) if len(found) > _SMALL else found


@dataclass(frozen=True, slots=True)
class TreeOptions:
    base_dn: str
    """Already normalised (lowercase, canonical)."""
    show_disabled: bool = False
    """List disabled and externally-missing users (flagged by userAccountControl) or hide them."""
    vendor_version: str = "0"


class Dit:
    def __init__(self, options: TreeOptions, version: int) -> None:
        self.options = options
        self.version = version
        self.settings: object = None
        """The settings `LdapBackend` built or last checked it with (identity is what counts)."""
        self.base = options.base_dn
        self.users_dn = f"ou=users,{self.base}"
        self.groups_dn = f"ou=groups,{self.base}"
        self.system_dn = f"ou=system,{self.base}"
        self.service_dn = f"cn=admin,{self.system_dn}"
        self.by_dn: dict[str, Entry] = {}
        self.children: dict[str, list[Entry]] = {}
        self.user_entries: dict[str, Entry] = {}
        self.group_entries: dict[str, Entry] = {}
        self.groups_of: dict[str, list[Entry]] = {}
        self.index: dict[str, dict[Prepared, Entry | list[Entry]]] = {k: {} for k in INDEXED}
        self.root_dse = Entry("", Kind.ROOT_DSE, {})
        self.subschema = Entry(SUBSCHEMA_DN, Kind.SUBSCHEMA, {})

    def entry(self, dn: str) -> Entry | None:
        if dn == "":
            return self.root_dse
        if dn == SUBSCHEMA_DN:
            return self.subschema
        return self.by_dn.get(dn)

    def subtree(self, entry: Entry) -> Iterable[Entry]:
        yield entry
        for child in self.children.get(entry.dn, ()):
            yield from self.subtree(child)

    def user_dn(self, username: str) -> str:
        return f"uid={username},{self.users_dn}"

    def group_dn(self, name: str) -> str:
        return f"cn={name},{self.groups_dn}"

    def _add(self, entry: Entry, parent: str | None) -> None:
        entry.seq = len(self.by_dn)
        self.by_dn[entry.dn] = entry
        if parent is not None:
            self.children.setdefault(parent, []).append(entry)
        for key in INDEXED:
            bucket = self.index[key]
            # Not cached on the entry: most attributes are never evaluated one by one.
            for value in entry.prepare(schema.BY_NAME[key]):
                # A unique value (most are) maps to the entry itself, saving a list per key.
                found = bucket.get(value)
                if found is None:
                    bucket[value] = entry
                elif isinstance(found, list):
                    found.append(entry)
                else:
                    bucket[value] = [found, entry]

    def lookup(self, key: str, value: Prepared) -> list[Entry]:
        found = self.index[key].get(value)
        if found is None:
            return []
        return found if isinstance(found, list) else [found]


class DitBuilder:
    """Builds `Dit`s from a view, reusing user entries whose record and groups are unchanged."""

    def __init__(self, options: TreeOptions) -> None:
        self.options = options
        self._users: dict[str, tuple[User, tuple[str, ...], Entry]] = {}

    def build(self, view: DirectoryView) -> Dit:
        dit = Dit(self.options, view.version)
        _fill_root(dit)
        _fill_containers(dit)
        shown = [u for u in view.all_users() if self.options.show_disabled or u.can_log_in]
        shown.sort(key=lambda u: u.number)
        shown_ids = {u.id for u in shown}
        groups = sorted(view.all_groups(), key=lambda g: g.name)
        group_dns = {name: dit.group_dn(name) for name in builtin.BUILTIN_GROUPS}
        group_dns.update((g.name, dit.group_dn(g.name)) for g in groups)
        member_of: dict[str, list[str]] = {u.id: [] for u in shown}
        for group in groups:
            for user_id in view.members(group.id):
                if user_id in shown_ids:
                    member_of[user_id].append(group_dns[group.name])
        cache: dict[str, tuple[User, tuple[str, ...], Entry]] = {}
        for user in shown:
            dns = tuple(
                sorted([group_dns[n] for n in builtin.builtin_groups_of(user)] + member_of[user.id])
            )
            old = self._users.get(user.id)
            if old is not None and old[0] is user and old[1] == dns:
                entry = old[2]
            else:
                entry = user_entry(dit, user, dns)
            cache[user.id] = (user, dns, entry)
            dit.user_entries[user.id] = entry
            dit._add(entry, dit.users_dn)
        self._users = cache
        for name in builtin.BUILTIN_GROUPS:
            ids = [u.id for u in shown if name in builtin.builtin_groups_of(u)]
            _add_group(dit, name, builtin.DESCRIPTIONS[name], ids, view, None)
        for group in groups:
            ids = sorted(
                (i for i in view.members(group.id) if i in shown_ids),
                key=lambda i: view.users[i].number,
            )
            _add_group(dit, group.name, group.description, ids, view, group)
        return dit


def _one(value: str) -> tuple[str]:
    """A shared 1-tuple for values many entries carry (a 10k-user tree repeats them a lot)."""
    found = _SHARED.get(value)
    if found is None:
        found = _SHARED[value] = (value,)
    return found


_SHARED: dict[str, tuple[str]] = {}


def user_entry(dit: Dit, user: User, member_of: tuple[str, ...]) -> Entry:
    dn = dit.user_dn(user.username)
    username = (user.username,)
    display = (user.display_name,)
    attrs: dict[str, Sequence[str]] = {
        "objectClass": _USER_CLASSES,
        "uid": username,
        "cn": username,
        "username": username,
        "sAMAccountName": username,
        "mail": (user.email,),
        "displayName": display,
        "sn": (user.family_name,) if user.family_name else display,
        "objectCategory": _one("person"),
        "uidNumber": (str(UID_BASE + user.number),),
        "gidNumber": _one(str(BUILTIN_GID[builtin.USERS])),
        "homeDirectory": (f"/home/{user.username}",),
        "loginShell": _one(LOGIN_SHELL),
        "gecos": display,
        "isadmin": _one("1" if user.is_admin else "0"),
        "userAccountControl": _one(str(UAC_NORMAL if user.can_log_in else UAC_DISABLED)),
    }
    if user.given_name:
        attrs["givenName"] = (user.given_name,)
    if member_of:
        attrs["memberOf"] = member_of
    attrs.update(_operational(dn, "inetOrgPerson", False))
    attrs["entryUUID"] = (user.id,)
    attrs["createTimestamp"] = (format_time(user.created_at),)
    attrs["modifyTimestamp"] = (format_time(user.updated_at),)
    return Entry(dn, Kind.USER, attrs, owner=user.id)


def _add_group(
    dit: Dit,
    name: str,
    description: str,
    member_ids: list[str],
    view: DirectoryView,
    group: Group | None,
) -> None:
    dn = dit.group_dn(name)
    members = [dit.user_entries[i] for i in member_ids]
    gid = BUILTIN_GID[name] if group is None else GID_BASE + group.number
    attrs: dict[str, Sequence[str]] = {
        "objectClass": _GROUP_CLASSES,
        "cn": [name],
        "gidNumber": [str(gid)],
        "objectCategory": ["group"],
    }
    if description:
        attrs["description"] = [description]
    if members:
        dns = [m.dn for m in members]
        attrs["member"] = dns
        attrs["uniqueMember"] = dns
        attrs["memberUid"] = [view.users[i].username for i in member_ids]
    attrs.update(_operational(dn, "groupOfNames", False))
    if group is None:
        attrs["entryUUID"] = [str(uuid.uuid5(_BUILTIN_NS, f"{dit.base}/{name}"))]
    else:
        attrs["entryUUID"] = [group.id]
        attrs["createTimestamp"] = [format_time(group.created_at)]
        attrs["modifyTimestamp"] = [format_time(group.updated_at)]
    entry = Entry(dn, Kind.GROUP, attrs, owner=name)
    dit.group_entries[name] = entry
    dit._add(entry, dit.groups_dn)
    for member in members:
        assert member.owner is not None
        dit.groups_of.setdefault(member.owner, []).append(entry)


def _operational(dn: str, structural: str, subordinates: bool) -> dict[str, Sequence[str]]:
    return {
        "entryDN": (dn,),
        "structuralObjectClass": _one(structural),
        "hasSubordinates": _one("TRUE" if subordinates else "FALSE"),
        "subschemaSubentry": _one(SUBSCHEMA_DN),
    }


def _fill_containers(dit: Dit) -> None:
    rdn_attr, _, rest = dit.base.partition("=")
    rdn_value = rest.split(",", 1)[0]
    base_classes = {"dc": "domain", "o": "organization", "ou": "organizationalUnit"}
    structural = base_classes.get(rdn_attr, "extensibleObject")
    base_attrs: dict[str, Sequence[str]] = {"objectClass": ["top", structural]}
    attr = schema.attribute(rdn_attr)
    base_attrs[attr.name if attr else rdn_attr] = [rdn_value]
    base_attrs.update(_operational(dit.base, structural, True))
    dit._add(Entry(dit.base, Kind.CONTAINER, base_attrs), None)
    for ou, dn in (("users", dit.users_dn), ("groups", dit.groups_dn), ("system", dit.system_dn)):
        attrs: dict[str, Sequence[str]] = {"objectClass": ["top", "organizationalUnit"], "ou": [ou]}
        attrs.update(_operational(dn, "organizationalUnit", True))
        dit._add(Entry(dn, Kind.CONTAINER, attrs), dit.base)
    service: dict[str, Sequence[str]] = {
        "objectClass": ["top", "applicationProcess"],
        "cn": ["admin"],
        "description": ["Keyhall LDAP service account (keyhall ldap show)"],
    }
    service.update(_operational(dit.service_dn, "applicationProcess", False))
    dit._add(Entry(dit.service_dn, Kind.SERVICE, service), dit.system_dn)


# OIDs advertised in the root DSE.
PAGED_RESULTS = "1.2.840.113556.1.4.319"
WHOAMI = "1.3.6.1.4.1.4203.1.11.3"
START_TLS = "1.3.6.1.4.1.1466.20037"
ALL_OPERATIONAL = "1.3.6.1.4.1.4203.1.5.1"  # RFC 3673: "+" returns all operational attributes
ABSOLUTE_TRUE_FALSE = "1.3.6.1.4.1.4203.1.5.3"  # RFC 4526: (&) and (|) filters


def _fill_root(dit: Dit) -> None:
    dit.root_dse.attrs.update(
        {
            "objectClass": ["top", "extensibleObject"],
            "namingContexts": [dit.base],
            "supportedControl": [PAGED_RESULTS],
            "supportedExtension": [WHOAMI, START_TLS],
            "supportedFeatures": [ALL_OPERATIONAL, ABSOLUTE_TRUE_FALSE],
            "supportedLDAPVersion": ["3"],
            "subschemaSubentry": [SUBSCHEMA_DN],
            "vendorName": ["Keyhall"],
            "vendorVersion": [dit.options.vendor_version],
        }
    )
    dit.subschema.attrs.update(
        {
            "objectClass": ["top", "subentry", "subschema", "extensibleObject"],
            "cn": ["Subschema"],
            "attributeTypes": [a.description() for a in schema.ATTRIBUTES],
            "objectClasses": [c.description() for c in schema.OBJECT_CLASSES],
            "ldapSyntaxes": schema.syntax_descriptions(),
            "matchingRules": schema.matching_rule_descriptions(),
            "entryDN": [SUBSCHEMA_DN],
            "structuralObjectClass": ["subentry"],
            "subschemaSubentry": [SUBSCHEMA_DN],
        }
    )
