"""Flows the portal starts (delivering receipts, reminders now, consolidation) run here, one at a time,
off the request thread, as ordinary Prefect flow runs: admins see them in the Prefect UI."""

from __future__ import annotations

import contextvars
import logging
import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

log = logging.getLogger(__name__)


@dataclass
class Job:
    name: str
    started_at: datetime
    state: str = "running"  # running, completed, failed
    flow_run_id: str | None = None
    error: str | None = None
    future: Future[Any] | None = field(default=None, repr=False)


class Jobs:
    """A single worker thread for flows, and the last few jobs for the dashboard to show."""

    def __init__(self, keep: int = 20) -> None:
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="portal-flow")
        self.recent: deque[Job] = deque(maxlen=keep)
        self.lock = threading.Lock()

    def start(self, name: str, flow: Callable[..., Any], *args: Any, **kwargs: Any) -> Job:
        """Run `flow(*args, **kwargs)` on the worker with the caller's context (Prefect's settings
        live in context variables); the job records the flow run's id and how it ended."""
        job = Job(name=name, started_at=datetime.now(timezone.utc))
        context = contextvars.copy_context()

        def run() -> Any:
            try:
                state = flow(*args, **kwargs, return_state=True)
            except Exception as exc:  # the flow could not even start (API down): keep the worker alive
                job.state, job.error = "failed", str(exc)
                log.exception("portal job %s could not run", name)
                return None
            job.flow_run_id = str(state.state_details.flow_run_id) if state.state_details.flow_run_id else None
            if state.is_completed():
                job.state = "completed"
            else:
                job.state, job.error = "failed", state.message
                log.error("portal job %s ended %s: %s", name, state.type, state.message)
            return state

        job.future = self.executor.submit(context.run, run)
        with self.lock:
            self.recent.appendleft(job)
        return job

    def wait(self, timeout: float | None = None) -> None:
        """Block until every job started so far has finished (tests and the demo)."""
        with self.lock:
            pending = [j.future for j in self.recent if j.future is not None]
        for future in pending:
            future.result(timeout=timeout)

    def shutdown(self) -> None:
        self.executor.shutdown(wait=True)
