"""tasks.outbound.ahead: building the next messages in a thread, and prompt switching while sending."""

from __future__ import annotations

import sys
import threading

import pytest

from tasks.outbound.ahead import PROMPT_SWITCH_SECONDS, built_ahead, prompt_switching


def test_items_come_back_in_order_with_what_building_gave() -> None:
    results = [(built.item, built.result()) for built in built_ahead(range(50), lambda n: n * n, depth=3)]
    assert results == [(n, n * n) for n in range(50)]


def test_a_failed_build_is_raised_at_its_own_item_and_the_others_still_come() -> None:
    def build(n: int) -> int:
        if n == 2:
            raise ValueError("cannot build 2")
        return n

    seen: list[object] = []
    for built in built_ahead(range(5), build):
        try:
            seen.append(built.result())
        except ValueError as exc:
            seen.append(str(exc))
    assert seen == [0, 1, "cannot build 2", 3, 4]


def test_leaving_early_stops_the_builder() -> None:
    built_items: list[int] = []

    def build(n: int) -> int:
        built_items.append(n)
        return n

    for built in built_ahead(range(10_000), build, depth=2):
        if built.item == 3:
            break
    assert not [t for t in threading.enumerate() if t.name == "build-ahead"]
    assert len(built_items) < 10  # at most the queue's depth and the one in hand past the item left at


def test_prompt_switching_lowers_the_interval_until_the_last_sender_leaves() -> None:
    usual = sys.getswitchinterval()
    assert usual > PROMPT_SWITCH_SECONDS  # the default, 5 ms
    with prompt_switching():
        assert sys.getswitchinterval() == pytest.approx(PROMPT_SWITCH_SECONDS)
        with prompt_switching():  # a second connection's thread
            assert sys.getswitchinterval() == pytest.approx(PROMPT_SWITCH_SECONDS)
        assert sys.getswitchinterval() == pytest.approx(PROMPT_SWITCH_SECONDS)  # the first still sends
    assert sys.getswitchinterval() == usual


def test_prompt_switching_restores_the_interval_after_an_error() -> None:
    usual = sys.getswitchinterval()
    with pytest.raises(RuntimeError), prompt_switching():
        raise RuntimeError("connection lost")
    assert sys.getswitchinterval() == usual
