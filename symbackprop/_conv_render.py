"""A conv net's derivation written out: one walk, every format (text, LaTeX, Markdown; JSON).

The walk says what each layer computes, in general and for representative entries; each
entry's gradient as the sum over the entries it feeds; each kernel element's as the sum over
the positions where it is used; then the general and compact forms, with how many instances
each was checked against (``_conv_forms.py``).  No math is done here.

>>> import symbackprop as sb
>>> d = sb.derive("examples/conv-1x4x4.toml")
>>> print(d.to_text().splitlines()[0])
Backpropagation for the 1×4×4 → conv 1 2×2 g → dense 1 sigmoid network
"""
from __future__ import annotations

import json

from ._conv_derive import ConvDerivation
from ._conv_patterns import forms_section, forward_rule, prose, update_rules
from ._document import TEXT_WIDTH, fragment
from ._formats import TextFormat, written
from ._formats_tex import LatexFormat, MarkdownFormat
from ._graph import E
from ._printing import plain

#: a model of at most this many equations is listed whole; a larger one, layer by layer, first and last entry
MAX_LISTED = 40


def titles(d: ConvDerivation, fmt) -> tuple:
    net = d.network
    shape = net.describe().rsplit(", ", 1)[0]
    return (prose(fmt, f"Backpropagation for the {shape} network"),
            f"loss {fmt.words(net.loss.name)}; positions and channels are counted from 1")


def _shown(d: ConvDerivation, nodes: list) -> tuple:
    """The nodes listed: all of them, or the first and last of each (letter, layer) group."""
    if len(d.sweep.model.equations) <= MAX_LISTED:
        return nodes, False
    first, last = {}, {}
    for n in nodes:
        key = (getattr(n, "letter", n.name), getattr(n, "layer", None))
        first.setdefault(key, n)
        last[key] = n
    keep = set(first.values()) | set(last.values())
    return [n for n in nodes if n in keep], True


_CUT = "(shown for the first and last entry of each layer; the others are alike)"


def _forward(d: ConvDerivation, fmt):
    net, eqs = d.network, d.sweep.model.equations[:-1]
    items = []
    for k in range(2, net.depth + 1):
        lay = net.layer(k)
        nodes = [eq.node for eq in eqs if eq.node.layer == k]
        shown, cut = _shown(d, nodes)
        items.append(("para", forward_rule(net, k, lay, fmt)))
        items.append(("eqs", [(None, [fmt.expr(n), fmt.expr(d.sweep.model.by_node[n].expr)]) for n in shown]))
        if cut:
            items.append(("para", _CUT))
    kinks = [a.kink for a in net.activations if a.kink]
    if kinks:
        items.append(("para", "Where an activation has no derivative, the one taken is " + "; ".join(kinks) + "."))
    if any(a.name == "g" for a in net.activations):
        items.append(("para", f"{fmt.inline_math('g')} is a generic activation and {fmt.inline_math(chr(103) + chr(39))} "
                              "its derivative."))
    return ("Forward pass", items)


def _loss(d: ConvDerivation, fmt):
    items = [("eqs", [(None, [fmt.expr(E), fmt.expr(d.loss)])])]
    if d.network.loss.kink:
        items.append(("para", f"The derivative of each term is {d.network.loss.kink}."))
    return (f"Loss ({d.network.loss.description})", items)


def _sum_of(fmt, pieces: list) -> str:
    return fmt.total(pieces) if pieces else "0"


def chain_row(s, fmt, n) -> tuple:
    """∂E/∂n (or n's δ) = the sum, over what n feeds, of their gradient times the local derivative."""
    eq = s.model.by_node[n]
    lhs = fmt.expr(eq.delta) if eq.delta is not None else fmt.partial(E, n)
    named = [(c.delta if c.delta is not None else None, c, local) for c, local in s.terms[n]]
    chain = _sum_of(fmt, [fmt.mul.join([fmt.expr(up) if up is not None else fmt.partial(E, c.node),
                                        fmt.partial(c.node, n)]) for up, c, _ in named])
    values = _sum_of(fmt, [fmt.product([up, local]) if up is not None else fmt.partial(E, c.node)
                           if local == 1 else fmt.mul.join([fmt.partial(E, c.node), fmt.factor(local)])
                           for up, c, local in named])
    return (None, [lhs, fmt.partial(E, n), chain, values] if eq.delta is not None else [lhs, chain, values])


