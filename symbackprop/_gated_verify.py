"""Checking a hand derivation on an LSTM or GRU: verify's reading of its names, its right answers.

A left side is ∂E/∂ of a shared parameter (``dE/dwf11``, ``dE/dui12``, ``dE/dbo1``, ``dE/dv11``,
``dE/dc1``), of a node (``dE/dh1<2>``, ``dE/dc1<2>`` the cell, ``dE/dsf1<2>``, ``dE/dq1<2>``, a gate's
value ``dE/df1<2>``) or a δ (``deltac1<1>``, ``δh1<2>``, ``δf1<2>``); names as in ``_gated_names``.
The right answer is one step of the recursion, as one writes it: δh<t> from this step's outputs
and the next step's gates, δc<t> from h<t> and, along the cell path, f<t+1>·δc<t+1>, a gate's δ
from what it feeds times its σ' (φ' for the candidate), a weight's gradient the sum over the
steps of what it multiplies times the δ.  The named mistakes are in ``_gated_mistakes``.

The gate letters i (LSTM input) and n (GRU candidate) are also index letters of the general
forms (``δi[2] = …``), so a gated cell's equations are read one by one (``check_chain`` here),
not as general forms: the kind's verifier is ``VERIFIER``.

>>> from symbackprop._gated import GatedRNN
>>> from symbackprop._gated_derive import derive_gated
>>> from symbackprop._sampler import Sampler
>>> net = GatedRNN.build("lstm", 1, 1, 1, 2, output="hidden")
>>> d = derive_gated(net, weights=())
>>> v = check_chain(d, reading(net), RULES, Sampler(d), "δc1<1> = o1<1>·δh1<1>·tanh'(c1<1>)")
>>> bool(v), v.diagnosis
(False, 'the cell path through time left out (no f<t+1>·δc<t+1> in δc<t>)')
"""
from __future__ import annotations

import re
from types import SimpleNamespace

import sympy

from . import _chain as chain
from . import _names as names
from ._equation import ETA, Reading, functions_for
from ._errors import ParseError
from ._gated import SIGMOID
from ._gated_mistakes import delta_name, mistakes
from ._gated_names import gsym, parse
from ._sampler import Sampler

_SUM = re.compile(r"Σ|\\sum|(?<![A-Za-z])sum\s*_")
_LOOKS = re.compile(r"(delta[a-z]?|δ[a-z]?|[uwbs][a-z]|rh|[vcxthqyifogrzn])[0-9]")


# ---------------------------------------------------------------- names
def exists(net, kind: str, gate: str, indices: tuple, t: int | None) -> bool:
    """Whether the parsed name is one of ``net``'s (h<0> and, LSTM, c<0> included)."""
    I, H, O, T = net.inputs, net.hidden, net.outputs, net.steps
    lstm = net.cell == "lstm"
    if t is None:
        if kind in ("u", "w", "b"):
            ok = gate in net.gates and (kind != "b" or net.bias)
            limits = {"u": (I, H), "w": (H, H), "b": (H,)}[kind]
        else:
            ok = net.dense and (kind == "v" or net.bias)
            limits = (H, O) if kind == "v" else (O,)
        return ok and all(1 <= i <= n for i, n in zip(indices, limits))
    if kind == "delta":
        ok = gate in net.gates or gate == "h" or (gate == "c" and lstm)
    elif kind == "s":
        ok = gate in net.gates
    else:
        ok = kind in ("x", "t", "h") or kind in net.gates or (kind == "c" and lstm) or \
            (kind == "rh" and not lstm) or (kind in ("q", "y") and net.dense)
    low = 0 if kind in ("h", "c") else 1
    size = {"x": I, "t": O, "q": O, "y": O}.get(kind, H)
    return ok and low <= t <= T and 1 <= indices[0] <= size


def _parts(text: str):
    return parse(text.strip().replace(" ", "").replace("δ", "delta"))


