"""Work arrays of a compiled function, kept from one call to the next and lent one set at a time.

A fresh array of a few hundred kilobytes or more comes from the system page by page: the
allocator hands large blocks back when they are freed, and touching them again costs a page
fault per 4 KiB.  For a 50-step RNN's BPTT (``_bptt``) that cost as much as its arithmetic, and
for a 128-128-10 gradient at batch 1024 (``_fused``) more than its matrix products.  A compiled
function keeps the set of its last call, under a key saying what it fits (batch size, dtype, …).

>>> spare = Spare()
>>> arrays = spare.take(5, list, "abc")
>>> spare.give(5, arrays); spare.kept()
[5]
>>> spare.take(5, list, "xyz") is arrays, spare.kept()
(True, [])
>>> spare.take(5, list, "xyz") is arrays                      # lent out: a set of its own
False
"""
from __future__ import annotations


class Spare:
    """At most one idle set, lent out by ``take`` and handed back by ``give``.

    A call that runs while the set is lent (another thread's) makes its own, so no two calls
    write into the same arrays; a call with another key replaces it.
    """

    def __init__(self):
        self._idle: list = []

    def take(self, key, make, *args):
        """The idle set if it was kept under ``key``, else ``make(*args)``."""
        try:
            kept, arrays = self._idle.pop()           # one step under the GIL: two threads never get the same
        except IndexError:
            return make(*args)
        return arrays if kept == key else make(*args)

    def give(self, key, arrays) -> None:
        """Keep ``arrays`` for the next call with ``key`` (once nothing returned to a caller is a view of them)."""
        if not self._idle:
            self._idle.append((key, arrays))

    def kept(self) -> list:
        """The key of the idle set, if there is one, in a list."""
        return [key for key, _ in self._idle]
