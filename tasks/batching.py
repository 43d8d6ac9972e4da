"""Splitting work into batches: Prefect tasks take a batch of units or messages, never one each."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

T = TypeVar("T")


def batches(items: Sequence[T], size: int) -> list[list[T]]:
    """Consecutive slices of at most `size` items, in order."""
    return [list(items[start : start + size]) for start in range(0, len(items), size)]
