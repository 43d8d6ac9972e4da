"""`cascade serve`: everything a one-machine installation runs, in one command.

It starts a Prefect server (or uses the one `prefect_api_url` names), registers the scheduled
deployments (`daily-tick` at 08:00 Vietnam time; `collect-replies` every ten minutes when a reply
mailbox is configured) and runs their flow runs, and serves the portal. SIGINT (Ctrl-C) or SIGTERM
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
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import httpx
from prefect.deployments.runner import RunnerDeployment
from prefect.runner import Runner
from prefect.settings import PREFECT_API_URL, PREFECT_HOME, temporary_settings

from cascade import clock
from cascade.errors import CascadeError
from cascade.net import free_port
from cascade.settings import Settings
from flows import collect_replies, daily_tick
from flows.runtime import local_runs
from portal.app import create_app
from portal.live import serving

STARTUP_TIMEOUT = 180.0  # a fresh server migrates its database first: ≈ 20 s on a busy 2-core machine
STOP_TIMEOUT = 30.0


@dataclass(frozen=True)
class PrefectServer:
    """A Prefect server we talk to; `process` is set only when this command started it."""

    api_url: str
    process: subprocess.Popen[bytes] | None = None
    log: Path | None = None

    @property
    def ui_url(self) -> str:
        return self.api_url.removesuffix("/").removesuffix("/api")


def listening(host: str, port: int) -> bool:
    """Whether something accepts connections on host:port (a bind test would also fail on
    connections of a server that just stopped, still in TIME_WAIT)."""
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def prefect_environment(home: Path, settings: Settings) -> dict[str, str]:
    """The environment a Prefect server we start runs with: its state under `home`, no telemetry,
    and PostgreSQL when `prefect_database_url` is set."""
    env = {**os.environ, "PREFECT_HOME": str(home), "DO_NOT_TRACK": "1", "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
    env.pop("PREFECT_API_URL", None)  # the server's own clients must not point elsewhere
    if settings.prefect_database_url:
        env["PREFECT_API_DATABASE_CONNECTION_URL"] = settings.prefect_database_url
    return env


def wait_healthy(server: PrefectServer, stop: threading.Event, timeout: float = STARTUP_TIMEOUT) -> bool:
    """Poll `/health` until the server answers; False if `stop` was set first.
    Raises CascadeError when the server we started exits or the timeout passes."""
    deadline = time.monotonic() + timeout
    while not stop.is_set():
        try:
            if httpx.get(f"{server.api_url}/health", timeout=2).status_code == 200:
                return True
        except httpx.HTTPError:
            pass
        if server.process is not None and server.process.poll() is not None:
            raise CascadeError(f"the Prefect server exited with code {server.process.returncode}; see {server.log}")
        if time.monotonic() > deadline:
            raise CascadeError(f"the Prefect server at {server.api_url} did not answer within {timeout:.0f} s")
        stop.wait(0.2)
    return False


def start_prefect_server(host: str, port: int, home: Path, settings: Settings) -> PrefectServer:
    """Start `prefect server start` in its own session, so a Ctrl-C in the terminal reaches only us
    and we stop it last, after the runner has paused the schedules through it."""
    home.mkdir(parents=True, exist_ok=True)
    log = home / "server.log"
    prefect = Path(sys.executable).with_name("prefect")
    command = [str(prefect) if prefect.exists() else "prefect", "server", "start", "--host", host, "--port", str(port)]
    with log.open("ab") as output:
        process = subprocess.Popen(command, env=prefect_environment(home, settings), stdout=output, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, start_new_session=True)  # fmt: skip
    return PrefectServer(f"http://{host}:{port}/api", process, log)


def stop_prefect_server(server: PrefectServer) -> None:
    """Stop the server if we started it (SIGTERM: uvicorn shuts down cleanly), killing it if it hangs."""
    if server.process is None or server.process.poll() is not None:
        return
    server.process.terminate()
    try:
        server.process.wait(STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait()


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
    """Run the Prefect server (or use `settings.prefect_api_url`), the scheduled deployments and the
    portal until SIGINT or SIGTERM, then stop what was started, in reverse order. Flow runs, the
    portal's flows included, report to that server."""
    portal_port = portal_port or urlsplit(settings.portal_base_url).port or 8765
    if listening(host, portal_port):
        raise CascadeError(f"port {portal_port} is in use: choose another with --portal-port")
    stop = threading.Event()
    with signals_set(stop):
        home = Path(os.environ.get("PREFECT_HOME") or settings.workspace / "prefect").resolve()
        # Read by the flow-run subprocesses the runner starts; in this process Prefect may have read
        # its settings already, hence temporary_settings below.
        os.environ.update(PREFECT_HOME=str(home), DO_NOT_TRACK="1", PREFECT_SERVER_ANALYTICS_ENABLED="false")
        if settings.prefect_api_url:
            server = PrefectServer(settings.prefect_api_url.rstrip("/"))
            echo(f"Connecting to the Prefect server at {server.api_url} …")
        else:
            port = prefect_port or (4200 if not listening(host, 4200) else free_port(None, host))
            if listening(host, port):  # its health check would answer for a server that is not ours
                raise CascadeError(f"port {port} is in use: choose another with --prefect-port")
            server = start_prefect_server(host, port, home, settings)
            echo(f"Starting a Prefect server (log: {server.log}) …")
        try:
            if wait_healthy(server, stop):
                _serve_with(server, settings, host, portal_port, stop, echo)
        finally:
            if server.process is not None:
                echo("Stopping the Prefect server …")
                stop_prefect_server(server)
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
