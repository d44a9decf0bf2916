"""Reading an equation spec: ``"q = x + y; f = q*z"``, or one equation staged into gates.

The text goes through the grammar's own parser (``_grammar.py``), with max(u, v) and
min(u, v) added; nothing of it is evaluated.  Equations may come in any order; a name
defined twice, a cycle, an unknown function, an empty side or a node the output does not
use is an error naming it.  A single equation with several operations is staged: each
operation becomes a gate named after the output (f1, f2, …), in the order it was written,
and a subexpression written twice is one gate used twice.

>>> from symbackprop._printing import plain
>>> c = parse_circuit("f = (x + sigmoid(y))/(sigmoid(x) + (x + y)^2)")
>>> [f"{n} = {plain(e)}" for n, e in c.equations][:3], c.staged
(['f1 = sigmoid(y)', 'f2 = x + f1', 'f3 = sigmoid(x)'], True)
>>> [f"{n} = {plain(e)}" for n, e in c.equations][-3:]
['f6 = f3 + f5', 'f7 = 1/f6', 'f = f2*f7']
"""
from __future__ import annotations

import math
import re

import sympy

from ._circuit import MAX_NODES, Circuit, Named
from ._circuit_functions import FUNCTIONS, TWO_ARGUMENTS, Reader, evaluated
from ._errors import LimitError, ParseError, SpecError
from ._grammar import MAX_LENGTH, tokenize

NAME = re.compile(r"[A-Za-z][A-Za-z_]*[0-9]*\Z")
EXAMPLE = "q = x + y; f = q*z"


def _checked(node: str, expr):
    for number in expr.atoms(sympy.Number):
        try:
            finite = math.isfinite(float(number))
        except OverflowError:
            finite = False
        if not finite:
            raise SpecError(f"{node}: a constant in its equation is too large for a number (the most is about 1e308)")
    if expr.has(sympy.zoo, sympy.oo, -sympy.oo, sympy.nan):
        raise SpecError(f"{node}: a division by zero (or the log of 0) in its equation: change the constant")
    if expr.has(sympy.I):
        raise SpecError(f"{node}: its equation is not a real number (a root or power of a negative constant)")
    return expr


class _Stager:
    """One equation cut into gates, one operation each, numbered in the order they were written."""

    def __init__(self, where: dict, node: str, offset: int):
        self.where, self.node, self.offset, self.memo, self.gates = where, node, offset, {}, []

    def pos(self, u) -> int:
        found = self.where.get(u)
        return self.offset + found if found is not None else min((self.pos(a) for a in u.args), default=10 ** 9)

    def value(self, u):
        if not u.args or not u.free_symbols:
            return _checked(self.node, evaluated(u))
        if u in self.memo:
            return self.memo[u]
        args = sorted(u.args, key=self.pos)
        if u.is_Add:         # x − y is one gate: a term −t subtracts t
            parts = [-self.value(a.func(*a.args[1:]) if len(a.args) > 2 else a.args[1])
                     if a.is_Mul and a.args[0] == -1 else self.value(a) for a in args]
            expr = sympy.Add(*parts)
        elif u.is_Mul:
            numbers = [evaluated(a) for a in args if not a.free_symbols]
            expr = sympy.Mul(*numbers, *[self.value(a) for a in args if a.free_symbols])
        elif u.is_Pow:
            expr = sympy.Pow(self.value(u.base), self.value(u.exp))
        else:
            expr = u.func(*[self.value(a) for a in args])
        expr = _checked(self.node, expr)
        if expr.is_Atom or not expr.free_symbols:
            found = expr
        else:
            if len(self.gates) >= MAX_NODES:
                raise LimitError(f"{self.node}: the expression has over {MAX_NODES} operations; the limit is "
                                 f"{MAX_NODES} gates: split it into equations, or shorten it")
            found = Named(f"_{len(self.gates)}", self.pos(u))
            self.gates.append((found, expr))
        self.memo[u] = found
        return found


