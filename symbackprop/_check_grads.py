"""A dense stack's numbers for check as whole arrays: one flat float64 array per row of the report.

784-128-10 has over 100,000 parameters: a dict of names and a Python loop over them cost
seconds at every point.  Here each row of the report (E, layer 1, layer 2, …) is one array,
its entries in the order a dict of names would list them (a layer's weights row by row, then its
biases), and only the position of the worst entry is turned into a name.  ``worst`` finds what
``Tally.record`` finds by names: the same entry, the same numbers.

>>> import numpy as np
>>> got = dense_grads(0.5, [np.ones((2, 2)), np.ones((2, 1))], [np.ones(2), np.ones(1)])
>>> want = dense_grads(0.5, [np.ones((2, 2)), np.array([[1.0], [0.5]])], [np.ones(2), np.ones(1)])
>>> [(label, got.name(label, n), v, w) for label, scale, n, v, w in worst(got, want)]
[('E', 'E', 0.5, 0.5), ('layer 1', 'w11[1]', 1.0, 1.0), ('layer 2', 'w21[2]', 1.0, 0.5)]
"""
from __future__ import annotations

import numpy as np

from . import _names as names


class Grads:
    """Numbers by row of the report: ``rows`` label → flat float64 array; ``at`` label → the
    positions of those entries in the whole row (finite differences on a sample of a layer),
    absent for a whole row; ``name(label, position)`` → the parameter's name; ``scalar`` the type a
    dict of names held (float, or np.float64 for finite differences), kept for the report's rows."""

    def __init__(self, rows: dict, name, at: dict | None = None, scalar=float):
        self.rows, self.name, self.at, self.scalar = rows, name, at or {}, scalar

    def items(self):
        """(name, value) pairs, in the order of a dict of names; for code that wants names."""
        for label, values in self.rows.items():
            at = self.at.get(label)
            for n, v in enumerate(values):
                yield self.name(label, n if at is None else int(at[n])), self.scalar(v)

    def __iter__(self):
        return (name for name, _ in self.items())

    def like(self, values) -> Grads:
        """The same rows and names holding ``values`` (Python floats, in this one's order)."""
        values = np.fromiter(values, dtype=np.float64)
        ends = np.cumsum([len(v) for v in self.rows.values()])[:-1]
        return Grads(dict(zip(self.rows, np.split(values, ends))), self.name, self.at)


def worst(got: Grads, want: Grads):
    """For each non-empty row of ``got``: (label, scale, position, got's value, want's value) of the
    entry with the largest |got − want| (the first of equals; a nan first of all), scale the largest
    |want| among the entries compared, as ``_tally.Tally`` finds them in a dict of names."""
    for label, g in got.rows.items():
        if not g.size:
            continue
        w = want.rows[label]
        at = got.at.get(label)
        if at is not None:
            w = w[at]
        if w.shape != g.shape:
            raise KeyError(f"{label}: {g.size} values against {w.size}")
        d = np.abs(g - w)
        # the first of equals, as max; a nan (where a side is nan) is worse than any number
        n = int(np.argmax(np.isnan(d))) if np.isnan(d).any() else int(np.argmax(d))
        scale = want.scalar(np.max(np.abs(w)))
        yield label, scale, (n if at is None else int(at[n])), got.scalar(g[n]), want.scalar(w[n])


def _flat(*parts) -> np.ndarray:
    """The parts (arrays, or None) one after the other, as one flat float64 array."""
    found = [np.asarray(p, dtype=np.float64).ravel() for p in parts if p is not None]
    return np.concatenate(found) if found else np.zeros(0)


def dense_grads(E, dW, db) -> Grads:
    """E and the per-layer matrices (None for a tied layer's dW) as rows: layer k is W[k]'s
    weights row by row, then the biases of layer k+1, as ``_layer_of`` groups their names."""
    rows = {"E": np.array([float(E)])}
    shapes = {}
    for k, M in enumerate(dW, start=1):
        shapes[k] = (0, 0) if M is None else np.shape(M)
        rows[f"layer {k}"] = _flat(M, None if db is None else db[k - 1])
    return Grads(rows, lambda label, n: _dense_name(shapes, label, n))


def _dense_name(shapes: dict, label: str, n: int) -> str:
    """The name of entry ``n`` of a row of ``dense_grads``."""
    if label == "E":
        return "E"
    k = int(label.split()[1])
    rows, cols = shapes[k]
    if n < rows * cols:
        i, j = divmod(n, cols)
        return names.weight(i + 1, j + 1, k).name
    return names.bias(n - rows * cols + 1, k + 1).name


def central(loss, M, index):
    """The central difference of ``loss()`` by ``M[index]``, the entry changed in place and put back."""
    old = M[index]
    h = np.cbrt(np.finfo(float).eps) * max(1.0, abs(old))   # step balancing truncation and rounding
    M[index] = old + h
    up = loss()
    M[index] = old - h
    down = loss()
    M[index] = old
    return (up - down) / (2 * h)


def dense_fd(net, W, b, loss, sample: int, rng=None) -> Grads:
    """Finite differences by each layer's own weights and biases (not a tied layer's weights) in
    the layout of ``dense_grads``; with ``rng``, ``sample`` random entries of a larger layer, drawn
    as ``finite_differences`` draws them."""
    tied, L = dict(net.ties), net.layers
    rows, at, shapes = {}, {}, {}
    for k in range(net.depth - 1):
        cols = L[k + 1]
        n_w = L[k] * cols if k + 1 not in tied else 0
        size = n_w + (cols if net.bias else 0)
        picks = rng.choice(size, sample, replace=False) if rng is not None and size > sample else range(size)
        picks = [int(p) for p in picks]
        rows[f"layer {k + 1}"] = np.array(
            [central(loss, W[k], divmod(p, cols)) if p < n_w else central(loss, b[k], (p - n_w,)) for p in picks],
            dtype=np.float64)
        at[f"layer {k + 1}"] = np.array(picks, dtype=np.intp)
        shapes[k + 1] = (L[k] if n_w else 0, cols)
    return Grads(rows, lambda label, n: _dense_name(shapes, label, n), at, np.float64)
