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
from datetime import UTC, datetime
from typing import Any

log = logging.getLogger(__name__)


@dataclass
class Job:
    name: str
    started_at: datetime
    state: str = "queued"  # queued, running, completed, failed
    key: tuple[Any, ...] = ()
    owner: str | None = None
    flow_run_id: str | None = None
    error: str | None = None
    future: Future[Any] | None = field(default=None, repr=False)


class Jobs:
    """A single worker thread for flows, and the last few jobs for the dashboard to show."""

    def __init__(self, keep: int = 20) -> None:
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="portal-flow")
        self.recent: deque[Job] = deque(maxlen=keep)
        self.lock = threading.Lock()

    def start(self, name: str, flow: Callable[..., Any], *args: Any, owner: str | None = None, **kwargs: Any) -> Job:
        """Run `flow(*args, **kwargs)` on the worker with the caller's context (Prefect's settings
        live in context variables); the job records the flow run's id and how it ended, and who started
        it (`owner`: a signed-in login; None for the portal's own deliveries). A job still waiting to start
        with the same flow and arguments is returned instead of a new one: a burst of submissions is one
        delivery run, not one per receipt."""
        key = (name, getattr(flow, "name", flow), args, tuple(sorted(kwargs.items())))
        with self.lock:
            waiting = next((j for j in self.recent if j.state == "queued" and j.key == key), None)
            if waiting is not None:
                return waiting
            job = Job(name=name, started_at=datetime.now(UTC), key=key, owner=owner)
            self.recent.appendleft(job)
        context = contextvars.copy_context()

        def run() -> Any:
            with self.lock:
                job.state = "running"
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
        return job

    def wait(self, timeout: float | None = None) -> None:
        """Block until every job started so far has finished (tests and the demo)."""
        with self.lock:
            pending = [j.future for j in self.recent if j.future is not None]
        for future in pending:
            future.result(timeout=timeout)
        self.executor.submit(lambda: None).result(timeout=timeout)  # and any older ones the list no longer shows

    def shutdown(self) -> None:
        self.executor.shutdown(wait=True)
