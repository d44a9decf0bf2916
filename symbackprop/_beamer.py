"""Beamer slides of a derivation: the network, the forward pass, and per weight the chain rule
path by path, each path lit up in the drawing while its product is boxed in the equation.

A dense weight's frame has one overlay per path from E down to the weight, then one
with the δ form; a recurrent weight's frame one per time step's term, then the δ form.
Expressions are printed by ``LatexFormat``; the drawing is ``_document.picture``.

>>> import symbackprop as sb
>>> deck = render_beamer(sb.derive(sb.network("2-2-2"), weights=["w11[1]"]))
>>> deck.startswith("\\\\documentclass") and "\\\\only<2>" in deck
True
"""
from __future__ import annotations

from . import _names as names
from ._beamer_parts import (PREAMBLE, _frame, _room, drawing, forward_frames, packed, pathbox, rnn_forward_frames,
                            rnn_lit)
from ._derivation import Derivation
from ._document import dense_titles, rnn_titles
from ._formats_tex import LatexFormat
from ._graph import E
from ._layout import layout
from ._render_recurrent import time_sum
from ._rnn import RNNDerivation
from ._timed import parse_name


def render_beamer(d) -> str:
    """A complete beamer document for a dense derivation."""
    fmt, lay = LatexFormat(), layout(d.network)
    intro = ("Node $j$ of layer $k$ is drawn as $j[k]$; $w_{ij}^{[k]}$ joins node $i$ of layer $k$ "
             "to node $j$ of layer $k+1$.")
    frames = forward_frames(d, fmt) + [weight_frame(d, fmt, lay, step) for step in d.steps]
    return _deck(lay, *dense_titles(d.network, fmt), intro, frames)


def render_rnn_beamer(d) -> str:
    """A complete beamer document for a recurrent derivation: the unrolled drawing, a sum over time per weight."""
    fmt, lay = LatexFormat(), layout(d.network)
    intro = "Each column is one time step; the same $U$, $W$, $V$ act at every step."
    frames = rnn_forward_frames(d, fmt) + [rnn_weight_frame(d, fmt, lay, name) for name in d.selected]
    return _deck(lay, *rnn_titles(d.network, fmt), intro, frames)


def _deck(lay, title: str, sub: str, intro: str, frames: list) -> str:
    """The document: a title frame, the network, then the frames."""
    frames = ["\\begin{frame}\n\\titlepage\n\\end{frame}",
              "\\begin{frame}{The network}\n\\centering\n" + drawing(lay, 13.5, 6.2) + "\n\\medskip\n"
              + "{\\small " + (lay.note + ". " if lay.note else "") + intro + "}\n\\end{frame}"] + frames
    return (PREAMBLE + f"\\title{{{title}}}\n\\subtitle{{{sub}}}\n\\date{{}}\n\\begin{{document}}\n\n"
            + "\n\n".join(frames) + "\n\n\\end{document}\n")


# ---------------------------------------------------------------- what a path lights up
def _kind(symbol) -> str | None:
    """The kind (x, z, a, delta, w, …) of a symbol with a plain name; None for anything else."""
    try:
        return names.parse(symbol.name).kind
    except (AttributeError, names.NameError_):      # E, R, λ, a number: not a node's name
        return None


def _node_id(lay, symbol) -> str | None:
    """The drawn node of an x, z, a or δ symbol (z, a and δ of node j[k] are all node j[k])."""
    if _kind(symbol) is None:
        return None
    p = names.parse(symbol.name)
    k = 1 if p.kind == "x" else p.layer
    if p.kind not in ("x", "z", "a", "delta") or k is None:
        return None
    id_ = f"n{k}_{p.indices[0]}"
    return id_ if any(n.id == id_ for n in lay.nodes) else None


def lit(lay, path) -> tuple[list, list]:
    """The edge and node ids one chain-rule path runs through, from E down to the weight."""
    edges, nodes = [], []
    for f in path:
        of, by = _node_id(lay, f.of), _node_id(lay, f.by)
        if f.of == E and by is not None:
            nodes.append(by)
            edges += [e.id for e in lay.edges if e.kind == "output" and e.source == by]
            nodes += [e.target for e in lay.edges if e.kind == "output" and e.source == by]
        elif of is not None and by is not None and of != by:        # ∂z/∂a: the edges a → z
            edges += [e.id for e in lay.between(by, of) if e.kind in ("weight", "skip")]
            nodes += [of, by]
        elif of is not None and by is None:                         # ∂z/∂w or ∂z/∂b: the parameter's edge
            edges += [e.id for e in lay.edges if e.name == getattr(f.by, "name", None) and e.target == of]
            nodes.append(of)
            nodes += [e.source for e in lay.edges if e.name == getattr(f.by, "name", None) and e.target == of]
        elif of is not None:
            nodes.append(of)
    return list(dict.fromkeys(edges)), list(dict.fromkeys(nodes))


