"""Verifying hand derivations for recurrent networks: names with time steps, BPTT mistakes.

The deciding is ``_verify.decide``'s (random points, symbolic confirmation where cheap);
this module reads the equations and knows the right answers and the usual mistakes.

>>> import symbackprop as sb
>>> net = sb.rnn(1, 1, 1, 2, activation="tanh")
>>> bool(sb.verify(net, "dE/dw11 = h1<0>*delta1<1> + h1<1>*delta1<2>"))
True
>>> sb.verify(net, "dE/dw11 = h1<1>*delta1<2>").diagnosis
'a missing sum over time (only step 2)'
"""
from __future__ import annotations

import re

import sympy

from . import _names as names
from ._equation import ETA, Equation, functions_for, latex_to_plain, looks_like_latex
from ._grammar import MAX_LENGTH, ParseError, parse_expression

from ._elman import derive_rnn, flows
from ._rnn import RNN, RNNDerivation, TimeName, parse_name, sym
from ._verify import _deltas_expanded

_LHS_PARTIAL = re.compile(r"(?:d|∂)\s*E\s*/\s*(?:d|∂)\s*(\S+)\Z")


def functions_rnn(net: RNN) -> dict:
    """As for a feedforward net; g and g' also name the hidden activation."""
    table = functions_for(net)
    hidden = net.activation
    if hidden.name != "g" and not hidden.inline:
        table["g"], table["g'"] = hidden.functions
    return table


def resolver_rnn(net: RNN):
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


def parse_rnn_equation(net: RNN, text: str) -> Equation:
    """``∂E/∂w12 = …``, ``δ1<2> = …`` (or ∂E/∂ of u, v, b, c, s, h, o) in plain text, unicode or LaTeX."""
    if len(text) > MAX_LENGTH:
        raise ParseError(f"the equation is {len(text):,} characters long; the limit is {MAX_LENGTH:,}", MAX_LENGTH)
    line = latex_to_plain(text) if looks_like_latex(text) else text
    line = line.replace("\\", " ")
    if line.count("=") != 1:
        where = len(line) + 1 if "=" not in line else line.index("=", line.index("=") + 1) + 1
        raise ParseError("write one equation with one '=', e.g. dE/dw11 = h1<0>*delta1<1> + …", where)
    left, right = line.split("=")
    lhs = left.strip()
    m = _LHS_PARTIAL.match(lhs.replace("(", "").replace(")", ""))
    if m:
        kind, target = "partial", m.group(1)
    elif re.match(r"(delta|δ)", lhs):
        kind, target = "delta", lhs.replace(" ", "")
    else:
        raise ParseError(f"left side {lhs!r} is not ∂E/∂name or δj<t>: write e.g. dE/dw11 or delta1<2>", 1)
    try:
        p_kind, indices, t = parse_name(target)
    except names.NameError_ as err:
        raise ParseError(f"left side: {err}", 1) from None
    if kind == "delta" and p_kind != "delta":
        raise ParseError(f"left side {lhs!r} is not a δ", 1)
    if kind == "partial" and p_kind not in ("u", "w", "v", "b", "c", "s", "h", "o"):
        raise ParseError(f"left side ∂E/∂{target}: differentiate by a weight, bias, s, h or o", 1)
    if not net.exists(p_kind, indices, t) or (p_kind == "h" and t == 0):
        raise ParseError(f"left side: {target} is not in the {net.describe()}", 1)
    if not right.strip():
        raise ParseError("the right side is empty", len(line) + 1)
    try:
        rhs = parse_expression(right, resolver_rnn(net), functions_rnn(net))
    except ParseError as err:
        raise ParseError(str(err).rsplit(" (at column", 1)[0], err.column + len(left) + 1) from None
    return Equation(text, kind, sym(p_kind, *indices, t=t).name, rhs)


# ---------------------------------------------------------------- right answers and mistakes
def expected_rnn(d: RNNDerivation, eq: Equation) -> sympy.Expr:
    net = d.network
    kind, (j, *_), t = parse_name(eq.lhs_name)
    if kind in ("u", "w", "v", "b", "c"):
        return d.gradient(eq.lhs_name)
    if kind in ("s", "delta"):
        return d.deltas[f"delta{j}<{t}>"]          # one step of the recursion, as one writes it
    if kind == "o":
        return d.output_errors[eq.lhs_name]
    # ∂E/∂hj<t>: through this step's outputs and the next step's s
    terms = [sym("v", j, k) * d.output_errors[f"o{k}<{t}>"] for k in range(1, net.outputs + 1)]
    if flows(net, t, d.truncate):
        terms += [sym("w", j, k) * sym("delta", k, t=t + 1) for k in range(1, net.hidden + 1)]
    return sympy.Add(*terms)


def mistakes_rnn(d: RNNDerivation, eq: Equation, expected):
    """(name, wrong answer) for the usual mistakes of backpropagation through time."""
    net = d.network
    kind, _, _ = parse_name(eq.lhs_name)
    long = expected if kind in ("s", "delta", "h", "o") else _deltas_expanded(d, expected)
    primes = sorted({f for f in long.atoms(sympy.Function) if type(f).__name__.endswith("'")},
                    key=sympy.default_sort_key)
    if primes:
        yield "a missing g' factor", long.xreplace({f: sympy.S.One for f in primes})
    if kind in ("u", "w", "v", "b", "c") and net.steps > 1:
        for t, term in enumerate(d.per_step[eq.lhs_name], start=1):
            yield f"a missing sum over time (only step {t})", term
    # δ<t+1> not carried back through w: the derivation truncated to one step
    once = derive_rnn(net, weights=(), truncate=1)
    wrong = expected_rnn(once, eq)
    if wrong != expected:
        yield "the recurrent term left out (δ<t+1> not carried back through w)", _deltas_expanded(once, wrong)
    swap = {}
    for s in long.free_symbols:
        if isinstance(s, TimeName) and s.parts()[0] in ("u", "w", "v"):
            k, (i, j), _ = s.parts()
            other = sym(k, j, i)
            if net.exists(k, (j, i), None):
                swap[s] = other
    if swap:
        yield "transposed weight indices (wji in place of wij)", long.xreplace(swap)
    if kind in ("u", "w", "v"):
        _, (i, j), _ = parse_name(eq.lhs_name)
        if net.exists(kind, (j, i), None) and i != j:
            yield (f"the from- and to-node swapped ({kind}{names._index_text((j, i))}'s gradient)",
                   d.gradient(kind + names._index_text((j, i))))
    if kind == "w":
        shift = {s: sym("h", s.parts()[1][0], t=s.parts()[2] + 1) for s in expected.free_symbols
                 if isinstance(s, TimeName) and s.parts()[0] == "h" and s.parts()[2] < net.steps}
        yield "h<t> in place of h<t−1>", expected.xreplace(shift)
    yield "the wrong sign (t − y in place of y − t)", -expected
    yield "a missing ½ factor, or an extra 2", 2 * expected
    yield "an extra ½ factor, or a missing 2", expected / 2


RULES = (expected_rnn, mistakes_rnn)
