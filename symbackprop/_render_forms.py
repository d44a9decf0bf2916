"""The general and matrix forms of a dense stack, as sections of the write-up."""
from __future__ import annotations

from . import _names as names
from ._derivation import E, Derivation
from ._formats import _Format
from ._general import general_form


def general(d: Derivation, fmt: _Format):
    """The general indexed form, checked against every instance before it is written."""
    g = general_form(d)
    net, L = d.network, d.network.depth
    lhs_out = fmt.expr(names.generic("delta", "j", "L"))
    rows = [(None, [lhs_out, fmt.expr(g.output_delta)])]
    rows += [(None, [fmt.expr(names.generic("delta", "i", str(k))), fmt.expr(rhs)]) for k, rhs in g.hidden]
    if g.weights:
        rows += [(None, [fmt.partial(E, names.generic("w", "ij", str(k))), fmt.expr(rhs)]) for k, rhs in g.weights]
    else:
        rows.append((None, [fmt.partial(E, names.generic("w", "ij", "k")), fmt.product(
            [names.generic("delta", "j", "k+1"), names.generic("a", "i", "k")])]))
    if net.bias:
        rows.append((None, [fmt.partial(E, names.generic("b", "j", "k")), fmt.expr(g.bias)]))
    here = fmt.inline_math(f"L = {L}")
    items = [("para", f"Here {here}; every result above is an instance of these "
                      f"(checked for all {g.checked:,} error signals and parameters):"), ("eqs", rows)]
    return ("General form", items)


def matrix(d: Derivation, fmt: _Format):
    """The matrix form, with this network's shapes and the terms its skips, ties and penalty add."""
    net, V, m = d.network, fmt.indexed, fmt.inline_math
    rows = [(None, [V("delta", "k"), _delta_rule(fmt, "k", "k+1", [])]),
            (None, [fmt.dE(V("W", "k")), _outer(fmt, "k", "k+1")])]
    rows += _matrix_extras(net, fmt)
    shapes = ", ".join(f"{m(V('W', k))} is {m(f'{net.layers[k - 1]}{fmt.times}{net.layers[k]}')}"
                       for k in range(1, net.depth))
    vectors = ", ".join(f"{m(V('a', k))} and {m(V('delta', k))} have {n}" if k > 1 else f"{m(V('a', 1) + ' = x')} has {n}"
                        for k, n in enumerate(net.layers, start=1))
    para = (f"With column vectors per layer and {m(V('W', 'k'))} holding {m(fmt.expr(names.generic('w', 'ij', 'k')))} "
            f"in row {m('i')} (the from-node) and column {m('j')} (the to-node): {shapes}; {vectors} entries. "
            f"{m(chr(103) + chr(39))} is each layer's own activation derivative.")
    return ("Matrix form", [("eqs", rows), ("para", para)])


def _delta_rule(fmt: _Format, k, above, skipped: list) -> str:
    """(W[k] δ[k+1] + the δ's of skips from k) ⊙ g'(z[k])."""
    V = fmt.indexed
    inside = fmt.plus([f"{V('W', k)}{fmt.juxtapose}{V('delta', above)}"] + [V("delta", s) for s in skipped])
    return f"{fmt.paren(inside)} {fmt.hadamard} {fmt.call(chr(103) + chr(39), V('z', k))}"


def _outer(fmt: _Format, k, above) -> str:
    """a[k] δ[k+1]ᵀ."""
    return f"{fmt.indexed('a', k)}{fmt.juxtapose}{fmt.transpose(fmt.indexed('delta', above))}"


def _matrix_extras(net, fmt: _Format) -> list:
    """The matrix form's extra terms: a skip's δ, a tied layer's gradient, the penalty's."""
    rows, skipped_to = [], {}
    for k, s in net.skips:                  # every skip from layer s adds its δ to δ[s]
        if s > 1:
            skipped_to.setdefault(s, []).append(k)
    for s, above in sorted(skipped_to.items()):
        rows.append((None, [fmt.indexed("delta", s), _delta_rule(fmt, s, s + 1, above)]))
    grad = {}
    for k, m in net.ties:
        grad.setdefault(m, []).append(fmt.transpose(_outer(fmt, k, k + 1)))
    for kind, _ in net.penalty:
        lam = fmt.expr(net.penalty_symbol(kind))
        for m in range(1, net.depth):
            if m not in dict(net.ties):
                w = fmt.indexed("W", m)
                grad.setdefault(m, []).append(f"{lam}{fmt.juxtapose}{w if kind == 'l2' else fmt.call('sign', w)}")
    for m, extra in sorted(grad.items()):
        rows.append((None, [fmt.dE(fmt.indexed("W", m)), fmt.plus([_outer(fmt, m, m + 1)] + extra)]))
    return rows
