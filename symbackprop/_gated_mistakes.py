"""The classic mistakes of backprop through an LSTM or GRU cell, as wrong answers.

Most are a slip in one δ's one-step formula, made at every step: the cell path left out of
δc<t> (no f<t+1>·δc<t+1>), the forget gate missing from it, φ'(c<t>) forgotten in the output
path h<t> = o<t>·φ(c<t>), a gate's σ' (the candidate's φ') missing, c<t> for c<t−1>; for the
GRU the direct path z<t+1>·δh<t+1> left out of δh<t>, z missing from it, r<t+1> missing on the
path through n, (1 − z) left out of δn or z and 1 − z swapped.  Such a slip is offered as the
left side's own formula with it, and as the right answer with the δ's it is written in
expanded (one, two, three levels) under the slipped formulas: a student who writes δf<t> with
δc<t> expanded makes the cell-path slip inside it.  Then the usual: one step of a gradient's sum
over time, h<t> for h<t−1>, the wrong sign, a factor 2.

>>> from symbackprop._gated import GatedRNN
>>> from symbackprop._gated_derive import derive_gated
>>> d = derive_gated(GatedRNN.build("lstm", 1, 1, 1, 2, output="hidden"), weights=())
>>> [name.split(" (")[0] for name, _ in slips(d)][:3]         # doctest: +NORMALIZE_WHITESPACE
['the cell path through time left out', 'the forget gate missing from the cell path',
 "tanh'(c<t>) forgotten in the output path"]
"""
from __future__ import annotations

from itertools import chain

import sympy

from ._elman import flows
from ._gated import SIGMOID
from ._gated_names import gsym, parse

#: how many levels of named δ's a slip is looked for under
LEVELS = 3
#: an expansion stops growing past this many operations
MOST_OPS = 3000


def _slip(d, change) -> dict:
    """{δ symbol: its formula with the slip} for every δ that ``change(gate, j, t, formula)`` alters."""
    found = {}
    for name, formula in d.deltas.items():
        _, gate, (j, *_), t = parse(name)
        new = change(gate, j, t, formula)
        if new is not None and new != formula:
            found[d.symbols[name]] = new
    return found


def slips(d):
    """(name, {δ: slipped formula}) of each slip in a δ's one-step formula that this cell can make."""
    net = d.network
    phi = net.activation
    S = lambda kind, j, t, gate="": gsym(kind, j, gate=gate, t=t)          # noqa: E731
    D = lambda gate, j, t: gsym("delta", j, gate=gate, t=t)               # noqa: E731
    nxt = lambda t: flows(net, t, d.truncate)                              # noqa: E731

    def prime(gate, j, t, f):
        act = phi if gate in ("g", "n") else SIGMOID
        return f.xreplace({act.prime(S("s", j, t, gate)): 1})
    if net.cell == "lstm":
        rules = [
            ("the cell path through time left out (no f<t+1>·δc<t+1> in δc<t>)",
             lambda g, j, t, f: f.xreplace({D("c", j, t + 1): 0}) if g == "c" and nxt(t) else None),
            ("the forget gate missing from the cell path (δc<t+1> without f<t+1>)",
             lambda g, j, t, f: f.xreplace({S("f", j, t + 1): 1}) if g == "c" and nxt(t) else None),
            (f"{phi.name}'(c<t>) forgotten in the output path (h<t> = o<t>·{phi.name}(c<t>))",
             lambda g, j, t, f: f.xreplace({phi.prime(S("c", j, t)): 1}) if g == "c" else None),
            ("c<t> in place of c<t−1> in δf<t> (the forget gate multiplies c<t−1>)",
             lambda g, j, t, f: f.xreplace({S("c", j, t - 1): S("c", j, t)}) if g == "f" else None)]
    else:
        rules = [
            ("the direct path through time left out (no z<t+1>·δh<t+1> in δh<t>)",
             lambda g, j, t, f: f.xreplace({D("h", j, t + 1): 0}) if g == "h" and nxt(t) else None),
            ("the update gate missing from the direct path (δh<t+1> without z<t+1>)",
             lambda g, j, t, f: f.xreplace({S("z", j, t + 1): 1}) if g == "h" and nxt(t) else None),
            ("the reset gate missing on the path through n (Σ wn·δn<t+1> without r<t+1>)",
             lambda g, j, t, f: f.xreplace({S("r", j, t + 1): 1}) if g == "h" and nxt(t) else None),
            ("(1 − z<t>) left out of δn<t>", lambda g, j, t, f: f.xreplace({S("z", j, t): 0}) if g == "n" else None),
            ("z<t> and 1 − z<t> swapped (h<t> = z<t>·h<t−1> + (1 − z<t>)·n<t>)",
             lambda g, j, t, f: f.xreplace({S("z", j, t): 1 - S("z", j, t)}) if g == "n" else None),
            ("h<t> in place of h<t−1>",
             lambda g, j, t, f: f.xreplace({S("h", j, t - 1): S("h", j, t)}) if g in ("z", "r") else None)]
    sig = [g for g in net.gates if g not in ("g", "n")]
    rules += [("a gate's σ' missing (sigmoid'(sγ<t>) left out of δγ<t>)",
               lambda g, j, t, f: prime(g, j, t, f) if g in sig else None),
              (f"the candidate's {phi.name}' missing ({phi.name}'(s<t>) left out of its δ)",
               lambda g, j, t, f: prime(g, j, t, f) if g in ("g", "n") else None),
              ("the recurrent term left out (δh<t> without the next step's gates)",
               lambda g, j, t, f: f.xreplace({D(k, i, t + 1): 0 for k in (*net.gates, "h")
                                              for i in range(1, net.hidden + 1)}) if g == "h" else None)]
    for name, change in rules:
        table = _slip(d, change)
        if table:
            yield name, table


