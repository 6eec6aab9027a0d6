"""The OpenAPI document against the running API: every documented operation is called with
data generated from its own schema (schemathesis), and every answer must match the document.

Kept small (a few examples per operation) so the suite stays fast; the hand-written tests
beside this file check what each route does.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import checks
from schemathesis.core.result import Ok
from tests.support.admin_api import start_server
from tests.support.admin_web import token
from tests.support.server import RunningServer

EXAMPLES = 4
CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
    checks.response_headers_conformance,
]
# Import and export stream files (tested in test_api_transfer.py); generated bodies there are
# just invalid files.
STREAMED = {("POST", "/v1/import"), ("GET", "/v1/export")}


# Every documented operation and the test file that checks what it does; a new route must be
# added here, with its test, or test_document_shape fails.
COVERED = {
    ("GET", "/v1/users"): "test_api_users",
    ("POST", "/v1/users"): "test_api_users",
    ("GET", "/v1/users/{username}"): "test_api_users",
    ("PATCH", "/v1/users/{username}"): "test_api_users",
    ("DELETE", "/v1/users/{username}"): "test_api_users",
    ("PUT", "/v1/users/{username}/role"): "test_api_users",
    ("PUT", "/v1/users/{username}/active"): "test_api_users",
    ("PUT", "/v1/users/{username}/password"): "test_api_users",
    ("DELETE", "/v1/users/{username}/second-factors"): "test_api_users",
    ("POST", "/v1/users/{username}/invitation"): "test_api_users",
    ("GET", "/v1/groups"): "test_api_groups",
    ("POST", "/v1/groups"): "test_api_groups",
    ("GET", "/v1/groups/{name}"): "test_api_groups",
    ("DELETE", "/v1/groups/{name}"): "test_api_groups",
    ("POST", "/v1/groups/{name}/members"): "test_api_groups",
    ("POST", "/v1/groups/{name}/members/remove"): "test_api_groups",
    ("GET", "/v1/clients"): "test_api_clients",
    ("POST", "/v1/clients"): "test_api_clients",
    ("GET", "/v1/clients/{client_id}"): "test_api_clients",
    ("PATCH", "/v1/clients/{client_id}"): "test_api_clients",
    ("DELETE", "/v1/clients/{client_id}"): "test_api_clients",
    ("POST", "/v1/clients/{client_id}/secret"): "test_api_clients",
    ("POST", "/v1/client-presets/{kind}"): "test_api_clients",
    ("GET", "/v1/ldap"): "test_api_directory_services",
    ("PATCH", "/v1/ldap"): "test_api_directory_services",
    ("POST", "/v1/ldap/secret"): "test_api_directory_services",
    ("GET", "/v1/external"): "test_api_external",
    ("PATCH", "/v1/external"): "test_api_external",
    ("POST", "/v1/external/test"): "test_api_external",
    ("POST", "/v1/external/sync"): "test_api_external",
    ("GET", "/v1/external/runs"): "test_api_external",
    ("GET", "/v1/settings"): "test_api_directory_services",
    ("PATCH", "/v1/settings"): "test_api_directory_services",
    ("GET", "/v1/settings/help"): "test_api_directory_services",
    ("GET", "/v1/audit"): "test_api_audit_tokens",
    ("GET", "/v1/tokens"): "test_api_audit_tokens",
    ("POST", "/v1/tokens"): "test_api_audit_tokens",
    ("DELETE", "/v1/tokens/{name}"): "test_api_audit_tokens",
    ("POST", "/v1/import"): "test_api_transfer",
    ("GET", "/v1/export"): "test_api_transfer",
}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    server = start_server(tmp_path_factory.mktemp("schema"))
    yield server
    server.stop()


def test_document_shape(server: RunningServer) -> None:
    doc = httpx.get(f"{server.url}/api/v1/openapi.json").json()
    operations = {(m.upper(), p) for p, item in doc["paths"].items() for m in item}
    assert operations == set(COVERED)
    for path, item in doc["paths"].items():
        for method, op in item.items():
            # Every operation is authenticated and documents its problem answers.
            assert op.get("security") == [{"HTTPBearer": []}], (method, path)
            problems = {
                c
                for c, r in op["responses"].items()
                if "application/problem+json" in r.get("content", {})
            }
            assert "401" in problems, (method, path)


def test_every_operation_answers_as_documented(server: RunningServer) -> None:
    # A name no generated request will guess: the run must not revoke its own token.
    bearer = token(server, "schemathesis-runner-4b1d")
    schema = schemathesis.openapi.from_url(f"{server.url}/api/v1/openapi.json")
    session = requests.Session()
    statuses: Counter[int] = Counter()
    session.hooks["response"].append(lambda r, *_a, **_k: statuses.update([r.status_code]))
    auth = {"Authorization": f"Bearer {bearer}"}
    tested: list[str] = []
    failures: list[str] = []
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), f"the document has an invalid operation: {result.err()}"
        op = result.ok()
        if (op.method.upper(), op.path) in STREAMED:
            continue

        @given(case=op.as_strategy())
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            derandomize=True,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        def run(case: Any) -> None:
            case.call_and_validate(session=session, headers=auth, checks=CHECKS)

        try:
            run()
        except Exception as exc:  # collect every operation's failure
            failures.append(f"{op.method.upper()} {op.path}: {exc}")
        tested.append(f"{op.method.upper()} {op.path}")
    session.close()
    assert not failures, "\n\n".join(failures)
    assert len(tested) == len(COVERED) - len(STREAMED)
    # The run reached the handlers: successes and rejections, never an authentication failure.
    assert statuses[401] == 0 and statuses[500] == 0, statuses
    assert statuses[200] + statuses[201] + statuses[204] > 30, statuses
    assert statuses[422] > 10, statuses
