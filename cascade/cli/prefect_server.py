"""The workspace's Prefect server: started in the background by the first command that runs a flow,
reused by every later command, the portal and `cascade serve`, stopped by `cascade server stop`.

Its database and log live in `<workspace>/prefect/`; `server.json` there records its address and
process id, and `server.lock` makes two commands started at once agree on one server. Nothing here
imports Prefect: a command learns the address before it loads Prefect (a second and more).

A new workspace's server starts on a copy of a database kept per Prefect version in the user's cache
(`~/.cache/plan-cascade/`), taken from the first server started on this machine right after it had
migrated its empty database and registered Prefect's block types: 22 s here the first time, 9 after.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path

from cascade.errors import CascadeError
from cascade.net import free_port
from cascade.settings import Settings

STARTUP_TIMEOUT = 180.0  # a fresh server migrates its database first: ≈ 10 s here, more on a busy machine
STOP_TIMEOUT = 30.0
HOST = "127.0.0.1"
DEFAULT_PORT = 4200  # Prefect's own default, taken when free, so that the UI is where admins expect it


@dataclass(frozen=True)
class PrefectServer:
    """A Prefect server we talk to; `pid` is set for one started on this machine, `process` only in the
    command that started it."""

    api_url: str
    pid: int | None = None
    log: Path | None = None
    process: subprocess.Popen[bytes] | None = None

    @property
    def ui_url(self) -> str:
        return self.api_url.removesuffix("/").removesuffix("/api")


def home_of(settings: Settings) -> Path:
    """The folder of the workspace's server: its SQLite database, log, record and lock."""
    return (settings.workspace / "prefect").resolve()


