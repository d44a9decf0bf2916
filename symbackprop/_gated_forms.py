"""The general forms of backprop through an LSTM or GRU, each checked against every instance.

Each form is written here from the textbook equations (one template per form, in the
names of ``_gated_names``), instantiated for every unit j and step t, and compared with
what the sweep found (``sympy.expand`` of the difference is 0).  The matrix forms say the
same with vectors; they are checked on random numbers (``matrix_holds``).

>>> from symbackprop._gated import GatedRNN
>>> from symbackprop._gated_derive import derive_gated
>>> [(f.kind, f.instances, f.holds) for f in derive_gated(GatedRNN.build("lstm", 1, 1, 1, 2)).forms][:3]
[('h', 2, True), ('c', 2, True), ('i', 2, True)]
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import sympy

from ._elman import flows
from ._gated import SIGMOID
from ._gated_names import gsym


@dataclass(frozen=True)
class Form:
    """One general form: ``kind`` is h, c, a gate letter (its δ), or u, w, b, v, c_out (a gradient)."""

    kind: str
    instances: int
    holds: bool
    failed: str = ""


def _delta(kind: str, j: int, t: int) -> sympy.Symbol:
    return gsym("delta", j, gate=kind, t=t)


def _h_form(d, j: int, t: int) -> sympy.Expr:
    """δhj<t>: this step's output (or loss) error, plus every gate of step t + 1 that reads hj<t>."""
    net, H = d.network, d.network.hidden
    if net.dense:
        terms = [gsym("v", j, k) * d.errors[gsym("q", k, t=t).name] for k in range(1, net.outputs + 1)]
    else:
        h = gsym("h", j, t=t)
        terms = [sympy.diff(net.loss.term(h, gsym("t", j, t=t)), h)]
    if flows(net, t, d.truncate):
        plain = ("i", "f", "o", "g") if net.cell == "lstm" else ("r", "z")
        terms += [gsym("w", j, k, gate=g) * _delta(g, k, t + 1) for g in plain for k in range(1, H + 1)]
        if net.cell == "gru":
            back = sympy.Add(*[gsym("w", j, k, gate="n") * _delta("n", k, t + 1) for k in range(1, H + 1)])
            terms += [gsym("r", j, t=t + 1) * back, gsym("z", j, t=t + 1) * _delta("h", j, t + 1)]
    return sympy.Add(*terms)


def _local_forms(d, kind: str, j: int, t: int) -> sympy.Expr:
    """The δ of the cell state or of a gate's sum, from the errors of what it feeds."""
    net = d.network
    phi, sig = net.activation, SIGMOID
    g_ = lambda k, tt=t: gsym(k, j, t=tt)                                # noqa: E731
    s_ = lambda k: gsym("s", j, gate=k, t=t)                             # noqa: E731
    if net.cell == "lstm":
        table = {
            "c": _delta("h", j, t) * g_("o") * phi.prime(g_("c"))
            + (g_("f", t + 1) * _delta("c", j, t + 1) if flows(net, t, d.truncate) else 0),
            "i": _delta("c", j, t) * g_("g") * sig.prime(s_("i")),
            "f": _delta("c", j, t) * gsym("c", j, t=t - 1) * sig.prime(s_("f")),
            "o": _delta("h", j, t) * phi.apply(g_("c")) * sig.prime(s_("o")),
            "g": _delta("c", j, t) * g_("i") * phi.prime(s_("g"))}
    else:
        back = sympy.Add(*[gsym("w", j, k, gate="n") * _delta("n", k, t) for k in range(1, net.hidden + 1)])
        table = {
            "z": _delta("h", j, t) * (gsym("h", j, t=t - 1) - g_("n")) * sig.prime(s_("z")),
            "n": _delta("h", j, t) * (1 - g_("z")) * phi.prime(s_("n")),
            "r": back * gsym("h", j, t=t - 1) * sig.prime(s_("r"))}
    return table[kind]


