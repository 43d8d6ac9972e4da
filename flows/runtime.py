"""How flows run when started from the command line or the tests (not from a deployment)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings


@contextmanager
def local_runs() -> Iterator[None]:
    """Run flows in this process without flow-run heartbeats.

    Heartbeats let a Prefect server notice a crashed deployment run; a flow run in the
    caller's own process has nobody to notice it, and the heartbeat thread adds up to a
    second to every flow and subflow while it is joined at the end of the run.
    """
    with temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
        yield
