"""Checking a hand derivation on a graph: ``df/dx = z``, ``∂f/∂x = ∂f/∂q·∂q/∂x = z``, or LaTeX.

A left side is the output's gradient by a node or leaf (``df/dx``, ``∂f/∂x``,
``\\frac{\\partial f}{\\partial x}``) or a local gradient (``dq/dx``).  Inside a step, ``∂f/∂q``
is the output's gradient by q and ``∂q/∂x`` q's local gradient by x.  Each step is decided by
verify's ``decide`` at random points where the graph is defined; a wrong answer is matched
against the usual mistakes of backprop on a circuit.

>>> import symbackprop as sb
>>> g = sb.graph("q = x + y; f = q*z")
>>> bool(sb.verify(g, "df/dx = z")), sb.verify(g, "df/dz = z").diagnosis
(True, 'a multiply gate not swapped (∂f/∂z taken as z, not q)')
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import sympy

from . import _chain as chain
from ._chain import decide_steps, split_steps
from ._circuit_functions import ANSWER_FUNCTIONS, TWO_ARGUMENTS, Reader, local
from ._circuit_numeric import valid_points
from ._equation import Equation, plain_text, undelimited
from ._errors import ParseError, SpecError
from ._printing import text as printed
from ._sampler import POINTS, Sampler

_NAME = r"[A-Za-z][A-Za-z_]*[0-9]*"
_PARTIAL = re.compile(rf"(?<![A-Za-z0-9_])(?:∂|d)\s*({_NAME})\s*/\s*(?:∂|d)\s*({_NAME})(?![A-Za-z0-9_(])")
_FRACTION = re.compile(rf"\(\(\s*∂\s*({_NAME})\s*\)\s*/\s*\(\s*∂\s*({_NAME})\s*\)\)")   # LaTeX's \frac, read


@dataclass(frozen=True)
class GraphReading:
    """How a graph's equations are read: its names, its output, an example for messages."""

    names: dict
    output: str
    example: str
    nodes: frozenset = frozenset()


def reading(net) -> GraphReading:
    out, leaf = net.output.name, net.leaves[0].name
    return GraphReading(dict(net.by_name), out, f"d{out}/d{leaf} = …", frozenset(n.name for n in net.nodes))


def plain_name(text: str) -> str:
    return text.strip()


def _partials(d, reading: GraphReading, plain: str, column: int):
    """(text with each ∂a/∂b as a placeholder name, placeholder → value)."""
    found = {}

    def swap(m):
        of, by = m.group(1), m.group(2)
        if of not in reading.names or by not in reading.names:
            if of in reading.names or by in reading.names:
                missing = by if of in reading.names else of
                raise ParseError(f"∂{of}/∂{by}: {missing} is not a name of the graph", column + m.start())
            return m.group(0)
        key = "_" * max(1, len(m.group(0)) - len(str(len(found)))) + str(len(found))
        found[key] = _value_of(d, reading, of, by, column + m.start())
        return key
    return _PARTIAL.sub(swap, _FRACTION.sub(swap, plain)), found


def _value_of(d, reading: GraphReading, of: str, by: str, column: int):
    """∂of/∂by inside a step: the output's gradient (named), or a node's local gradient."""
    if of == reading.output:
        return _expected(d, Equation("", "partial", by, sympy.S.Zero))
    if of not in d.forward:
        raise ParseError(f"∂{of}/∂{by}: {of} is a leaf; write ∂{reading.output}/∂… or ∂node/∂input", column)
    return local(d.forward[of], reading.names[by])


def _left(reading: GraphReading, text: str) -> tuple[str, str]:
    """("partial", name) for ∂f/∂name, ("local", "q/x") for ∂q/∂x; ParseError at column 1 otherwise."""
    plain = plain_text(text).strip()
    m = _PARTIAL.fullmatch(plain) or _FRACTION.fullmatch(plain)
    if m is None or m.group(1) not in reading.names or m.group(2) not in reading.names:
        raise ParseError(f"left side {text.strip()!r}: write the output's gradient, e.g. {reading.example}, "
                         "or a local gradient ∂node/∂input", 1)
    of, by = m.groups()
    if of != reading.output and of not in reading.nodes:
        raise ParseError(f"left side ∂{of}/∂{by}: {of} is a leaf; write ∂{reading.output}/∂{by} or ∂node/∂input", 1)
    return ("partial", by) if of == reading.output else ("local", f"{of}/{by}")


def _right(d, reading: GraphReading, part: str, column: int):
    plain = plain_text(part)
    swapped, found = _partials(d, reading, plain, column)
    if not swapped.strip():
        raise ParseError("the right side is empty", column + len(part))

    def resolve(name, col):
        if name in found or name in reading.names:
            return found.get(name, reading.names.get(name))
        raise ParseError(f"unknown name {name!r}; the graph's names are {', '.join(reading.names)}", col)
    try:
        return Reader(swapped, resolve, ANSWER_FUNCTIONS, TWO_ARGUMENTS).parse()
    except ParseError as err:
        raise ParseError(str(err).rsplit(" (at column", 1)[0], column + err.column - 1) from None


