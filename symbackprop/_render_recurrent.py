"""The written derivation of a recurrent network: backpropagation through time, section by section."""
from __future__ import annotations

import json

from . import _names as names
from ._document import standalone_rnn_document
from ._printing import plain
from ._formats import LatexFormat, MarkdownFormat, TextFormat
from ._elman import flows
from ._rnn import E, RNNDerivation, expandable
from ._timed import GenericStep, parse_name, sym

def _is_text(fmt) -> bool:
    return isinstance(fmt, TextFormat)


def _shown_steps(T: int) -> list:
    """Time steps listed in full: all of them up to 4, else 1, 2, T−1, T."""
    return list(range(1, T + 1)) if T <= 4 else [1, 2, T - 1, T]


def _forward_section(d: RNNDerivation, fmt):
    net = d.network
    rows = []
    shown = _shown_steps(net.steps)
    for t in shown:
        rows += [(f"t = {t}" if n == 0 else None, [fmt.expr(d.symbols[k]), fmt.expr(v)])
                 for n, (k, v) in enumerate((k, v) for k, v in d.forward.items() if k.endswith(f"<{t}>"))]
    h0 = fmt.inline_math(fmt.expr(sym("h", 1, t=0)))
    items = [("para", f"The hidden state starts at {h0}, … (zero unless given); the weights u, w, v"
                      f"{' and biases b, c' if net.bias else ''} are the same at every step."), ("eqs", rows)]
    if len(shown) < net.steps:
        items.append(("para", f"(steps 3 to {net.steps - 2} are alike)"))
    if net.activation.name == "g":
        items.append(("para", f"{fmt.inline_math('g')} is a generic activation and {fmt.inline_math(chr(103) + chr(39))} "
                              "its derivative."))
    return ("Forward pass, unrolled over time", items)


def _loss_section(d: RNNDerivation, fmt):
    return (f"Loss ({d.network.loss.description}, summed over the {d.network.steps} steps)",
            [("eqs", [(None, [fmt.expr(E), fmt.expr(d.loss)])])])


def _errors_section(d: RNNDerivation, fmt):
    rows = []
    for t, step in d.output_steps:
        if t not in _shown_steps(d.network.steps):
            continue
        chain = fmt.total([fmt.mul.join(fmt.partial(p.of, p.by) for p in path) for path in step.chain])
        sides = [fmt.partial(E, step.delta), chain,
                 fmt.total([fmt.product([p.value for p in path]) for path in step.chain])]
        sides += [fmt.expr(expr) for _, expr in step.simplified]
        if len(sides) > 3 and sides[-1] == sides[-2]:
            sides.pop()
        rows.append((None, sides))
    items = [("para", "Each step's outputs add their own term to E, so the error at an output depends on "
                      "that step only:"), ("eqs", rows)]
    reasons = {r for _, s in d.output_steps for r, _ in s.simplified}
    if "sum_targets_one" in reasons:
        items.append(("para", "The last form holds because each step's targets sum to 1 (one-hot targets)."))
    elif "substitute" in reasons:
        items.append(("para", "The output's derivative, written through y, cancels the loss's denominator."))
    return ("Output errors", items)


