"""The OIDC benchmark's harness: login-form discovery, percentiles, and a short real run."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from bench.oidc import main, percentile
from bench.oidc_rp import find_login_form
from bench.oidc_servers import PEER_DIR

LOGIN_PAGE = """<!doctype html><html><body>
<form method="get" action="/search"><input name="q" autocomplete="off"></form>
<form method="post" action="login?flow=abc">
  <input type="hidden" name="csrf" value="tok&amp;en">
  <input name="login" autocomplete="username" value="">
  <input type="password" name="password" autocomplete="current-password">
  <input type="checkbox" name="remember" value="1">
  <button type="submit">Sign in</button>
</form></body></html>"""


def test_login_form_found_by_autocomplete_with_hidden_fields() -> None:
    form = find_login_form(LOGIN_PAGE, "http://127.0.0.1:8080/openid/login?x=1", "ann", "pw")
    assert form is not None
    assert form.action == "http://127.0.0.1:8080/openid/login?flow=abc"
    assert form.method == "POST"
    assert form.fields == {"csrf": "tok&en", "login": "ann", "password": "pw"}


def test_page_without_password_field_has_no_login_form() -> None:
    page = '<form method="post"><input name="login" autocomplete="username"></form>'
    assert find_login_form(page, "http://127.0.0.1/", "ann", "pw") is None


def test_percentile_is_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 0.99) == 99.0
    assert percentile(values, 0.50) == 50.0
    assert percentile([7.0], 0.99) == 7.0


def test_short_run_against_both_servers(tmp_path: Path) -> None:
    # The peer is installed by `npm ci` on first use; a test must not reach the network.
    have_peer = shutil.which("node") and (PEER_DIR / "node_modules" / "oidc-provider").is_dir()
    only = [] if have_peer else ["--only", "keyhall"]
    out = tmp_path / "oidc.json"
    args = ["--clients", "2", "--duration", "0.3", "--warmup", "0.1", "--output", str(out)]
    assert main([*args, *only]) == 0
    report = json.loads(out.read_text())
    servers = ["node", "keyhall"] if have_peer else ["keyhall"]
    for name in servers:
        info = report["servers"][name]
        assert info["id_token_alg"] == "RS256"
        assert info["access_token_format"] == "opaque"
        assert info["refresh_token"] is True
        for scenario in ("auth_code", "refresh", "userinfo"):
            result = report["results"][scenario][name]
            assert result["ops"] > 0
            assert result["errors"] == 0, result["first_error"]
    assert report["results"]["auth_code"]["keyhall"]["requests_per_op"] == 2.0
    if not have_peer:
        pytest.skip("node-oidc-provider not installed: ran Keyhall only")
