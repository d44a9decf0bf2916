"""The written derivation of a recurrent network: backpropagation through time, section by section."""
from __future__ import annotations

import json

from . import _names as names
from ._document import TEXT_WIDTH, fragment, rnn_titles, standalone_rnn_document
from ._printing import plain
from ._formats import TextFormat, written
from ._formats_tex import LatexFormat, MarkdownFormat
from ._elman import flows
from ._elman_print import printer
from ._rnn import E, RNNDerivation, expandable
from ._timed import GenericStep, sym


def shown_steps(T: int) -> list:
    """Time steps listed in full: all of them up to 4, else 1, 2, T−1, T."""
    return list(range(1, T + 1)) if T <= 4 else [1, 2, T - 1, T]


def _forward_section(d: RNNDerivation, fmt):
    net = d.network
    rows = []
    shown = shown_steps(net.steps)
    for t in shown:
        rows += [(fmt.inline_math(f"t = {t}") if n == 0 else None, [fmt.expr(d.symbols[k]), fmt.expr(v)])
                 for n, (k, v) in enumerate((k, v) for k, v in d.forward.items() if k.endswith(f"<{t}>"))]
    h0, m = fmt.inline_math(fmt.expr(sym("h", 1, t=0))), fmt.inline_math
    items = [("para", f"The hidden state starts at {h0}, … (zero unless given); the weights {m('u')}, {m('w')}, {m('v')}"
                      f"{f' and biases {m(chr(98))}, {m(chr(99))}' if net.bias else ''} are the same at every step."),
             ("eqs", rows)]
    if len(shown) < net.steps:
        items.append(("para", f"(steps 3 to {net.steps - 2} are alike)"))
    if net.activation.name == "g":
        items.append(("para", f"{fmt.inline_math('g')} is a generic activation and {fmt.inline_math(chr(103) + chr(39))} "
                              "its derivative."))
    return ("Forward pass, unrolled over time", items)


def _loss_section(d: RNNDerivation, fmt):
    return (f"Loss ({d.network.loss.description}, summed over the {d.network.steps} steps)",
            [("eqs", [(None, [fmt.expr(E), fmt.expr(d.loss)])])])


def output_rows(output_steps, shown, fmt) -> list:
    """∂E/∂o<t> of each output at the steps ``shown``: the chain rule, its factors, the simplified forms."""
    rows = []
    for t, step in output_steps:
        if t not in shown:
            continue
        chain = fmt.total([fmt.mul.join(fmt.partial(p.of, p.by) for p in path) for path in step.chain])
        sides = [fmt.partial(E, step.delta), chain,
                 fmt.total([fmt.product([p.value for p in path]) for path in step.chain])]
        sides += [fmt.expr(expr) for _, expr in step.simplified]
        if len(sides) > 3 and sides[-1] == sides[-2]:
            sides.pop()
        rows.append((None, sides))
    return rows


def _errors_section(d: RNNDerivation, fmt):
    rows = output_rows(d.output_steps, shown_steps(d.network.steps), fmt)
    items = [("para", f"Each step's outputs add their own term to {fmt.inline_math('E')}, so the error at an output depends on "
                      "that step only:"), ("eqs", rows)]
    reasons = {r for _, s in d.output_steps for r, _ in s.simplified}
    if "sum_targets_one" in reasons:
        items.append(("para", "The last form holds because each step's targets sum to 1 (one-hot targets)."))
    elif "substitute" in reasons:
        items.append(("para", f"The output's derivative, written through {fmt.inline_math('y')}, cancels the loss's "
                              "denominator."))
    return ("Output errors", items)