def _gate_names(out: Named, count: int, taken: set) -> list:
    """f1, f2, … (f_1, … after a name ending in a digit, or when those are taken)."""
    stem = out.name + ("_" if out.name[-1].isdigit() else "")
    for pattern in (stem + "{}", out.name + "_{}", "node{}"):
        names = [pattern.format(n) for n in range(1, count + 1)]
        if not taken & set(names):
            return names
    raise SpecError(f"cannot name the gates of {out.name}: rename the leaves called {out.name}1, {out.name}_1, node1")


def stage(out: Named, root, where: dict, offset: int, leaves: set):
    """((node, expr), …) of one equation cut into gates, the last one named ``out``; ``where``: the
    column (after ``offset``) where each subexpression starts."""
    stager = _Stager(where, out.name, offset)
    top = stager.value(root)
    kept, wanted = [], {top}
    for node, expr in reversed(stager.gates):      # the gates the output uses, nothing else
        if node in wanted:
            kept.append((node, expr))
            wanted |= expr.free_symbols
    kept.reverse()
    if not kept or kept[-1][0] != top:
        return ((out, top),)
    names = _gate_names(out, len(kept) - 1, {s.name for s in leaves} | {out.name})
    rename = {node: Named(name, node.rank) for (node, _), name in zip(kept, names)}
    rename[top] = out
    return tuple((rename[node], expr.xreplace(rename)) for node, expr in kept)


def _pieces(text: str) -> list:
    """(column, equation text) of each equation: split at ';' and new lines, '#' comments dropped."""
    out, start = [], 0
    for line in text.split("\n"):
        code = line.split("#", 1)[0]
        column = start
        for part in code.split(";"):
            if part.strip():
                out.append((column, part))
            column += len(part) + 1
        start += len(line) + 1
    return out


def _first_uses(text: str) -> dict:
    """name → the column where it first appears (how the printers order names)."""
    found = {}
    for column, part in _pieces(text):
        try:
            for tok in tokenize(part):
                if tok.kind == "name":
                    found.setdefault(tok.text, column + tok.column)
        except ParseError:
            pass                                 # reported with its equation below
    return found


def _split(column: int, part: str, n: int, single: bool) -> tuple:
    where = "the equation" if single else f"equation {n}"
    if part.count("=") != 1:
        problem = "no '='" if "=" not in part else "more than one '='"
        raise SpecError(f"{where} ({part.strip()!r}): {problem}; write one name = expression each, e.g. {EXAMPLE}")
    left, right = (s.strip() for s in part.split("="))
    after = part[part.index("=") + 1:]
    if not NAME.match(left):
        raise SpecError(f"{where}: the left side {left!r} is not a name; write e.g. q = x + y "
                        "(a name is letters, then digits: x, w1, x_in)")
    if left in FUNCTIONS or left in TWO_ARGUMENTS:
        raise SpecError(f"{where}: {left} is a function's name; call the node something else")
    if not right:
        raise SpecError(f"{where}: the right side of {left} is empty; write e.g. {left} = x*y")
    return where, left, right, column + part.index("=") + 1 + len(after) - len(after.lstrip())


def _order(equations: dict, out: str) -> list:
    """The nodes in an order where each comes after those it uses (the given order where it can)."""
    uses = {n: {s.name for s in e.free_symbols} & equations.keys() for n, e in equations.items()}
    placed, order = set(), []
    while len(order) < len(uses):
        ready = next((n for n in uses if n not in placed and uses[n] <= placed), None)
        if ready is None:
            start = next(n for n in uses if n not in placed)
            path = [start]
            while path.count(path[-1]) < 2:
                path.append(next(iter(sorted(uses[path[-1]] - placed))))
            cycle = path[path.index(path[-1]):]
            said = ", ".join(f"{a} uses {b}" for a, b in zip(cycle, cycle[1:]))
            raise SpecError(f"the equations go round in a cycle ({said}): no node may depend on itself")
        placed.add(ready)
        order.append(ready)
    wanted, needed = {out}, [out]
    while needed:
        for s in uses[needed.pop()] - wanted:
            wanted.add(s)
            needed.append(s)
    unused = [n for n in order if n not in wanted]
    if unused:
        raise SpecError(f"{unused[0]} is defined but the output {out} does not use it: remove it, or make it the "
                        f"output (the last equation, or output = \"{unused[0]}\" in a spec file)")
    return order


