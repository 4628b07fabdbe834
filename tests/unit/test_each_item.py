"""Per-item calls of one collector task, a few at a time."""
import threading
import time

import pytest

from polo.collectors.base import ITEMS_AT_ONCE, each_item


def test_answers_come_in_the_items_order_whatever_order_they_end_in():
    def describe(item):
        time.sleep(0.01 * (5 - item))
        return item * 10

    assert list(each_item(describe, range(6))) == [0, 10, 20, 30, 40, 50]


def test_the_first_failure_is_the_tasks_and_items_not_started_are_dropped():
    started = []
    lock = threading.Lock()

    def describe(item):
        with lock:
            started.append(item)
        if item == 0:
            raise RuntimeError("AccessDenied")
        time.sleep(0.05)
        return item

    with pytest.raises(RuntimeError, match="AccessDenied"):
        list(each_item(describe, range(40)))
    assert len(started) < 40 and len(started) <= 2 * ITEMS_AT_ONCE