def _delta_section(d: RNNDerivation, fmt):
    net = d.network
    word = fmt.greek("delta")
    rows = []
    for t in sorted(_shown_steps(net.steps), reverse=True):
        j = 1
        s_jt, h_jt = sym("s", j, t=t), sym("h", j, t=t)
        delta = sym("delta", j, t=t)
        paths = [f"{fmt.partial(E, sym('o', k, t=t))}{fmt.mul}{fmt.partial(sym('o', k, t=t), h_jt)}"
                 for k in range(1, net.outputs + 1)]
        if flows(net, t, d.truncate):
            paths += [f"{fmt.partial(E, sym('s', k, t=t + 1))}{fmt.mul}{fmt.partial(sym('s', k, t=t + 1), h_jt)}"
                      for k in range(1, net.hidden + 1)]
        chain = f"{fmt.paren(fmt.total(paths))}{fmt.mul}{fmt.partial(h_jt, s_jt)}" if len(paths) > 1 else \
            f"{paths[0]}{fmt.mul}{fmt.partial(h_jt, s_jt)}"
        rows.append((f"t = {t}", [fmt.expr(delta), fmt.partial(E, s_jt), chain, fmt.expr(d.deltas[delta.name])]))
    others = f" (and likewise for every hidden node j = 1 … {net.hidden})" if net.hidden > 1 else ""
    cut = ""
    if d.truncate is not None and d.truncate < net.steps:
        K = d.truncate
        cut = (f" Truncated to {K} step{'s' if K > 1 else ''}: the sequence is cut into chunks of {K} "
               f"and {word} does not flow back across a cut (after steps {', '.join(str(t) for t in range(K, net.steps, K))}),"
               " as when the hidden state is detached every K steps.")
    defined = fmt.definition(GenericStep("deltaj<t>"), GenericStep("sj<t>"))
    items = [("para", f"The error signal of hidden node j at step t is {defined}. "
                      f"At the last step it comes from that step's outputs only; earlier, also from the "
                      f"next step's {word}'s through w{others}.{cut}"), ("eqs", rows)]
    if len(_shown_steps(net.steps)) < net.steps:
        items.append(("para", f"(steps 3 to {net.steps - 2} are alike)"))
    return ("Error signals through time", items)


def _gradient_section(d: RNNDerivation, fmt):
    net = d.network
    T = net.steps
    items = []
    for name in d.selected:
        p = d.symbols[name]
        lhs = fmt.partial(E, p)
        chain = d.chains[name]
        shown = list(chain) if T <= 4 else [chain[0], chain[1], None, chain[-1]]
        parts, factors, values = [], [], []
        for entry in shown:
            if entry is None:
                parts.append(fmt.ellipsis)
                values.append(fmt.ellipsis)
                continue
            t, node, local = entry
            parts.append(f"{fmt.partial(E, node)}{fmt.mul}{fmt.partial(node, p)}")
            factors.append((None, [fmt.partial(node, p), fmt.expr(local)]))
            upstream = sym("delta", parse_name(node.name)[1][0], t=t) if node.name[0] == "s" else \
                d.output_errors[node.name]
            values.append(fmt.product([local, upstream]))
        rows = [("chain rule", [lhs, " + ".join(parts)])]
        rows += [("factors" if n == 0 else "", sides) for n, (_, sides) in enumerate(factors)]
        rows.append((fmt.greek("delta") + " form", [lhs, " + ".join(values)]))
        if d.expanded_form is not None and d.expanded_form[0] == name:
            rows.append(("expanded", [lhs, fmt.expr(d.expanded_form[1])]))
        items.append(("head", p))
        items.append(("eqs", rows))
    rest = net.n_parameters - len(d.selected)
    if rest:
        items.append(("para", f"The other {rest:,} parameters follow the same forms (see the summary below)."))
    word = fmt.greek("delta")
    intro = (f"A shared weight is used at every step, so its gradient is the sum over time of each step's "
             f"contribution: the {word} (or output error) at that step times what the weight multiplies there.")
    return ("Gradients: sums over time", [("para", intro)] + items)


