"""The time-major work arrays of the compiled BPTT (``_bptt``), kept from one call to the next.

A fresh array of a few hundred kilobytes or more comes from the system page by page: the
allocator hands large blocks back when they are freed, and touching them again costs a page
fault per 4 KiB, which for a 50-step RNN cost as much as its arithmetic.  A compiled function
keeps a set of these arrays for the batch size and dtype of its last call and lends it out.

>>> import numpy as np
>>> from symbackprop._rnn import RNN
>>> spare = Spare()
>>> a = spare.take(RNN.build(2, 3, 1, 4), 5, np.dtype(np.float32))
>>> a.S.shape, a.H.shape, a.S.dtype
((4, 5, 3), (5, 5, 3), dtype('float32'))
>>> spare.give(a); spare.take(RNN.build(2, 3, 1, 4), 5, np.dtype(np.float32)) is a
True
"""
from __future__ import annotations

import numpy as np


class Scratch:
    """Arrays for one call, time-major (step, sample, node): t copied, s, h (h<0> first), o,
    ∂E/∂h, δ, one step's product, and each weight's per-step gradient products (``stack``)."""

    def __init__(self, net, n: int, dt):
        T, I, H, O = net.steps, net.inputs, net.hidden, net.outputs
        self.key = (net.steps, I, H, O, n, np.dtype(dt))
        self.T, self.O = np.empty((T, n, O), dt), np.empty((T, n, O), dt)
        self.S, self.H = np.empty((T, n, H), dt), np.empty((T + 1, n, H), dt)
        self.dEdh, self.delta, self.step = np.empty((T, n, H), dt), np.empty((T, n, H), dt), np.empty((n, H), dt)
        self.stack = {"U": np.empty((T, I, H), dt), "W": np.empty((T, H, H), dt), "V": np.empty((T, H, O), dt)}


class Spare:
    """At most one idle ``Scratch``, lent out by ``take`` and handed back by ``give``.

    A call that runs while the spare is lent (another thread's) makes its own, so no two calls
    write into the same arrays; a call of another size or dtype replaces it.
    """

    def __init__(self):
        self._idle: list = []

    def take(self, net, n: int, dt) -> Scratch:
        """The idle arrays if they fit (net, n, dt), else new ones."""
        try:
            scratch = self._idle.pop()                # one step under the GIL: two threads never get the same
        except IndexError:
            scratch = None
        if scratch is not None and scratch.key == (net.steps, net.inputs, net.hidden, net.outputs, n, np.dtype(dt)):
            return scratch
        return Scratch(net, n, dt)

    def give(self, scratch: Scratch) -> None:
        """Keep ``scratch`` for the next call (once nothing returned to a caller is a view of it)."""
        if not self._idle:
            self._idle.append(scratch)
