"""A batch stack's derivation written out: one walk, every format (text, LaTeX, Markdown; JSON).

The walk says what each layer computes, in general and for every sample; the loss summed over
the samples; each node's gradient as the sum over what it feeds, a norm layer stage by stage
(x̂, σ, var, d, μ: the staged backward pass); the compact form of each norm layer's input
gradient with its check; each parameter's gradient as the sum over the samples; the update.

>>> import symbackprop as sb
>>> d = sb.derive(sb.network({"inputs": 1, "layer": [{"kind": "batchnorm"}, {"size": 1}]}))
>>> print(d.to_text().splitlines()[0])
Backpropagation for the 1 → batchnorm → dense 1 g network over a batch of N = 2
"""
from __future__ import annotations

import dataclasses

import sympy

from ._batch import Dropout, Norm
from ._batch_derive import BatchDerivation
from ._batch_build import epsilon
from ._batch_names import Pattern
from ._conv import Dense
from ._conv_patterns import prose
from ._conv_render import _gradients, as_dict as conv_as_dict, chain_row, json_text, proof_section
from ._document import TEXT_WIDTH, fragment
from ._formats import TextFormat, written
from ._formats_tex import LatexFormat, MarkdownFormat
from ._graph import E
from ._printing import plain

#: a model of at most this many equations is listed whole; a larger one, first and last of each kind and layer
MAX_LISTED = 80


def titles(d: BatchDerivation, fmt) -> tuple:
    net = d.network
    shape = net.describe().rsplit(", ", 2)[0]
    return (prose(fmt, f"Backpropagation for the {shape} network over a batch of N = {net.samples}"),
            prose(fmt, f"loss {fmt.words(net.loss.name)}, summed over the samples; ε = 1e-5 in numbers"))


def _shown(d: BatchDerivation, nodes: list) -> tuple:
    if len(d.sweep.model.equations) <= MAX_LISTED:
        return nodes, False
    first, last = {}, {}
    for n in nodes:
        first.setdefault((n.letter, n.layer), n)
        last[(n.letter, n.layer)] = n
    keep = set(first.values()) | set(last.values())
    return [n for n in nodes if n in keep], True


_CUT = "(shown for the first and last of each kind; the others are alike)"


def _rule(net, k: int, lay, fmt) -> str:
    """What layer k computes, in one sentence with letter indices."""
    m, e, P = fmt.inline_math, fmt.expr, Pattern
    if isinstance(lay, Dense):
        below = P("x", "i", None, "s") if k == 2 else P("a", "i", k - 1, "s")
        z = fmt.summed("i", 1, net.sizes[k - 2], fmt.mul.join([e(P("w", "ij", k - 1)), e(below)]))
        z += f" + {e(P('b', 'j', k))}" if lay.bias else ""
        return (f"Layer {k}: dense, then {lay.activation.name}: " + m(f"{e(P('z', 'j', k, 's'))} = {z}")
                + ", for every sample s.")
    if isinstance(lay, Norm):
        over = (f"over the N = {net.samples} samples, node by node" if lay.kind == "batchnorm" else
                f"over the {net.sizes[k - 1]} nodes, sample by sample")
        act = "" if lay.activation.name == "linear" else f", then {lay.activation.name}"
        below = P("x") if k == 2 else P("a", "", k - 1)
        d, mu, var, sigma, xhat = (P(x) for x in ("d", "mu", "var", "sigma", "xhat"))
        staged = [f"{e(d)} = {e(below)} {fmt.minus} {e(mu)}", f"{e(sigma)} = {e(sympy.sqrt(var + epsilon))}",
                  f"{e(xhat)} = {e(d / sigma)}", f"{e(P('z'))} = {fmt.mul.join([e(P('gamma')), e(xhat)])} + {e(P('beta'))}"]
        return (f"Layer {k}: {'batch' if lay.kind == 'batchnorm' else 'layer'} norm of layer {k - 1}, its mean "
                f"{m(e(mu))} and variance {m(e(var))} taken {over}: " + ", ".join(m(x) for x in staged)
                + f", with {m(e(P('gamma')))} and {m(e(P('beta')))} per node{act}.")
    rate = float(lay.rate)
    kept = f"{e(P('a', 'j', k, 's'))} = {fmt.mul.join([e(P('m', 'j', k, 's')), e(P('a', 'j', k - 1, 's'))])}"
    return prose(fmt, f"Layer {k}: inverted dropout of layer {k - 1} with rate p = {rate:g}: ") + m(
        f"{kept}/{_number(1 - rate)}") + prose(fmt, ", the mask m (0 or 1) drawn once per sample and node.")