def _summary_section(d: RNNDerivation, fmt):
    net = d.network
    if _is_text(fmt):
        a = fmt.ascii_only
        S = "sum_t " if a else "Σ_t "
        dd = "delta" if a else "δ"
        pd = "d" if a else "∂"
        m = "*" if a else "·"
        lines = [f"{pd}E/{pd}uij = {S}xi<t>{m}{dd}j<t>", f"{pd}E/{pd}wij = {S}hi<t-1>{m}{dd}j<t>",
                 f"{pd}E/{pd}vij = {S}hi<t>{m}{pd}E/{pd}oj<t>"]
        if net.bias:
            lines += [f"{pd}E/{pd}bj = {S}{dd}j<t>", f"{pd}E/{pd}cj = {S}{pd}E/{pd}oj<t>"]
        rows = [(None, [line]) for line in lines]
        hadamard, tr = ("(.)", "^T") if a else ("⊙", "ᵀ")
        matrix = [f"{dd}<t> = g'(s<t>) {hadamard} (V {pd}E/{pd}o<t> + W {dd}<t+1>)",
                  f"{pd}E/{pd}W = {S}h<t-1> {dd}<t>{tr},   {pd}E/{pd}U = {S}x<t> {dd}<t>{tr},   "
                  f"{pd}E/{pd}V = {S}h<t> ({pd}E/{pd}o<t>){tr}"]
        mrows = [(None, [line]) for line in matrix]
    else:
        tt = "^{\\langle t \\rangle}"
        t1 = "^{\\langle t-1 \\rangle}"
        S = "\\sum_{t=1}^{" + str(net.steps) + "} "
        rows = [(None, ["\\frac{\\partial E}{\\partial u_{ij}}", f"{S}x_{{i}}{tt} \\delta_{{j}}{tt}"]),
                (None, ["\\frac{\\partial E}{\\partial w_{ij}}", f"{S}h_{{i}}{t1} \\delta_{{j}}{tt}"]),
                (None, ["\\frac{\\partial E}{\\partial v_{ij}}", f"{S}h_{{i}}{tt} \\frac{{\\partial E}}{{\\partial o_{{j}}{tt}}}"])]
        if net.bias:
            rows += [(None, ["\\frac{\\partial E}{\\partial b_{j}}", f"{S}\\delta_{{j}}{tt}"]),
                     (None, ["\\frac{\\partial E}{\\partial c_{j}}", f"{S}\\frac{{\\partial E}}{{\\partial o_{{j}}{tt}}}"])]
        mrows = [(None, [f"\\delta{tt}", f"g'\\left(s{tt}\\right) \\odot \\left(V \\frac{{\\partial E}}{{\\partial o{tt}}}"
                                         f" + W \\delta^{{\\langle t+1 \\rangle}}\\right)"]),
                 (None, ["\\frac{\\partial E}{\\partial W}", f"{S}h{t1} \\left(\\delta{tt}\\right)^{{\\top}}"])]
    shapes = (f"U is {net.inputs}×{net.hidden}, W is {net.hidden}×{net.hidden}, V is {net.hidden}×{net.outputs}, "
              "rows the from-node and columns the to-node, as in uij, wij, vij; "
              f"{fmt.greek('delta')}<T+1> = 0.")
    if not _is_text(fmt):
        shapes = shapes.replace("×", "$\\times$").replace("<T+1>", "$^{\\langle T+1 \\rangle}$")
    elif fmt.ascii_only:
        shapes = shapes.replace("×", "x")
    return ("Summary: general and matrix form", [("eqs", rows), ("para", "In matrix form:"), ("eqs", mrows),
                                                 ("para", shapes)])


def _vanishing_section(d: RNNDerivation, fmt):
    net = d.network
    g = "g'" if net.activation.name == "g" else f"{net.activation.name}'"
    if _is_text(fmt):
        a = fmt.ascii_only
        pd, m = ("d", "*") if a else ("∂", "·")
        rows = [(None, [f"{pd}hj<t>/{pd}hi<t-1> = {g}(sj<t>){m}wij"]),
                (None, [f"{pd}h<T>/{pd}h<t> = product over r = t+1 … T of diag({g}(s<r>)) W" + ("^T" if a else "ᵀ")])]
    else:
        rows = [(None, ["\\frac{\\partial h_{j}^{\\langle t \\rangle}}{\\partial h_{i}^{\\langle t-1 \\rangle}}",
                        f"{g}\\left(s_{{j}}^{{\\langle t \\rangle}}\\right) \\cdot w_{{ij}}"]),
                (None, ["\\frac{\\partial h^{\\langle T \\rangle}}{\\partial h^{\\langle t \\rangle}}",
                        f"\\prod_{{r=t+1}}^{{T}} \\operatorname{{diag}}\\left({g}\\left(s^{{\\langle r \\rangle}}\\right)"
                        f"\\right) W^{{\\top}}"])]
    bound = {"tanh": "tanh' ≤ 1", "sigmoid": "σ' ≤ 1/4"}.get(net.activation.name)
    why = (f" Here {bound}, so unless the weights are large the factors are small." if bound else "")
    if bound and not _is_text(fmt):
        why = why.replace("tanh' ≤ 1", "$\\tanh' \\le 1$").replace("σ' ≤ 1/4", "$\\sigma' \\le 1/4$")
    elif bound and fmt.ascii_only:
        why = why.replace("σ'", "sigmoid'").replace("≤", "<=")
    text = ("A step back in time multiplies the error by one factor of w·g' per path. Reaching from step T back to "
            "step t multiplies T − t of them, so over long sequences the product shrinks towards zero when the factors "
            "are below 1 (vanishing gradients: early steps barely learn) and grows without bound when they are above 1 "
            f"(exploding gradients).{why} With numbers, eval --report prints the size of each step's ∂E/∂h<t> "
            "and of this product.")
    if not _is_text(fmt):
        text = text.replace("w·g'", "$w \\cdot g'$").replace("T − t", "$T - t$").replace(
            "∂E/∂h<t>", "$\\partial E / \\partial h^{\\langle t \\rangle}$").replace("eval --report", "\\texttt{eval --report}")
    elif fmt.ascii_only:
        text = text.replace("·", "*").replace("−", "-").replace("∂", "d")
    return ("Vanishing and exploding gradients", [("eqs", rows), ("para", text)])