def resolver(net):
    """name → symbol for the names of the gated ``net`` (and η); None for a word that is no name."""
    def resolve(text: str, column: int):
        if text in ("eta", "η"):
            return ETA
        try:
            kind, gate, indices, t = _parts(text)
        except names.NameError_ as err:
            if _LOOKS.match(text):
                raise ParseError(str(err), column) from None
            return None
        if not exists(net, kind, gate, indices, t):
            raise ParseError(f"{text} is not in the {net.describe()}", column)
        return gsym(kind, *indices, gate=gate, t=t)
    return resolve


def functions(net) -> dict:
    """As for a feedforward net (σ, tanh, every activation and its derivative), and phi, phi' the
    cell activation φ (the grammar reads no φ)."""
    table = functions_for(SimpleNamespace(activations=(SIGMOID, net.activation, net.output_activation)))
    if not net.activation.inline:
        f, fp = net.activation.functions
        table.update({"phi": f, "phi'": fp})
    return table


def reading(net) -> Reading:
    """verify's reading of ``∂E/∂wf11 = …``, ``δc1<2> = …`` (or ∂E/∂ of u, b, v, c, s, h, c<t>, q, y, a
    gate's value)."""
    def target(text):
        kind, gate, indices, t = _parts(text)
        inside = exists(net, kind, gate, indices, t) and t != 0
        return kind, gsym(kind, *indices, gate=gate, t=t).name, inside
    first = net.gates[1]                        # f or z: the gate whose letter is no index letter
    partials = ("u", "w", "b", "v", "c", "s", "h", "q", "y", "rh", *net.gates)
    return Reading(target, partials, resolver(net), functions(net),
                   f"dE/dw{first}11 = h1<0>*delta{first}1<1> + …", "δγj<t>", "deltah1<1>",
                   "s, h, c<t>, q, y or a gate's value", net.describe(), lambda kind, n, t: None)


# ---------------------------------------------------------------- right answers
def expected(d, eq) -> sympy.Expr:
    """verify's right answer: a parameter's gradient (Σ over the steps), a δ as one step of the
    recursion, ∂E/∂q<t> the output error, ∂E/∂ of another node over the δ's of what it feeds."""
    name = eq.lhs_name
    if parse(name)[3] is None:
        return d.gradients[name]
    delta = delta_name(name)
    if delta is not None:
        return d.deltas[delta]
    if name in d.errors:
        return d.errors[name]
    return d.sweep.adjoint[d.symbols[name]]


RULES = (expected, mistakes)        # the gated cells' right answers and named mistakes


# ---------------------------------------------------------------- checking lines
def _foreign(d, exprs) -> str | None:
    """A hint when an answer uses an activation (or its derivative) the cell does not have."""
    from ._activations import ACTIVATIONS
    own = {a.name for a in d.activations}
    used = sorted({type(f).__name__ for e in exprs for f in e.atoms(sympy.Function)})
    foreign = [n for n in used if n.rstrip("'") in ACTIVATIONS and n.rstrip("'") not in own | {"g"}]
    if not foreign:
        return None
    return (f"you wrote {foreign[0]}, but this cell's activations are {' and '.join(sorted(own))}: "
            f"--activation {foreign[0].rstrip(chr(39))} would check it against that")


def check_chain(d, reading_, rules, sampler, text: str):
    """One Verdict for a line ``lhs = step 1 = step 2 = …`` (each step held against the left side);
    read as it is written, never as a general form (its gate letters are no index letters)."""
    found = _SUM.search(text)
    if found:
        first = reading_.example.split(" + ")[0]
        raise ParseError("a gated cell's equations are read as written, with no Σ or letter indices: write the sum "
                         f"out, e.g. {first} + …", found.start() + 1)
    kind, name, steps = chain.read_steps(d, reading_, rules[0], text)
    return chain.decide_steps(d, rules, sampler, text, kind, name, steps, _foreign(d, [r for _, _, r in steps]))


def verify_lines(d, reading_, rules, sampler, lines) -> tuple[list, bool, bool]:
    """Every line checked, reported as verify reports a network's: (lines, all right, any read)."""
    return chain.verify_lines(d, reading_, rules, sampler, lines, check=check_chain)


VERIFIER = (check_chain, verify_lines, Sampler)     # the kind's verifier (_kinds.Kind.verifier)