def listening(host: str, port: int) -> bool:
    """Whether something accepts connections on host:port (a bind test would also fail on
    connections of a server that just stopped, still in TIME_WAIT)."""
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def healthy(api_url: str, timeout: float = 2.0) -> bool:
    """Whether the Prefect API at `api_url` answers its health check."""
    try:
        with urllib.request.urlopen(f"{api_url}/health", timeout=timeout) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def prefect_environment(home: Path, settings: Settings, host: str, port: int) -> dict[str, str]:
    """The environment a Prefect server we start runs with: its state under `home`, no telemetry, its UI
    calling the API on the port it got (the UI would otherwise call 4200, whatever the server's port),
    and PostgreSQL when `prefect_database_url` is set."""
    env = {**os.environ, "PREFECT_HOME": str(home), "DO_NOT_TRACK": "1", "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
    env.pop("PREFECT_API_URL", None)  # the server's own clients must not point elsewhere
    env.update(
        PREFECT_SERVER_API_HOST=host,
        PREFECT_SERVER_API_PORT=str(port),
        PREFECT_UI_API_URL=f"http://{host}:{port}/api",
        PREFECT_LOGGING_LEVEL="WARNING",
    )
    if settings.prefect_database_url:
        env["PREFECT_API_DATABASE_CONNECTION_URL"] = settings.prefect_database_url
    return env


def start_prefect_server(host: str, port: int, home: Path, settings: Settings, extra_env: dict[str, str] | None = None) -> PrefectServer:
    """Start `prefect server start` in a session of its own: it outlives the command that started it, and a
    Ctrl-C in the terminal reaches only that command (`cascade serve` stops it last, after its runner).
    `extra_env` adds Prefect settings of the caller's (the tests' server turns services off)."""
    home.mkdir(parents=True, exist_ok=True)
    log = home / "server.log"
    prefect = Path(sys.executable).with_name("prefect")
    command = [str(prefect) if prefect.exists() else "prefect", "server", "start", "--host", host, "--port", str(port)]
    with log.open("ab") as output:
        process = subprocess.Popen(command, env=prefect_environment(home, settings, host, port) | (extra_env or {}), stdout=output, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, start_new_session=True)  # fmt: skip
    return PrefectServer(f"http://{host}:{port}/api", process.pid, log, process)


def wait_healthy(server: PrefectServer, stop: threading.Event | None = None, timeout: float = STARTUP_TIMEOUT) -> bool:
    """Poll `/health` until the server answers; False if `stop` was set first.
    Raises CascadeError when the server's process exits or the timeout passes."""
    stop = stop or threading.Event()
    deadline = time.monotonic() + timeout
    while not stop.is_set():
        if healthy(server.api_url):
            return True
        if server.process is not None and server.process.poll() is not None:
            raise CascadeError(f"the Prefect server exited with code {server.process.returncode}; see {server.log}")
        if server.process is None and server.pid is not None and not _alive(server.pid):
            raise CascadeError(f"the Prefect server (process {server.pid}) has exited; see {server.log}")
        if time.monotonic() > deadline:
            raise CascadeError(f"the Prefect server at {server.api_url} did not answer within {timeout:.0f} s; see {server.log}")
        stop.wait(0.2)
    return False


def stop_prefect_server(server: PrefectServer) -> None:
    """Stop a server started on this machine (SIGTERM to its process group: uvicorn shuts down cleanly),
    killing it if it hangs. Returns once it has exited."""
    if server.pid is None or not _alive(server.pid):
        return
    _signal_group(server.pid, signal.SIGTERM)
    if not _ended(server, STOP_TIMEOUT):
        _signal_group(server.pid, signal.SIGKILL)
        _ended(server, STOP_TIMEOUT)


def _ended(server: PrefectServer, timeout: float) -> bool:
    if server.process is not None:
        try:
            server.process.wait(timeout)
        except subprocess.TimeoutExpired:
            return False
        return True
    deadline = time.monotonic() + timeout
    while server.pid is not None and _alive(server.pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def _signal_group(pid: int, signum: signal.Signals) -> None:
    try:
        os.killpg(pid, signum)  # the server was started as the leader of its own session
    except ProcessLookupError:
        pass
    except PermissionError:
        os.kill(pid, signum)


def _alive(pid: int) -> bool:
    """Whether `pid` is a running Prefect server (not an ended one, nor another program that got its id)."""
    return running_with(pid, b"prefect", b"server")


def running_with(pid: int, *words: bytes) -> bool:
    """Whether process `pid` runs (not a zombie) with each of `words` in its command line: a recorded
    process id that now belongs to another program does not count."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z" and all(word in cmdline for word in words)


# The workspace's server


def recorded(settings: Settings) -> PrefectServer | None:
    """The workspace's server as `server.json` records it, if its process still runs."""
    try:
        record = json.loads((home_of(settings) / "server.json").read_text(encoding="utf-8"))
        server = PrefectServer(str(record["api_url"]), int(record["pid"]), Path(record["log"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return server if server.pid is not None and _alive(server.pid) else None


@contextmanager
def _locked(home: Path) -> Iterator[None]:
    home.mkdir(parents=True, exist_ok=True)
    with (home / "server.lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes, also when the process dies
        yield


SEED_FILES = ("prefect.db", "memo_store.toml")  # the database, and the record that its block types are registered


def seed_folder() -> Path:
    """Where a ready database for this Prefect version is kept (XDG cache)."""
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "plan-cascade" / f"prefect-{version('prefect')}"


def _seed(home: Path) -> bool:
    """Copy the kept database into a new server's home; False when none is kept yet."""
    source = seed_folder()
    if not all((source / name).is_file() for name in SEED_FILES):
        return False
    for name in SEED_FILES:
        shutil.copyfile(source / name, home / f"{name}.part")
        (home / f"{name}.part").replace(home / name)
    return True


def _keep_seed(home: Path) -> None:
    """Keep a copy of a server's database made just now (migrated, block types registered, nothing run yet),
    through SQLite's backup (the server has it open); a copy half made never takes the final name."""
    target = seed_folder()
    if all((target / name).is_file() for name in SEED_FILES) or not all((home / name).is_file() for name in SEED_FILES):
        return
    target.mkdir(parents=True, exist_ok=True)
    partial = target / f"prefect.db.{os.getpid()}.part"
    with contextlib.closing(sqlite3.connect(home / "prefect.db")) as source, contextlib.closing(sqlite3.connect(partial)) as copy:
        source.backup(copy)
    shutil.copyfile(home / "memo_store.toml", target / "memo_store.toml")
    partial.replace(target / "prefect.db")


def workspace_server(
    settings: Settings, *, port: int | None = None, host: str = HOST, announce: Callable[[PrefectServer], None] = lambda _: None
) -> tuple[PrefectServer, bool]:
    """The workspace's running server, started and recorded first if none runs (`announce` is told while
    it starts); and whether this call started it. Two commands started at once get the same server."""
    home = home_of(settings)
    with _locked(home):
        found = recorded(settings)
        if found is not None and wait_healthy(found):
            return found, False
        # 4200 when nothing listens there (a server that just stopped may leave it in TIME_WAIT: uvicorn binds it anyway)
        port = port or (DEFAULT_PORT if not listening(host, DEFAULT_PORT) else free_port(None, host))
        if listening(host, port):  # its health check would answer for a server that is not ours
            raise CascadeError(f"port {port} is in use: choose another Prefect port")
        fresh = False
        if not settings.prefect_database_url and not (home / "prefect.db").exists():
            fresh = not _seed(home)  # a new database: a copy of the one kept, or made by this start (and then kept)
        server = start_prefect_server(host, port, home, settings)
        record = {"api_url": server.api_url, "pid": server.pid, "log": str(server.log)}
        (home / "server.json").write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
        announce(server)
        try:
            wait_healthy(server)
        except BaseException:
            stop_prefect_server(server)
            forget(settings)
            raise
        if fresh:
            with contextlib.suppress(OSError, sqlite3.Error):  # only a later start's speed depends on it
                _keep_seed(home)
        return server, True


def forget(settings: Settings) -> None:
    """Remove the record of the workspace's server (once it has stopped)."""
    (home_of(settings) / "server.json").unlink(missing_ok=True)


def stop_workspace_server(settings: Settings) -> PrefectServer | None:
    """Stop the workspace's server; the one stopped, or None when none ran."""
    with _locked(home_of(settings)):
        server = recorded(settings)
        if server is not None:
            stop_prefect_server(server)
        forget(settings)
        return server