def _delta_section(d: RNNDerivation, fmt):
    net = d.network
    word = fmt.greek("delta")
    rows = []
    for t in sorted(shown_steps(net.steps), reverse=True):
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
        rows.append((fmt.inline_math(f"t = {t}"), [fmt.expr(delta), fmt.partial(E, s_jt), chain, fmt.expr(d.deltas[delta.name])]))
    m = fmt.inline_math
    others = f" (and likewise for every hidden node {m(f'j = 1, {fmt.ellipsis}, {net.hidden}')})" if net.hidden > 1 else ""
    cut = ""
    if d.truncate is not None and d.truncate < net.steps:
        K = d.truncate
        cut = (f" Truncated to {K} step{'s' if K > 1 else ''}: the sequence is cut into chunks of {K} "
               f"and {word} does not flow back across a cut (after steps {', '.join(str(t) for t in range(K, net.steps, K))}),"
               " as when the hidden state is detached every K steps.")
    defined = fmt.definition(GenericStep("deltaj<t>"), GenericStep("sj<t>"))
    items = [("para", f"The error signal of hidden node {m('j')} at step {m('t')} is {defined}. "
                      f"At the last step it comes from that step's outputs only; earlier, also from the "
                      f"next step's {word}'s through {m('w')}{others}.{cut}"), ("eqs", rows)]
    if len(shown_steps(net.steps)) < net.steps:
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
            values.append(fmt.product([local, d.upstream(node)]))
        rows = [("chain rule", [lhs, fmt.plus(parts)])]
        rows += [("factors" if n == 0 else "", sides) for n, (_, sides) in enumerate(factors)]
        rows.append((fmt.greek("delta") + " form", [lhs, fmt.plus(values)]))
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


def time_sum(fmt, kind: str, i: str, j: str, T: int) -> tuple[str, str]:
    """∂E/∂ of a shared parameter (u, w, v with indices i, j; b, c with i; letters or numbers) and
    its sum over time: what it multiplies at step t times the error there."""
    G = lambda name: fmt.expr(GenericStep(name))                          # noqa: E731
    delta, error = (lambda n: G(f"delta{n}<t>")), (lambda n: fmt.dE(G(f"o{n}<t>")))   # noqa: E731
    body = {"u": lambda: [G(f"x{i}<t>"), delta(j)], "w": lambda: [G(f"h{i}<t-1>"), delta(j)],
            "v": lambda: [G(f"h{i}<t>"), error(j)], "b": lambda: [delta(i)], "c": lambda: [error(i)]}[kind]()
    return fmt.dE(G(kind + i + j)), fmt.summed("t", 1, T, fmt.mul.join(body))


def _summary_section(d: RNNDerivation, fmt):
    net, T = d.network, d.network.steps
    over_time = lambda body: fmt.summed("t", 1, T, body)                  # noqa: E731
    rows = [(None, list(time_sum(fmt, kind, "i", "j", T))) for kind in "uwv"]
    rows += [(None, list(time_sum(fmt, kind, "j", "", T))) for kind in ("bc" if net.bias else "")]
    G = lambda name: fmt.expr(GenericStep(name))                          # noqa: E731
    V, J = fmt.indexed, fmt.juxtapose
    delta = lambda t: V("delta", t, time=True)                            # noqa: E731
    dE_dO = fmt.dE(V("o", "t", time=True))
    inside = f"V{J}{dE_dO} + W{J}{delta('t+1')}"
    mrows = [(None, [delta("t"), f"{fmt.call(chr(103) + chr(39), V('s', 't', time=True))} {fmt.hadamard} "
                                 f"{fmt.paren(inside)}"])]
    for M, v, err in (("W", V("h", "t-1", time=True), delta("t")), ("U", V("x", "t", time=True), delta("t")),
                      ("V", V("h", "t", time=True), dE_dO)):
        mrows.append((None, [fmt.dE(M), over_time(f"{v}{J}{fmt.transpose(err)}")]))
    m = fmt.inline_math
    shapes = (f"{m('U')} is {m(f'{net.inputs}{fmt.times}{net.hidden}')}, {m('W')} is "
              f"{m(f'{net.hidden}{fmt.times}{net.hidden}')}, {m('V')} is {m(f'{net.hidden}{fmt.times}{net.outputs}')}, "
              f"rows the from-node and columns the to-node, as in {m(G('uij'))}, {m(G('wij'))}, {m(G('vij'))}; "
              f"{m(delta('T+1') + ' = 0')}.")
    return ("Summary: general and matrix form", [("eqs", rows), ("para", "In matrix form:"), ("eqs", mrows),
                                                 ("para", shapes)])


