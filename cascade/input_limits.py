"""Limits on what an input may make us read, checked before any parser sees it.

An Excel workbook is a zip package: its directory says how large every part unpacks, so a
decompression bomb (a 1.5 MB file whose sheet unpacks to gigabytes) is refused from the directory
alone, as is a macro-enabled workbook renamed .xlsx. Every limit is a setting (`input_max_*`); a
refusal names the limit and its setting. Callers word the refusal in their own error type.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass, field
from io import BytesIO
from pathlib import Path
from typing import Any

from cascade.settings import get_settings

MB = 1024 * 1024
_RATIO_FLOOR = MB  # parts smaller than this unpack as they like: nothing small can be a bomb
_MACRO_PARTS = ("xl/vbaProject.bin", "xl/macrosheets/")
_MACRO_TYPE = b"macroEnabled"


@dataclass(frozen=True)
class LimitProblem:
    """Why an input is refused before it is read: `kind` names the check, `facts` its figures."""

    kind: str
    facts: dict[str, Any] = field(default_factory=dict)

    def describe(self) -> str:
        """The refusal in a sentence, naming the limit and the setting that sets it."""
        f = self.facts
        return {
            "too_large": f"the file is {f.get('size_mb')} MB, above the limit of {f.get('limit_mb')} MB (setting input_max_mb)",
            "unpacks_too_large": f"the workbook unpacks to {f.get('size_mb')} MB, above the limit of {f.get('limit_mb')} MB (setting input_max_unpacked_mb)",
            "zip_ratio": f"its part {f.get('part')} unpacks to {f.get('ratio')} times its packed size, above the limit of {f.get('limit')} "
            "(setting input_max_zip_ratio): a decompression bomb, not a workbook",
            "zip_entries": f"the workbook holds {f.get('count')} parts, above the limit of {f.get('limit')} (setting input_max_zip_entries)",
            "sheets": f"the workbook has {f.get('count')} sheets, above the limit of {f.get('limit')} (setting input_max_sheets)",
            "macros": "a macro-enabled workbook (.xlsm, with VBA macros): save it as an Excel Workbook (.xlsx) without macros",
            "cells": f"more than {f.get('limit')} cells read from the workbook (setting input_max_cells)",
            "yaml_aliases": f"the file uses {f.get('count')} YAML aliases (*name), above the limit of {f.get('limit')} (setting input_max_yaml_aliases)",
            "yaml_values": f"the file's YAML aliases expand it to more than {f.get('limit')} values (setting input_max_yaml_values)",
        }[self.kind]


def _mb(size: int) -> str:
    return f"{size / MB:.1f}".replace(".", ",")


def size_problem(size: int) -> LimitProblem | None:
    """A file of `size` bytes is above `input_max_mb`."""
    limit = get_settings().input_max_mb
    if size > limit * MB:
        return LimitProblem("too_large", {"size_mb": _mb(size), "limit_mb": f"{limit:g}"})
    return None


def workbook_problem(source: bytes | Path) -> LimitProblem | None:
    """Why this .xlsx must not be opened (from its zip directory and content types only), or None. A file
    that is no zip at all is left to the workbook reader, which says it is not a workbook."""
    settings = get_settings()
    try:
        size = len(source) if isinstance(source, bytes) else source.stat().st_size
    except OSError:
        return None  # a missing file: the reader says so
    if (big := size_problem(size)) is not None:
        return big
    try:
        with zipfile.ZipFile(BytesIO(source) if isinstance(source, bytes) else source) as package:
            parts = package.infolist()
            if len(parts) > settings.input_max_zip_entries:
                return LimitProblem("zip_entries", {"count": f"{len(parts):,}", "limit": f"{settings.input_max_zip_entries:,}"})
            unpacked = sum(part.file_size for part in parts)
            if unpacked > settings.input_max_unpacked_mb * MB:
                return LimitProblem("unpacks_too_large", {"size_mb": _mb(unpacked), "limit_mb": f"{settings.input_max_unpacked_mb:g}"})
            for part in parts:
                if part.file_size > _RATIO_FLOOR and part.file_size > settings.input_max_zip_ratio * max(part.compress_size, 1):
                    ratio = part.file_size // max(part.compress_size, 1)
                    return LimitProblem("zip_ratio", {"part": part.filename, "ratio": f"{ratio:,}", "limit": settings.input_max_zip_ratio})
            names = [part.filename for part in parts]
            if any(name.startswith(_MACRO_PARTS) for name in names):
                return LimitProblem("macros")
            if "[Content_Types].xml" in names and _MACRO_TYPE in package.read("[Content_Types].xml")[: 64 * 1024]:
                return LimitProblem("macros")
            sheets = sum(1 for name in names if name.startswith("xl/worksheets/") and name.endswith(".xml"))
            if sheets > settings.input_max_sheets:
                return LimitProblem("sheets", {"count": sheets, "limit": settings.input_max_sheets})
    except (zipfile.BadZipFile, OSError, ValueError, KeyError):
        return None  # not a zip: the workbook reader refuses it as no workbook
    return None


class CellBudget:
    """Counts the cells a reader takes from a workbook; `spend` returns the problem once they exceed `input_max_cells`."""

    def __init__(self) -> None:
        self.limit = get_settings().input_max_cells
        self.used = 0

    def spend(self, cells: int) -> LimitProblem | None:
        self.used += cells
        return LimitProblem("cells", {"limit": f"{self.limit:,}"}) if self.used > self.limit else None
