"""Reading a hand derivation: ``LHS = RHS`` in plain text, unicode or LaTeX.

LaTeX is first rewritten into the plain grammar by a small scanner (commands
and brace groups, nothing evaluated); the plain text is then parsed by
``_grammar`` with names resolved against the network.

>>> import symbackprop as sb
>>> eq = parse_equation(sb.network("2-3-1"), r"\\frac{\\partial E}{\\partial w_{11}^{[2]}} = \\delta_{1}^{[3]} a_{1}^{[2]}")
>>> eq.lhs_kind, eq.lhs_name, eq.rhs
('partial', 'w11[2]', a1[2]*delta1[3])
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import sympy

from . import _names as names
from ._activations import ACTIVATIONS
from ._grammar import ELEMENTARY, MAX_LENGTH, ParseError, parse_expression
from ._latex_reading import plain_text, undelimited  # noqa: F401 (undelimited: read here by other readers)
from ._network import Network

ETA = sympy.Symbol("eta", positive=True)

# ---------------------------------------------------------------- names of a network
def functions_for(net: Network) -> dict:
    """Function names a hand derivation may use for ``net``: g, g', exp, log, σ, every activation f and f'."""
    table = dict(ELEMENTARY)
    same = {a.name for a in net.activations if not a.output_only}
    for act in ACTIVATIONS.values():
        if act.inline or act.output_only:
            continue
        f, fp = act.functions
        table[act.name], table[act.name + "'"] = f, fp
    table["σ"], table["σ'"] = table["sigmoid"], table["sigmoid'"]
    for act in net.activations:
        if act.function_name:          # custom: f, h, …
            f, fp = act.functions
            table[act.function_name], table[act.function_name + "'"] = f, fp
    if len(same) == 1 and "g" not in same:
        # one activation throughout: g and g' are the seed's names for it
        only = next(a for a in net.activations if not a.output_only)
        if not only.inline:
            table["g"], table["g'"] = only.functions
    return table


def resolver(net: Network):
    """name → symbol for the names of ``net`` (and η); None for an unknown name."""
    def resolve(text: str, column: int):
        if text in ("eta", "η"):
            return ETA
        lam = {f"{head}{tail}": net.penalty_symbol(kind) for kind, _ in net.penalty
               for head in ("lambda", "λ") for tail in ("", kind[1])[len(net.penalty) - 1:]}
        if text in lam:
            return lam[text]
        if text in ("lambda", "λ") and net.penalty:
            raise ParseError("with both penalties, write λ1 (l1) or λ2 (l2)", column)
        try:
            parts = names.parse(text)
        except names.NameError_ as err:
            if re.match(r"(delta|δ|[wbzaxt])[0-9]", text):
                raise ParseError(str(err), column) from None
            return None
        if not _exists(net, parts):
            raise ParseError(f"{text} is not in the {'-'.join(map(str, net.layers))} network", column)
        return names.Name(names.plain(parts), real=True)
    return resolve


def _exists(net: Network, p: names.Parts) -> bool:
    if p.kind in ("w", "b"):
        return net.has(names.plain(p))
    if p.kind == "x":
        return p.indices[0] <= net.layers[0]
    if p.kind == "t":
        return p.indices[0] <= net.layers[-1]
    if p.kind == "a" and p.layer == 1:
        return False
    return 2 <= p.layer <= net.depth and p.indices[0] <= net.layers[p.layer - 1]


# ---------------------------------------------------------------- equations
@dataclass(frozen=True)
class Equation:
    text: str
    lhs_kind: str          # "partial" (∂E/∂name) or "delta"
    lhs_name: str          # plain name of what the left side is of
    rhs: sympy.Expr


_LHS_PARTIAL = re.compile(r"(?:d|∂)\s*E\s*/\s*(?:d|∂)\s*(\S+)\Z")


@dataclass(frozen=True)
class Reading:
    """How one kind of network reads a left side and names: ``target(name)`` → (kind, plain
    name, in the network?), raising NameError_ for a malformed name; ``partials``: what ∂E/∂
    may be taken of; ``resolve`` and ``functions`` for the right side; examples for messages."""

    target: object
    partials: tuple
    resolve: object
    functions: dict
    example: str            # an equation, e.g. dE/dw11[2] = a1[2]*delta1[3]
    delta: str              # how a δ is written, in general and by example: δj[k], delta1[2]
    delta_example: str
    nodes: str              # the nodes ∂E/∂ may be taken of besides parameters: "z or a"
    shape: str              # "2-3-1 network"
    size: object = None     # size(kind, position, layer) → how many values an index there runs over


def dense_reading(net: Network) -> Reading:
    def target(text):
        parts = names.parse(text)
        inside = _exists(net, parts) and (parts.kind != "delta" or 2 <= parts.layer <= net.depth)
        return parts.kind, names.plain(parts), inside
    return Reading(target, ("w", "b", "z", "a"), resolver(net), functions_for(net),
                   "dE/dw11[2] = a1[2]*delta1[3]", "δj[k]", "delta1[2]", "z or a",
                   "-".join(map(str, net.layers)) + " network", lambda kind, n, k: _size(net, kind, n, k))


def _size(net: Network, kind: str, position: int, layer: int | None) -> int | None:
    """The nodes an index of a dense name runs over: wij[k] (i in layer k, j in k+1), δj[k], x, t."""
    if kind in ("x", "t"):
        return net.layers[0 if kind == "x" else -1]
    if layer is None or not 1 <= layer <= net.depth:
        return None
    if kind == "w":
        return net.layers[layer - 1 + position] if layer < net.depth else None
    return net.layers[layer - 1] if kind in ("b", "z", "a", "delta") else None


def read_left(lhs: str, reading: Reading) -> tuple[str, str]:
    """("partial" | "delta", plain name) of a left side ∂E/∂name or δj…; ParseError at column 1."""
    lhs = lhs.strip()
    example = reading.example.split(" =")[0]
    if not lhs:
        raise ParseError(f"the left side is empty: write e.g. {example}", 1)
    m = _LHS_PARTIAL.match(lhs.replace("(", "").replace(")", ""))
    if m:
        kind, target = "partial", m.group(1)
    elif re.match(r"(delta|δ)", lhs):
        kind, target = "delta", lhs.replace(" ", "")
    else:
        raise ParseError(f"left side {lhs!r} is not ∂E/∂name or {reading.delta}: write e.g. {example} or "
                         f"{reading.delta_example}", 1)
    try:
        found, name, inside = reading.target(target)
    except names.NameError_ as err:
        raise ParseError(f"left side: {err}", 1) from None
    if kind == "delta" and found != "delta":
        raise ParseError(f"left side {lhs!r} is not a δ", 1)
    if kind == "partial" and found not in reading.partials:
        raise ParseError(f"left side ∂E/∂{target}: differentiate by a weight, bias, {reading.nodes}", 1)
    if not inside:
        raise ParseError(f"left side: {target} is not in the {reading.shape}", 1)
    return kind, name


def read_right(text: str, reading: Reading, offset: int = 0, resolve=None) -> sympy.Expr:
    """A right side; a ParseError's column counts from the line's start (``offset`` characters before)."""
    if not text.strip():
        raise ParseError("the right side is empty", offset + len(text) + 1)
    try:
        return parse_expression(text, resolve or reading.resolve, reading.functions)
    except ParseError as err:
        raise ParseError(str(err).rsplit(" (at column", 1)[0], err.column + offset) from None


def parse_equation(net, text: str, reading: Reading | None = None) -> Equation:
    """Split ``text`` at its '=' and read both sides; ParseError (with a column) when it cannot."""
    reading = reading or dense_reading(net)
    if len(text) > MAX_LENGTH:
        raise ParseError(f"the equation is {len(text):,} characters long; the limit is {MAX_LENGTH:,}", MAX_LENGTH)
    plain = plain_text(text)
    if plain.count("=") == 0:
        raise ParseError(f"no '=': write e.g. {reading.example}", len(plain) + 1)
    if plain.count("=") > 1:
        raise ParseError("more than one '=': give one equation per line", plain.index("=", plain.index("=") + 1) + 1)
    left, right = plain.split("=")
    if left.strip() and not right.strip():
        raise ParseError("the right side is empty", len(plain) + 1)
    kind, name = read_left(left, reading)
    return Equation(text, kind, name, read_right(right, reading, len(left) + 1))
