"""Consolidate the units' reports for one duty into the issuer's report."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from prefect import flow, task

from models.consolidation import Consolidation, consolidate as consolidate_figures
from tasks.assign import resolve_plan
from tasks.consolidation import load_consolidation, publish_artifacts, save_report, write_report

judge = task(consolidate_figures, name="judge-targets")


@dataclass(frozen=True)
class ConsolidationResult:
    report_id: int
    files: list[str]
    result: Consolidation


@flow(name="consolidate", flow_run_name="consolidate-{plan}-{duty}-{as_of}")
def consolidate(plan: str, duty: str, as_of: date) -> ConsolidationResult:
    """Judge every target against the units' latest figures, compile the narrative, list late and missing units, and write the report."""
    ref = resolve_plan(plan)
    header, data = load_consolidation(ref.id, duty, as_of)
    result = judge(data)

    # Publish
    files = write_report(header, result)
    report_id = save_report(header, result, files)
    publish_artifacts(header, result, files)
    return ConsolidationResult(report_id, files, result)
