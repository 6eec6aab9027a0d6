"""`keyhall ldap`: the LDAP front's service account and IP allowlist."""

from __future__ import annotations

import click

from keyhall.cli.common import emit, instance, json_option
from keyhall.directory.models import CLI_ACTOR
from keyhall.ldap.access import SERVICE_RDN, LdapAccess
from keyhall.runtime import Instance


@click.group()
def ldap() -> None:
    """The LDAP server's service account and allowlist."""


def _bind_dn(inst: Instance) -> str:
    return f"{SERVICE_RDN},{inst.config.ldap_base_dn.strip().lower()}"


@ldap.command("show")
@json_option
def ldap_show(as_json: bool) -> None:
    """Show the service bind DN, its secret, the allowlist and the listening addresses."""
    with instance() as inst:
        policy, state = LdapAccess(inst.directory, inst.secret_key).show()
        data = {
            "base_dn": inst.config.ldap_base_dn,
            "bind_dn": _bind_dn(inst),
            "secret": policy.secret,
            "allowlist": state.allowlist,
            "secret_rotated_at": state.rotated_at.isoformat(),
            "ldap_addr": inst.config.ldap_addr,
            "ldaps_addr": inst.config.ldaps_addr,
        }
        emit(as_json, data, "\n".join(f"{k}: {v}" for k, v in data.items()))


@ldap.command("allow")
@click.argument("cidrs", nargs=-1, required=True)
@json_option
def ldap_allow(cidrs: tuple[str, ...], as_json: bool) -> None:
    """Accept LDAP connections from these IP addresses or CIDR ranges."""
    with instance() as inst:
        allowlist = LdapAccess(inst.directory, inst.secret_key).allow(list(cidrs), actor=CLI_ACTOR)
        emit(as_json, {"allowlist": allowlist}, "allowlist: " + " ".join(allowlist))


@ldap.command("deny")
@click.argument("cidrs", nargs=-1, required=True)
@json_option
def ldap_deny(cidrs: tuple[str, ...], as_json: bool) -> None:
    """Remove these entries from the allowlist."""
    with instance() as inst:
        allowlist = LdapAccess(inst.directory, inst.secret_key).deny(list(cidrs), actor=CLI_ACTOR)
        emit(as_json, {"allowlist": allowlist}, "allowlist: " + (" ".join(allowlist) or "(empty)"))


@ldap.command("rotate-secret")
@json_option
def ldap_rotate_secret(as_json: bool) -> None:
    """Replace the service account's secret; binds with the old one fail from now on."""
    with instance() as inst:
        secret = LdapAccess(inst.directory, inst.secret_key).rotate_secret(actor=CLI_ACTOR)
        emit(as_json, {"bind_dn": _bind_dn(inst), "secret": secret}, secret)
