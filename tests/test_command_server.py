"""The workspace's command server, as a user meets it: `cascade server start`, then ordinary `cascade …`
commands, each in its own process, that run in a child of the server instead of loading everything.

What is checked is that a handed-over command is the same command: its output, errors and exit status;
Ctrl-C reaching it; a killed caller leaving nothing behind; and that code changed on disk, or
`cascade server stop`, end the server so that no command runs stale code.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from cascade.cli.handover import server_key
from sandbox.imap_server import LocalImapServer

pytestmark = pytest.mark.usefixtures("prefect_harness")

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "town-2024"
CASCADE = str(Path(sys.executable).parent / "cascade")  # what `uv run cascade` runs


@dataclass
class Shell:
    folder: Path
    env: dict[str, str]

    def run(self, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([CASCADE, *args], env={**self.env, **env}, cwd=self.folder, capture_output=True, text=True, timeout=300, check=False)

    def start(self, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen([CASCADE, *args], env=self.env, cwd=self.folder, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    @property
    def log(self) -> str:
        path = self.folder / "ws" / "prefect" / "commands.log"
        return path.read_text(encoding="utf-8") if path.exists() else ""

    def handed_over(self, *args: str) -> list[int]:
        """The processes the command server forked for `cascade ARGS`, from its log."""
        line = f": cascade {' '.join(args)}"
        return [int(entry.split("process ", 1)[1].split(":", 1)[0]) for entry in self.log.splitlines() if entry.endswith(line)]

    def exit_logged(self, pid: int) -> str:
        return next((entry.split(f"process {pid}: ", 1)[1] for entry in self.log.splitlines() if f"process {pid}: exit" in entry), "")


@contextmanager
def command_server(folder: Path, **extra: str) -> Iterator[Shell]:
    """A fresh folder with a workspace, Dovecot as its reply mailbox, the session's Prefect server, and the
    command server started there; stopped at the end."""
    from prefect.settings import PREFECT_API_URL

    with LocalImapServer(user="baocao") as imap:
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("CASCADE_")},
            "CASCADE_WORKSPACE": "ws",
            "CASCADE_MAIL_REPLY_TO": "baocao@trangbang.example.gov.vn",
            "PREFECT_API_URL": str(PREFECT_API_URL.value()),
            "COLUMNS": "250",  # a line of output per line
            **imap.settings_env(),
            **extra,
        }
        found = Shell(folder, env)
        started = found.run("server", "start")
        assert started.returncode == 0, started.stderr
        assert "Flow runs go to the Prefect server at" in started.stdout and "Command server ready (process" in started.stdout
        try:
            yield found
        finally:
            found.run("server", "stop")


@pytest.fixture()
def shell(tmp_path: Path) -> Iterator[Shell]:
    with command_server(tmp_path) as found:
        yield found


def test_a_handed_over_command_prints_fails_and_exits_as_in_its_own_process(shell: Shell) -> None:
    imported = shell.run("units", "import", str(EXAMPLE / "units.yaml"))
    assert imported.returncode == 0 and "Units: 17 created, 0 updated." in imported.stdout, imported.stderr
    planned = shell.run("plan", "import", str(EXAMPLE / "plan.yaml"))
    assert planned.returncode == 0 and "Plan imported: 104-kh-ubnd-2024" in planned.stdout, planned.stderr
    assert shell.handed_over("units", "import", str(EXAMPLE / "units.yaml")) and shell.handed_over("plan", "import", str(EXAMPLE / "plan.yaml"))

    # The same commands in a process of their own (CASCADE_COMMAND_SERVER=off) and in the server: the same
    # words on the same streams and the same exit status, for a flow command that is refused, a reading
    # command, one with a mistyped option, and the help
    for args in (
        ("plan", "cascade", "NOPE", "--as-of", "31/01/2024"),
        ("calendar", "104/KH-UBND"),
        ("status", "104/KH-UBND", "--as-off", "2024-01-31"),
        ("--help",),
    ):
        alone, served = shell.run(*args, CASCADE_COMMAND_SERVER="off"), shell.run(*args)
        assert (served.returncode, served.stdout, served.stderr) == (alone.returncode, alone.stdout, alone.stderr), args
        [pid] = shell.handed_over(*args)
        assert shell.exit_logged(pid).startswith(f"exit {alone.returncode} in "), shell.log
    assert shell.run("plan", "cascade", "NOPE", "--as-of", "31/01/2024").stderr.startswith("error: plan 'NOPE' not found")

    status = shell.run("server", "status")
    [server] = [line for line in status.stdout.splitlines() if line.startswith("Command server running: process")]
    assert int(server.split("process ", 1)[1].split(",", 1)[0]) > 0


def test_ctrl_c_reaches_the_command_and_a_killed_caller_leaves_nothing_running(shell: Shell) -> None:
    assert shell.run("units", "import", str(EXAMPLE / "units.yaml")).returncode == 0

    # `cascade collect --every 1` reads the mailbox, then waits a minute: Ctrl-C stops it, as it says
    caller = shell.start("collect", "--every", "1", "--as-of", "2024-10-17")
    assert caller.stdout is not None
    assert caller.stdout.readline().startswith("Replies read 0")
    caller.send_signal(signal.SIGINT)
    out, err = caller.communicate(timeout=60)
    assert caller.returncode == 0 and out.strip() == "Stopped.", err

    # A caller killed outright (no chance to forward anything) takes its command with it
    caller = shell.start("collect", "--every", "1", "--as-of", "2024-10-18")
    assert caller.stdout is not None and caller.stdout.readline().startswith("Replies read 0")
    [child] = shell.handed_over("collect", "--every", "1", "--as-of", "2024-10-18")
    caller.kill()
    caller.communicate(timeout=30)
    assert _ends(child, 30), f"process {child} still runs after its caller was killed"


def test_code_changed_on_disk_or_server_stop_ends_the_command_server(tmp_path: Path) -> None:
    # The server loads a copy of the code (PYTHONPATH before the installed project), which this test alone changes
    code = tmp_path / "code"
    for package in ("cascade", "flows", "tasks", "models", "portal", "sandbox", "templates", "migrations"):
        shutil.copytree(ROOT / package, code / package, ignore=shutil.ignore_patterns("__pycache__"))
    folder = tmp_path / "folder"
    folder.mkdir()
    with command_server(folder, PYTHONPATH=str(code)) as shell:
        [line] = [line for line in shell.run("server", "status").stdout.splitlines() if line.startswith("Command server running")]
        pid = int(line.split("process ", 1)[1].split(",", 1)[0])
        served = shell.run("calendar", "104/KH-UBND")
        assert served.returncode == 1 and "plan '104/KH-UBND' not found" in served.stderr and len(shell.handed_over("calendar", "104/KH-UBND")) == 1

        # A module it loaded changes: the next command runs in its own process, and the server ends
        source = code / "flows" / "daily_tick.py"
        source.write_text(source.read_text(encoding="utf-8") + "\n# changed\n", encoding="utf-8")
        alone = shell.run("calendar", "104/KH-UBND")
        assert (alone.returncode, alone.stdout, alone.stderr) == (served.returncode, served.stdout, served.stderr)
        assert len(shell.handed_over("calendar", "104/KH-UBND")) == 1
        assert f"{source} changed on disk; process {pid} ends" in shell.log and _ends(pid, 30)

        # A template is code too: Jinja reads it once, so the server ends when one changes
        pid = int(shell.run("server", "start").stdout.split("Command server ready (process ", 1)[1].split(")", 1)[0])
        template = code / "templates" / "email" / "reminder.txt.j2"
        template.write_text(template.read_text(encoding="utf-8") + "\n", encoding="utf-8")
        assert shell.run("calendar", "104/KH-UBND").stderr == served.stderr
        assert f"{template} changed on disk; process {pid} ends" in shell.log and _ends(pid, 30)

        # Started again, then stopped with the workspace's servers: its socket goes with it
        again = shell.run("server", "start")
        pid = int(again.stdout.split("Command server ready (process ", 1)[1].split(")", 1)[0])
        status = shell.run("server", "status").stdout
        socket_file = next((Path(part) for part in status.split() if part.endswith(".sock")), None)
        assert socket_file is not None, status
        assert socket_file.exists()
        stopped = shell.run("server", "stop")
        assert f"Command server stopped (process {pid})." in stopped.stdout and _ends(pid, 5) and not socket_file.exists()
        assert "No command server runs" in shell.run("server", "status").stdout


def test_a_server_serves_one_folder_environment_and_configuration(tmp_path: Path) -> None:
    env = {"CASCADE_WORKSPACE": "ws", "PATH": "/usr/bin"}
    key = server_key(env, str(tmp_path))
    assert server_key({**env, "PATH": "/bin", "TERM": "xterm"}, str(tmp_path)) == key  # what configures nothing we load
    assert server_key({**env, "CASCADE_WORKSPACE": "other"}, str(tmp_path)) != key
    assert server_key({**env, "PREFECT_API_URL": "http://127.0.0.1:4200/api"}, str(tmp_path)) != key
    assert server_key(env, str(tmp_path / "sub")) != key
    (tmp_path / "cascade.toml").write_text('workspace = "other"\n', encoding="utf-8")
    assert server_key(env, str(tmp_path)) != key


def _ends(pid: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            return True
        if state == "Z":
            return True
        time.sleep(0.05)
    return False
