"""Logins checked by the external directory, through `Directory.authenticate`, against slapd."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest
from tests.connectors.conftest import BASE, SECRET, person
from tests.support.net import free_port
from tests.support.slapd_ext import SlapdExt

import ldap
from keyhall.connectors.connector import ExternalDirectory
from keyhall.connectors.ldap_source import LoginOutcome
from keyhall.directory.credentials import Credentials
from keyhall.directory.models import CLI_ACTOR, AuthFailure
from keyhall.directory.service import Directory


def test_test_login_finds_and_binds(connector: ExternalDirectory) -> None:
    check = connector.test_login("alice", "alice-secret-1")
    assert check.outcome is LoginOutcome.OK
    assert check.user is not None
    assert check.user.dn == f"uid=alice,ou=users,{BASE}"
    assert check.user.email == "alice@example.org"
    assert check.user.given_name == "Alice"
    assert len(check.user.external_id) == 36  # slapd's entryUUID
    assert connector.test_login("alice", "wrong").outcome is LoginOutcome.BAD_PASSWORD
    assert connector.test_login("nobody", "x").outcome is LoginOutcome.UNKNOWN_USER


def test_first_login_creates_the_account(connector: ExternalDirectory, local: Directory) -> None:
    assert local.view.user_by_username("alice") is None
    result = local.authenticate("alice", "alice-secret-1", via="test")
    assert result.ok
    assert result.user is not None
    user = local.user("alice")
    assert (user.source, user.email, user.display_name) == (
        "external",
        "alice@example.org",
        "Alice Liddell",
    )
    # The second login finds the account made by the first; a wrong password still fails.
    assert local.authenticate("alice", "alice-secret-1").ok
    assert local.authenticate("alice", "alice-secret-2").failure is AuthFailure.BAD_PASSWORD
    events = local.store.audit_events(action="auth.password", target="alice")
    assert [e.outcome for e in events] == ["bad_password", "success", "success"]


def test_no_auto_create_means_unknown(connector: ExternalDirectory, local: Directory) -> None:
    connector.set({"auto_create": "false"}, actor=CLI_ACTOR)
    result = local.authenticate("alice", "alice-secret-1")
    assert result.failure is AuthFailure.UNKNOWN_USER
    assert local.view.user_by_username("alice") is None


def test_local_policy_still_decides(connector: ExternalDirectory, local: Directory) -> None:
    assert local.authenticate("bob", "bob-secret-1").ok
    local.set_active("bob", False, actor=CLI_ACTOR)
    assert local.authenticate("bob", "bob-secret-1").failure is AuthFailure.DISABLED


def test_login_forms(connector: ExternalDirectory, local: Directory) -> None:
    # Seed 004: a domain prefix is discarded; an email matches the email attribute.
    assert connector.test_login("EXAMPLE\\alice", "alice-secret-1").ok
    assert connector.test_login("alice@example.org", "alice-secret-1").ok
    assert local.authenticate("alice@example.org", "alice-secret-1").ok
    assert local.user("alice").source == "external"


@pytest.mark.parametrize(
    "login",
    ["*", "a*", "*)(uid=*", ")(uid=*", "alice)(uid=*", "alice\x00", "alice)", "(uid=alice)"],
)
def test_injection_matches_nothing(connector: ExternalDirectory, login: str) -> None:
    check = connector.test_login(login, "alice-secret-1")
    assert check.outcome is LoginOutcome.UNKNOWN_USER


def test_empty_password_is_never_sent(connector: ExternalDirectory, local: Directory) -> None:
    # RFC 4513 §5.1.2: slapd would accept "alice" with an empty password as anonymous.
    assert connector.test_login("alice", "").outcome is LoginOutcome.BAD_PASSWORD
    assert not local.authenticate("alice", "").ok


def test_ambiguous_login_is_refused(
    connector: ExternalDirectory, upstream: SlapdExt, local: Directory
) -> None:
    upstream.add(
        f"dn: ou=more,ou=users,{BASE}\nobjectClass: organizationalUnit\nou: more\n\n"
        + person("alice", "Other", "Alice", ou="more,ou=users", mail="other@example.org")
    )
    check = connector.test_login("alice", "alice-secret-1")
    assert check.outcome is LoginOutcome.AMBIGUOUS
    assert "2 entries" in check.detail
    assert local.authenticate("alice", "alice-secret-1").failure is AuthFailure.UNKNOWN_USER


def test_dynamic_bind(connector: ExternalDirectory, local: Directory) -> None:
    connector.set(
        {"bind_mode": "dynamic", "bind_dn_template": f"uid=%u,ou=users,{BASE}"}, actor=CLI_ACTOR
    )
    check = connector.test_login("carol", "carol-secret-1")
    assert check.ok
    assert check.user is not None
    assert check.user.email == "carol@example.org"
    assert connector.test_login("carol", "nope").outcome is LoginOutcome.BAD_PASSWORD
    # An RDN-breaking login is escaped (RFC 4514), so it names no entry.
    assert not connector.test_login("carol,ou=users", "carol-secret-1").ok
    assert local.authenticate("carol", "carol-secret-1").ok


def test_ldaps_self_signed(connector: ExternalDirectory, upstream: SlapdExt) -> None:
    connector.set({"url": upstream.ldaps_url}, actor=CLI_ACTOR)
    refused = connector.test_login("alice", "alice-secret-1")
    assert refused.outcome is LoginOutcome.UNAVAILABLE
    assert upstream.ldaps_url in refused.detail
    connector.set({"accept_self_signed": "true"}, actor=CLI_ACTOR)
    assert connector.test_login("alice", "alice-secret-1").ok
    connector.set(
        {"accept_self_signed": "false", "ca_cert_file": str(upstream.tls.cert)}, actor=CLI_ACTOR
    )
    assert connector.test_login("alice", "alice-secret-1").ok


def test_start_tls(connector: ExternalDirectory, upstream: SlapdExt) -> None:
    connector.set({"start_tls": "true", "ca_cert_file": str(upstream.tls.cert)}, actor=CLI_ACTOR)
    assert connector.test_login("bob", "bob-secret-1").ok


def test_unreachable_server_leaves_local_logins_alone(
    connector: ExternalDirectory, local: Directory
) -> None:
    local.create_user("dora", "dora@example.org", password="dora-local-1", actor=CLI_ACTOR)
    assert local.authenticate("alice", "alice-secret-1").ok
    connector.set({"url": f"ldap://127.0.0.1:{free_port()}"}, actor=CLI_ACTOR)
    check = connector.test_login("alice", "alice-secret-1")
    assert check.outcome is LoginOutcome.UNAVAILABLE
    assert "cannot connect" in check.detail
    assert "secret" not in check.detail
    result = local.authenticate("alice", "alice-secret-1")
    assert result.failure is AuthFailure.EXTERNAL_UNAVAILABLE
    # No lock-out: local accounts do not depend on the directory.
    assert local.authenticate("dora", "dora-local-1").ok


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A TCP server that accepts connections and never answers."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield int(listener.getsockname()[1])
    stop.set()
    thread.join()
    for conn in held:
        conn.close()
    listener.close()


@pytest.mark.parametrize("scheme", ["ldap", "ldaps"])
def test_slow_server_times_out(
    connector: ExternalDirectory, local: Directory, silent_server: int, scheme: str
) -> None:
    connector.set(
        {
            "url": f"{scheme}://127.0.0.1:{silent_server}",
            "accept_self_signed": "true",
            "connect_timeout": "1",
            "read_timeout": "1",
        },
        actor=CLI_ACTOR,
    )
    outcome: list[object] = []
    worker = threading.Thread(
        target=lambda: outcome.append(connector.test_login("alice", "alice-secret-1")),
        daemon=True,
    )
    worker.start()
    # Not a timing assertion: the call must end at all (a hang would never end).
    worker.join(timeout=60)
    assert not worker.is_alive(), "the login hung on a silent server"
    check = outcome[0]
    assert getattr(check, "outcome", None) is LoginOutcome.UNAVAILABLE
    assert "1s" in getattr(check, "detail", "")
    assert local.authenticate("alice", "alice-secret-1").failure is (
        AuthFailure.EXTERNAL_UNAVAILABLE
    )


def test_login_after_rename_upstream_updates_the_account(
    connector: ExternalDirectory, local: Directory, upstream: SlapdExt
) -> None:
    assert local.authenticate("carol", "carol-secret-1").ok
    before = local.user("carol")
    upstream.modify(
        f"dn: uid=carol,ou=users,{BASE}\nchangetype: modrdn\nnewrdn: uid=cdanvers\n"
        "deleteoldrdn: 1\n"
    )
    # The old name no longer names the entry; the new one finds the same account by its id.
    assert local.authenticate("carol", "carol-secret-1").failure is AuthFailure.EXTERNAL_MISSING
    result = local.authenticate("cdanvers", "carol-secret-1")
    assert result.ok
    assert result.user is not None and result.user.id == before.id
    assert local.user("cdanvers").id == before.id


def test_referrals_are_ignored_by_default(
    connector: ExternalDirectory, local: Directory, upstream: SlapdExt
) -> None:
    # A subordinate referral under the users' base: the search returns a continuation
    # reference (RFC 4511 §4.5.3) that is skipped unless follow_referrals is set.
    upstream.modify(
        f"dn: ou=elsewhere,ou=users,{BASE}\nchangetype: add\nobjectClass: referral\n"
        f"objectClass: extensibleObject\nou: elsewhere\nref: ldap://127.0.0.1:{free_port()}/"
        f"ou=elsewhere,ou=users,{BASE}\n"
    )
    assert connector.test_login("alice", "alice-secret-1").ok
    report = connector.sync(actor=CLI_ACTOR)
    assert (report.status, report.created) == ("ok", 3)
    conn = ldap.initialize(upstream.url)
    conn.set_option(ldap.OPT_REFERRALS, 0)
    conn.simple_bind_s(upstream.bind_dn, upstream.password)
    raw = conn.search_s(f"ou=users,{BASE}", ldap.SCOPE_SUBTREE, "(objectClass=*)", ["cn"])
    conn.unbind_s()
    assert any(dn is None for dn, _ in raw), "slapd sent no search reference to skip"


def test_sync_against_a_silent_server_fails_cleanly(
    connector: ExternalDirectory, local: Directory, silent_server: int
) -> None:
    connector.set(
        {"url": f"ldap://127.0.0.1:{silent_server}", "read_timeout": "1"}, actor=CLI_ACTOR
    )
    outcome: list[object] = []
    worker = threading.Thread(
        target=lambda: outcome.append(connector.sync(actor=CLI_ACTOR)), daemon=True
    )
    worker.start()
    worker.join(timeout=60)
    assert not worker.is_alive(), "the sync hung on a silent server"
    report = outcome[0]
    assert getattr(report, "status", None) == "failed"
    assert "no answer within read_timeout=1s" in getattr(report, "errors", [""])[0]


def test_refused_service_account_is_a_clear_status(connector: ExternalDirectory) -> None:
    connector.set({"bind_password": "not-the-password"}, actor=CLI_ACTOR)
    check = connector.test_login("alice", "alice-secret-1")
    assert check.outcome is LoginOutcome.UNAVAILABLE
    assert "service account bind was refused" in check.detail
    assert "not-the-password" not in check.detail


def test_every_settings_change_is_audited(connector: ExternalDirectory, local: Directory) -> None:
    connector.set({"sync_interval": "30m", "bind_password": "rotated-secret"}, actor=CLI_ACTOR)
    events = {e.target: e for e in local.store.audit_events(action="external.settings")}
    assert events["sync_interval"].details == {"value": 1800}
    assert events["bind_password"].details == {"value": "(set)"}
    assert events["sync_interval"].actor == "cli:local"


def test_first_bind_through_the_ldap_credential_path_creates_the_user(
    connector: ExternalDirectory, local: Directory
) -> None:
    # The LDAP front checks binds through `Credentials.authenticate` (app passwords, TOTP,
    # bind cache); a login it has never seen must still reach the directory and auto-create.
    # (In-process: a running server's scheduled first sync would create the user first.)
    credentials = Credentials(local, SECRET)
    assert local.view.user_by_username("bob") is None
    assert not credentials.authenticate("bob", "not bob's password").ok
    result = credentials.authenticate("bob", "bob-secret-1", via="ldap")
    assert result.ok
    assert result.user is not None and result.user.source != "local"
    local.refresh()
    assert local.user("bob").email == "bob@example.org"
