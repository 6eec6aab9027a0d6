"""`keyhall import` and `keyhall export`: move users, groups and password hashes in and out."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO

import click

from keyhall.cli.common import emit, instance, json_option
from keyhall.directory.models import CLI_ACTOR
from keyhall.transfer.exporter import export
from keyhall.transfer.importer import FORMATS, Report, detect_format, read_items, run_import
from keyhall.transfer.mapping import parse_map
from keyhall.transfer.plan import Options
from keyhall.transfer.problems import ImportRejected


@contextmanager
def _open(path: str) -> Iterator[TextIO]:
    if path == "-":
        yield sys.stdin
        return
    try:
        # newline="" keeps CSV's quoted line breaks intact; LDIF and JSON strip line endings.
        with open(path, encoding="utf-8", newline="") as fh:
            yield fh
    except OSError as exc:
        raise click.UsageError(f"cannot read {path}: {exc.strerror}") from None


@click.command("import")
@click.argument("file", type=click.Path(dir_okay=False, allow_dash=True))
@click.option("--format", "fmt", type=click.Choice(FORMATS), help="Default: from the suffix.")
@click.option("--dry-run", is_flag=True, help="Print what would change; write nothing.")
@click.option("--update", is_flag=True, help="Update users and groups that already exist.")
@click.option("--hash-plaintext", is_flag=True, help="Accept cleartext passwords (hashed).")
@click.option(
    "--map",
    "maps",
    multiple=True,
    metavar="STANDARD=THEIRS",
    help="Rename an attribute or column, e.g. uid=sAMAccountName; @FILE reads pairs.",
)
@json_option
def import_(
    file: str,
    fmt: str | None,
    dry_run: bool,
    update: bool,
    hash_plaintext: bool,
    maps: tuple[str, ...],
    as_json: bool,
) -> None:
    """Import users, groups and password hashes from FILE (LDIF, CSV or JSON Lines)."""
    fmt = fmt or detect_format(file)
    amap = parse_map(maps)
    options = Options(update=update, hash_plaintext=hash_plaintext)
    with instance() as inst, _open(file) as fh:
        try:
            report = run_import(
                inst.directory,
                read_items(fh, fmt, amap),
                options=options,
                actor=CLI_ACTOR,
                dry_run=dry_run,
                source=file,
            )
        except ImportRejected as exc:
            for problem in exc.problems:
                click.echo(f"{file}:{problem.line}: {problem.message}", err=True)
            raise
    emit(as_json, report.as_dict(), _text(report))


def _text(report: Report) -> str:
    lines = []
    if report.dry_run:
        lines += [f"user  {u['action']:<6} {u['username']}: {u['reason']}" for u in report.users]
        lines += [f"group {g['action']:<6} {g['name']}: {g['reason']}" for g in report.groups]
        lines += [f"entry skip   {s['entry']}: {s['reason']}" for s in report.skipped_entries]
    lines += [f"warning: line {w['line']}: {w['message']}" for w in report.warnings]
    c = report.counts
    verb = "would import" if report.dry_run else "imported"
    lines.append(
        f"{verb}: users {c['users_create']} created, {c['users_update']} updated, "
        f"{c['users_skip']} skipped; groups {c['groups_create']} created, "
        f"{c['groups_update']} updated, {c['groups_skip']} skipped; "
        f"{c['memberships']} memberships"
    )
    return "\n".join(lines)


@click.command("export")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="json", show_default=True)
@click.option("--with-hashes", is_flag=True, help="Include password hashes (keep the file safe).")
@click.option("--output", "-o", type=click.Path(dir_okay=False), help="Default: standard output.")
def export_(fmt: str, with_hashes: bool, output: str | None) -> None:
    """Export users and groups (JSON Lines round-trips losslessly through `keyhall import`)."""
    with instance() as inst:
        chunks = export(
            inst.store,
            fmt,
            actor=CLI_ACTOR,
            with_hashes=with_hashes,
            base_dn=inst.config.ldap_base_dn,
        )
        if output is None:
            for chunk in chunks:
                sys.stdout.write(chunk)
            sys.stdout.flush()
            return
        with open(output, "w", encoding="utf-8", newline="") as fh:
            fh.writelines(chunks)