def parse_circuit(text, output: str | None = None, parameters=()) -> Circuit:
    """The graph of an equation spec; SpecError (one line, naming the equation) when it is not one."""
    if not isinstance(text, str):
        raise SpecError(f"the equations must be text such as {EXAMPLE!r}, not {type(text).__name__}")
    if len(text) > MAX_LENGTH:
        raise LimitError(f"the equations are {len(text):,} characters long; the limit is {MAX_LENGTH:,}")
    pieces = _pieces(text)
    if not pieces:
        raise SpecError(f"no equation: write e.g. {EXAMPLE}")
    if len(pieces) > MAX_NODES:
        raise LimitError(f"{len(pieces):,} equations; the limit is {MAX_NODES}")
    ranks = _first_uses(text)
    split = [_split(c, p, n, len(pieces) == 1) for n, (c, p) in enumerate(pieces, start=1)]
    defined: dict = {}
    for n, (where, left, _, _) in enumerate(split, start=1):
        if left in defined:
            raise SpecError(f"{left} is defined twice (equations {defined[left]} and {n}): give each node one equation")
        defined[left] = n
    symbols = {name: Named(name, ranks.get(name, 0)) for name in defined}

    def resolve(name: str, column: int):
        if not NAME.match(name):
            raise ParseError(f"{name!r} is not a name of a graph: use letters, then digits (x, w1, x_in)", column)
        if name in TWO_ARGUMENTS:
            raise ParseError(f"{name} is a function: write {name}(u, v)", column)
        return symbols.setdefault(name, Named(name, ranks.get(name, 0)))

    parsed = {}
    for where, left, right, offset in split:
        try:
            reader = Reader(right, resolve, FUNCTIONS)
            with sympy.evaluate(False):
                parsed[left] = (reader.parse(), reader.where, offset)
        except ParseError as err:
            message = str(err).rsplit(" (at column", 1)[0]
            raise SpecError(f"{where}: {message} (at column {err.column + offset})") from None
    out = output if output is not None else split[-1][1]
    if out not in defined:
        raise SpecError(f"output = {out!r} is not defined by an equation; the nodes are {', '.join(defined)}")
    leaves = {s for name, s in symbols.items() if name not in defined}
    exprs = {name: _checked(name, evaluated(expr)) for name, (expr, _, _) in parsed.items()}
    order = _order(exprs, out)                    # a cycle (a node using itself) is refused here
    if len(split) == 1 and leaves:
        equations = stage(symbols[out], *parsed[out], leaves)
    else:
        equations = tuple((symbols[n], exprs[n]) for n in order)
    if len(equations) > MAX_NODES:
        raise LimitError(f"the graph has {len(equations):,} nodes; the limit is {MAX_NODES}: split the expression")
    used = set().union(*(e.free_symbols for _, e in equations))
    found = sorted((s for s in used if s.name not in defined and s not in {n for n, _ in equations}),
                   key=lambda s: s.rank)
    if not found:
        raise SpecError(f"the output {out} uses no leaf (a name no equation defines): it is a constant")
    names = {s.name for s in found}
    for p in parameters:
        if p not in names:
            raise SpecError(f"parameters: {p!r} is not a leaf of the graph; the leaves are "
                            f"{', '.join(s.name for s in found)}")
    return Circuit(tuple(equations), tuple(found), tuple(parameters), len(equations) > 1 and len(split) == 1, text)
