"""A computational graph (DESIGN.md §5.3): named equations over leaves, the output last.

Its names print as they were written, in the order they were written (``x + f1``, not
``f1 + x``); its functions are ``_circuit_functions.py``'s; the gate each node is (add,
multiply, max, …) is read off its equation.  The text is read by ``_circuit_parse.py``; the
derivation is ``_circuit_derive.py``.

>>> from symbackprop._circuit_functions import Max
>>> x, y = Named("x", 0), Named("y", 4)
>>> gate_of(x * y), gate_of(x - y), gate_of(Max(x, y)), gate_of(1 / x), gate_of(x * y + 1)
('multiply', 'add', 'max', 'reciprocal', 'expression')
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property

import sympy

from . import _views as views
from ._circuit_functions import FUNCTIONS

#: the most nodes a graph may have (a single equation staged into gates included)
MAX_NODES = 300
_GREEK = {"alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "iota", "kappa", "lambda", "mu",
          "nu", "xi", "pi", "rho", "sigma", "tau", "phi", "chi", "psi", "omega"}


def latex_of(name: str) -> str:
    """A graph name in LaTeX: x, f_{1}, x_{\\mathrm{in}}, \\alpha, \\mathit{num}."""
    head, sep, tail = name.partition("_")
    if not sep:
        m = re.fullmatch(r"([A-Za-z]+)([0-9]*)", name)
        head, tail = m.groups() if m else (name, "")
    word = head if len(head) == 1 else f"\\{head}" if head in _GREEK else f"\\mathit{{{head}}}"
    if tail and not tail.isdigit():
        tail = "\\mathrm{" + tail.replace("_", "\\_") + "}"
    return word + (f"_{{{tail}}}" if tail else "")


class Named(sympy.Symbol):
    """A leaf or node of a graph, printed as written; ``rank`` is where it first appears in the
    spec, and the printers put the names of a sum or a product in that order (``print_key``).

    Two graphs may rank a name differently, so the rank is part of the symbol.
    """

    def __new__(cls, name: str, rank: int = 0):
        obj = sympy.Symbol.__xnew__(cls, name, real=True)
        obj.rank = rank
        return obj

    def __getnewargs_ex__(self):
        return (self.name, self.rank), {}

    def _hashable_content(self):
        return super()._hashable_content() + (self.rank,)

    def print_key(self):
        return (0, self.rank, self.name)

    def _sympystr(self, printer):
        return self.name

    def _latex(self, printer):
        return latex_of(self.name)


class Grad(sympy.Symbol):
    """The gradient of the output by a node, as a name: ∂f/∂q (``df/dq`` in ASCII and in the
    grammar verify reads)."""

    def __new__(cls, output: str, node: str):
        return super().__new__(cls, f"d{output}/d{node}", real=True)

    def parts(self) -> tuple[str, str]:
        top, bottom = self.name.split("/")
        return top[1:], bottom[1:]

    def print_key(self):
        return (-1, 0, self.name)

    def _sympystr(self, printer):
        of, by = self.parts()
        return f"∂{of}/∂{by}" if getattr(printer, "unicode_names", False) else self.name

    def _latex(self, printer):
        of, by = self.parts()
        return f"\\frac{{\\partial {latex_of(of)}}}{{\\partial {latex_of(by)}}}"


def _simple(a) -> bool:
    return a.is_Symbol or a.is_Number


def gate_of(expr: sympy.Expr) -> str:
    """The kind of gate a node's equation is: add, multiply, scale, reciprocal, square, power, max,
    min, identity, a function's name (exp, sigmoid, …), or expression (more than one operation)."""
    if expr.is_Symbol:
        return "identity"
    args = expr.args
    if expr.is_Add and all(_simple(t) or (t.is_Mul and len(t.args) == 2 and t.args[0] == -1 and t.args[1].is_Symbol)
                           for t in args):
        return "add"
    if expr.is_Mul and all(_simple(a) for a in args):
        return "multiply" if sum(1 for a in args if a.is_Symbol) > 1 else "scale"
    if expr.is_Pow and all(_simple(a) for a in args):
        return {-1: "reciprocal", 2: "square"}.get(expr.exp, "power") if expr.exp.is_Number else "power"
    if isinstance(expr, sympy.Function) and all(_simple(a) for a in args):
        return {"Abs": "abs"}.get(type(expr).__name__, type(expr).__name__)
    return "expression"


def tree(expr: sympy.Expr):
    """An equation's right side as plain nested tuples, for the NumPy reference (which reads no
    SymPy): ("var", name), ("num", v), ("add", [..]), ("mul", [..]), ("pow", base, exponent),
    ("call", function, [..])."""
    if expr.is_Symbol:
        return ("var", expr.name)
    if expr.is_Number or expr is sympy.E:
        return ("num", float(expr))
    parts = [tree(a) for a in expr.args]
    if expr.is_Add or expr.is_Mul:
        return ("add" if expr.is_Add else "mul", parts)
    if expr.is_Pow:
        return ("pow", *parts)
    name = {"Abs": "abs"}.get(type(expr).__name__, type(expr).__name__)
    return ("call", name, parts)


@dataclass(frozen=True)
class Circuit:
    """Named equations ``node = expr`` in evaluation order, the output last; the leaves are the names
    no equation defines.  ``staged``: one equation the tool cut into gates (f1, f2, …).

    >>> import symbackprop as sb
    >>> g = sb.graph("q = x + y; f = q*z")
    >>> [str(n) for n, _ in g.equations], [str(s) for s in g.leaves]
    (['q', 'f'], ['x', 'y', 'z'])
    """

    equations: tuple            # ((node symbol, expr), …)
    leaves: tuple               # leaf symbols, in the order they first appear
    parameters: tuple = ()      # plain names of the leaves the spec calls parameters
    staged: bool = False
    source: str = ""            # the equations as the user gave them

    kind = "graph"

    @property
    def output(self) -> Named:
        return self.equations[-1][0]

    @property
    def nodes(self) -> tuple:
        return tuple(n for n, _ in self.equations)

    @cached_property
    def by_name(self) -> dict:
        """Plain name → symbol, for every leaf and node."""
        return {s.name: s for s in (*self.leaves, *self.nodes)}

    @property
    def n_parameters(self) -> int:
        return len(self.leaves)

    @property
    def generic(self) -> bool:
        """Whether an equation calls the generic g (then there are no numbers)."""
        g = FUNCTIONS["g"]
        return any(e.has(g) for _, e in self.equations)

    def inputs(self, node) -> list:
        """The names a node's equation uses, in the order they were written."""
        expr = dict(self.equations)[node]
        return sorted(expr.free_symbols, key=lambda s: s.rank)

    def gate(self, node) -> str:
        return gate_of(dict(self.equations)[node])

    def has(self, name: str) -> bool:
        return name.strip() in self.by_name

    def describe(self) -> str:
        leaves = ", ".join(s.name for s in self.leaves)
        return f"graph of {len(self.equations)} node{'s' * (len(self.equations) > 1)}, output {self.output.name}, " \
               f"leaves {leaves}"

    def __repr__(self) -> str:
        return views.short("Circuit", self.describe())

    def as_dict(self) -> dict:
        out = {"kind": "graph", "equations": self.source, "output": self.output.name}
        return {**out, "parameters": list(self.parameters)} if self.parameters else out

    @property
    def program(self) -> tuple:
        """((node name, tree), …): the equations for the NumPy reference."""
        return tuple((n.name, tree(e)) for n, e in self.equations)
