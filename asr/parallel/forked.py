"""Run one function over a few items in forked worker processes (``--nj`` within a
command, e.g. the LM-weight x insertion-penalty settings of a dev tuning sweep).

The function is not pickled: the workers are forked from the caller and find it in a
module global, so it may close over anything the caller holds (FST objects, score
matrices). Only the items' indices go to the workers and only the results come back
(they must pickle). With ``nj`` 1, or one item, everything runs in the caller.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Sequence
from typing import Any

_WORK: Callable[[Any], Any] | None = None
_ITEMS: Sequence[Any] = ()


def _run_item(index: int) -> Any:
    assert _WORK is not None
    return _WORK(_ITEMS[index])


def forked_map(fn: Callable[[Any], Any], items: Sequence[Any], nj: int) -> list[Any]:
    """``[fn(x) for x in items]``, computed by up to ``nj`` forked processes (in order).
    An exception in a worker is raised here."""
    global _WORK, _ITEMS
    nj = min(int(nj), len(items))
    if nj <= 1 or "fork" not in multiprocessing.get_all_start_methods():
        return [fn(x) for x in items]
    _WORK, _ITEMS = fn, items
    try:
        with multiprocessing.get_context("fork").Pool(nj) as pool:
            return pool.map(_run_item, range(len(items)), chunksize=1)
    finally:
        _WORK, _ITEMS = None, ()