def _update_section(d: RNNDerivation, fmt):
    return ("Update", [("update", [names.generic("w", "ij")]), ("para",
            f"and likewise u, v{', b, c' if d.network.bias else ''}, with {fmt.inline_math(fmt.eta)} the learning "
            "rate; all at once, from the values before the update.")])


def _proof_section(d: RNNDerivation, fmt):
    ok = sum(1 for v in d.proof.values() if v)
    rows = [(("proved by " + how) if how else "NOT PROVED", [fmt.partial(E, d.symbols[n]), fmt.expr(d.gradients[n])])
            for n, how in d.proof.items()]
    return ("Proof", [("para", f"Each {fmt.greek('delta')} form, with every intermediate substituted, minus "
                               f"sympy.diff of the unrolled E, is zero ({ok} of {len(d.proof)} parameters)."),
                      ("eqs", rows)])


def walk_rnn(d: RNNDerivation, fmt) -> str:
    net = d.network
    title = f"Backpropagation through time for the {net.shape()} recurrent network, T = {net.steps}"
    sub = (f"hidden activation {net.activation.function_name or net.activation.name}; outputs "
           f"{net.output_activation.function_name or net.output_activation.name}; loss {net.loss.name}; "
           f"{'with' if net.bias else 'no'} biases" + (f"; truncated to {d.truncate} steps" if d.truncate else ""))
    sections = [_forward_section(d, fmt), _loss_section(d, fmt), _errors_section(d, fmt), _delta_section(d, fmt),
                _gradient_section(d, fmt), _summary_section(d, fmt), _vanishing_section(d, fmt), _update_section(d, fmt)]
    if d.proof is not None:
        sections.append(_proof_section(d, fmt))
    return fmt.document(title, sub, sections)


def render_json(d: RNNDerivation, expanded: bool | None = None) -> str:
    """The symbolic JSON of a recurrent derivation (DESIGN.md §2.4, with output_error)."""
    if expanded is None:
        expanded = expandable(d.network)
    data = {"spec": d.network.as_dict(), "truncate": d.truncate,
            "forward": {k: plain(v) for k, v in d.forward.items()}, "loss": plain(d.loss),
            "output_error": {k: plain(v) for k, v in d.output_errors.items()},
            "delta": {k: plain(v) for k, v in d.deltas.items()},
            "gradient": {k: plain(v) for k, v in d.gradients.items()}}
    if expanded:
        data["expanded"] = {k: plain(d.expanded(k)) for k in d.gradients}
    if d.proof is not None:
        data["proof"] = {k: (v or False) for k, v in d.proof.items()}
    return json.dumps(data, indent=1, ensure_ascii=True) + "\n"


def render_latex(d: RNNDerivation, standalone: bool = False) -> str:
    body = walk_rnn(d, LatexFormat())
    return standalone_rnn_document(d, body) if standalone else body


RNNDerivation.writers.update(
    text=lambda d, ascii_only=False: walk_rnn(d, TextFormat(ascii_only)),
    latex=render_latex,
    markdown=lambda d: walk_rnn(d, MarkdownFormat()),
    json=render_json)
