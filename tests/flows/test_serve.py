"""`cascade serve` end to end: a real Prefect server, the scheduled deployments, the portal, Ctrl-C."""

from __future__ import annotations

import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

from cascade.net import free_port

ROOT = Path(__file__).resolve().parents[2]
STARTUP_SECONDS = 240  # a fresh Prefect server migrates its SQLite database first (≈ 20 s here, more when busy)


def lines_of(process: subprocess.Popen[str]) -> queue.Queue[str | None]:
    """The process's output, line by line, read on a thread (None at its end)."""
    lines: queue.Queue[str | None] = queue.Queue()

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=read, daemon=True).start()
    return lines


def wait_for(lines: queue.Queue[str | None], pattern: str, seen: list[str], timeout: float) -> re.Match[str]:
    deadline = time.monotonic() + timeout
    while True:
        line = lines.get(timeout=max(0.1, deadline - time.monotonic()))
        if line is None:
            raise AssertionError("cascade serve ended early:\n" + "".join(seen))
        seen.append(line)
        if match := re.search(pattern, line):
            return match


def port_is_free(port: int) -> bool:
    """Nothing listens on it (connections in TIME_WAIT do not count, as for any server binding it)."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def processes_with(text: str) -> list[int]:
    """Ids of the running processes whose command line contains `text`."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and text in (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace"):
                found.append(int(entry.name))
        except OSError:  # it ended meanwhile
            continue
    return found


def test_serve_registers_the_schedules_serves_the_portal_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    prefect_port, portal_port = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CASCADE_", "PREFECT_API"))}
    env.update(
        CASCADE_WORKSPACE=str(tmp_path / "workspace"),
        PREFECT_HOME=str(tmp_path / "prefect"),
        CASCADE_IMAP_HOST="127.0.0.1",  # collect-replies is served only with a mailbox; its first run is 10 minutes away
        PYTHONUNBUFFERED="1",
    )
    serve = subprocess.Popen(
        [sys.executable, "-m", "cascade.cli", "serve", "--prefect-port", str(prefect_port), "--portal-port", str(portal_port)],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    seen: list[str] = []
    try:
        lines = lines_of(serve)
        ui = wait_for(lines, r"Prefect UI: (\S+)", seen, STARTUP_SECONDS)[1]
        portal = wait_for(lines, r"Portal: (\S+)", seen, 30)[1]
        wait_for(lines, r"Dashboard: \S+/admin", seen, 30)
        assert (ui, portal) == (f"http://127.0.0.1:{prefect_port}", f"http://127.0.0.1:{portal_port}")

        deployments = httpx.post(f"{ui}/api/deployments/filter", json={}, timeout=30).json()
        schedules = {d["name"]: [s["schedule"] for s in d["schedules"] if s["active"]] for d in deployments if not d["paused"]}
        assert schedules.keys() == {"daily-tick", "collect-replies"}
        [tick] = schedules["daily-tick"]
        assert (tick["cron"], tick["timezone"]) == ("0 8 * * *", "Asia/Ho_Chi_Minh")
        [collect] = schedules["collect-replies"]
        assert collect["interval"] == 600

        login = httpx.get(f"{portal}/admin", follow_redirects=True, timeout=30)
        assert login.status_code == 200 and "<form" in login.text

        started = time.monotonic()
        serve.send_signal(signal.SIGINT)
        assert serve.wait(timeout=90) == 0
        stop_seconds = time.monotonic() - started
    finally:
        if serve.poll() is None:
            serve.kill()
            serve.wait()
        # A killed `cascade serve` leaves the workspace's server running (the next command would reuse it): stop it.
        subprocess.run([sys.executable, "-m", "cascade.cli", "server", "stop"], cwd=ROOT, env=env, capture_output=True, timeout=60, check=False)
    while (line := lines.get(timeout=10)) is not None:
        seen.append(line)
    serve.stdout.close()  # type: ignore[union-attr]
    output = "".join(seen)
    assert "Traceback" not in output, output
    assert "Stopped." in output
    assert port_is_free(prefect_port) and port_is_free(portal_port), output
    assert not processes_with(f"--port {prefect_port}"), output  # the server we started is gone
    print(f"stopped {stop_seconds:.1f} s after SIGINT")
