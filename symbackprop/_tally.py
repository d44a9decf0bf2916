"""The one check loop and its bookkeeping: tolerances per pair, the worst error of each
pair and group over every point, the report.

A kind gives a kernel (its computations at a random point); ``run`` compares them.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from . import _views as views
from ._check_grads import Grads, worst

#: (relative, absolute) tolerance per pair; relative to the largest |value| in the layer
TOLERANCES = {
    "printed vs reference": (1e-10, 1e-13),
    "vectorized vs reference": (1e-10, 1e-13),
    "printed vs vectorized": (1e-10, 1e-13),
    "finite differences vs reference": (1e-5, 1e-7),
    "finite differences vs vectorized": (1e-5, 1e-7),     # only when the reference lacks the loss
}
#: against a reference that differentiates a custom activation numerically (five-point stencil)
CUSTOM_RTOL = 1e-8


@dataclass(frozen=True)
class Row:
    """One pair on one layer (or the loss) at its worst point."""

    pair: str
    layer: str
    max_abs: float
    max_rel: float
    rtol: float
    atol: float
    worst: str
    value: float
    other: float

    @property
    def ok(self) -> bool:
        return self.max_abs <= self.atol or self.max_rel <= self.rtol


@dataclass(frozen=True)
class Report:
    """What ``check`` found: a row for each pair of computations compared (printed formulas, compiled
    code, the NumPy reference, finite differences) and each group of parameters, with the worst
    errors over every point; truthy when every row agrees.

    >>> import symbackprop as sb
    >>> r = sb.check("2-2-1", activation="sigmoid", samples=2)
    >>> bool(r), r.failures
    (True, ())
    """

    network: object                    # the network checked (any kind)
    samples: int
    rows: tuple[Row, ...]
    notes: tuple[str, ...] = field(default=())

    def __bool__(self) -> bool:
        return all(r.ok for r in self.rows)

    @property
    def failures(self) -> tuple[Row, ...]:
        return tuple(r for r in self.rows if not r.ok)

    def __str__(self) -> str:
        return views.check_table(self)

    def __repr__(self) -> str:
        state = "all agree" if self else f"{len(self.failures)} of {len(self.rows)} rows disagree"
        return views.short("Report", f"check of {self.network.describe()}: {len(self.rows)} rows, {state}")

    def _repr_html_(self) -> str:
        return views.check_html(self)


def _badness(err: float) -> float:
    """An error as compared with others: a nan (a side that is not a number) is the worst of all."""
    return np.inf if err != err else err


def _named(values) -> dict:
    """A dict of names: as it is, or a ``Grads`` spelt out (beside a kind's dict of names)."""
    return values if isinstance(values, dict) else dict(values.items())


class Tally:
    """The worst error of each pair and group over every point: a report's rows.

    group_of(name) → the row a parameter belongs to (its layer, its matrix); custom: a
    custom activation, which the reference differentiates numerically (looser tolerance).
    """

    def __init__(self, group_of, custom: bool = False):
        self.group_of, self.custom, self.worst = group_of, custom, {}

    def record(self, pair: str, got, want) -> None:
        """Keep, for each group, the point where ``got`` and ``want`` differ most: dicts of names, or
        ``Grads`` (whole arrays per row, named only at the worst entry) on both sides."""
        if isinstance(got, Grads) and isinstance(want, Grads):
            found, name_of = worst(got, want), got.name
        else:
            found, name_of = self._by_name(_named(got), _named(want)), lambda group, name: name
        for group, scale, where, v, w in found:
            err = abs(v - w)
            rel = err / scale if scale > 0 else (0.0 if err == 0 else np.inf)
            key = (pair, group)
            if key not in self.worst or _badness(err) > _badness(self.worst[key].max_abs):
                rtol, atol = TOLERANCES[pair]
                if self.custom and pair.endswith("vs reference") and not pair.startswith("finite"):
                    rtol = CUSTOM_RTOL
                self.worst[key] = Row(pair, group, err, rel, rtol, atol, name_of(group, where), v, w)

    def _by_name(self, got: dict, want: dict):
        """(group, scale, name, got's value, want's value) of each group's worst entry, by names."""
        by_group: dict = {}
        for name, v in got.items():
            by_group.setdefault(self.group_of(name) if name != "E" else "E", []).append((name, v, want[name]))
        for group, items in by_group.items():
            scale = max((abs(w) for _, _, w in items), key=_badness)
            name, v, w = max(items, key=lambda it: _badness(abs(it[1] - it[2])))
            yield group, scale, name, v, w

    def compare(self, vectorized: dict, reference: dict | None, printed: dict | None, fd: dict | None) -> None:
        """Record every pair one point gives; without a reference (a loss it does not know), finite
        differences are held against the vectorized code."""
        if reference is not None:
            self.record("vectorized vs reference", vectorized, reference)
        if printed is not None:
            if reference is not None:
                self.record("printed vs reference", printed, reference)
            self.record("printed vs vectorized", printed, vectorized)
        if fd is not None:
            if reference is not None:
                self.record("finite differences vs reference", fd, reference)
            else:
                self.record("finite differences vs vectorized", fd, vectorized)

    def rows(self) -> tuple:
        order = list(TOLERANCES)
        return tuple(sorted(self.worst.values(), key=lambda r: (order.index(r.pair), r.layer != "E", r.layer)))


def run(kernel, samples: int, seed: int, batch: int) -> Report:
    """The one check loop: at each random point, every computation the kind's kernel gives.

    kernel: network, notes, custom (a custom activation), group_of(name), point(rng, batch),
    vectorized(point) → {name: value}, reference(point) → {…} or None (a loss it does not
    know), printed(point, names) → {…} or None, fd(point, rng) → {…} or None.
    """
    rng = np.random.default_rng(seed)
    tally = Tally(kernel.group_of, kernel.custom)
    for _ in range(samples):
        point = kernel.point(rng, batch)
        got = kernel.vectorized(point)
        tally.compare(got, kernel.reference(point), kernel.printed(point, got), kernel.fd(point, rng))
    return Report(kernel.network, samples, tally.rows(), tuple(kernel.notes))


class Kernel:
    """A kind's computations for check; this part is the same for every kind: the printed formulas
    (``self.formulas``, or None) evaluated at a point's values (``self.values(point)``), summed
    over the batch."""

    def printed(self, point, wanted):
        if self.formulas is None:
            return None
        out = self.formulas(self.values(point))
        if isinstance(wanted, Grads):                # laid out as the compiled code's arrays
            return wanted.like(float(np.sum(out[name])) for name in wanted)
        return {name: float(np.sum(out[name])) for name in wanted}
