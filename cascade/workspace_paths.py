"""Paths as the database keeps them: relative to the workspace folder when inside it, so that a backup
restored to another folder (or another machine) finds every report and attachment where it put them."""

from __future__ import annotations

from pathlib import Path

from cascade.settings import get_settings


def stored_path(path: str | Path) -> str:
    """How to record `path`: 'reports/74-kh-sxd-2024/Báo cáo.docx' for a file in the workspace, else its absolute path."""
    full = Path(path).resolve()
    workspace = get_settings().workspace.resolve()
    return full.relative_to(workspace).as_posix() if full.is_relative_to(workspace) else str(full)


def resolved_path(stored: str) -> Path:
    """The file a recorded path names: relative ones under the current workspace, absolute ones as they are."""
    path = Path(stored)
    return path if path.is_absolute() else get_settings().workspace / path