def _number(x: float) -> str:
    return f"{x:g}"


def _forward(d: BatchDerivation, fmt):
    net, eqs, items = d.network, d.sweep.model.equations[:-1], []
    for k, lay in enumerate(net.layers, start=2):
        nodes = [eq.node for eq in eqs if eq.node.layer == k]
        shown, cut = _shown(d, nodes)
        items.append(("para", _rule(net, k, lay, fmt)))
        items.append(("eqs", [(None, [fmt.expr(n), fmt.expr(d.sweep.model.by_node[n].expr)]) for n in shown]))
        if cut:
            items.append(("para", _CUT))
    return ("Forward pass", items)


def _backward(d: BatchDerivation, fmt):
    s, net = d.sweep, d.network
    items = [("para", prose(fmt, "Each node's gradient is the sum, over the nodes it feeds (in every sample that "
                                 "reaches it), of their gradient times the local derivative; a weighted sum's is "
                                 "named δ. A norm layer's gradient goes back stage by stage: x̂, σ, var, d, μ."))]
    rows = []
    for step in d.delta_steps:
        chain = fmt.total([fmt.mul.join(fmt.partial(p.of, p.by) for p in path) for path in step.chain])
        sides = [fmt.expr(step.delta), fmt.partial(E, step.chain[0][-1].by), chain,
                 fmt.total([fmt.product([p.value for p in path]) for path in step.chain])]
        sides += [fmt.expr(expr) for _, expr in step.simplified]
        rows.append((None, sides))
    items.append(("eqs", rows))
    outputs = {step.chain[0][-1].by for step in d.delta_steps}
    for k in range(net.depth, 1, -1):
        nodes = [eq.node for eq in reversed(s.model.equations[:-1])
                 if eq.node.layer == k and eq.node not in outputs and not (k == net.depth and eq.node.letter == "a")]
        if nodes:
            shown, cut = _shown(d, nodes)
            items += [("para", f"Layer {k}:"), ("eqs", [chain_row(s, fmt, n) for n in shown])]
            items += [("para", _CUT)] if cut else []
        if isinstance(net.layer(k), Dropout):
            items.append(("para", prose(fmt, f"The mask stands in the gradient: a dropped node (m = 0) passes no "
                                             f"gradient back to layer {k - 1}, a kept one passes it scaled by "
                                             f"1/(1 − p).")))
    return ("Error signals " + fmt.inline_math(f"{fmt.letter('delta')} = {fmt.inline_partial('E', 'z')}"), items)


def _compact_rhs(fmt, kind: str, k: int, count) -> str:
    """(γj/(N·σj))·(N·δj<s> − Σ_r δj<r> − x̂j<s>·Σ_r δj<r>·x̂j<r>), or layer norm's twin."""
    e, P, mul = fmt.expr, Pattern, fmt.mul
    if kind == "batchnorm":
        g = lambda at: e(P("delta", "j", k, at))                                  # noqa: E731
        xh = lambda at: e(P("xhat", "j", k, at))                                  # noqa: E731
        scale, n, index, sig = e(P("gamma", "j", k)), "N", "r", e(P("sigma", "j", k))
    else:
        g = lambda i: mul.join([e(P("gamma", i, k)), e(P("delta", i, k, "s"))])   # noqa: E731
        xh = lambda i: e(P("xhat", i, k, "s"))                                    # noqa: E731
        scale, n, index, sig = "1", "n", "i", e(P("sigma", "", k, "s"))
    own = "s" if kind == "batchnorm" else "j"
    inner = (f"{n}{mul}{g(own)} {fmt.minus} {fmt.summed(index, 1, count, g(index))} {fmt.minus} "
             f"{xh(own)}{mul}{fmt.summed(index, 1, count, mul.join([g(index), xh(index)]))}")
    return f"{scale}/({n}{mul}{sig}){mul}{fmt.paren(inner)}"


