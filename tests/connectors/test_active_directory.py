"""Active Directory behaviour against slapd loaded with AD-shaped entries (see also test_samba_ad).

sAMAccountName logins with domain prefixes, userPrincipalName logins, binary objectGUID as the
stable id, userAccountControl's ACCOUNTDISABLE bit and accountExpires (FILETIME).
"""

from __future__ import annotations

import base64
import uuid
from datetime import UTC, datetime

import pytest
from tests.support.slapd_ext import SlapdExt, SlapdExtFactory

from keyhall.connectors.connector import ExternalDirectory
from keyhall.connectors.ldap_source import LoginOutcome
from keyhall.directory.models import CLI_ACTOR, AuthFailure
from keyhall.directory.service import Directory

AD_BASE = "dc=corp,dc=example"
GUIDS = {name: uuid.uuid4() for name in ("jsmith", "mjones", "old", "gone", "eng")}
UAC_NORMAL, UAC_DISABLED = 512, 514
NEVER = 0x7FFFFFFFFFFFFFFF
EXPIRED = int((datetime(2020, 1, 1, tzinfo=UTC) - datetime(1601, 1, 1, tzinfo=UTC)).total_seconds())


def ad_user(
    sam: str, given: str, family: str, *, uac: int = UAC_NORMAL, expires: int = NEVER
) -> str:
    guid = base64.b64encode(GUIDS[sam].bytes_le).decode()
    return (
        f"dn: cn={given} {family},ou=users,{AD_BASE}\n"
        "objectClass: user\n"
        f"cn: {given} {family}\nsn: {family}\ngivenName: {given}\n"
        f"displayName: {given} {family}\nsAMAccountName: {sam}\n"
        f"userPrincipalName: {sam}@corp.example\n"
        f"mail: {given.lower()}.{family.lower()}@corp.example\n"
        f"objectGUID:: {guid}\nuserAccountControl: {uac}\naccountExpires: {expires}\n"
        f"objectCategory: person\nuserPassword: {sam}-Pa55\n"
    )


ENTRIES = "\n".join(
    [
        ad_user("jsmith", "John", "Smith"),
        ad_user("mjones", "Mary", "Jones"),
        ad_user("old", "Olive", "Oldfield", uac=UAC_DISABLED),
        ad_user("gone", "Gary", "Gone", expires=EXPIRED * 10_000_000),
        f"dn: cn=Engineers,ou=groups,{AD_BASE}\nobjectClass: group\ncn: Engineers\n"
        f"objectGUID:: {base64.b64encode(GUIDS['eng'].bytes_le).decode()}\n"
        f"member: cn=John Smith,ou=users,{AD_BASE}\nmember: cn=Olive Oldfield,ou=users,{AD_BASE}\n",
    ]
)


@pytest.fixture
def ad(slapd_ext: SlapdExtFactory) -> SlapdExt:
    return slapd_ext(AD_BASE, ldif=ENTRIES, ad_schema=True)


@pytest.fixture
def ad_connector(local: Directory, ad: SlapdExt) -> ExternalDirectory:
    ext = ExternalDirectory(local, bytes(32))
    ext.attach()
    ext.set(
        {
            "provider": "ad",
            "url": ad.ldaps_url,
            "ca_cert_file": str(ad.tls.cert),
            "bind_dn": ad.bind_dn,
            "bind_password": ad.password,
            "users_base_dn": f"ou=users,{AD_BASE}",
            "groups_base_dn": f"ou=groups,{AD_BASE}",
            "max_deactivate_percent": "100",
            "enabled": "true",
        },
        actor=CLI_ACTOR,
    )
    return ext


def test_ad_logins(ad_connector: ExternalDirectory, local: Directory) -> None:
    for login in ("jsmith", "CORP\\jsmith", "jsmith@corp.example", "john.smith@corp.example"):
        check = ad_connector.test_login(login, "jsmith-Pa55")
        assert check.ok, login
        assert check.user is not None
        assert check.user.external_id == str(GUIDS["jsmith"])
        assert check.user.username == "jsmith"
    assert ad_connector.test_login("jsmith", "wrong").outcome is LoginOutcome.BAD_PASSWORD
    result = local.authenticate("CORP\\jsmith", "jsmith-Pa55")
    assert result.ok
    assert local.user("jsmith").display_name == "John Smith"


def test_disabled_and_expired_accounts(ad_connector: ExternalDirectory, local: Directory) -> None:
    old = ad_connector.test_login("old", "old-Pa55")
    assert old.ok and old.user is not None and old.user.disabled
    gone = ad_connector.test_login("gone", "gone-Pa55")
    assert gone.ok and gone.user is not None and gone.user.disabled
    assert local.authenticate("old", "old-Pa55").failure is AuthFailure.DISABLED
    assert local.view.user_by_username("old") is None


def test_ad_sync(ad_connector: ExternalDirectory, local: Directory, ad: SlapdExt) -> None:
    report = ad_connector.sync(actor=CLI_ACTOR)
    assert (report.status, report.created, report.groups_created) == ("ok", 4, 1)
    local.refresh()
    jsmith = local.user("jsmith")
    assert jsmith.external_id == str(GUIDS["jsmith"])
    assert not jsmith.external_missing
    assert local.user("old").external_missing
    assert local.user("gone").external_missing
    engineers = local.group("engineers")
    assert engineers.external_id == str(GUIDS["eng"])
    names = sorted(local.view.users[u].username for u in local.view.members(engineers.id))
    assert names == ["jsmith", "old"]
    # Disabling in AD (ACCOUNTDISABLE bit) deactivates here at the next sync.
    ad.modify(
        f"dn: cn=Mary Jones,ou=users,{AD_BASE}\nchangetype: modify\n"
        f"replace: userAccountControl\nuserAccountControl: {UAC_DISABLED}\n"
    )
    again = ad_connector.sync(actor=CLI_ACTOR)
    assert again.disabled == 1
    local.refresh()
    assert not local.user("mjones").can_log_in
    assert local.authenticate("mjones", "mjones-Pa55").failure is AuthFailure.DISABLED
