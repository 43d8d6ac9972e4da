"""The progress flows report (cascade.progress); the walkthrough (tests/test_walkthrough.py) sees the bars the CLI draws from it on a terminal."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

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
    # a batch at a time, never one bar step per unit; the 4 emails as two batches of 2, one a connection, sent at once
    assert recorder.advances == {0: [3, 1], 1: [2, 2]}
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
