"""Handing a `cascade` command to the workspace's command server, when one runs for this folder and
environment (`cascade.cli.launch` runs it here otherwise).

The command server (`cascade.cli.serve_commands`) has loaded Prefect, the flows and the libraries once.
For each command it forks a child that runs the command exactly as this process would: with this
process's standard streams (passed over a Unix socket, so a terminal stays a terminal), folder,
environment and arguments; the child sends back the exit status, and this process forwards Ctrl-C and
SIGTERM to it. A command then loads nothing: a flow command with nothing to do took 0.84 s instead of
3.53 s here, a reading one 0.2–0.4 s instead of 0.65–1.1 s. This module imports only the standard
library, so that handing a command over costs next to nothing.

A server serves one key: the folder, the Python, the environment variables that shape what is loaded or
configured (CASCADE_*, PREFECT_*, PYTHON*) and the folder's `.env` and `cascade.toml`. A command with
any of them different finds no server and runs here.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import signal
import socket
import stat
import struct
import sys
import tempfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import FrameType

# Commands that run until stopped or manage the servers themselves run in their own process
DIRECT = frozenset({"serve", "portal", "server", "demo", "mailbox", "backup"})  # backup: a restore replaces the database under any server
SWITCH = "CASCADE_COMMAND_SERVER"  # "off" (or 0, false, no): every command runs in its own process
KEY_PREFIXES = ("CASCADE_", "PREFECT_", "PYTHON")
KEY_NAMES = ("HOME", "XDG_CACHE_HOME", "VIRTUAL_ENV")
CONFIG_FILES = (".env", "cascade.toml")
CONNECT_TIMEOUT = 2.0
# Prefect's per-task logging quiet unless the user asks for it (it costs 30–40% in-flow), and no telemetry
ENVIRONMENT_DEFAULTS = {"PREFECT_LOGGING_LEVEL": "WARNING", "DO_NOT_TRACK": "1", "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}

# Messages on the socket. Command → server: a 4-byte length and the request (JSON), with fds 0, 1, 2
# attached; later one byte per signal to forward. Server → command: ACCEPTED, or REFUSED (its code
# changed on disk: the command runs here); then EXITED and the exit status (4 bytes).
ACCEPTED, REFUSED, EXITED = b"A", b"R", b"X"
FORWARDED = {signal.SIGINT: b"I", signal.SIGTERM: b"T", signal.SIGHUP: b"H"}
STATUS = struct.Struct("!i")
LENGTH = struct.Struct("!I")


def server_key(env: Mapping[str, str], cwd: str) -> str:
    """The key of the command server that may run a command started in `cwd` with `env`."""
    digest = hashlib.sha256()
    parts = [sys.executable, os.path.realpath(cwd)]
    parts += sorted(f"{name}={value}" for name, value in env.items() if name.startswith(KEY_PREFIXES) or name in KEY_NAMES)
    for part in parts:
        digest.update(part.encode("utf-8", "surrogateescape") + b"\0")
    for name in CONFIG_FILES:
        try:
            digest.update(Path(cwd, name).read_bytes())
        except OSError:
            digest.update(b"\1")
        digest.update(b"\0")
    return digest.hexdigest()[:24]


def runtime_folder(env: Mapping[str, str]) -> Path | None:
    """The folder of this user's command-server sockets, made private on first use; None when it is not
    safely ours (another owner, or open to others), and then no command is handed over."""
    base = env.get("XDG_RUNTIME_DIR")
    folder = Path(base) / "plan-cascade" if base else Path(tempfile.gettempdir()) / f"plan-cascade-{os.getuid()}"
    try:
        folder.mkdir(mode=0o700, exist_ok=True)
        found = os.lstat(folder)
    except OSError:
        return None
    if not stat.S_ISDIR(found.st_mode) or found.st_uid != os.getuid() or found.st_mode & 0o077:
        return None
    return folder


def socket_path(env: Mapping[str, str], cwd: str) -> Path | None:
    """Where the command server for this folder and environment listens (None: no place for one)."""
    folder = runtime_folder(env)
    return folder / f"{server_key(env, cwd)}.sock" if folder else None


def wanted(argv: Sequence[str], env: Mapping[str, str]) -> bool:
    """Whether this command may be handed over: not switched off, not one of the DIRECT commands."""
    if env.get(SWITCH, "").strip().lower() in {"0", "off", "false", "no"}:
        return False
    command = next((arg for arg in argv[1:] if not arg.startswith("-")), None)
    return command not in DIRECT


def hand_over(argv: Sequence[str]) -> int | None:
    """Run the command in the command server; its exit status, or None when no server took it (none runs,
    it refused, or this process's standard streams cannot be passed) and it must run here."""
    path = socket_path(os.environ, os.getcwd())
    if path is None or not path.exists():
        return None
    try:
        for fd in (0, 1, 2):
            os.fstat(fd)
    except OSError:
        return None
    connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    previous = {signum: signal.signal(signum, _forwarder(connection)) for signum in FORWARDED}  # a Ctrl-C from now on reaches the command
    try:
        connection.settimeout(CONNECT_TIMEOUT)
        connection.connect(str(path))
        request = json.dumps(
            {"argv": list(argv), "cwd": os.getcwd(), "env": dict(os.environ), "encoding": [_encoding(sys.stdin), _encoding(sys.stdout), _encoding(sys.stderr)]}
        ).encode("utf-8", "surrogateescape")
        socket.send_fds(connection, [LENGTH.pack(len(request))], [0, 1, 2])
        connection.sendall(request)
        if _read(connection, 1) == ACCEPTED:
            connection.settimeout(None)
            return _wait(connection)
    except OSError:
        pass
    connection.close()  # refused (its code changed on disk since it loaded it), gone, or too slow: run here
    for signum, handler in previous.items():
        signal.signal(signum, handler)
    return None


def _forwarder(connection: socket.socket) -> Callable[[int, FrameType | None], None]:
    def forward(signum: int, _frame: FrameType | None) -> None:
        with contextlib.suppress(OSError):  # the command has ended: nothing to forward to
            connection.send(FORWARDED[signal.Signals(signum)])

    return forward


def _wait(connection: socket.socket) -> int:
    """Relay nothing but signals (see `_forwarder`) until the command's process sends its exit status."""
    try:
        while True:
            tag = _read(connection, 1)
            if tag == EXITED:
                return int(STATUS.unpack(_read(connection, STATUS.size))[0])
            if not tag:
                print("error: the command's process ended without an exit status (killed?)", file=sys.stderr)
                return 1
    except OSError as exc:
        print(f"error: lost the command server while the command ran: {exc}", file=sys.stderr)
        return 1


def _read(connection: socket.socket, size: int) -> bytes:
    """Exactly `size` bytes, or fewer if the other end closed."""
    data = b""
    while len(data) < size:
        chunk = connection.recv(size - len(data))
        if not chunk:
            break
        data += chunk
    return data


def _encoding(stream: object) -> tuple[str, str]:
    return (getattr(stream, "encoding", None) or "utf-8", getattr(stream, "errors", None) or "strict")
