"""Names of a convolutional network's quantities (the README's "Convolution and pooling" table).

A feature map's entry carries its channel and position: ``z123[2]`` is channel 1, row 2,
column 3 of layer 2 (``x123`` of the inputs); a kernel element ``kcduv[k]`` takes output
channel c, input channel d and the offsets u, v inside the kernel; a dense layer after the
maps keeps the dense names, its weights ``wmj[k]`` indexed by the flattened position m.
As everywhere, indices run together unless one has two or more digits, then commas part
them (``z1,10,3[2]``).

>>> n = MapName("k", (1, 2, 3, 1), 1)
>>> n.name, sympy.latex(n), MapName("delta", (1, 10, 2), 3).name
('k1231[1]', 'k_{1231}^{[1]}', 'delta1,10,2[3]')
"""
from __future__ import annotations

import re

import sympy

from ._errors import NotationError
from ._names import _index_text

_LATEX = {"k": "k", "w": "w", "b": "b", "z": "z", "a": "a", "x": "x", "t": "t", "delta": "\\delta"}
_RANK = {"k": 0, "w": 0, "b": 1, "x": 2, "a": 2, "z": 3, "t": 4, "delta": 5}
_PLAIN = re.compile(r"(delta|δ|[kwbzaxt])([0-9]+(?:,[0-9]+)*)(?:\[([0-9]+)\])?\Z")


def plain(kind: str, indices: tuple, layer: int | None) -> str:
    text = kind + _index_text(tuple(indices))
    return text if layer is None else f"{text}[{layer}]"


class MapName(sympy.Symbol):
    """A name of the notation with any number of indices; prints itself in text and LaTeX."""

    #: every one is made real=True, so Basic.compare of two comes down to their names (``_names.product``)
    ordered_by_name = True

    def __new__(cls, kind: str, indices: tuple, layer: int | None = None):
        obj = sympy.Symbol.__xnew__(cls, plain(kind, indices, layer), real=True)
        obj.letter, obj.indices, obj.layer = kind, tuple(indices), layer
        return obj

    def __getnewargs_ex__(self):
        return (self.letter, self.indices, self.layer), {}

    def print_key(self):
        return (_RANK[self.letter], self.layer or 0, self.indices)

    def _sympystr(self, printer):
        if self.letter == "delta" and getattr(printer, "unicode_names", False):
            return "δ" + self.name[len("delta"):]
        return self.name

    def _latex(self, printer):
        head = f"{_LATEX[self.letter]}_{{{_index_text(self.indices)}}}"
        return head if self.layer is None else head + f"^{{[{self.layer}]}}"


def _sort_key(self, order=None):
    key = f"{_RANK[self.letter]}{self.letter}{(self.layer or 0):06d}" + "".join(f"{i:06d}" for i in self.indices)
    return self.class_key(), (1, (key,)), sympy.S.One.sort_key(), sympy.S.One


MapName.sort_key = _sort_key


def read(text: str, want) -> tuple:
    """(kind, indices, layer) of a plain name typed by a user; ``want(kind, layer)`` says how many
    indices that name takes in this network (None: no such name).  NotationError says how to write it."""
    m = _PLAIN.match(text.strip())
    if not m:
        raise NotationError(f"'{text}' is not a name of this network: write e.g. k1111[1], b1[2], z111[2], "
                            "a111[2], delta111[2], x111, w11[3] or t1")
    kind = "delta" if m.group(1) == "δ" else m.group(1)
    digits, layer = m.group(2), None if m.group(3) is None else int(m.group(3))
    n = want(kind, layer)
    if n is None:
        where = f"[{layer}]" if layer is not None else ""
        raise NotationError(f"'{text}': this network has no {kind}…{where}; see the derivation for its names")
    if "," in digits:
        indices = tuple(int(p) for p in digits.split(","))
    elif n == 1:
        indices = (int(digits),)
    elif len(digits) == n:
        indices = tuple(int(c) for c in digits)
    else:
        raise NotationError(f"'{text}': {kind} takes {n} indices here; write one digit each, or part them "
                            f"with commas, e.g. {kind}{','.join(['1'] * (n - 1))},10" + (f"[{layer}]" if layer else ""))
    if len(indices) != n or min(indices) < 1:
        raise NotationError(f"'{text}': {kind} takes {n} indices counted from 1 here")
    return kind, indices, layer