def _weight_frame(fmt, lay, p, terms, ending, ending_lit: tuple, ending_note: str, title: str) -> str:
    """A weight's frame: overlay n boxes term n (its chain, its product) and lights what it runs
    through; the last overlay shows ``ending(overlay)`` (the δ form's rows) with ``ending_lit``
    (edges, nodes) lit.  terms: (chain, product, (edges, nodes), note), with None for an ellipsis."""
    chains, values, highlights, notes = [], [], [], []
    o, last = 0, sum(term is not None for term in terms) + 1
    for term in terms:
        if term is None:
            chains.append(fmt.ellipsis)
            values.append(fmt.ellipsis)
            continue
        o += 1
        chain, product, (edges, nodes), note = term
        chains.append(pathbox(o, chain))
        values.append(pathbox(o, product))
        highlights.append((o, "hl", edges, nodes))
        notes.append(f"\\only<{o}>{{{note}}}")
    rows = packed(fmt.partial(E, p), chains) + packed("", values) + ending(last)
    highlights.append((last, "dl", *ending_lit))
    notes.append(f"\\only<{last}>{{{ending_note}}}")
    return _frame(title, drawing(lay, 13.5, _room(rows), highlights), rows, notes)


def weight_frame(d, fmt, lay, step) -> str:
    """One weight's frame: overlay n lights path n and boxes its product; the last shows the δ form."""
    p, chain = step.parameter, list(step.chain)
    shown = chain if len(chain) <= fmt.max_paths else chain[:2] + [None] + chain[-1:]
    terms = []
    for path in shown:
        if path is None:
            terms.append(None)
            continue
        top = next((f.by for f in path if f.of == E), None)
        where = f", through {fmt.inline_math(fmt.expr(top))}" if top is not None else ""
        terms.append((fmt.mul.join(fmt.partial(f.of, f.by) for f in path), fmt.product([f.value for f in path]),
                      lit(lay, path), f"path {chain.index(path) + 1} of {len(chain)}{where}"))
    seed = [fmt.product(term) for term in step.seed_form]
    seed = seed if len(seed) <= fmt.max_paths else seed[:2] + [fmt.ellipsis] + seed[-1:]
    result = fmt.total([fmt.product(term) for term in step.result])
    if step.result != step.seed_form:
        def ending(n):
            return packed("", seed, n) + [f"& \\uncover<{n}>{{= {pathbox(n, result, 'dl')}}}"]
    else:
        def ending(n):
            return packed("", [pathbox(n, result, "dl")], n)
    # the δ form: the weight's own edge and the node whose δ it multiplies
    own = [e.id for e in lay.edges if e.name == p.name]
    deltas = [_node_id(lay, f) for term in step.result for f in term if _kind(f) == "delta"]
    sources = [e.source for e in lay.edges if e.id in own]
    return _weight_frame(fmt, lay, p, terms, ending, (own, [x for x in deltas + sources if x]),
                         f"the {fmt.greek('delta')} form: the paths share the error signals of the layers above",
                         f"$\\partial E / \\partial {fmt.expr(p)}$: the chain rule, path by path")


def rnn_weight_frame(d, fmt, lay, name: str) -> str:
    """One shared weight: overlay t lights step t and boxes its term; the last shows the sum over time."""
    p = d.parameter(name)
    kind, indices, _ = parse_name(name)
    drawn = {e.step for e in lay.edges if e.step is not None}
    shown = [c for c in d.chains[name] if c[0] in drawn]
    terms = []
    for n, (t, node, local) in enumerate(shown):
        if n and t > shown[n - 1][0] + 1:          # the drawing leaves steps out here
            terms.append(None)
        terms.append((f"{fmt.partial(E, node)}{fmt.mul}{fmt.partial(node, p)}", fmt.product([local, d.upstream(node)]),
                      rnn_lit(lay, kind, t), f"step $t = {t}$: "
                      f"{fmt.inline_math(fmt.partial(node, p) + ' = ' + fmt.expr(local))}"))
    i, j = (tuple(str(n) for n in indices) + ("",))[:2]
    general = time_sum(fmt, kind, i, j, d.network.steps)[1]
    every = [rnn_lit(lay, kind, t) for t, _, _ in shown]
    return _weight_frame(fmt, lay, p, terms, lambda n: [f"& \\uncover<{n}>{{= {pathbox(n, general, 'dl')}}}"],
                         ([e for es, _ in every for e in es], [x for _, ns in every for x in ns]),
                         f"the {fmt.greek('delta')} form: the same weight at every step, so its gradient sums over time",
                         f"$\\partial E / \\partial {fmt.expr(p)}$: a sum over time")


Derivation.writers["beamer"] = render_beamer
RNNDerivation.writers["beamer"] = render_rnn_beamer
