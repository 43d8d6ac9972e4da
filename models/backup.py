"""A workspace copied whole, and put back anywhere: the database (SQLite's online backup, or pg_dump) and
the files the database names (reports, documents, evidence, uploads), with a manifest.

Paths in the database are relative to the workspace (cascade.workspace_paths); paths an older version
recorded absolutely under the backed-up workspace are made relative on restore, so a restore into another
folder, or onto another machine, finds every file.
"""

from __future__ import annotations

import io
import json
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url

from cascade import clock
from cascade.errors import CascadeError
from cascade.settings import get_settings
from models.db import get_engine, reset_engines, session_scope
from models.outbox import EmailStatus, OutboundEmail
from models.report import Report

FORMAT = 1
FOLDERS = ("reports", "documents", "attachments", "uploads")  # what the database names; prefect/ and demo folders are not the workspace's data
KEY_FILE = "portal.key"
MANIFEST = "manifest.json"
SQLITE_FILE, PG_DUMP = "cascade.db", "cascade.pgdump"


class BackupError(CascadeError):
    """A backup that cannot be made or put back; the message says why and what to do."""


@dataclass(frozen=True)
class Restored:
    """What a restore put back: reports, messages still to send, evidence files, and the paths it made relative."""

    reports: int
    queued: int
    files: int
    paths_rewritten: int


def _is_postgresql(url: str) -> bool:
    return make_url(url).get_backend_name() == "postgresql"


def _libpq(url: str) -> str:
    """The SQLAlchemy URL as pg_dump and pg_restore take it (no driver name)."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def create_backup(target: Path) -> Path:
    """Write the workspace's backup to `target` (a .tar.gz, written whole or not at all); returns it."""
    settings = get_settings()
    url = settings.resolved_database_url
    workspace = settings.workspace.resolve()
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="backup-") as scratch:
        if _is_postgresql(url):
            dump = Path(scratch) / PG_DUMP
            done = subprocess.run(["pg_dump", "--format=custom", "--no-owner", "--no-privileges", f"--file={dump}", _libpq(url)],
                                  capture_output=True, text=True, check=False)  # fmt: skip
            if done.returncode != 0:
                raise BackupError(f"pg_dump failed: {done.stderr.strip()}")
        else:
            dump = Path(scratch) / SQLITE_FILE
            source = sqlite3.connect(make_url(url).database or "")
            copy = sqlite3.connect(dump)
            try:
                source.backup(copy)  # consistent while other processes write
            finally:
                copy.close()
                source.close()
        with session_scope() as session:
            revision = session.scalar(text("SELECT version_num FROM alembic_version"))
        manifest = {
            "format": FORMAT, "created_at": clock.utc_now().isoformat(), "database": "postgresql" if _is_postgresql(url) else "sqlite",
            "revision": revision, "workspace": str(workspace),
        }  # fmt: skip
        partial = target.with_name(target.name + ".part")
        with tarfile.open(partial, "w:gz") as archive:
            info = tarfile.TarInfo(MANIFEST)
            data = json.dumps(manifest, ensure_ascii=False, indent=2).encode()
            info.size, info.mtime = len(data), int(clock.utc_now().timestamp())
            archive.addfile(info, io.BytesIO(data))
            archive.add(dump, arcname=dump.name)
            for name in (*FOLDERS, KEY_FILE):
                if (workspace / name).exists():
                    archive.add(workspace / name, arcname=name)
        partial.replace(target)
    return target


