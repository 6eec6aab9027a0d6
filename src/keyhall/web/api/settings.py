"""`/v1/settings`: the instance's run-time settings (name, mandatory 2FA, lock profile, ...)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body

from keyhall.directory.settings import SETTINGS, parse_setting
from keyhall.web.api.auth import AdminActor
from keyhall.web.api.deps import Services
from keyhall.web.api.problems import problem_responses

router = APIRouter(tags=["settings"])
ERRORS = problem_responses(401, 403, 422)
Value = str | bool | int


def _text(value: Value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


@router.get("/settings", responses=ERRORS, summary="Show settings")
def show_settings(svc: Services, actor: AdminActor) -> dict[str, Any]:
    """Every setting with its value (defaults included)."""
    return svc.directory.settings()


@router.get("/settings/help", responses=ERRORS, summary="Describe settings")
def describe_settings(actor: AdminActor) -> dict[str, dict[str, Any]]:
    return {
        key: {"type": spec.kind.__name__, "default": spec.default, "help": spec.help}
        for key, spec in SETTINGS.items()
    }


@router.patch("/settings", responses=ERRORS, summary="Change settings")
def update_settings(
    body: Annotated[dict[str, Value], Body(min_length=1, max_length=len(SETTINGS))],
    svc: Services,
    actor: AdminActor,
) -> dict[str, Any]:
    """All keys are checked before any is written: one bad value changes nothing.
    Turning `mandatory_2fa` on ends the sessions of users without a second factor."""
    texts = {key: _text(value) for key, value in body.items()}
    for key, text in texts.items():
        parse_setting(key, text)
    for key, text in texts.items():
        svc.directory.set_setting(key, text, actor=actor)
    return svc.directory.settings()