def _compact(d: BatchDerivation, fmt):
    net, items = d.network, []
    for f in d.forms:
        k = f.layer
        count = net.samples if f.kind == "batchnorm" else net.sizes[k - 1]
        lhs = fmt.partial(E, Pattern("x", "j", None, "s") if k == 2 else Pattern("a", "j", k - 1, "s"))
        what = (f"Layer {k} (batch norm), node j, sample s; the sums run over the N = {count} samples" if
                f.kind == "batchnorm" else f"Layer {k} (layer norm), node j, sample s; the sums run over the n = "
                                           f"{count} nodes")
        check = (f"It holds at every one of the {f.instances} instances of this network (x̂ and d written in the "
                 "layer's inputs, σ kept free)." if f.holds else f"It FAILS at {f.failed}.")
        items += [("para", prose(fmt, what + ", δ the named gradient of z = γ·x̂ + β:")),
                  ("eqs", [(None, [lhs, _compact_rhs(fmt, f.kind, k, count)])]), ("para", prose(fmt, check))]
    if not items:
        return None
    if d.proof is not None:
        proved = {k: v for k, v in d.proof.items() if k.startswith("compact")}
        items.append(("para", prose(fmt, "; ".join(f"{k}: " + (f"proved by {v}" if v else "NOT PROVED")
                                                   for k, v in proved.items()) + " (for any upstream δ, by algebra).")))
    items.append(("para", prose(fmt, "The compact form is the staged pass above, summed up: the Σ δ term is the path "
                                     "through μ, the x̂·Σ δ·x̂ term the path through σ.")))
    return ("Compact form of the input gradient", items)


def walk(d: BatchDerivation, fmt) -> str:
    net = d.network
    firsts: dict = {}
    for p in net.parameters():
        firsts.setdefault((p.letter, p.layer), p)
    params = list(firsts.values())
    sections = [_forward(d, fmt),
                (f"Loss ({net.loss.description}, summed over the samples)", [("eqs", [(None, [fmt.expr(E),
                                                                                              fmt.expr(d.loss)])])]),
                _backward(d, fmt), _gradients(d, fmt, "samples"), _compact(d, fmt),
                ("Update", [("update", params),
                            ("para", prose(fmt, "for every parameter of each kind (shown: the first), where η is the "
                                                "learning rate; every parameter is updated at once."))])]
    if d.proof is not None:        # the compact forms' proofs stand in their own section
        gradients = {k: v for k, v in d.proof.items() if not k.startswith("compact")}
        sections.append(proof_section(dataclasses.replace(d, proof=gradients), fmt))
    sections = [sec for sec in sections if sec is not None]
    if getattr(fmt, "ascii_only", False):
        sections = [(prose(fmt, head), [(kind, prose(fmt, c) if kind == "para" else c) for kind, c in items])
                    for head, items in sections]
    return fmt.document(*titles(d, fmt), sections)


def render_text(d: BatchDerivation, ascii_only: bool = False) -> str:
    fmt = TextFormat(ascii_only)
    return written(walk(d, fmt), fmt)


def render_latex(d: BatchDerivation, standalone: bool = False) -> str:
    fmt = LatexFormat(TEXT_WIDTH if standalone else None)
    body = walk(d, fmt)
    if not standalone:
        return written(fragment(body), fmt)
    from ._batch_draw import draw_batch
    from ._document import _article
    section = ("\\subsection*{The network}\n\\begin{center}\n\\resizebox{\\linewidth}{!}{" + draw_batch(d.network)
               + "}\n\\end{center}\n\n")
    return written(_article(*titles(d, fmt), section, body), fmt)


def render_markdown(d: BatchDerivation) -> str:
    fmt = MarkdownFormat()
    return written(walk(d, fmt), fmt)


def as_dict(d: BatchDerivation, expanded: bool | None = None) -> dict:
    """The derivation as plain data, with the staged gradients and each compact form's check."""
    return conv_as_dict(d, expanded, {"stages": {k: plain(v) for k, v in d.stages.items()}})


def render_json(d: BatchDerivation, expanded: bool | None = None) -> str:
    return json_text(as_dict(d, expanded))


BatchDerivation.writers.update(text=render_text, latex=render_latex, markdown=render_markdown, json=render_json)
