"""The general and matrix forms of a dense stack, as sections of the write-up."""
from __future__ import annotations

from . import _names as names
from ._derivation import E, Derivation
from ._formats import TextFormat, _Format
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
    net = d.network
    text_fmt = isinstance(fmt, TextFormat)
    t = "^T" if (text_fmt and fmt.ascii_only) else ("ᵀ" if text_fmt else "^{\\top}")
    had = "(.)" if (text_fmt and fmt.ascii_only) else ("⊙" if text_fmt else "\\odot")
    if text_fmt:
        rule = [f"{fmt.greek('delta')}[k] = (W[k] {fmt.greek('delta')}[k+1]) {had} g'(z[k])",
                f"{fmt.partial_sign}E/{fmt.partial_sign}W[k] = a[k] {fmt.greek('delta')}[k+1]{t}"]
        rows = [(None, [r]) for r in rule]
    else:
        rows = [(None, ["\\delta^{[k]}", f"\\left(W^{{[k]}} \\delta^{{[k+1]}}\\right) {had} g'\\left(z^{{[k]}}\\right)"]),
                (None, ["\\frac{\\partial E}{\\partial W^{[k]}}", f"a^{{[k]}} \\left(\\delta^{{[k+1]}}\\right){t}"])]
    rows += _matrix_extras(net, fmt, t)
    shapes = ", ".join(f"W[{k}] is {net.layers[k - 1]}×{net.layers[k]}" for k in range(1, net.depth))
    vectors = ", ".join(f"a[{k}] and δ[{k}] have {n}" if k > 1 else f"a[1] = x has {n}"
                        for k, n in enumerate(net.layers, start=1))
    if not text_fmt:
        shapes = shapes.replace("×", "$\\times$")
        vectors = vectors.replace("δ", "$\\delta$")
    elif fmt.ascii_only:
        shapes, vectors = shapes.replace("×", "x"), vectors.replace("δ", "delta")
    para = (f"With column vectors per layer and W[k] holding wij[k] in row i (the from-node) and "
            f"column j (the to-node): {shapes}; {vectors} entries. g' is each layer's own activation derivative.")
    return ("Matrix form", [("eqs", rows), ("para", para)])


def _matrix_extras(net, fmt: _Format, t: str) -> list:
    """The matrix form's extra terms: a skip's δ, a tied layer's gradient, the penalty's."""
    text = isinstance(fmt, TextFormat)
    d_, lam = (fmt.greek("delta"), "λ" if not getattr(fmt, "ascii_only", False) else "lambda") if text \
        else ("\\delta", "\\lambda")
    rows, skipped_to = [], {}
    for k, s in net.skips:                  # every skip from layer s adds its δ to δ[s]
        if s > 1:
            skipped_to.setdefault(s, []).append(k)
    for s, above in sorted(skipped_to.items()):
        if text:
            lhs = f"{d_}[{s}]"
            extra = "".join(f" + {d_}[{k}]" for k in above)
            rhs = f"(W[{s}] {d_}[{s + 1}]{extra}) {'(.)' if fmt.ascii_only else '⊙'} g'(z[{s}])"
        else:
            lhs = f"\\delta^{{[{s}]}}"
            extra = "".join(f" + \\delta^{{[{k}]}}" for k in above)
            rhs = (f"\\left(W^{{[{s}]}} \\delta^{{[{s + 1}]}}{extra}\\right) "
                   f"\\odot g'\\left(z^{{[{s}]}}\\right)")
        rows.append((None, [f"{lhs} = {rhs}"] if text else [lhs, rhs]))
    grad = {}
    for k, m in net.ties:
        grad.setdefault(m, []).append(f"(a[{k}] {d_}[{k + 1}]{t}){t}" if text
                                      else f"\\left(a^{{[{k}]}} \\left(\\delta^{{[{k + 1}]}}\\right){t}\\right){t}")
    for kind, _ in net.penalty:
        sym = fmt.expr(net.penalty_symbol(kind))
        for m in range(1, net.depth):
            if m not in dict(net.ties):
                w = f"W[{m}]" if text else f"W^{{[{m}]}}"
                sign = f"sign({w})" if text else f"\\operatorname{{sign}}\\left({w}\\right)"
                grad.setdefault(m, []).append(f"{sym} {w}" if kind == "l2" else f"{sym} {sign}")
    for m, extra in sorted(grad.items()):
        own = f"a[{m}] {d_}[{m + 1}]{t}" if text else f"a^{{[{m}]}} \\left(\\delta^{{[{m + 1}]}}\\right){t}"
        lhs = f"{fmt.partial_sign}E/{fmt.partial_sign}W[{m}]" if text else f"\\frac{{\\partial E}}{{\\partial W^{{[{m}]}}}}"
        rhs = " + ".join([own] + extra)
        rows.append((None, [f"{lhs} = {rhs}"] if text else [lhs, rhs]))
    return rows