def restore_backup(source: Path, *, force: bool = False) -> Restored:
    """Put the backup `source` into the configured workspace and database, which must hold no data (unless
    `force` for SQLite, whose file is then replaced); returns what was restored."""
    settings = get_settings()
    url = settings.resolved_database_url
    workspace = settings.workspace.resolve()
    try:
        archive = tarfile.open(source, "r:gz")  # noqa: SIM115 - opened here so that a bad file gets its sentence; the with below closes it
    except (OSError, tarfile.TarError) as exc:
        raise BackupError(f"{source}: not a backup made by `cascade backup create` ({exc})") from None
    with archive, tempfile.TemporaryDirectory(prefix="restore-") as scratch:
        names = archive.getnames()
        if MANIFEST not in names:
            raise BackupError(f"{source}: no {MANIFEST}: not a backup made by `cascade backup create`")
        bad = [n for n in names if PurePosixPath(n).is_absolute() or ".." in PurePosixPath(n).parts]
        if bad:
            raise BackupError(f"{source}: refuses the entries {bad[:3]} (outside the workspace)")
        archive.extractall(scratch, filter="data")
        manifest = json.loads((Path(scratch) / MANIFEST).read_text(encoding="utf-8"))
        if manifest.get("format") != FORMAT:
            raise BackupError(f"{source}: backup format {manifest.get('format')}, this version reads format {FORMAT}")
        made_on = manifest["database"]
        here = "postgresql" if _is_postgresql(url) else "sqlite"
        if made_on != here:
            raise BackupError(f"{source} holds a {made_on} database; the workspace uses {here}: restore it where the same kind of database is set")
        reset_engines()
        if here == "postgresql":
            _restore_postgresql(url, Path(scratch) / PG_DUMP)
        else:
            _restore_sqlite(url, Path(scratch) / SQLITE_FILE, force=force)
        workspace.mkdir(parents=True, exist_ok=True)
        for name in (*FOLDERS, KEY_FILE):
            found = Path(scratch) / name
            if found.is_dir():
                shutil.copytree(found, workspace / name, dirs_exist_ok=True)
            elif found.is_file():
                shutil.copy2(found, workspace / name)
    rewritten = _relative_paths(str(manifest["workspace"]))
    with session_scope() as session:
        reports = session.scalar(select(func.count()).select_from(Report)) or 0
        queued = session.scalar(select(func.count()).where(OutboundEmail.status.in_([EmailStatus.QUEUED, EmailStatus.SENDING]))) or 0
    files = sum(1 for path in (workspace / "attachments").rglob("*") if path.is_file())
    return Restored(reports, queued, files, rewritten)


def _restore_sqlite(url: str, dump: Path, *, force: bool) -> None:
    path = Path(make_url(url).database or "")
    if path.exists() and path.stat().st_size and not force:
        with sqlite3.connect(path) as connection:
            tables = connection.execute("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'unit'").fetchone()[0]
            units = connection.execute("SELECT count(*) FROM unit").fetchone()[0] if tables else 0
        if units:
            raise BackupError(f"the workspace's database {path} already holds {units} units: restore into an empty workspace (or add --force to replace it)")
    path.parent.mkdir(parents=True, exist_ok=True)
    for suffix in ("-wal", "-shm"):
        path.with_name(path.name + suffix).unlink(missing_ok=True)
    shutil.copyfile(dump, path)


def _restore_postgresql(url: str, dump: Path) -> None:
    engine = get_engine()
    with engine.connect() as connection:
        tables = connection.scalar(text("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'"))
    reset_engines()
    if tables:
        raise BackupError(f"the database {make_url(url).database} already has {tables} tables: restore into an empty database")
    done = subprocess.run(["pg_restore", "--no-owner", "--no-privileges", "--exit-on-error", f"--dbname={_libpq(url)}", str(dump)],
                          capture_output=True, text=True, check=False)  # fmt: skip
    if done.returncode != 0:
        raise BackupError(f"pg_restore failed: {done.stderr.strip()}")


def _relative_paths(old_workspace: str) -> int:
    """Paths recorded absolutely under the backed-up workspace, made relative to it; returns how many."""
    prefix = old_workspace.rstrip("/") + "/"
    changed = 0
    with session_scope() as session:
        for report in session.scalars(select(Report).where(Report.files.is_not(None))):
            files = [f[len(prefix) :] if f.startswith(prefix) else f for f in report.files]
            if files != report.files:
                changed += sum(1 for a, b in zip(files, report.files, strict=True) if a != b)
                report.files = files
        for row in session.scalars(select(OutboundEmail).where(OutboundEmail.status != EmailStatus.SENT)):
            attachments = [a[len(prefix) :] if a.startswith(prefix) else a for a in row.attachments or []]
            if attachments != (row.attachments or []):
                changed += sum(1 for a, b in zip(attachments, row.attachments, strict=True) if a != b)
                row.attachments = attachments
    return changed
