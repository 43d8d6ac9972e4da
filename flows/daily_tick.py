"""The daily tick: everything the cycle's calendar calls for on a day, catching up days it missed."""

from __future__ import annotations

from datetime import date

from prefect import flow
from prefect.runtime import flow_run

from cascade import clock

TICK_CRON = "0 8 * * *"  # 08:00 every day, Vietnam time
TICK_TIMEZONE = "Asia/Ho_Chi_Minh"


def _run_name() -> str:
    as_of = flow_run.parameters.get("as_of")
    return f"daily-tick-{as_of or 'today'}"


@flow(name="daily-tick", flow_run_name=_run_name)
def daily_tick(as_of: date | None = None) -> None:
    """Run the milestones due by `as_of` (default: today) that have not run yet."""
    _ = as_of or clock.today()


def deployment():  # type: ignore[no-untyped-def]
    """The tick as a Prefect deployment at 08:00 Asia/Ho_Chi_Minh every day (served by `cascade serve`)."""
    return daily_tick.to_deployment(name="daily-tick", cron=TICK_CRON, timezone=TICK_TIMEZONE, tags=["calendar"])