def expansions(d, lhs_delta, right: sympy.Expr, table: dict):
    """The right answer with a slip: the left side's own slipped formula, then the answer with its δ's
    expanded level by level under the slipped formulas (once a slipped δ has been expanded)."""
    full = {**{d.symbols[k]: v for k, v in d.deltas.items()}, **table}
    cur, slipped = right, False
    if lhs_delta is not None and lhs_delta in table:
        cur, slipped = table[lhs_delta], True
        yield cur
    for _ in range(LEVELS):
        slipped = slipped or bool(cur.free_symbols & table.keys())
        nxt = cur.xreplace(full)
        if nxt == cur or sympy.count_ops(nxt) > MOST_OPS:
            return
        cur = nxt
        if slipped:
            yield cur


def _usual(d, eq, right: sympy.Expr):
    """One step of a sum over time, h<t> for h<t−1> (or h<t−1> for r<t>·h<t−1>), the sign, a factor 2."""
    net = d.network
    kind, gate, _, t = parse(eq.lhs_name)
    if t is None:
        uses = d.sweep.uses[d.symbols[eq.lhs_name]]
        for use, term in uses if len(uses) > 1 else ():
            yield f"a missing sum over time (only step {parse(use.node.name)[3]})", term
    if kind == "w" and gate != "n":
        hs = {s for s in right.free_symbols if s.name.startswith("h") and parse(s.name)[3] < net.steps}
        yield "h<t> in place of h<t−1>", right.xreplace({h: gsym("h", *parse(h.name)[2], t=parse(h.name)[3] + 1)
                                                        for h in hs})
    if kind == "w" and gate == "n":
        rh = {s: gsym("h", *parse(s.name)[2], t=parse(s.name)[3] - 1) for s in right.free_symbols
              if s.name.startswith("rh")}
        yield "the reset gate left out of wn's gradient (h<t−1> in place of r<t>·h<t−1>)", right.xreplace(rh)
    yield "the wrong sign (t − y in place of y − t)", -right
    yield "a missing ½ factor, or an extra 2", 2 * right
    yield "an extra ½ factor, or a missing 2", right / 2


def delta_name(name: str) -> str | None:
    """The δ a left side is: δγj<t> of sγj<t>, δhj<t> of hj<t>, δcj<t> of the cell cj<t>; None for others."""
    kind, gate, indices, t = parse(name)
    if t is None:
        return None
    if kind in ("delta", "s"):
        return gsym("delta", *indices, gate=gate, t=t).name
    if kind in ("h", "c"):
        return gsym("delta", *indices, gate=kind, t=t).name
    return None


def mistakes(d, eq, right: sympy.Expr):
    """(name, wrong answer) for each classic mistake that applies to the equation's left side."""
    lhs = delta_name(eq.lhs_name)
    lhs = d.symbols[lhs] if lhs is not None else None
    found = ((name, wrong) for name, table in slips(d) for wrong in expansions(d, lhs, right, table))
    named: dict = {}                   # wrong answer → its names (two slips may give the same answer)
    for name, wrong in chain(found, _usual(d, eq, right)):
        if wrong != right and name not in named.setdefault(wrong, []):
            named[wrong].append(name)
    for wrong, found_names in named.items():
        yield ", or ".join(found_names), wrong
