"""A command server's own process (`python -m cascade.cli.serve_commands`, started by
`cascade.cli.command_server.start`): load Prefect, the flows and the libraries once, then run each
`cascade` command handed to it (`cascade.cli.handover`) in a child forked for it, exactly as the command's
own process would, and send back its exit status.

It stops by itself when code it loaded changes on disk (the command that finds this runs in its own
process, and the next flow command starts a new server), when its socket or its record is removed, or
when the folder's `.env` or `cascade.toml` changes. It serves only its own user: the socket is in a
private folder, and the peer's user id is checked. It logs two lines per command: what ran, and its
exit status and time.

Forking is safe because the server runs no thread and opens nothing of the commands' before it forks:
the modules it loads are code and constants; settings, database engines, Prefect clients and logging
handlers are made in each child (`_run`).
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import fcntl
import gc
import importlib
import json
import os
import signal
import socket
import struct
import sys
import sysconfig
import threading
import time
import traceback
from pathlib import Path
from types import ModuleType
from typing import IO, Any

from cascade import clock
from cascade.cli.handover import ACCEPTED, EXITED, FORWARDED, LENGTH, REFUSED, STATUS, server_key, socket_path

# What a command needs that takes time to load: the flows (and through them Prefect, SQLAlchemy,
# openpyxl, python-docx, Jinja2, yagmail), then what a flow run loads on its first run. Not the CLI's own
# modules: they are quick to load and read the terminal's settings when they do.
PRELOAD = (
    "flows.cascade_plan", "flows.collect_replies", "flows.consolidate", "flows.daily_tick", "flows.deliver_outbox", "flows.issue_plan",
    "flows.record_submission", "flows.send_reminders", "flows.runtime", "models.revision",
    "prefect.flow_engine", "prefect.task_engine", "prefect.utilities.visualization", "prefect.concurrency.sync", "anyio._backends._asyncio",
    "holidays.countries", "sqlite3", "_strptime", "fastapi", "starlette.staticfiles", "python_multipart", "http.cookies", "opentelemetry.metrics",
    "opentelemetry._logs", "pydantic.color", "openpyxl.packaging.extended", "encodings.idna", "stringprep",
    "typer", "typer._adapters", "typer._click.decorators", "rich.console", "rich.progress", "rich.tree", "rich._emoji_codes",
)  # fmt: skip
PROJECT = frozenset({"cascade", "flows", "tasks", "models", "portal", "sandbox", "templates", "migrations"})
POLL_SECONDS = 2.0  # how often an idle server checks that it is still wanted
REQUEST_TIMEOUT = 5.0  # a connection that sends no request in this time is dropped
SIGNALS = {tag: signum for signum, tag in FORWARDED.items()}
PEER = struct.Struct("3i")  # SO_PEERCRED: pid, uid, gid


class _Stop(Exception):
    """SIGTERM, SIGINT or SIGHUP: stop serving."""


def serve(record: Path, log: IO[str]) -> int:
    """Load, listen and serve until stopped or no longer wanted; the process's exit status."""
    began = time.monotonic()
    cwd, env = os.getcwd(), dict(os.environ)
    key, path = server_key(env, cwd), socket_path(env, cwd)
    if path is None:
        _note(log, "no private folder for the socket: not serving")
        return 1
    lock = path.with_suffix(".lock").open("a")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)  # held while serving; released when the process ends
    except BlockingIOError:
        return 0  # another server serves this key
    for name in PRELOAD:
        importlib.import_module(name)
    sources = _sources()
    if threading.active_count() != 1:
        _note(log, f"loading started threads {[t.name for t in threading.enumerate()]}: forking would be unsafe, not serving")
        return 1
    gc.freeze()  # what is loaded stays shared with the children: their collections do not touch its pages
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    path.unlink(missing_ok=True)
    listener.bind(str(path))
    os.chmod(path, 0o600)
    listener.listen(16)
    inode = path.stat().st_ino
    record.write_text(json.dumps({"pid": os.getpid(), "socket": str(path), "cwd": cwd}, indent=2) + "\n", encoding="utf-8")

    def stopping(_signum: int, _frame: object) -> None:
        raise _Stop

    for signum in FORWARDED:
        signal.signal(signum, stopping)
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # the children are reaped by the system
    _note(log, f"ready in {time.monotonic() - began:.1f} s: process {os.getpid()}, {len(sources)} files watched, socket {path}")
    listener.settimeout(POLL_SECONDS)
    reason = "stopped"
    try:
        while True:
            try:
                connection, _ = listener.accept()
            except TimeoutError:
                if gone := _unwanted(path, inode, record, cwd, key):
                    reason = gone
                    break
                continue
            with connection:
                if changed := _take(connection, listener, lock, sources, log):
                    reason = changed
                    break
    except _Stop:
        pass
    finally:
        with contextlib.suppress(OSError):
            if path.stat().st_ino == inode:
                path.unlink()
        with contextlib.suppress(OSError, ValueError):
            if json.loads(record.read_text(encoding="utf-8")).get("pid") == os.getpid():
                record.unlink()
        _note(log, f"{reason}; process {os.getpid()} ends")
    return 0


