"""The login as a state machine stored in the database, so any node can serve any step.

    pending --password ok--> password_verified --> done --> (resumed, deleted)
                                     |--> second_factor --code/passkey ok--> done
                                     `--> enrol_required --first factor set up--> done
    pending --passkey alone (passwordless, user verified)--> done

Each transition is a conditional UPDATE from the expected step, so a replayed or raced form
post cannot skip or repeat a step. A flow is bound to the browser that started it (a cookie
whose digest the flow keeps), which is what makes its forms safe from login CSRF.

`after_password` picks the step after a verified password from what the account needs
(`keyhall.accounts.factors.Need`): users with a second factor prove it on `/login/2fa`; with
mandatory 2FA, users without one set one up on `/login/enrol` before any app sees them.
"""

from __future__ import annotations

import enum
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from keyhall.accounts.factors import Need
from keyhall.directory.models import User
from keyhall.oidc.grant import digest
from keyhall.storage.oidc_store import FlowRow, OidcStore

FLOW_LIFETIME = timedelta(minutes=15)


class Step(enum.StrEnum):
    PENDING = "pending"
    PASSWORD_VERIFIED = "password_verified"  # noqa: S105 - a step name, not a secret
    SECOND_FACTOR = "second_factor"
    ENROL_REQUIRED = "enrol_required"
    DONE = "done"


# Which step may follow which: the whole machine, in one table.
TRANSITIONS: dict[Step, frozenset[Step]] = {
    Step.PENDING: frozenset({Step.PASSWORD_VERIFIED, Step.DONE}),
    Step.PASSWORD_VERIFIED: frozenset({Step.SECOND_FACTOR, Step.ENROL_REQUIRED, Step.DONE}),
    Step.SECOND_FACTOR: frozenset({Step.DONE}),
    Step.ENROL_REQUIRED: frozenset({Step.DONE}),
    Step.DONE: frozenset(),
}

AFTER_PASSWORD: dict[Need, Step] = {
    Need.NOTHING: Step.DONE,
    Need.SECOND_FACTOR: Step.SECOND_FACTOR,
    Need.ENROLMENT: Step.ENROL_REQUIRED,
}


def after_password(user: User, need: Need = Need.NOTHING) -> Step:
    """The step after a verified password: where a second factor is demanded or set up."""
    return AFTER_PASSWORD[need]


@dataclass(frozen=True, slots=True)
class Flow:
    row: FlowRow

    @property
    def id(self) -> str:
        return self.row.id

    @property
    def step(self) -> Step:
        return Step(self.row.step)

    @property
    def authorization(self) -> dict[str, str] | None:
        """The authorization request to resume, or None for a plain sign-in."""
        request = self.row.request.get("authorization")
        return dict(request) if request is not None else None

    @property
    def return_to(self) -> str:
        return str(self.row.request.get("return_to") or "/")

    @property
    def replaces(self) -> str | None:
        """The sid of the browser's session this sign-in replaces (e.g. `prompt=login`)."""
        sid = self.row.request.get("replaces")
        return str(sid) if sid else None

    def belongs_to(self, browser: str | None) -> bool:
        return browser is not None and hmac.compare_digest(digest(browser), self.row.browser_hash)


class LoginFlows:
    def __init__(self, store: OidcStore) -> None:
        self.store = store

    def start(
        self,
        browser: str,
        now: datetime,
        *,
        authorization: dict[str, str] | None = None,
        return_to: str = "/",
        step: Step = Step.PENDING,
        user_id: str | None = None,
        session_sid: str | None = None,
        replaces: str | None = None,
    ) -> Flow:
        request: dict[str, Any] = {"authorization": authorization, "return_to": return_to}
        if replaces:
            request["replaces"] = replaces
        row = FlowRow(
            id=secrets.token_urlsafe(24),
            browser_hash=digest(browser),
            step=step.value,
            request=request,
            user_id=user_id,
            session_sid=session_sid,
            amr=[],
            expires_at=now + FLOW_LIFETIME,
        )
        self.store.insert_flow(row, now)
        return Flow(row)

    def get(self, flow_id: str | None, browser: str | None, now: datetime) -> Flow | None:
        if not flow_id:
            return None
        row = self.store.flow(flow_id)
        if row is None or row.expires_at <= now:
            return None
        flow = Flow(row)
        return flow if flow.belongs_to(browser) else None

    def advance(self, flow: Flow, to: Step, **values: Any) -> bool:
        if to not in TRANSITIONS[flow.step]:
            return False
        return self.store.advance_flow(flow.id, flow.step.value, step=to.value, **values)

    def finish(self, flow: Flow) -> bool:
        """Consume a done flow: true only for the one request that gets to resume it."""
        return self.store.delete_flow(flow.id)