def _backward(d: ConvDerivation, fmt):
    """Output δ's as the dense walk writes them, then every other node: the sum over what it feeds."""
    s, net = d.sweep, d.network
    items = [("para", "Each entry's gradient is the sum, over the entries it feeds, of their gradient times the "
                      "local derivative; a weighted sum's is named " + fmt.inline_math(fmt.letter("delta")) + ".")]
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
        nodes = [eq.node for eq in s.model.equations[:-1]
                 if eq.node.layer == k and eq.node not in outputs and not (k == net.depth and eq.node.letter == "a")]
        nodes.sort(key=lambda n: (n.indices, n.letter != "a"))      # an entry's ∂E/∂a, then its δ
        if not nodes:
            continue
        shown, cut = _shown(d, nodes)
        rows = [chain_row(s, fmt, n) for n in shown]
        items += [("para", f"Layer {k}:"), ("eqs", rows)]
        if cut:
            items.append(("para", _CUT))
    return ("Error signals " + fmt.inline_math(f"{fmt.letter('delta')} = {fmt.inline_partial('E', 'z')}"), items)


def _gradients(d: ConvDerivation, fmt, where: str = "positions"):
    items = []
    for step in d.steps:
        p, lhs = step.parameter, fmt.partial(E, step.parameter)
        chain = _sum_of(fmt, [fmt.mul.join([fmt.expr(up) if up != 1 else "1", fmt.partial(node, p)])
                              for node, _, up in step.uses])
        product = _sum_of(fmt, [fmt.product([up, local]) for _, local, up in step.uses])
        rows = [("chain rule", [lhs, chain]), ("product", [lhs, product])]
        if step.expanded is not None:
            rows.append(("expanded", [lhs, fmt.expr(step.expanded)]))
        items += [("head", p), ("eqs", rows)]
        if len(step.uses) > 1:
            items.append(("para", f"(shared over {len(step.uses)} {where}: the gradient is the sum over every "
                                  f"one of them where it is used)"))
    skipped = d.network.n_parameters - len(d.steps)
    if skipped:
        items.append(("para", f"The other {skipped:,} parameters follow the general forms below."))
    return ("Gradients, step by step", items)


def proof_section(d, fmt):
    ok = sum(1 for v in d.proof.values() if v)
    rows = [(("proved by " + how) if how else "NOT PROVED", [fmt.partial(E, d.symbols[name]),
                                                             fmt.expr(d.gradients[name])])
            for name, how in d.proof.items()]
    return ("Proof", [("para", f"Each gradient, with every intermediate substituted, minus sympy.diff of the fully "
                               f"nested E, is zero ({ok} of {len(d.proof)} parameters)."), ("eqs", rows)])


def walk(d: ConvDerivation, fmt) -> str:
    sections = [_forward(d, fmt), _loss(d, fmt), _backward(d, fmt), _gradients(d, fmt), forms_section(d, fmt),
                ("Update", [("update", update_rules(d.network)),
                            ("para", f"where {fmt.inline_math(fmt.eta)} is the learning rate; every parameter is "
                                     "updated at once, from its value before the update.")])]
    if d.proof is not None:
        sections.append(proof_section(d, fmt))
    return fmt.document(*titles(d, fmt), sections)


def render_text(d: ConvDerivation, ascii_only: bool = False) -> str:
    fmt = TextFormat(ascii_only)
    return written(walk(d, fmt), fmt)


def render_latex(d: ConvDerivation, standalone: bool = False) -> str:
    fmt = LatexFormat(TEXT_WIDTH if standalone else None)
    body = walk(d, fmt)
    if not standalone:
        return written(fragment(body), fmt)
    from ._conv_draw import conv_network_section
    from ._document import _article
    return written(_article(*titles(d, fmt), conv_network_section(d.network), body), fmt)


def render_markdown(d: ConvDerivation) -> str:
    fmt = MarkdownFormat()
    return written(walk(d, fmt), fmt)


def as_dict(d: ConvDerivation, expanded: bool | None = None, between: dict | None = None) -> dict:
    """The derivation as plain data (DESIGN.md §2.4), with each general form's check; ``between``:
    more entries (a kind's own, as text) after the δ's."""
    out = {"spec": d.network.as_dict(), "forward": {k: plain(v) for k, v in d.forward.items()},
           "loss": plain(d.loss), "delta": {k: plain(v) for k, v in d.deltas.items()}, **(between or {}),
           "gradient": {k: plain(v) for k, v in d.gradients.items()},
           "forms": [{"layer": f.layer, "kind": f.kind, "instances": f.instances, "holds": f.holds} for f in d.forms]}
    if expanded if expanded is not None else d.expanded_wanted:
        out["expanded"] = {k: plain(d.expanded(k)) for k in d.gradients}
    if d.proof is not None:
        out["proof"] = {k: (v or False) for k, v in d.proof.items()}
    return out


def json_text(data: dict) -> str:
    return json.dumps(data, indent=1, ensure_ascii=True) + "\n"


def render_json(d: ConvDerivation, expanded: bool | None = None) -> str:
    return json_text(as_dict(d, expanded))


ConvDerivation.writers.update(text=render_text, latex=render_latex, markdown=render_markdown, json=render_json)
