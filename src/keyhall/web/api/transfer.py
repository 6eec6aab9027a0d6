"""`POST /v1/import` and `GET /v1/export`: the CLI's import and export over HTTP, streamed.

The upload is spooled (to disk past 1 MiB) while it arrives and then read line by line, and the
export is written as the rows come from the database: neither holds a whole file in memory.
"""

from __future__ import annotations

import io
import tempfile
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from keyhall.directory.models import Actor
from keyhall.runtime import Instance
from keyhall.transfer.exporter import MEDIA_TYPES, export
from keyhall.transfer.importer import read_items, run_import
from keyhall.transfer.mapping import parse_map
from keyhall.transfer.plan import Options
from keyhall.web.api.auth import AdminActor, instance
from keyhall.web.api.problems import PROBLEM_SCHEMA

router = APIRouter(tags=["import and export"])
Format = Literal["ldif", "csv", "json"]
SPOOL_IN_MEMORY = 1 << 20
_UPLOAD = {
    "requestBody": {
        "required": True,
        "description": "The file, as the request body (not multipart).",
        "content": {
            media: {"schema": {"type": "string", "format": "binary"}}
            for media in (*MEDIA_TYPES.values(), "application/octet-stream")
        },
    }
}


class ImportReport(BaseModel):
    dry_run: bool
    counts: dict[str, int]
    users: list[dict[str, Any]]
    groups: list[dict[str, Any]]
    skipped_entries: list[dict[str, Any]]
    warnings: list[dict[str, Any]]


@router.post(
    "/import",
    response_model=ImportReport,
    openapi_extra=_UPLOAD,
    responses={401: PROBLEM_SCHEMA, 409: PROBLEM_SCHEMA, 422: PROBLEM_SCHEMA},
    summary="Import users, groups and password hashes",
)
async def import_file(
    request: Request,
    actor: AdminActor,
    format: Format = "json",
    dry_run: bool = False,
    update: bool = False,
    hash_plaintext: bool = False,
    map: Annotated[list[str], Query(description="standard=theirs, e.g. uid=sAMAccountName")] = [],  # noqa: B006
) -> dict[str, Any]:
    """Nothing is written if any line has a problem: the 422 lists each with its line."""
    inst = instance(request)
    spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY)  # noqa: SIM115
    try:
        async for chunk in request.stream():
            spool.write(chunk)
        spool.seek(0)
        options = Options(update=update, hash_plaintext=hash_plaintext)
        return await run_in_threadpool(
            _import, inst, spool, format, options, list(map), actor, dry_run
        )
    finally:
        spool.close()


def _import(
    inst: Instance,
    spool: Any,
    fmt: str,
    options: Options,
    maps: list[str],
    actor: Actor,
    dry_run: bool,
) -> dict[str, Any]:
    text = io.TextIOWrapper(spool, encoding="utf-8", newline="")
    try:
        report = run_import(
            inst.directory,
            read_items(text, fmt, parse_map(maps)),
            options=options,
            actor=actor,
            dry_run=dry_run,
            source="upload",
        )
    finally:
        text.detach()
    return report.as_dict()


@router.get(
    "/export",
    responses={
        200: {"content": {m: {"schema": {"type": "string"}} for m in MEDIA_TYPES.values()}},
        401: PROBLEM_SCHEMA,
    },
    response_class=StreamingResponse,
    summary="Export users and groups",
)
def export_file(
    request: Request,
    actor: AdminActor,
    format: Format = "json",
    with_hashes: bool = False,
) -> StreamingResponse:
    """JSON Lines by default: what `POST /import` takes back without loss."""
    inst = instance(request)
    base_dn = inst.config.ldap_base_dn
    chunks = export(inst.store, format, actor=actor, with_hashes=with_hashes, base_dn=base_dn)
    return StreamingResponse(
        chunks,
        media_type=MEDIA_TYPES[format],
        headers={"Content-Disposition": f'attachment; filename="keyhall-export.{format}"'},
    )
