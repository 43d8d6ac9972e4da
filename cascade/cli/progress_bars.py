"""The CLI's progress bars: one rich bar on stderr for each stretch of work a flow reports
(`cascade.progress`), shown only when stderr is a terminal: pipes and logs get the summary lines alone."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from cascade.progress import listening


class Bars:
    """A `cascade.progress.Listener` drawing rich bars; the display starts with the first bar."""

    def __init__(self, console: Console) -> None:
        columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), TimeRemainingColumn())
        self.progress = Progress(*columns, console=console)
        self.shown = False

    def started(self, label: str, total: int) -> int:
        if not self.shown:
            self.progress.start()
            self.shown = True
        return int(self.progress.add_task(label, total=total))

    def advanced(self, handle: int, amount: int) -> None:
        self.progress.advance(TaskID(handle), amount)

    def ended(self, handle: int) -> None:
        """The bar stays, at the count it reached (a delivery the quota cut short shows where it stopped)."""

    def close(self) -> None:
        if self.shown:
            self.progress.stop()


@contextmanager
def progress_bars(console: Console | None = None) -> Iterator[None]:
    """Show the progress of the flows run inside this block as bars on stderr, if stderr is a terminal."""
    console = console or Console(stderr=True)
    if not console.is_terminal:
        yield
        return
    bars = Bars(console)
    try:
        with listening(bars):
            yield
    finally:
        bars.close()