def _gradient_form(d, kind: str, gate: str, i: int, j: int) -> sympy.Expr:
    """A shared parameter's gradient: the sum over the steps of what it multiplies times the δ."""
    T = d.network.steps
    if kind in ("v", "c"):
        err = [d.errors[gsym("q", j, t=t).name] for t in range(1, T + 1)]
        return sympy.Add(*[(gsym("h", i, t=t) if kind == "v" else 1) * e for t, e in zip(range(1, T + 1), err)])
    below = {"u": lambda t: gsym("x", i, t=t), "b": lambda t: 1,
             "w": (lambda t: gsym("rh", i, t=t)) if gate == "n" else (lambda t: gsym("h", i, t=t - 1))}[kind]
    return sympy.Add(*[below(t) * _delta(gate, j, t) for t in range(1, T + 1)])


def _check(kind: str, pairs) -> Form:
    count, failed = 0, ""
    for name, want, found in pairs:
        count += 1
        if not failed and sympy.expand(want - found) != 0:
            failed = name
    return Form(kind, count, not failed, failed)


def check_forms(d) -> tuple:
    """Every general form, with how many instances it was checked against and whether all hold."""
    net, T, H = d.network, d.network.steps, d.network.hidden
    units = [(j, t) for t in range(1, T + 1) for j in range(1, H + 1)]
    forms = [_check("h", [(f"deltah{j}<{t}>", _h_form(d, j, t), d.deltas[f"deltah{j}<{t}>"]) for j, t in units])]
    kinds = ("c", *net.gates) if net.cell == "lstm" else net.gates
    for kind in kinds:
        forms.append(_check(kind, [(_delta(kind, j, t).name, _local_forms(d, kind, j, t),
                                    d.deltas[_delta(kind, j, t).name]) for j, t in units]))
    groups: dict = {}
    for p in net.parameters():
        kind, gate, idx, _ = p.parts()
        i, j = (idx if len(idx) == 2 else (1, idx[0]))
        key = "c_out" if kind == "c" else kind
        groups.setdefault(key, []).append((p.name, _gradient_form(d, kind, gate, i, j), d.gradients[p.name]))
    forms += [_check(key, pairs) for key, pairs in groups.items()]
    return tuple(forms)


def matrix_holds(d, seed: int = 0) -> bool:
    """The vector forms, δh<t> = V·e<t> + Σ_γ W_γ·δ_γ<t+1> (…) and δc<t> = δh<t>⊙o<t>⊙φ'(c<t>) +
    f<t+1>⊙δc<t+1>, evaluated on random numbers for every name against the instances."""
    net, T, H = d.network, d.network.steps, d.network.hidden
    rng = np.random.default_rng(seed)
    exprs = [d.deltas[f"deltah{j}<{t}>"] for t in range(1, T + 1) for j in range(1, H + 1)]
    names = sorted({s for e in exprs for s in e.free_symbols}, key=sympy.default_sort_key)
    values = {s: float(rng.normal()) for s in names}
    got = [float(e.xreplace(values)) for e in exprs]

    def at(s) -> float:
        """The number of a name; one the instances do not hold gets a random number too, so that a term
        missing from them shows as a difference."""
        return values[s] if s in values else values.setdefault(s, float(rng.normal()))

    def vec(kind, t, gate=""):
        return np.array([at(gsym(kind, j, gate=gate, t=t)) for j in range(1, H + 1)])

    def mat(kind, rows, cols, gate=""):
        return np.array([[at(gsym(kind, i, j, gate=gate)) for j in range(1, cols + 1)] for i in range(1, rows + 1)])
    want = []
    for t in range(1, T + 1):
        dh = np.zeros(H)
        if net.dense:
            e = np.array([float(d.errors[gsym("q", k, t=t).name].xreplace(values)) for k in range(1, net.outputs + 1)])
            dh = dh + mat("v", H, net.outputs) @ e
        else:
            dh = dh + np.array([float(sympy.diff(net.loss.term(gsym("h", j, t=t), gsym("t", j, t=t)),
                                                 gsym("h", j, t=t)).xreplace(values)) for j in range(1, H + 1)])
        if flows(net, t, d.truncate):
            plain = ("i", "f", "o", "g") if net.cell == "lstm" else ("r", "z")
            for g in plain:
                dh = dh + mat("w", H, H, g) @ vec("delta", t + 1, g)
            if net.cell == "gru":
                dh = dh + vec("r", t + 1) * (mat("w", H, H, "n") @ vec("delta", t + 1, "n"))
                dh = dh + vec("z", t + 1) * vec("delta", t + 1, "h")
        want += list(dh)
    return bool(np.allclose(got, want, rtol=1e-9, atol=1e-12))
