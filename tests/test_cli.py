"""The `keyhall` command as a user runs it: a real process on a real data directory."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from tests.support.server import keyhall_env, run_cli


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return keyhall_env(tmp_path / "data")


def test_user_lifecycle_with_json_output(env: dict[str, str]) -> None:
    out = run_cli(
        env, "user", "add", "alice", "--email", "alice@example.com", "--name", "Alice Liddell",
        "--password-stdin", "--json", input="correct horse battery\n",
    )  # fmt: skip
    alice = json.loads(out.stdout)
    assert alice["username"] == "alice"
    assert alice["role"] == "owner"
    assert (alice["given_name"], alice["family_name"]) == ("Alice", "Liddell")
    run_cli(env, "group", "add", "devs")
    run_cli(env, "user", "add", "bob", "--email", "bob@example.com", "--group", "devs")
    listed = json.loads(run_cli(env, "user", "list", "--json").stdout)
    assert [(u["username"], u["role"], u["groups"]) for u in listed] == [
        ("alice", "owner", []),
        ("bob", "user", ["devs"]),
    ]
    run_cli(env, "user", "disable", "bob")
    shown = json.loads(run_cli(env, "user", "show", "bob", "--json").stdout)
    assert shown["active"] is False
    run_cli(env, "group", "remove-member", "devs", "bob")
    groups = json.loads(run_cli(env, "group", "list", "--json").stdout)
    assert groups[0]["name"] == "devs" and groups[0]["members"] == []
    run_cli(env, "user", "delete", "bob")
    assert "bob" not in run_cli(env, "user", "list").stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["user", "add", "alice", "--email", "x@example.com"], "user named 'alice' already exists"),
        (["user", "add", "al ice", "--email", "x@example.com"], "invalid username 'al ice'"),
        (["user", "add", "bob", "--email", "ALICE@EXAMPLE.COM"], "a user with email"),
        (["user", "add", "bob", "--email", "not-an-email"], "invalid email address"),
        (["user", "add", "bob", "--email", "b@example.com", "--group", "nope"],
         "no group named 'nope'"),
        (["group", "add-member", "nope", "alice"], "no group named 'nope'"),
        (["user", "show", "ghost"], "no user named 'ghost'"),
        (["settings", "set", "mandatory_2fa", "perhaps"], "must be true or false"),
    ],
)  # fmt: skip
def test_bad_input_is_one_line_nonzero_and_writes_nothing(
    env: dict[str, str], args: list[str], message: str
) -> None:
    run_cli(env, "user", "add", "alice", "--email", "alice@example.com")
    before = run_cli(env, "user", "list", "--json").stdout
    result = run_cli(env, *args, check=False)
    assert result.returncode == 1
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("keyhall: error: ")
    assert message in lines[0]
    assert run_cli(env, "user", "list", "--json").stdout == before


def test_short_password_from_stdin_is_refused(env: dict[str, str]) -> None:
    result = run_cli(
        env, "user", "add", "alice", "--email", "a@example.com", "--password-stdin",
        input="short\n", check=False,
    )  # fmt: skip
    assert result.returncode == 1
    assert "password too short" in result.stderr
    assert "short" not in result.stderr.replace("too short", "")


def test_settings_show_and_set(env: dict[str, str]) -> None:
    shown = json.loads(run_cli(env, "settings", "show", "--json").stdout)
    assert shown["mandatory_2fa"] is False and shown["name"] == "Keyhall"
    run_cli(env, "settings", "set", "name", "Example Corp")
    run_cli(env, "settings", "set", "lock_profile", "true")
    shown = json.loads(run_cli(env, "settings", "show", "--json").stdout)
    assert shown["name"] == "Example Corp" and shown["lock_profile"] is True


def test_data_dir_is_private(env: dict[str, str]) -> None:
    run_cli(env, "migrate")
    data = Path(env["KEYHALL_DATA_DIR"])
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    for name in ("secret.key", "keyhall.db"):
        assert stat.S_IMODE((data / name).stat().st_mode) == 0o600, name
