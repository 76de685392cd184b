"""forked_map: results in order, closures over unpicklable objects, errors raised."""

import os
import threading

import pytest

from asr.parallel.forked import forked_map


def test_results_in_order_from_other_processes():
    lock = threading.Lock()  # not picklable: the workers must inherit it by fork

    def work(x):
        with lock:
            return x * x, os.getpid()

    out = forked_map(work, list(range(6)), nj=2)
    assert [r[0] for r in out] == [x * x for x in range(6)]
    assert os.getpid() not in {r[1] for r in out}
    # nj 1 runs in the caller
    assert {r[1] for r in forked_map(work, [1, 2], nj=1)} == {os.getpid()}


def test_a_worker_error_is_raised_in_the_caller():
    def work(x):
        if x == 3:
            raise ValueError("bad item 3")
        return x

    with pytest.raises(ValueError, match="bad item 3"):
        forked_map(work, [1, 2, 3, 4], nj=2)
