"""Names of the gated recurrent cells (LSTM, GRU): ``ui11``, ``wf12``, ``bo1``, ``si1<2>``, ``deltac1<2>``.

Each gate has a letter: LSTM i (input), f (forget), o (output), g (candidate cell);
GRU r (reset), z (update), n (candidate state; its arrays are DESIGN.md §5.4's U_h,
W_h, b_h).  With gate letter γ, unit j, step t:

==================  ==========================================================
``uγij``            weight, input i → gate γ of unit j (shared over time)
``wγij``            weight, hidden i at t−1 → gate γ of unit j
``bγj``             bias of gate γ of unit j (only with biases)
``vij``, ``cj``     output layer (output = "dense"): hidden i → output j, bias
``xi<t>``           input
``sγj<t>``          gate pre-activation, Σ uγ·x + Σ wγ·h<t−1> (+ bγ); its δ is ``deltaγj<t>``
``γj<t>``           the gate's value: ``ij<t>``, ``fj<t>``, ``oj<t>``, ``gj<t>``, ``rj<t>``,
                    ``zj<t>``, ``nj<t>``
``rhj<t>``          GRU: rj<t>·hj<t−1>, the reset hidden state that n's sum reads
``cj<t>``           LSTM cell state (``cj<0>`` a leaf, 0 unless given); ∂E/∂cj<t> is ``deltacj<t>``
``hj<t>``           hidden state (``hj<0>`` a leaf); ∂E/∂hj<t> is ``deltahj<t>``
``qj<t>``, ``yj<t>``  output layer: Σ v·h (+ c) and its output activation (o is the output gate)
``tj<t>``           target (of yj<t>, or of hj<t> when output = "hidden")
==================  ==========================================================

``c1`` (no step) is the output bias and ``c1<2>`` the cell state.  Indices are written
together unless one has two digits (``ui12,3``), as everywhere else.

>>> gsym("u", 1, 2, gate="i"), gsym("delta", 1, gate="c", t=2), parse("wf12")
(ui12, deltac1<2>, ('w', 'f', (1, 2), None))
>>> import sympy
>>> sympy.latex(gsym("s", 1, gate="f", t=2)), sympy.latex(gsym("rh", 3, t=1))
('s_{f,1}^{\\\\langle 2 \\\\rangle}', '(r \\\\odot h)_{3}^{\\\\langle 1 \\\\rangle}')
"""
from __future__ import annotations

import re
from functools import lru_cache

import sympy

from . import _names as names

GATES = {"lstm": ("i", "f", "o", "g"), "gru": ("r", "z", "n")}
SHARED = ("u", "w", "b", "v", "c")               # no time step
_GATED = ("u", "w", "b", "s", "delta")           # take a gate letter
_TWO = ("u", "w", "v")                           # two node indices
_ORDER = ("u", "w", "b", "v", "c", "x", "s", "i", "f", "o", "g", "r", "z", "rh", "n", "cell", "h",
          "q", "y", "t", "delta")
_RANK = {k: n for n, k in enumerate(_ORDER)}
_GATE_RANK = {g: n for n, g in enumerate("ifogrznch")}
_PLAIN = re.compile(r"(?:(delta|[uwbs])([ifogrzn])|(delta[hc]|rh|[vcxthqyifogrzn]))"
                    r"([0-9]+(?:,[0-9]+)*)(?:<([0-9]+)>)?\Z")


@lru_cache(maxsize=None)
def parse(text: str):
    """(kind, gate, indices, step) of a plain gated-cell name; ``deltac1<2>`` is ('delta', 'c', (1,), 2).

    Raises names.NameError_ saying how to write a name it cannot read.
    """
    m = _PLAIN.match(text.strip())
    if not m:
        raise names.NameError_(f"'{text}' is not a name of a gated cell: write e.g. ui11, wf12, bo1, v11, c1, "
                               "x1<2>, si1<2>, deltai1<2>, i1<2>, c1<2>, h1<2>, deltah1<2>, q1<2>, y1<2>, t1<2>")
    kind, gate = (m.group(1), m.group(2)) if m.group(1) else (m.group(3), "")
    if kind.startswith("delta") and not gate:
        kind, gate = "delta", kind[5:]
    digits, t = m.group(4), m.group(5)
    if kind != "c" and (t is None) != (kind in SHARED):       # c1 the output bias, c1<2> the cell
        how = "takes no time step (the weights are shared)" if t is not None else \
            f"needs a time step in angle brackets, e.g. {kind}{gate}1<2>"
        raise names.NameError_(f"'{text}': {kind}{gate} {how}")
    indices = names.split_indices(text, kind + gate, digits, 2 if kind in _TWO else 1, "" if t is None else f"<{t}>")
    return kind, gate, indices, (None if t is None else int(t))


class GateName(sympy.Symbol):
    """A name of a gated cell; prints itself (plain, δ in Unicode, LaTeX)."""

    def parts(self):
        return parse(self.name)

    def _sympystr(self, printer):
        if getattr(printer, "unicode_names", False) and self.name.startswith("delta"):
            return "δ" + self.name[5:]
        return self.name

    def _latex(self, printer):
        kind, gate, indices, t = self.parts()
        index = names._index_text(indices)
        if kind == "rh":
            text = f"(r \\odot h)_{{{index}}}"
        else:
            letter = "\\delta" if kind == "delta" else kind
            text = f"{letter}_{{{gate + ',' if gate else ''}{index}}}"
        return text if t is None else f"{text}^{{\\langle {t} \\rangle}}"


def _sort_key(self, order=None):
    # printed order: weights, biases, then per kind by step, gate and node
    kind, gate, indices, t = self.parts()
    rank = _RANK["cell" if kind == "c" and t is not None else kind]
    key = f"{rank:02d}{(t or 0):06d}{_GATE_RANK.get(gate, 9)}" + "".join(f"{i:06d}" for i in indices)
    return self.class_key(), (1, (key,)), sympy.S.One.sort_key(), sympy.S.One


GateName.sort_key = _sort_key


def gsym(kind: str, *indices: int, gate: str = "", t: int | None = None) -> GateName:
    """The symbol ``kind gate indices <t>``: gsym("s", 1, gate="i", t=2) is si1<2>."""
    text = kind + gate + names._index_text(tuple(indices)) + ("" if t is None else f"<{t}>")
    return GateName(text, real=True)
