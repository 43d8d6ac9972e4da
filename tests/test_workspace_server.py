"""The workspace's Prefect server as a user meets it: the first command that runs a flow starts it in the
background, later commands (two at once included) reuse it, their runs show in its API and its UI calls
the port it got, and `cascade server stop` ends it; a new workspace's server starts from the database the first
one kept. Every command is a process of its own."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from contextlib import closing
from importlib.metadata import version
from pathlib import Path

import httpx
import pytest

CASCADE = str(Path(sys.executable).parent / "cascade")
EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "town-2024"


def prefect_servers_of(home: Path) -> list[int]:
    """Ids of the running `prefect server` processes whose PREFECT_HOME is `home`."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if not entry.name.isdigit() or b"server\0start" not in (entry / "cmdline").read_bytes():
                continue
            if f"PREFECT_HOME={home}".encode() in (entry / "environ").read_bytes().split(b"\0"):
                found.append(int(entry.name))
        except OSError:  # it ended meanwhile
            continue
    return found


@pytest.mark.timeout(600)
def test_commands_share_one_background_server_whose_api_and_ui_show_their_runs(tmp_path: Path) -> None:
    workspace = tmp_path / "ws"
    home = workspace / "prefect"
    kept = tmp_path / "cache" / "plan-cascade" / f"prefect-{version('prefect')}"  # the database a new workspace's server starts from
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CASCADE_", "PREFECT_API"))}
    env.update(CASCADE_WORKSPACE=str(workspace), COLUMNS="240", CASCADE_SMTP_HOST="127.0.0.1", CASCADE_SMTP_PORT="9", XDG_CACHE_HOME=str(tmp_path / "cache"))

    def cascade(*args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
        done = subprocess.run([CASCADE, *args], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=300, check=False)
        assert not ok or done.returncode == 0, f"cascade {' '.join(args)} exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
        return done

    try:
        cascade("units", "import", str(EXAMPLE / "units.yaml"))
        assert cascade("server", "status", ok=False).returncode == 1  # nothing that runs a flow has run yet
        assert not home.joinpath("server.json").exists()

        # Two flow commands at once: one starts the server, the other waits for it and joins it.
        together = [subprocess.Popen([CASCADE, "tick", "--as-of", "2024-02-01"], env=env, cwd=tmp_path, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True) for _ in range(2)]  # fmt: skip
        outputs = [process.communicate(timeout=300) for process in together]
        assert [process.returncode for process in together] == [0, 0], outputs
        assert sum("Starting the workspace's Prefect server" in err for _, err in outputs) == 1, outputs
        record = json.loads(home.joinpath("server.json").read_text())
        assert prefect_servers_of(home.resolve()) == [record["pid"]]

        api = record["api_url"]
        runs = httpx.post(f"{api}/flow_runs/filter", json={}, timeout=30).json()
        ticks = [run for run in runs if run["name"].startswith("daily-tick")]
        assert len(ticks) == 2 and all(run["state_type"] == "COMPLETED" and "cli" in run["tags"] for run in ticks), runs
        # The UI calls the API on the server's own port, whatever port it got.
        ui_settings = httpx.get(api.removesuffix("/api") + "/ui-settings", timeout=30).json()
        assert ui_settings["api_url"] == api

        assert f"already running: UI {api.removesuffix('/api')} (process {record['pid']})" in cascade("server", "start").stdout
        status = cascade("server", "status").stdout
        assert "running" in status and api.removesuffix("/api") in status and str(record["pid"]) in status

        assert f"process {record['pid']}" in cascade("server", "stop").stdout
        assert prefect_servers_of(home.resolve()) == []
        assert cascade("server", "status", ok=False).returncode == 1
        assert "No Prefect server was running" in cascade("server", "stop").stdout

        # The first server kept a copy of its new database; a second workspace's server starts from that copy
        # (marked here with a variable, which the new server then serves).
        assert sorted(p.name for p in kept.iterdir()) == ["memo_store.toml", "prefect.db"]
        with closing(sqlite3.connect(kept / "prefect.db")) as db:  # closed: its write-ahead log goes into the file
            db.execute("""INSERT INTO variable (name, value) VALUES ('kept_copy', '"yes"')""")
            db.commit()
        env["CASCADE_WORKSPACE"] = str(tmp_path / "ws2")
        cascade("server", "start")
        second = json.loads((tmp_path / "ws2" / "prefect" / "server.json").read_text())
        assert httpx.get(f"{second['api_url']}/variables/name/kept_copy", timeout=30).json()["value"] == "yes"
    finally:
        for folder in ("ws", "ws2"):  # never leave a server behind, whatever failed above
            env["CASCADE_WORKSPACE"] = str(tmp_path / folder)
            cascade("server", "stop", ok=False)
