"""How far long work has got: flows report it, whoever listens shows it (the CLI's bars on a terminal).

A flow wraps a long loop in `track(label, total)` and calls `advance(n)` as batches finish. When
nobody listens (a schedule, the portal, a test) that costs one context-variable read.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence, Sized
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Protocol, TypeVar

C = TypeVar("C", bound=Sized)


class Listener(Protocol):
    """Whoever shows progress: told of each track's start (it returns a handle), advances and end."""

    def started(self, label: str, total: int) -> int: ...

    def advanced(self, handle: int, amount: int) -> None: ...

    def ended(self, handle: int) -> None: ...


_listener: ContextVar[Listener | None] = ContextVar("progress_listener", default=None)
log = logging.getLogger(__name__)


class Track:
    """One long loop's progress; `advance` does nothing when nobody listens. A listener that fails is
    dropped, here and for the rest of the work in its context: showing progress never stops the work."""

    def __init__(self, listener: Listener | None, label: str, total: int) -> None:
        self._listener = listener
        self._handle = self._tell(lambda shown: shown.started(label, total)) or 0

    def advance(self, amount: int = 1) -> None:
        if amount:
            self._tell(lambda shown: shown.advanced(self._handle, amount))

    def end(self) -> None:
        self._tell(lambda shown: shown.ended(self._handle))

    def _tell(self, call: Callable[[Listener], int | None]) -> int | None:
        if self._listener is None:
            return None
        try:
            return call(self._listener)
        except Exception:
            log.debug("progress listener failed; progress is no longer shown", exc_info=True)
            self._listener = None
            _listener.set(None)
            return None


@contextmanager
def track(label: str, total: int) -> Iterator[Track]:
    """Report the progress of a loop over `total` items to the current listener, if any."""
    progress = Track(_listener.get() if total > 0 else None, label, total)
    try:
        yield progress
    finally:
        progress.end()


@contextmanager
def listening(listener: Listener) -> Iterator[None]:
    """Send the progress of the work done inside this block (in this context) to `listener`."""
    token = _listener.set(listener)
    try:
        yield
    finally:
        _listener.reset(token)


def tracked(label: str, chunks: Sequence[C]) -> Iterator[C]:
    """Each of `chunks` (batches) in turn; after each, the listener is told how many items it held."""
    with track(label, sum(len(chunk) for chunk in chunks)) as progress:
        for chunk in chunks:
            yield chunk
            progress.advance(len(chunk))
