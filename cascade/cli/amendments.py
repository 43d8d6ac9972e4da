"""`cascade plan amend`: an issued plan's next version, passed down every level."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cascade.cli.common import AsOf, checked, console, note_act, parse_day, ready, run, warn
from cascade.cli.plans import plan_app


@plan_app.command("amend")
def plan_amend(
    plan: Annotated[str, typer.Argument(help="Plan key (104-kh-ubnd-2024) or number/symbol (104/KH-UBND).")],
    file: Annotated[
        Path, typer.Argument(help="The amendment file: `amendment:` (number, issued_on, reason, signer) and the whole plan as amended under `plan:`.")
    ],
    as_of: AsOf = None,
) -> None:
    """Amend an issued plan (Kế hoạch sửa đổi, bổ sung): its next version, with the earlier one kept; open assignments
    take the new targets, duties and deadlines, implementing plans below follow what they inherited, and each unit
    concerned gets one notice of what changed for it, with the amendment (Word) and its new forms."""
    from tasks.plans.versions import check_amendment

    ready()
    checked(lambda: check_amendment(plan, str(file)))
    # Imported after the check: a file with a problem is refused without loading Prefect.
    from flows.amend_plan import amend_plan

    day = parse_day(as_of)
    result = run(lambda: amend_plan(plan, str(file), day))
    top = result.top
    note_act("amend", top.plan_key, day, note=f"{top.code}: version {top.version}, {result.notified} units notified")
    warn([f"{flag}: looser than the amended plan asks (its unit is told)" for a in (top, *result.below) for flag in a.flags])
    warn(result.cascade.warnings)
    console.print(
        f"{top.plan_key} amended by {top.code} (version {top.version}): {top.changes} change(s); {len(top.notified)} unit(s) notified, "
        f"{top.new_assignments} new assignment(s), {top.withdrawn} withdrawn; implementing plans amended {len(result.below)}, "
        f"drafts updated {sum(len(a.drafts_changed) for a in (top, *result.below))}; units notified below {result.notified - len(top.notified)}; "
        f"newly assigned {result.cascade.assigned}; emails sent {result.cascade.delivery.sent}, retrying {result.cascade.delivery.retrying}, "
        f"failed {result.cascade.delivery.failed}."
    )
