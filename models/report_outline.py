"""The consolidated report's numbered sections (I, II, III…) as a duty lists them, and where its two
system-written parts go: the figures table and the reporting status (who reported, late, missing).

Pure. A duty places the parts with `shows`; a part it does not place follows common practice:
reporting heads the first section, figures head the first section titled "Kết quả…", or a section of
their own right after the first.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from models.plan import ReportBlock

FIGURES_SECTION = "ket_qua_chi_tieu"  # added when no section takes the figures; titled by the template
REPORTING_SECTION = "tinh_hinh_bao_cao"  # added when a duty has no section at all
RESULTS_OPENING = "kết quả"  # a section titled so ('Kết quả thực hiện') takes the figures by default


@dataclass(frozen=True)
class OutlineSection:
    """One numbered section of the report: its heading, whether units wrote under it, and the parts at its head."""

    code: str
    title: str  # empty for a section the outline added (FIGURES_SECTION, REPORTING_SECTION)
    asked: bool = True
    reporting: bool = False
    figures: bool = False


def _folded(text: str) -> str:
    return unicodedata.normalize("NFC", text).strip().casefold()


def report_outline(sections: Sequence[Mapping[str, Any]], *, has_figures: bool = True) -> tuple[OutlineSection, ...]:
    """The report's sections in order, from a duty's stored sections ({code, title[, shows][, asked]}).

    `has_figures` false (the duty reports no target) drops the figures part, and a section that held only it.
    """
    outline = []
    for s in sections:
        shows = {str(block) for block in s.get("shows", ())} - (set() if has_figures else {ReportBlock.FIGURES})
        asked = bool(s.get("asked", True))
        if asked or shows:  # a section of parts only, none of them left, is no section
            outline.append(OutlineSection(str(s["code"]), str(s["title"]), asked, ReportBlock.REPORTING in shows, ReportBlock.FIGURES in shows))
    if has_figures and not any(s.figures for s in outline):
        results = next((i for i, s in enumerate(outline) if _folded(s.title).startswith(RESULTS_OPENING)), None)
        if results is not None:
            outline[results] = replace(outline[results], figures=True)
        else:
            outline.insert(min(1, len(outline)), OutlineSection(FIGURES_SECTION, "", asked=False, figures=True))
    if not outline:
        outline.append(OutlineSection(REPORTING_SECTION, "", asked=False))
    if not any(s.reporting for s in outline):
        outline[0] = replace(outline[0], reporting=True)
    return tuple(outline)
