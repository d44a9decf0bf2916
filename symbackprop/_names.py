"""Names of the quantities, made and printed in one place (DESIGN.md §1.1).

Every quantity is a :class:`Name`, a SymPy symbol whose ``.name`` is the plain
ASCII form (``w11[2]``, ``delta1[3]``) and which prints itself in unicode text
(``δ1[3]``) and in LaTeX (``\\delta_{1}^{[3]}``).

>>> weight(1, 2, 3), latex_name("w12[3]")
(w12[3], 'w_{12}^{[3]}')
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import sympy

from ._errors import NotationError
from ._symbols import real_symbol

# kind → (unicode text, LaTeX) of the letter
_LETTERS = {
    "w": ("w", "w"), "b": ("b", "b"), "z": ("z", "z"), "a": ("a", "a"),
    "x": ("x", "x"), "t": ("t", "t"), "delta": ("δ", "\\delta"),
}
_LAYERED = {"w", "b", "z", "a", "delta"}
_TWO_INDEX = {"w"}


#: the old name of NotationError, kept for code that catches it
NameError_ = NotationError


@dataclass(frozen=True)
class Parts:
    """A name taken apart: ``kind``, node ``indices`` and ``layer`` (None for x, t)."""

    kind: str
    indices: tuple[int, ...]
    layer: int | None = None


def _index_text(indices: tuple[int, ...]) -> str:
    # Indices run together unless one has two or more digits (DESIGN.md §1.1).
    if len(indices) > 1 and any(i >= 10 for i in indices):
        return ",".join(map(str, indices))
    return "".join(map(str, indices))


def plain(parts: Parts) -> str:
    """The ASCII plain name of ``parts``: ``w12,3[1]``, ``delta1[3]``, ``x2``."""
    text = parts.kind + _index_text(parts.indices)
    return text if parts.layer is None else f"{text}[{parts.layer}]"


_PLAIN_RE = re.compile(r"(delta|δ|[wbzaxt])([0-9]+(?:,[0-9]+)*)(?:\[([0-9]+)\])?\Z")


@lru_cache(maxsize=None)
def parse(text: str) -> Parts:
    """Take a plain name apart; raise NameError_ saying how to write it if it is not one.

    >>> parse("w12,3[1]")
    Parts(kind='w', indices=(12, 3), layer=1)
    """
    m = _PLAIN_RE.match(text.strip())
    if not m:
        raise NameError_(f"'{text}' is not a name: write e.g. w11[2], b1[3], z1[2], a1[2], delta1[3], x1 or t1")
    kind = "delta" if m.group(1) == "δ" else m.group(1)
    digits, layer = m.group(2), m.group(3)
    if (layer is None) != (kind not in _LAYERED):
        where = "needs a layer in brackets, e.g. " + kind + "1[2]" if layer is None else "takes no layer"
        raise NameError_(f"'{text}': {kind} {where}")
    indices = split_indices(text, kind, digits, 2 if kind in _TWO_INDEX else 1, f"[{layer}]")
    if layer is not None and int(layer) < 1:
        raise NameError_(f"'{text}': layers are counted from 1")
    return Parts(kind, indices, None if layer is None else int(layer))


def split_indices(text: str, kind: str, digits: str, want: int, suffix: str = "") -> tuple[int, ...]:
    """The node indices in ``digits`` (``12`` or ``12,3``), ``want`` of them, each ≥ 1.

    suffix: what follows the indices in the name (``[2]``, ``<3>``), for the messages.
    """
    if "," in digits:
        indices = tuple(int(p) for p in digits.split(","))
    elif want == 1:
        indices = (int(digits),)
    elif len(digits) == 2:
        indices = (int(digits[0]), int(digits[1]))
    elif len(digits) < 2:
        raise NameError_(f"'{text}': {kind} takes 2 node indices, e.g. {kind}11{suffix}")
    else:
        raise NameError_(
            f"'{text}' can be read more than one way: separate the two node indices with a comma, "
            f"e.g. {kind}{digits[0]},{digits[1:]}{suffix} or {kind}{digits[:-1]},{digits[-1]}{suffix}")
    if len(indices) != want or min(indices) < 1:
        raise NameError_(f"'{text}': {kind} takes {want} node index(es) counted from 1")
    return indices


def latex_name(name: str) -> str:
    """LaTeX for a plain name: ``w12,3[1]`` → ``w_{12,3}^{[1]}``."""
    parts = parse(name)
    text = f"{_LETTERS[parts.kind][1]}_{{{_index_text(parts.indices)}}}"
    return text if parts.layer is None else f"{text}^{{[{parts.layer}]}}"


def text_name(name: str, ascii_only: bool = False) -> str:
    """Plain-text form of a name: unicode ``δ1[3]`` or ASCII ``delta1[3]``."""
    if ascii_only or not name.startswith("delta"):
        return name
    return "δ" + name[len("delta"):]


class Name(sympy.Symbol):
    """A symbol of the notation; prints itself in text and LaTeX."""

    #: every one is made real=True, so Basic.compare of two comes down to their names (``product``)
    ordered_by_name = True

    def _sympystr(self, printer):
        return text_name(self.name, not getattr(printer, "unicode_names", False))

    def _latex(self, printer):
        return latex_name(self.name)


def symbol(kind: str, *indices: int, layer: int | None = None) -> Name:
    """The symbol for ``kind`` with node ``indices`` in ``layer``."""
    return Name(plain(Parts(kind, tuple(indices), layer)), real=True)


def weight(i: int, j: int, k: int) -> Name:
    """wij[k]: from node i of layer k to node j of layer k+1.

    >>> weight(12, 3, 1) == Name("w12,3[1]", real=True)
    True
    """
    # the plain name and its printing key written directly: 100k weights are made for 784-128-10
    name = weight_name(i, j, k)
    _KEYS[name] = (_RANK["w"], k, (i, j))
    return real_symbol(Name, name)


def weight_name(i: int, j: int, k: int) -> str:
    """The plain name of wij[k], without making its symbol (numeric code keys arrays by names).

    >>> weight_name(1, 2, 3), weight_name(12, 3, 1)
    ('w12[3]', 'w12,3[1]')
    """
    return f"w{i}{j}[{k}]" if i < 10 and j < 10 else f"w{i},{j}[{k}]"


def bias(j: int, k: int) -> Name:
    """bj[k]: the bias of node j of layer k."""
    return symbol("b", j, layer=k)


def zsym(j: int, k: int) -> Name:
    return symbol("z", j, layer=k)


def asym(j: int, k: int) -> Name:
    """aj[k]; in layer 1 this is the input xj."""
    return symbol("x", j) if k == 1 else symbol("a", j, layer=k)


def delta(j: int, k: int) -> Name:
    return symbol("delta", j, layer=k)


def target(j: int) -> Name:
    return symbol("t", j)


# Printing order of factors, after the seed: w·x, w·a, a·δ, w·δ.
_RANK = {"w": 0, "b": 1, "x": 2, "a": 2, "z": 3, "t": 4, "delta": 5}


def _sort_key(self, order=None):
    # a string key, as Symbol's own, so that it compares with every other symbol's;
    # numbers zero-padded so that w2,1 sorts before w10,1
    p = parse(self.name)
    key = f"{_RANK[p.kind]}{p.kind}{(p.layer or 0):06d}" + "".join(f"{i:06d}" for i in p.indices)
    return self.class_key(), (1, (key,)), sympy.S.One.sort_key(), sympy.S.One


Name.sort_key = _sort_key


def name_key(sym):
    """The printing key of a name (None for anything else): rank, layer, node indices.

    Other kinds of names (the recurrent network's) give theirs by a ``print_key`` method.
    """
    if isinstance(sym, Name):
        return _key_of(sym.name)
    key = getattr(sym, "print_key", None)
    return key() if key is not None else None


_KEYS: dict = {}
#: the rank of a weight in a printing key (``key_of``)
RANK_WEIGHT = _RANK["w"]


def key_of(name: str) -> tuple:
    """The printing key of a plain name: (rank, layer, node indices); weights' are known as they are made.

    >>> key_of("w12,3[1]") == (RANK_WEIGHT, 1, (12, 3))
    True
    """
    return _key_of(name)


def _key_of(name: str):
    key = _KEYS.get(name)
    if key is None:
        p = parse(name)
        key = _KEYS[name] = (_RANK[p.kind], p.layer or 0, p.indices)
    return key


def product(a: Name, b: Name) -> sympy.Expr:
    """a·b for two different names, made without SymPy's general Mul.flatten.

    The args are put in the order Mul itself would give (``Basic.compare``), so the
    result equals ``a * b`` exactly; a test holds it to that. 100k gradients need this.
    """
    if type(a) is type(b) and getattr(type(a), "ordered_by_name", False):
        # every Name is made real=True, so Basic.compare of two comes down to their names
        pair = (a, b) if a.name < b.name else (b, a)
    else:
        pair = (a, b) if a.compare(b) < 0 else (b, a)
    return sympy.Mul._from_args(pair, is_commutative=True)


def layer_symbols(rows: int, cols: int, k: int):
    """The weights wij[k] as a list of rows, made once per layer."""
    return [[weight(i, j, k) for j in range(1, cols + 1)] for i in range(1, rows + 1)]


class Generic(sympy.Symbol):
    """A name with letter indices, for the general form: ``wij[k]``, ``\\delta_{j}^{[k+1]}``.

    Its ``.name`` is the plain text form; ``kind``, ``letters`` and ``layer`` are kept
    in the name so that equal names are the same symbol.
    """

    def _parts(self):
        m = re.match(r"(delta|[wbzaxt])([a-z]+)(?:\[(.+)\])?\Z", self.name)
        return m.group(1), m.group(2), m.group(3)

    def _sympystr(self, printer):
        kind, letters, layer = self._parts()
        if getattr(printer, "unicode_names", False) and kind == "delta":
            return "δ" + self.name[len("delta"):]
        return self.name

    def _latex(self, printer):
        kind, letters, layer = self._parts()
        head = _LETTERS[kind][1] + "_{" + letters + "}"
        return head if layer is None else head + "^{[" + layer + "]}"


def _generic_sort_key(self, order=None):
    kind = self._parts()[0]
    return self.class_key(), (1, (f"{_RANK[kind]}{self.name}",)), sympy.S.One.sort_key(), sympy.S.One


Generic.sort_key = _generic_sort_key


def generic(kind: str, letters: str, layer: str | None = None) -> Generic:
    """The general-form symbol, e.g. generic("w", "ij", "k") prints wij[k] / w_{ij}^{[k]}."""
    return Generic(kind + letters + ("" if layer is None else f"[{layer}]"), real=True)


class Constant(sympy.Symbol):
    """A constant of the spec written as a letter, e.g. the penalty's ``lambda`` (λ, ``\\lambda``),
    ``lambda2`` (λ2, ``\\lambda_{2}``)."""

    def _sympystr(self, printer):
        head, tail = self.name[:6], self.name[6:]
        return (("λ" if getattr(printer, "unicode_names", False) else head) + tail) if head == "lambda" \
            else self.name

    def _latex(self, printer):
        tail = self.name[6:]
        return "\\lambda" + (f"_{{{tail}}}" if tail else "")


def constant(name: str) -> Constant:
    """The constant named ``name`` (``lambda``, ``lambda1``, ``lambda2``), positive."""
    return Constant(name, positive=True)
