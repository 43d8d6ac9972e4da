"""The workspace's command servers, as the commands see them: started in the background, found, stopped.

A command server (`cascade.cli.serve_commands`) is a process that has loaded Prefect, the flows and the
libraries once and runs each `cascade` command handed to it (`cascade.cli.handover`) in a child forked
for that command. The first command that runs a flow on the workspace's own Prefect server starts one
for its folder and environment, as `cascade server start` does; `cascade server stop` stops them with
the Prefect server. Each records its process and socket in `<workspace>/prefect/commands/`, and logs to
`commands.log` beside the Prefect server's log.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from cascade.cli.handover import socket_path
from cascade.cli.prefect_server import home_of, running_with
from cascade.settings import Settings

STOP_TIMEOUT = 10.0
START_TIMEOUT = 120.0  # loading takes 2–5 s here; more on a busy machine


@dataclass(frozen=True)
class CommandServer:
    """A command server of the workspace as its record says."""

    pid: int
    socket: Path
    record: Path


def records_of(settings: Settings) -> Path:
    """The folder of the workspace's command servers' records (one per folder and environment served)."""
    return home_of(settings) / "commands"


def log_of(settings: Settings) -> Path:
    return home_of(settings) / "commands.log"


def running(settings: Settings) -> list[CommandServer]:
    """The workspace's command servers whose process still runs."""
    found = []
    for record in sorted(records_of(settings).glob("*.json")):
        try:
            data = json.loads(record.read_text(encoding="utf-8"))
            server = CommandServer(int(data["pid"]), Path(data["socket"]), record)
        except (OSError, ValueError, KeyError, TypeError):
            continue
        if _alive(server.pid):
            found.append(server)
    return found


def start(settings: Settings, env: Mapping[str, str], *, wait: float = 0.0) -> CommandServer | None:
    """Start the command server for this process's folder and `env` in the background, unless one runs or
    `command_server` is off; with `wait`, return once it listens (None if it did not within `wait` s)."""
    if not settings.command_server:
        return None
    path = socket_path(env, os.getcwd())
    if path is None:
        return None
    record = records_of(settings) / f"{path.stem}.json"
    if not any(server.record == record for server in running(settings)):
        record.parent.mkdir(parents=True, exist_ok=True)
        with log_of(settings).open("ab") as log:
            command = [sys.executable, "-m", "cascade.cli.serve_commands", "--record", str(record.resolve()), "--log", str(log_of(settings).resolve())]
            subprocess.Popen(command, env=dict(env), stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + wait
    while True:
        found = next((server for server in running(settings) if server.record == record and server.socket.exists()), None)
        if found is not None or time.monotonic() >= deadline:
            return found
        time.sleep(0.1)


def stop(settings: Settings) -> list[CommandServer]:
    """Stop the workspace's command servers (commands running in them finish first); the ones stopped."""
    servers = running(settings)
    for server in servers:
        with contextlib.suppress(ProcessLookupError):
            os.kill(server.pid, signal.SIGTERM)  # the server alone, not its process group: its commands finish
    deadline = time.monotonic() + STOP_TIMEOUT
    for server in servers:
        while _alive(server.pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        if _alive(server.pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(server.pid, signal.SIGKILL)
        server.record.unlink(missing_ok=True)
    return servers


def _alive(pid: int) -> bool:
    return running_with(pid, b"cascade.cli.serve_commands")
