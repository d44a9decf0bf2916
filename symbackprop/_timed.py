"""Names with a time step, for unrolled recurrent networks: ``w12``, ``h1<2>``, ``delta1<3>``.

>>> sym("h", 1, t=2), parse_name("delta1<3>")
(h1<2>, ('delta', (1,), 3))
"""
from __future__ import annotations

import re
from functools import lru_cache

import sympy

from . import _names as names

_TEXT = {"delta": ("δ", "\\delta")}
_SHARED = ("u", "w", "v", "b", "c")           # no time index
_TWO = ("u", "w", "v")
_RANK = {k: n for n, k in enumerate(("u", "w", "v", "b", "c", "x", "h", "s", "o", "y", "t", "delta"))}
_PLAIN = re.compile(r"(delta|δ|[uwvbcxtshoy])([0-9]+(?:,[0-9]+)*)(?:<([0-9]+)>)?\Z")


class TimeName(sympy.Symbol):
    """A name of the recurrent network: ``w12``, ``h1<2>``, ``delta1<3>``; prints itself."""

    #: every one is made real=True (``sym``), so SymPy's Basic.compare of two comes down to their
    #: names: weighted sums and products of them are made without Add's and Mul's flatten
    ordered_by_name = True

    def compare(self, other) -> int:
        """SymPy's Basic.compare, straight from the names when both are TimeNames: Add and Mul sort
        their terms with it, a hundred thousand calls in a 10-20-5 network over 20 steps."""
        if type(other) is TimeName:
            return (self.name > other.name) - (self.name < other.name)
        return super().compare(other)

    def parts(self):
        return parse_name(self.name)

    def print_key(self):
        kind, indices, t = self.parts()
        return (_RANK[kind], t or 0, indices)

    def _sympystr(self, printer):
        if getattr(printer, "unicode_names", False) and self.name.startswith("delta"):
            return "δ" + self.name[5:]
        return self.name

    def _latex(self, printer):
        kind, indices, t = self.parts()
        letter = _TEXT.get(kind, (kind, kind))[1]
        text = f"{letter}_{{{names._index_text(indices)}}}"
        return text if t is None else f"{text}^{{\\langle {t} \\rangle}}"


def _sort_key(self, order=None):
    kind, indices, t = self.parts()
    key = f"{_RANK[kind]:02d}{kind}{(t or 0):06d}" + "".join(f"{i:06d}" for i in indices)
    return self.class_key(), (1, (key,)), sympy.S.One.sort_key(), sympy.S.One


TimeName.sort_key = _sort_key


@lru_cache(maxsize=None)
def parse_name(text: str):
    """(kind, indices, time) of a plain name; raise NameError_ saying how to write it.

    >>> parse_name("w12"), parse_name("delta1<3>")
    (('w', (1, 2), None), ('delta', (1,), 3))
    """
    m = _PLAIN.match(text.strip())
    if not m:
        raise names.NameError_(f"'{text}' is not a name of a recurrent network: write e.g. w12, u11, v11, "
                               "b1, c1, x1<2>, h1<2>, s1<2>, o1<2>, y1<2>, t1<2> or delta1<2>")
    kind = "delta" if m.group(1) == "δ" else m.group(1)
    digits, t = m.group(2), m.group(3)
    if (t is None) != (kind in _SHARED):
        how = "takes no time step (the weights are shared)" if t is not None else \
            f"needs a time step in angle brackets, e.g. {kind}1<2>"
        raise names.NameError_(f"'{text}': {kind} {how}")
    indices = names.split_indices(text, kind, digits, 2 if kind in _TWO else 1, "" if t is None else f"<{t}>")
    return kind, indices, (None if t is None else int(t))


def sym(kind: str, *indices: int, t: int | None = None) -> TimeName:
    text = kind + names._index_text(tuple(indices)) + ("" if t is None else f"<{t}>")
    return TimeName(text, real=True)


class GenericStep(sympy.Symbol):
    """A recurrent name with letter indices and step, for general statements: ``δj<t>``,
    ``s_{j}^{\\langle t \\rangle}``."""

    def _sympystr(self, printer):
        if getattr(printer, "unicode_names", False) and self.name.startswith("delta"):
            return "δ" + self.name[len("delta"):]
        return self.name

    def _latex(self, printer):
        kind, letters, t = re.match(r"(delta|[a-z])([a-z]+|[0-9]+)(?:<(.+)>)?\Z", self.name).groups()
        step = "" if t is None else f"^{{\\langle {t} \\rangle}}"
        return f"{_TEXT.get(kind, (kind, kind))[1]}_{{{letters}}}{step}"


# ---------------------------------------------------------------- reading hand derivations
def functions(net) -> dict:
    """As for a feedforward net; g and g' also name the hidden activation."""
    from ._equation import functions_for
    table = functions_for(net)
    hidden = net.activation
    if hidden.name != "g" and not hidden.inline:
        table["g"], table["g'"] = hidden.functions
    return table


def resolver(net):
    """name → symbol for the names of the recurrent ``net`` (and η); None for an unknown name."""
    from ._equation import ETA
    from ._grammar import ParseError

    def resolve(text: str, column: int):
        if text in ("eta", "η"):
            return ETA
        try:
            kind, indices, t = parse_name(text)
        except names.NameError_ as err:
            if re.match(r"(delta|δ|[uwvbcxtshoy])[0-9]", text):
                raise ParseError(str(err), column) from None
            return None
        if not net.exists(kind, indices, t):
            raise ParseError(f"{text} is not in the {net.describe()}", column)
        return sym(kind, *indices, t=t)
    return resolve


def reading(net):
    """verify's reading of ``∂E/∂w12 = …``, ``δ1<2> = …`` (or ∂E/∂ of u, v, b, c, s, h, o)."""
    from ._equation import Reading

    def target(text):
        kind, indices, t = parse_name(text)
        inside = net.exists(kind, indices, t) and not (kind == "h" and t == 0)
        return kind, sym(kind, *indices, t=t).name, inside
    return Reading(target, ("u", "w", "v", "b", "c", "s", "h", "o"), resolver(net), functions(net),
                   "dE/dw11 = h1<0>*delta1<1> + …", "δj<t>", "delta1<2>", "s, h or o", net.describe(),
                   lambda kind, n, t: _size(net, kind, n))


def _size(net, kind: str, position: int) -> int | None:
    """The nodes an index of a recurrent name runs over: uij (i an input, j hidden), wij, vij, h, s, δ, …"""
    rows = {"u": ("inputs", "hidden"), "w": ("hidden", "hidden"), "v": ("hidden", "outputs"), "b": ("hidden",),
            "c": ("outputs",), "x": ("inputs",), "h": ("hidden",), "s": ("hidden",), "delta": ("hidden",),
            "o": ("outputs",), "y": ("outputs",), "t": ("outputs",)}.get(kind, ())
    return getattr(net, rows[position]) if position < len(rows) else None
