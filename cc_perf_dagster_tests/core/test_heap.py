"""The long-lived heap is set aside from garbage collection while documents are read, and only then."""

from __future__ import annotations

import gc
import weakref

import pytest

from cc_perf_dagster.core.heap import long_lived_heap_frozen


class Node:
    def __init__(self):
        self.me = self  # a reference cycle: only the cyclic collector frees it


def test_the_heap_is_frozen_inside_and_unfrozen_after_nested_blocks():
    assert gc.get_freeze_count() == 0
    with long_lived_heap_frozen():
        frozen = gc.get_freeze_count()
        assert frozen > 0
        with long_lived_heap_frozen():
            assert gc.get_freeze_count() == frozen  # one freeze for nested blocks
        assert gc.get_freeze_count() == frozen  # still frozen until the outer block ends
    assert gc.get_freeze_count() == 0


def test_garbage_made_inside_is_collected_and_old_garbage_after():
    old = Node()
    old_ref = weakref.ref(old)
    del old  # cyclic garbage made before the block: frozen with the heap
    with long_lived_heap_frozen():
        new = Node()
        new_ref = weakref.ref(new)
        del new
        gc.collect()
        assert new_ref() is None  # what reading makes is collected as usual
        assert old_ref() is not None  # the long-lived heap is not walked
    gc.collect()
    assert old_ref() is None  # nothing leaked: after the block it is collected


def test_a_freeze_of_the_process_itself_is_left_alone():
    gc.freeze()
    try:
        before = gc.get_freeze_count()
        with long_lived_heap_frozen():
            assert gc.get_freeze_count() == before  # nothing frozen on top
        assert gc.get_freeze_count() == before  # and nothing of the process's unfrozen
    finally:
        gc.unfreeze()


def test_an_error_inside_still_unfreezes():
    with pytest.raises(ValueError, match="boom"), long_lived_heap_frozen():
        assert gc.get_freeze_count() > 0
        raise ValueError("boom")
    assert gc.get_freeze_count() == 0
