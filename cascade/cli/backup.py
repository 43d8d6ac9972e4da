"""`cascade backup create|restore`: the workspace (database and files) copied whole, and put back anywhere."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cascade.cli.common import checked, console, ready

app = typer.Typer()
backup_app = typer.Typer(help="Back up the workspace (database and files) and restore it, into any folder.", no_args_is_help=True)
app.add_typer(backup_app, name="backup")


@backup_app.command("create")
def create(
    to: Annotated[
        Path | None, typer.Option("--to", help="The backup file (.tar.gz); default: backups/cascade-YYYYMMDD-HHMMSS.tar.gz in the workspace.")
    ] = None,
) -> None:
    """Write a backup: the database (SQLite's online backup, or pg_dump) and the reports, documents, evidence and uploads."""
    from cascade import clock
    from cascade.settings import get_settings
    from models.backup import create_backup

    ready()
    target = to or get_settings().workspace / "backups" / f"cascade-{clock.utc_now():%Y%m%d-%H%M%S}.tar.gz"
    written = checked(lambda: create_backup(target))
    console.print(f"Backup written: {written} ({written.stat().st_size / 1024 / 1024:.1f} MB)")


@backup_app.command("restore")
def restore(
    file: Annotated[Path, typer.Argument(help="A backup made by `cascade backup create`.")],
    force: Annotated[bool, typer.Option("--force", help="Replace a SQLite database that already holds data.")] = False,
) -> None:
    """Put a backup into this workspace (CASCADE_WORKSPACE, CASCADE_DATABASE_URL), which must be empty; any folder."""
    from models.backup import restore_backup

    done = checked(lambda: restore_backup(file, force=force))
    ready()  # the schema of this version, if the backup came from an older one
    console.print(
        f"Restored: {done.reports} report(s), {done.queued} message(s) still to send, {done.files} evidence file(s); "
        f"{done.paths_rewritten} path(s) made relative to the workspace."
    )
