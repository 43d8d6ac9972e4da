"""The progress flows report (cascade.progress) and the bars the CLI draws from it on a terminal."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import pytest

from cascade.progress import listening
from flows.cascade_plan import cascade_plan
from flows.send_reminders import send_reminders

pytestmark = pytest.mark.usefixtures("prefect_harness")
CASCADE_DAY = date(2024, 4, 5)


@dataclass
class Recorder:
    """A listener that keeps every track: its label, its total and what it was advanced by."""

    tracks: list[tuple[str, int]] = field(default_factory=list)
    advances: dict[int, list[int]] = field(default_factory=dict)
    finished: list[int] = field(default_factory=list)

    def started(self, label: str, total: int) -> int:
        self.tracks.append((label, total))
        self.advances[len(self.tracks) - 1] = []
        return len(self.tracks) - 1

    def advanced(self, handle: int, amount: int) -> None:
        self.advances[handle].append(amount)

    def ended(self, handle: int) -> None:
        self.finished.append(handle)


def test_a_cascade_reports_its_units_and_its_emails_batch_by_batch(department, smtp_server, monkeypatch) -> None:
    monkeypatch.setenv("CASCADE_CASCADE_BATCH_SIZE", "3")
    monkeypatch.setenv("CASCADE_OUTBOX_BATCH_SIZE", "3")
    from cascade.settings import get_settings

    get_settings.cache_clear()
    recorder = Recorder()
    with listening(recorder):
        result = cascade_plan(department.plan, CASCADE_DAY)
    assert result.assigned == 4 and result.delivery.sent == 4
    assert recorder.tracks == [("Giao nhiệm vụ, cấp 1 (đơn vị)", 4), ("Gửi thư", 4)]
    assert recorder.advances == {0: [3, 1], 1: [3, 1]}  # a batch at a time, never one bar step per unit
    assert recorder.finished == [0, 1]

    # Outside the block nobody listens: a later run reports to no one and works as before.
    queued, _ = send_reminders(date(2024, 10, 23))
    assert queued == 4 and len(recorder.tracks) == 2


def test_a_listener_that_fails_never_fails_the_work(department, smtp_server) -> None:
    class Broken(Recorder):
        def advanced(self, handle: int, amount: int) -> None:
            raise OSError("the terminal went away")

    broken = Broken()
    with listening(broken):
        result = cascade_plan(department.plan, CASCADE_DAY)
    assert result.assigned == 4 and result.delivery.sent == 4
    assert broken.tracks == [("Giao nhiệm vụ, cấp 1 (đơn vị)", 4)]  # silenced after its first failure


@pytest.mark.timeout(300)
def test_cascade_remind_draws_its_bars_on_a_terminal_and_not_in_a_pipe(department, smtp_server, tmp_path: Path) -> None:
    """`cascade remind` in its own process: stderr a pipe on the reminders' day, a (pseudo-)terminal on the day after the deadline."""
    from prefect.settings import PREFECT_API_URL

    cascade_plan(department.plan, CASCADE_DAY)
    env = {**os.environ, "PREFECT_API_URL": str(PREFECT_API_URL.value()), "COLUMNS": "120", "TERM": "xterm"}
    cascade = str(Path(sys.executable).with_name("cascade"))

    piped = subprocess.run([cascade, "remind", "--as-of", "2024-10-23"], env=env, capture_output=True, text=True, timeout=240, check=False)
    assert piped.returncode == 0 and "Reminders queued 4" in piped.stdout, piped.stdout + piped.stderr
    assert "Lập thư nhắc" not in piped.stderr + piped.stdout and "━" not in piped.stderr

    leader, follower = pty.openpty()
    try:
        done = subprocess.run([cascade, "remind", "--as-of", "2024-10-31"], env=env, stdout=subprocess.PIPE, stderr=follower, timeout=240, check=False)
        os.close(follower)
        drawn = b""
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # the terminal closed: everything written has been read
                break
            if not chunk:
                break
            drawn += chunk
    finally:
        os.close(leader)
    assert done.returncode == 0 and b"Reminders queued 4" in done.stdout, done.stdout
    screen = drawn.decode(errors="replace")
    assert "Lập thư nhắc (đơn vị)" in screen and "4/4" in screen and "Gửi thư" in screen, screen
