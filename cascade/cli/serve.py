"""`cascade serve`: everything a one-machine installation runs, in one command.

It joins the workspace's Prefect server, starting it if none runs (`cascade.cli.prefect_server`), or
uses the one `prefect_api_url` names; registers the scheduled deployments (`daily-tick` at 08:00
Vietnam time; `collect-replies` every ten minutes when a reply mailbox is configured) and runs
their flow runs, and serves the portal. SIGINT (Ctrl-C) or SIGTERM
stops the portal, then the runner (which pauses the schedules, so that no runs pile up while
nothing serves them), then the Prefect server if this command started it, and returns normally.

Threads: the main thread only waits for a signal and then shuts down in order; Prefect's Runner
runs on its own event loop in a second thread (so it installs no signal handler of its own), and
uvicorn serves the portal in a third.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit

from prefect.deployments.runner import RunnerDeployment
from prefect.runner import Runner
from prefect.settings import PREFECT_API_URL, PREFECT_HOME, temporary_settings

from cascade import clock
from cascade.cli.prefect_server import STARTUP_TIMEOUT, PrefectServer, home_of, listening, stop_workspace_server, wait_healthy, workspace_server
from cascade.errors import CascadeError
from cascade.settings import Settings
from flows import collect_replies, daily_tick
from flows.runtime import local_runs
from portal.app import create_app
from portal.live import serving

STOP_TIMEOUT = 30.0


class RunnerThread:
    """Prefect's Runner on its own event loop in a background thread: registers the deployments,
    runs their scheduled flow runs as subprocesses, and stops when asked from another thread."""

    def __init__(self, deployments: list[RunnerDeployment]) -> None:

        # pause_on_shutdown (Prefect's default for served flows): while nothing serves them, the
        # schedules create no runs that would all start at once when serving resumes.
        self.runner = Runner(name="cascade-serve", pause_on_shutdown=True)
        self.deployments = deployments
        self.loop: asyncio.AbstractEventLoop | None = None
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=contextvars.copy_context().run, args=(self._run,), name="prefect-runner", daemon=True)

    def _run(self) -> None:
        async def main() -> None:
            self.loop = asyncio.get_running_loop()
            for deployment in self.deployments:
                await self.runner.aadd_deployment(deployment)
            await self.runner.start()

        try:
            asyncio.run(main())
        except BaseException as exc:  # reported by the main thread
            self.error = exc

    def start(self, timeout: float = STARTUP_TIMEOUT) -> None:
        """Start the thread and wait until the deployments are registered and the runner polls for
        work (a few seconds; not cut short by a signal, so that `stop` always finds it started)."""
        self.thread.start()
        deadline = time.monotonic() + timeout
        while not self.runner.started and self.thread.is_alive():
            if time.monotonic() > deadline:
                raise CascadeError("the Prefect runner did not start")
            time.sleep(0.1)
        if self.error is not None:
            raise CascadeError(f"the deployments could not be served: {self.error}") from self.error

    def stop(self) -> None:
        """Stop polling and pause the schedules; returns once the runner's thread has ended. Idempotent."""
        if self.loop is not None and self.thread.is_alive() and self.runner.started:
            future = asyncio.run_coroutine_threadsafe(self.runner.astop(), self.loop)
            with contextlib.suppress(Exception):  # stopping goes on: the thread is joined below either way
                future.result(STOP_TIMEOUT)
        self.thread.join(STOP_TIMEOUT)


@contextmanager
def signals_set(stop: threading.Event) -> Iterator[None]:
    """SIGINT and SIGTERM set `stop` instead of raising in whatever the main thread is doing."""
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def deployments(settings: Settings) -> list[RunnerDeployment]:
    """The deployments `cascade serve` registers and runs, with their schedules: the daily tick, and
    reply collection when a reply mailbox is configured (without one every run would fail)."""
    return [daily_tick.deployment(), *([collect_replies.deployment()] if settings.imap_host else [])]


def serve(settings: Settings, *, host: str, prefect_port: int | None, portal_port: int | None, echo: Callable[[str], None]) -> None:
    """Run the scheduled deployments and the portal until SIGINT or SIGTERM, on the Prefect server of
    `settings.prefect_api_url` or else the workspace's (started here if none runs, and then stopped at
    the end). Flow runs, the portal's included, report to that server."""
    portal_port = portal_port or urlsplit(settings.portal_base_url).port or 8765
    if listening(host, portal_port):
        raise CascadeError(f"port {portal_port} is in use: choose another with --portal-port")
    stop = threading.Event()
    with signals_set(stop):
        # Read by the flow-run subprocesses the runner starts; in this process Prefect may have read
        # its settings already, hence temporary_settings below.
        os.environ.update(PREFECT_HOME=os.environ.get("PREFECT_HOME") or str(home_of(settings)), DO_NOT_TRACK="1", PREFECT_SERVER_ANALYTICS_ENABLED="false")
        started = False
        if settings.prefect_api_url:
            server = PrefectServer(settings.prefect_api_url.rstrip("/"))
            echo(f"Connecting to the Prefect server at {server.api_url} …")
        else:
            echo(f"Starting or joining the workspace's Prefect server (log: {home_of(settings) / 'server.log'}) …")
            server, started = workspace_server(settings, port=prefect_port, host=host)
            if prefect_port and server.api_url != f"http://{host}:{prefect_port}/api":
                echo(f"The workspace's Prefect server already runs at {server.ui_url}: --prefect-port is left unused.")
        try:
            if wait_healthy(server, stop):
                _serve_with(server, settings, host, portal_port, stop, echo)
        finally:
            if started:
                echo("Stopping the Prefect server …")
                stop_workspace_server(settings)
    echo("Stopped.")


def _serve_with(server: PrefectServer, settings: Settings, host: str, portal_port: int, stop: threading.Event, echo: Callable[[str], None]) -> None:

    os.environ["PREFECT_API_URL"] = server.api_url
    with temporary_settings(updates={PREFECT_API_URL: server.api_url, PREFECT_HOME: os.environ["PREFECT_HOME"]}), local_runs():
        served = deployments(settings)
        runner = RunnerThread(served)
        try:
            runner.start()
            if stop.is_set():
                return
            with serving(create_app(clock.today), host, portal_port) as portal:
                echo(f"Prefect UI: {server.ui_url}")
                echo(f"Portal: {portal} (links in emails use {settings.portal_base_url})")
                echo(f"Dashboard: {portal}/admin")
                if settings.dashboard_password is None:
                    echo("CASCADE_DASHBOARD_PASSWORD is not set: the dashboard refuses every login.")
                echo(f"Serving on their schedules: {', '.join(d.name for d in served)}; Ctrl-C to stop.")
                if not settings.imap_host:
                    echo("CASCADE_IMAP_HOST is not set: replies are not collected.")
                while not stop.wait(1.0):
                    if not runner.thread.is_alive():
                        raise CascadeError(f"the Prefect runner stopped: {runner.error}")
                echo("Stopping the portal and the runner …")
        finally:
            runner.stop()