def _vanishing_section(d: RNNDerivation, fmt):
    net = d.network
    g = "g'" if net.activation.name == "g" else f"{net.activation.name}'"
    V, m = fmt.indexed, fmt.inline_math
    G = lambda name: GenericStep(name)                                    # noqa: E731
    local = fmt.mul.join([fmt.call(g, fmt.expr(G("sj<t>"))), fmt.expr(G("wij"))])
    product = f"{fmt.call('diag', fmt.call(g, V('s', 'r', time=True)))}{fmt.juxtapose}{fmt.transpose('W')}"
    rows = [(None, [fmt.partial(G("hj<t>"), G("hi<t-1>")), local]),
            (None, [fmt.partial_of(V("h", "T", time=True), V("h", "t", time=True)),
                    fmt.summed("r", "t+1", "T", product, product=True)])]
    bound = {"tanh": ("tanh'", "1"), "sigmoid": (fmt.letter("sigma") + "'", "1/4")}.get(net.activation.name)
    why = f" Here {m(f'{fmt.fname(bound[0])} {fmt.le} {bound[1]}')}, so unless the weights are large the factors are small." \
        if bound else ""
    text = (f"A step back in time multiplies the error by one factor of {m(fmt.mul.join(['w', fmt.fname(g)]))} per path. "
            f"Reaching from step {m('T')} back to step {m('t')} multiplies {m(f'T {fmt.minus} t')} of them, so over long sequences "
            "the product shrinks towards zero when the factors are below 1 (vanishing gradients: early steps barely "
            f"learn) and grows without bound when they are above 1 (exploding gradients).{why} Evaluated with numbers, "
            f"the size of each step's {m(fmt.inline_partial('E', V('h', 't', time=True)))} and of this product show "
            "which of the two happens.")
    return ("Vanishing and exploding gradients", [("eqs", rows), ("para", text)])


def _update_section(d: RNNDerivation, fmt):
    return ("Update", [("update", [names.generic("w", "ij")]), ("para",
            f"and likewise {', '.join(fmt.inline_math(p) for p in 'uvbc'[:4 if d.network.bias else 2])}, with "
            f"{fmt.inline_math(fmt.eta)} the learning "
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
    title, sub = rnn_titles(net, fmt, d.truncate)
    sections = [_forward_section(d, fmt), _loss_section(d, fmt), _errors_section(d, fmt), _delta_section(d, fmt),
                _gradient_section(d, fmt), _summary_section(d, fmt), _vanishing_section(d, fmt), _update_section(d, fmt)]
    if d.proof is not None:
        sections.append(_proof_section(d, fmt))
    return fmt.document(title, sub, sections)


def render_json(d: RNNDerivation, expanded: bool | None = None) -> str:
    """The symbolic JSON of a recurrent derivation (DESIGN.md §2.4, with output_error)."""
    if expanded is None:
        expanded = expandable(d.network)
    p = printer()         # one printer for all: it learns each name, sum and factor once
    data = {"spec": d.network.as_dict(), "truncate": d.truncate,
            "forward": {k: plain(v, p) for k, v in d.forward.items()}, "loss": plain(d.loss, p),
            "output_error": {k: plain(v, p) for k, v in d.output_errors.items()},
            "delta": {k: plain(v, p) for k, v in d.deltas.items()},
            "gradient": {k: plain(v, p) for k, v in d.gradients.items()}}
    if expanded:
        data["expanded"] = {k: plain(d.expanded(k), p) for k in d.gradients}
    if d.proof is not None:
        data["proof"] = {k: (v or False) for k, v in d.proof.items()}
    return json.dumps(data, indent=1, ensure_ascii=True) + "\n"


def render_latex(d: RNNDerivation, standalone: bool = False) -> str:
    fmt = LatexFormat(TEXT_WIDTH if standalone else None)
    body = walk_rnn(d, fmt)
    return written(standalone_rnn_document(d, body, fmt) if standalone else fragment(body), fmt)


def _write(d: RNNDerivation, fmt) -> str:
    return written(walk_rnn(d, fmt), fmt)


RNNDerivation.writers.update(
    text=lambda d, ascii_only=False: _write(d, TextFormat(ascii_only)),
    latex=render_latex,
    markdown=lambda d: _write(d, MarkdownFormat()),
    json=render_json)
