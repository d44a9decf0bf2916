"""The time-major work arrays of the compiled BPTT (``_bptt``), lent between calls by ``_spare.Spare``.

>>> import numpy as np
>>> from symbackprop._rnn import RNN
>>> a = Scratch(RNN.build(2, 3, 1, 4), 5, np.dtype(np.float32))
>>> a.S.shape, a.H.shape, a.S.dtype
((4, 5, 3), (5, 5, 3), dtype('float32'))
"""
from __future__ import annotations

import numpy as np


class Scratch:
    """Arrays for one call, time-major (step, sample, node): t copied, s, h (h<0> first), o,
    ∂E/∂h, δ, one step's product, and each weight's per-step gradient products (``stack``)."""

    def __init__(self, net, n: int, dt):
        T, I, H, O = net.steps, net.inputs, net.hidden, net.outputs
        self.T, self.O = np.empty((T, n, O), dt), np.empty((T, n, O), dt)
        self.S, self.H = np.empty((T, n, H), dt), np.empty((T + 1, n, H), dt)
        self.dEdh, self.delta, self.step = np.empty((T, n, H), dt), np.empty((T, n, H), dt), np.empty((n, H), dt)
        self.stack = {"U": np.empty((T, I, H), dt), "W": np.empty((T, H, H), dt), "V": np.empty((T, H, O), dt)}