def _take(connection: socket.socket, listener: socket.socket, lock: IO[str], sources: dict[str, int], log: IO[str]) -> str | None:
    """Read one command's request and fork its child; the reason to stop serving, if any."""
    _pid, uid, _gid = PEER.unpack(connection.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, PEER.size))
    if uid != os.getuid():
        return None
    connection.settimeout(REQUEST_TIMEOUT)
    fds: list[int] = []
    try:
        head, fds, _flags, _address = socket.recv_fds(connection, LENGTH.size, 3)
        if len(head) != LENGTH.size or len(fds) != 3:
            return None
        request = json.loads(_exactly(connection, LENGTH.unpack(head)[0]).decode("utf-8", "surrogateescape"))
        if changed := _changed(sources):
            connection.sendall(REFUSED)
            return f"{changed} changed on disk"
        child = os.fork()
        if child == 0:
            _child(connection, fds, request, (listener, lock), log)
        _note(log, f"process {child}: cascade {' '.join(request['argv'][1:])}")
    except (OSError, ValueError, KeyError, TypeError) as exc:
        _note(log, f"a request failed: {exc!r}")
    finally:
        for fd in fds:
            os.close(fd)
    return None


def _child(connection: socket.socket, fds: list[int], request: dict[str, Any], inherited: tuple[socket.socket, IO[str]], log: IO[str]) -> None:
    """Run the command as its own process would, then send its exit status; never returns."""
    began, status = time.monotonic(), 1
    done = threading.Event()
    try:
        for signum in (signal.SIGTERM, signal.SIGHUP, signal.SIGCHLD):
            signal.signal(signum, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        for resource in inherited:
            resource.close()
        for target, fd in enumerate(fds):
            os.dup2(fd, target)
            os.close(fd)
        connection.settimeout(None)
        connection.sendall(ACCEPTED)
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        sys.argv = list(request["argv"])
        _streams(request["encoding"])
        threading.Thread(target=_relay, args=(connection, done), name="signals", daemon=True).start()
        status = _run(sys.argv)
        atexit._run_exitfuncs()  # what the command registered, as at the end of its own process
    except BaseException:
        traceback.print_exc()
    finally:
        done.set()
        with contextlib.suppress(BaseException):
            for stream in (sys.stdout, sys.stderr):
                stream.flush()
            connection.sendall(EXITED + STATUS.pack(status))
            _note(log, f"process {os.getpid()}: exit {status} in {time.monotonic() - began:.2f} s")
        os._exit(status)


def _streams(encodings: list[tuple[str, str]]) -> None:
    """Python's standard streams on the command's descriptors, buffered as Python buffers them: stdout by
    line on a terminal, stderr always by line. (Logging handlers made at import hold the old objects:
    `_run` makes them again.)"""
    (in_encoding, in_errors), (out_encoding, out_errors), (err_encoding, err_errors) = encodings
    sys.stdin = open(0, encoding=in_encoding, errors=in_errors, closefd=False)  # noqa: SIM115  # lives as long as the process
    sys.stdout = open(1, "w", buffering=1 if os.isatty(1) else -1, encoding=out_encoding, errors=out_errors, closefd=False)  # noqa: SIM115
    sys.stderr = open(2, "w", buffering=1, encoding=err_encoding, errors=err_errors, closefd=False)  # noqa: SIM115


def _run(argv: list[str]) -> int:
    """The command's exit status, run by the same code as in a process of its own."""
    from prefect.logging.configuration import setup_logging

    from cascade.settings import get_settings

    get_settings.cache_clear()
    setup_logging(incremental=False)  # Prefect's console handler for this command's stderr and terminal
    from cascade.cli.main import app  # here, not at the top: the CLI's modules read the terminal's settings when loaded

    try:
        app(args=argv[1:], prog_name=Path(argv[0]).name)
    except SystemExit as exit_:
        code = exit_.code
        if code is None or isinstance(code, int):
            return code or 0
        print(code, file=sys.stderr)
        return 1
    return 0


def _relay(connection: socket.socket, done: threading.Event) -> None:
    """Raise in this process the signals its command's caller forwards; end it like a killed process
    when the caller goes away (a Ctrl-C'd or killed `cascade` leaves nothing running behind it)."""
    while True:
        try:
            tag = connection.recv(1)
        except OSError:
            tag = b""
        if not tag:
            if not done.is_set():
                os.kill(os.getpid(), signal.SIGTERM)
            return
        if tag in SIGNALS:  # to the main thread, which runs the command (a signal for the process may reach any thread)
            signal.pthread_kill(threading.main_thread().ident or 0, SIGNALS[tag])


def _exactly(connection: socket.socket, size: int) -> bytes:
    data = bytearray()
    while len(data) < size:
        chunk = connection.recv(min(size - len(data), 1 << 16))
        if not chunk:
            raise ValueError(f"the request ended after {len(data)} of {size} bytes")
        data += chunk
    return bytes(data)


def _sources() -> dict[str, int]:
    """The files whose change makes the loaded code stale: the project's loaded modules, every file of
    the templates package (Jinja reads a template once, message catalogues are parsed once), and the
    folder of installed packages (an install or removal changes it)."""
    modules = [module for module in list(sys.modules.values()) if getattr(module, "__file__", None) and _name(module).partition(".")[0] in PROJECT]
    files = {str(module.__file__): 0 for module in modules}
    for module in modules:
        if _name(module) == "templates":
            files.update({str(path): 0 for path in Path(str(module.__file__)).parent.rglob("*") if path.is_file() and "__pycache__" not in path.parts})
    files[sysconfig.get_paths()["purelib"]] = 0
    return {name: _mtime(name) for name in files}


def _name(module: ModuleType) -> str:
    """A module's own name, also for this one run as `__main__`."""
    spec = getattr(module, "__spec__", None)
    return str(spec.name) if spec is not None else module.__name__


def _changed(sources: dict[str, int]) -> str | None:
    return next((name for name, mtime in sources.items() if _mtime(name) != mtime), None)


def _mtime(name: str) -> int:
    try:
        return os.stat(name).st_mtime_ns
    except OSError:
        return -1


def _unwanted(path: Path, inode: int, record: Path, cwd: str, key: str) -> str | None:
    """Why this server is no longer wanted, if it is not."""
    try:
        if path.stat().st_ino != inode:
            return "its socket was replaced"
    except OSError:
        return "its socket was removed"
    if not record.exists():
        return "its record was removed"
    if server_key(os.environ, cwd) != key:
        return "the folder's .env or cascade.toml changed"
    return None


def _note(log: IO[str], line: str) -> None:
    log.write(f"{clock.utc_now().astimezone(clock.VN_TZ):%Y-%m-%d %H:%M:%S} {line}\n")
    log.flush()


def main() -> int:
    """`python -m cascade.cli.serve_commands --record FILE --log FILE`."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--record", type=Path, required=True, help="where to record the process id and socket")
    parser.add_argument("--log", type=Path, required=True)
    options = parser.parse_args()
    with options.log.open("a", encoding="utf-8") as log:
        return serve(options.record, log)


if __name__ == "__main__":
    sys.exit(main())
