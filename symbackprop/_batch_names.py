"""Names of a layer stack over a batch of samples (normalisation and dropout layers).

Every per-sample quantity carries its sample in angle brackets, as an RNN's carries its step:
``z1[2]<3>`` is node 1 of layer 2 for sample 3, ``x1<3>`` and ``t1<3>`` the input and target.
Parameters have none: ``w11[1]``, ``b1[2]``, ``gamma1[3]``, ``beta1[3]``.  A batch-norm layer k
has per node the batch statistics ``mu1[3]``, ``var1[3]``, ``sigma1[3]``; a layer-norm layer per
sample ``mu[3]<2>`` …; both the centred ``d1[3]<2>`` and normalised ``xhat1[3]<2>`` inputs.  A
dropout layer's mask is ``m1[4]<2>`` (0 or 1).  δ names ∂E/∂z: ``delta1[3]<2>``.

>>> n = BName("xhat", (1,), 3, 2)
>>> n.name, sympy.latex(n), sympy.latex(BName("mu", (), 2, 1))
('xhat1[3]<2>', '\\\\hat{x}_{1}^{[3]\\\\langle 2 \\\\rangle}', '\\\\mu^{[2]\\\\langle 1 \\\\rangle}')
>>> read("δ1[3]<2>")
('delta', (1,), 3, 2)
"""
from __future__ import annotations

import re

import sympy

from ._errors import NotationError
from ._names import _index_text

_LATEX = {"delta": "\\delta", "gamma": "\\gamma", "beta": "\\beta", "mu": "\\mu", "sigma": "\\sigma",
          "var": "\\operatorname{var}", "xhat": "\\hat{x}"}
LETTERS = ("w", "b", "gamma", "beta", "x", "m", "z", "a", "mu", "var", "sigma", "d", "xhat", "t", "delta")
_RANK = {k: n for n, k in enumerate(LETTERS)}
_PLAIN = re.compile(r"(delta|δ|gamma|γ|beta|β|mu|μ|var|sigma|σ|xhat|[wbxmzadt])([0-9]+(?:,[0-9]+)*)?"
                    r"(?:\[([0-9]+)\])?(?:<([0-9]+)>)?\Z")
_GREEK = {"δ": "delta", "γ": "gamma", "β": "beta", "μ": "mu", "σ": "sigma"}


class BName(sympy.Symbol):
    """letter indices [layer] <sample>; σ is positive, every other name real."""

    ordered_by_name = True

    def __new__(cls, letter: str, indices: tuple = (), layer: int | None = None, sample: int | None = None):
        text = letter + _index_text(tuple(indices)) + (f"[{layer}]" if layer is not None else "") + \
            (f"<{sample}>" if sample is not None else "")
        kw = {"positive": True} if letter == "sigma" else {"real": True}
        obj = sympy.Symbol.__xnew__(cls, text, **kw)
        obj.letter, obj.indices, obj.layer, obj.sample = letter, tuple(indices), layer, sample
        return obj

    def __getnewargs_ex__(self):
        return (self.letter, self.indices, self.layer, self.sample), {}

    def _sympystr(self, printer):
        if getattr(printer, "unicode_names", False) and self.letter in ("delta", "gamma", "beta", "mu", "sigma"):
            glyph = {"delta": "δ", "gamma": "γ", "beta": "β", "mu": "μ", "sigma": "σ"}[self.letter]
            return glyph + self.name[len(self.letter):]
        return self.name

    def _latex(self, printer):
        head = _LATEX.get(self.letter, self.letter)
        if self.indices:
            head += f"_{{{_index_text(self.indices)}}}"
        sup = (f"[{self.layer}]" if self.layer is not None else "") + \
            (f"\\langle {self.sample} \\rangle" if self.sample is not None else "")
        return head + (f"^{{{sup}}}" if sup else "")


def _sort_key(self, order=None):
    key = (f"{(self.sample or 0):06d}{(self.layer or 0):06d}{_RANK[self.letter]:02d}"
           + "".join(f"{i:06d}" for i in self.indices))
    return self.class_key(), (1, (key,)), sympy.S.One.sort_key(), sympy.S.One


BName.sort_key = _sort_key


def read(text: str) -> tuple:
    """(letter, indices, layer, sample) of a typed name; NotationError saying how to write one.

    Indices run together (one digit each) unless commas part them; w takes two, the rest one
    (a layer norm's statistics none)."""
    m = _PLAIN.match(text.strip().replace(" ", ""))
    if not m:
        raise NotationError(f"'{text}' is not a name of this network: write e.g. w11[1], b1[2], gamma1[3], "
                            "z1[2]<1>, a1[2]<1>, delta1[2]<1>, xhat1[3]<2>, mu1[3], m1[4]<2>, x1<2> or t1<2>")
    letter = _GREEK.get(m.group(1), m.group(1))
    digits = m.group(2) or ""
    layer = None if m.group(3) is None else int(m.group(3))
    sample = None if m.group(4) is None else int(m.group(4))
    if "," in digits:
        indices = tuple(int(p) for p in digits.split(","))
    elif letter == "w" and len(digits) == 2:
        indices = (int(digits[0]), int(digits[1]))
    elif letter == "w":
        raise NotationError(f"'{text}': w takes two indices, e.g. w12[1] (or w1,10[1])")
    else:
        indices = (int(digits),) if digits else ()
    if any(i < 1 for i in indices):
        raise NotationError(f"'{text}': indices are counted from 1")
    return letter, indices, layer, sample


class Pattern(sympy.Symbol):
    """A name with letter indices for the general forms: δj[k]<s>, wij[k], σ<s> (prints as BName does)."""

    def __new__(cls, letter: str, index: str = "", layer=None, sample: str | None = None):
        text = letter + index + (f"[{layer}]" if layer is not None else "") + (f"<{sample}>" if sample else "")
        obj = sympy.Symbol.__xnew__(cls, text, **({"positive": True} if letter == "sigma" else {"real": True}))
        obj.letter, obj.index, obj.layer, obj.sample = letter, index, layer, sample
        return obj

    def __getnewargs_ex__(self):
        return (self.letter, self.index, self.layer, self.sample), {}

    _sympystr = BName._sympystr

    def _latex(self, printer):
        head = _LATEX.get(self.letter, self.letter) + (f"_{{{self.index}}}" if self.index else "")
        sup = (f"[{self.layer}]" if self.layer is not None else "") + \
            (f"\\langle {self.sample} \\rangle" if self.sample else "")
        return head + (f"^{{{sup}}}" if sup else "")