def check_chain(d, reading: GraphReading, rules, sampler, text: str):
    """A Verdict for the line (truthy when every step equals the left side), one per step in ``steps``."""
    parts = split_steps(undelimited(text))
    if len(parts) < 2:
        raise ParseError(f"no '=': write e.g. {reading.example}", len(text) + 1)
    kind, name = _left(reading, parts[0][1])
    steps = [(column + len(part) - len(part.lstrip()), part.strip(), _right(d, reading, part, column))
             for column, part in parts[1:]]
    return decide_steps(d, rules, sampler, text, kind, name, steps)


def verify_lines(d, reading: GraphReading, rules, sampler, lines) -> tuple[list, bool, bool]:
    """Every line checked, reported as verify reports a network's: (lines, all right, any read)."""
    return chain.verify_lines(d, reading, rules, sampler, lines, check=check_chain)


class GraphSampler(Sampler):
    """verify's random points, the leaves where the graph is defined and smooth (log, sqrt, 1/x)."""

    def __init__(self, d, seed: int = 0):
        super().__init__(d, seed)
        if d.network.generic:       # the generic g is a random smooth function: any point will do
            return
        try:
            points = valid_points(d.network, self.rng, POINTS)
        except SpecError:           # kinks everywhere: any finite point (both sides take the same step there)
            points = valid_points(d.network, self.rng, POINTS, margin=-1.0)
        for leaf in d.base_symbols():
            self.values[leaf] = points[leaf.name]
        for key, rhs in [*d.forward.items(), *d.deltas.items()]:
            self.values[d.symbols[key]] = self._lambdified(rhs)


# ---------------------------------------------------------------- right answers and mistakes
def _expected(d, eq) -> sympy.Expr:
    """The tool's answer: ∂f/∂leaf named, ∂f/∂node over its consumers' named gradients, or a local one."""
    if eq.lhs_kind == "local":
        of, by = eq.lhs_name.split("/")
        return local(d.forward[of], d.symbols[by])
    out = d.network.output.name
    if eq.lhs_name == out:
        return sympy.S.One
    return d.gradients[eq.lhs_name] if eq.lhs_name in d.gradients else d.deltas[f"d{out}/d{eq.lhs_name}"]


def _paths(d, node) -> list:
    """Every chain of (consumer, input, local) from the output down to node."""
    s, out = d.sweep, d.network.output
    if node == out:
        return [[]]
    uses = s.terms.get(node) or [(c, c.derivative(node)) for c, _ in s.uses.get(node, ())]
    return [path + [(c.node, node, value)] for c, value in uses for path in _paths(d, c.node)]


def _count(d, node) -> int:
    """How many paths lead from the output down to node (a leaf: through each gate it feeds)."""
    s = d.sweep
    if node in s.terms or node == d.network.output:
        return s.count_paths(node)
    return sum(s.count_paths(c.node) for c, _ in s.uses.get(node, ()))


def _total(paths, change=lambda link: link[2]) -> sympy.Expr:
    return sympy.Add(*[sympy.Mul(*[change(link) for link in path]) for path in paths])


def _mistakes(d, eq, expected):
    """(name, wrong answer) for the usual mistakes of backprop through a circuit."""
    net, out = d.network, d.network.output.name
    partial = (lambda of, by: f"∂{of}/∂{by}")
    if eq.lhs_kind == "local":
        of, by = eq.lhs_name.split("/")
        if net.gate(d.symbols[of]) == "multiply":
            yield f"a multiply gate not swapped (∂{of}/∂{by} taken as {by})", d.symbols[by]
        yield "the wrong sign", -expected
        return
    node = d.symbols[eq.lhs_name]
    paths = _paths(d, node) if _count(d, node) <= 24 else []
    if not paths or paths == [[]]:
        yield "the wrong sign", -expected
        return
    for link in dict.fromkeys(link for p in paths for link in p if link[2].could_extract_minus_sign()):
        yield (f"a sign lost at {link[0]} ({partial(link[0], link[1])} = {printed(link[2])})",
               _total(paths, lambda k, at=link: -k[2] if k == at else k[2]))
    yield "the wrong sign", -expected
    consumers = {p[-1][0]: p[-1][2] for p in paths}
    yield (f"the upstream gradient dropped (only the local gradient{'s' * (len(consumers) > 1)} "
           f"{', '.join(partial(c, eq.lhs_name) for c in consumers)})"), sympy.Add(*consumers.values())
    for c in consumers if len(consumers) > 1 else ():
        through = _total([p for p in paths if p[-1][0] == c])
        yield f"a fan-out not summed (only the path through {c})", through
        if len(consumers) > 2:
            yield f"a fan-out not fully summed (the path through {c} left out)", expected - through
    for p in paths if len(paths) > len(consumers) else ():
        yield f"a fan-out not summed (only the path {' ← '.join([out, *(str(link[1]) for link in p)])})", _total([p])
    for gate in dict.fromkeys(link[0] for p in paths for link in p):
        if net.gate(gate) == "multiply":
            swapped = next(link for p in paths for link in p if link[0] == gate)
            yield (f"a multiply gate not swapped ({partial(gate, swapped[1])} taken as {swapped[1]}, not "
                   f"{printed(swapped[2])})"), _total(paths, lambda k, g=gate: k[1] if k[0] == g else k[2])


RULES = (_expected, _mistakes)
