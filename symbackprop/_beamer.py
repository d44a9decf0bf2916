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
from ._beamer_parts import (_frame, _room, PREAMBLE, drawing, forward_frames, packed, pathbox, rnn_forward_frames,
                            rnn_weight_frame)
from ._formats_tex import LatexFormat
from ._graph import E
from ._layout import layout

#: a weight's frame lights up at most this many paths (the first two and the last beyond it)
MAX_SHOWN_PATHS = 4


def render_beamer(d) -> str:
    """A complete beamer document for a dense or recurrent derivation."""
    fmt = LatexFormat()
    net = d.network
    recurrent = getattr(net, "kind", None) == "rnn"
    lay = layout(net)
    if recurrent:
        title = f"Backpropagation through time for the {net.shape()} recurrent network, $T = {net.steps}$"
        sub = (f"hidden activation {net.activation.function_name or net.activation.name}; outputs "
               f"{net.output_activation.function_name or net.output_activation.name}; "
               f"loss {net.loss.name.replace('_', ' ')}; {'with' if net.bias else 'no'} biases")
        intro = ("Each column is one time step; the same $U$, $W$, $V$ act at every step.")
    else:
        title = f"Backpropagation for the {'-'.join(map(str, net.layers))} network"
        acts = ", ".join(dict.fromkeys(a.function_name or a.name for a in net.activations))
        sub = f"activation {acts}; loss {net.loss.name.replace('_', ' ')}; {'with' if net.bias else 'no'} biases"
        intro = ("Node $j$ of layer $k$ is drawn as $j[k]$; $w_{ij}^{[k]}$ joins node $i$ of layer $k$ "
                 "to node $j$ of layer $k+1$.")
    frames = ["\\begin{frame}\n\\titlepage\n\\end{frame}",
              "\\begin{frame}{The network}\n\\centering\n" + drawing(lay, 13.5, 6.2) + "\n\\medskip\n"
              + "{\\small " + (lay.note + ". " if lay.note else "") + intro + "}\n\\end{frame}"]
    if recurrent:
        frames += rnn_forward_frames(d, fmt)
        frames += [rnn_weight_frame(d, fmt, lay, name) for name in d.selected]
    else:
        frames += forward_frames(d, fmt)
        frames += [weight_frame(d, fmt, lay, step) for step in d.steps]
    return (PREAMBLE + f"\\title{{{title}}}\n\\subtitle{{{sub}}}\n\\date{{}}\n\\begin{{document}}\n\n"
            + "\n\n".join(frames) + "\n\n\\end{document}\n")


# ---------------------------------------------------------------- what a path lights up
def _node_id(lay, symbol) -> str | None:
    """The drawn node of an x, z, a or δ symbol (z, a and δ of node j[k] are all node j[k])."""
    try:
        p = names.parse(symbol.name)
    except Exception:  # noqa: BLE001 (E, R, λ: nothing drawn)
        return None
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


def weight_frame(d, fmt, lay, step) -> str:
    """One weight's frame: overlay n lights path n and boxes its product; the last shows the δ form."""
    p = step.parameter
    chain = list(step.chain)
    shown = chain if len(chain) <= MAX_SHOWN_PATHS else chain[:2] + chain[-1:]
    n = len(shown)
    lhs = fmt.partial(E, p)
    chains, values = [], []
    for o, path in enumerate(shown, start=1):
        chains.append(pathbox(o, fmt.mul.join(fmt.partial(f.of, f.by) for f in path)))
        values.append(pathbox(o, fmt.product([f.value for f in path])))
    if len(shown) < len(chain):
        chains.insert(2, fmt.ellipsis)
        values.insert(2, fmt.ellipsis)
    seed = [fmt.product(term) for term in step.seed_form]
    seed = seed if len(seed) <= MAX_SHOWN_PATHS else seed[:2] + [fmt.ellipsis] + seed[-1:]
    result = fmt.total([fmt.product(term) for term in step.result])
    rows = packed(lhs, chains) + packed("", values)
    if result != " + ".join(seed):
        rows += packed("", seed, n + 1)
        rows.append(f"& \\uncover<{n + 1}>{{= {pathbox(n + 1, result, 'dl')}}}")
    else:
        rows += packed("", [pathbox(n + 1, result, "dl")], n + 1)
    highlights = []
    for o, path in enumerate(shown, start=1):
        edges, nodes = lit(lay, path)
        highlights.append((o, "hl", edges, nodes))
    # the δ form: the weight's own edge and the node whose δ it multiplies
    own = [e.id for e in lay.edges if e.name == p.name]
    deltas = [_node_id(lay, f) for term in step.result for f in term if getattr(f, "name", "").startswith("delta")]
    sources = [e.source for e in lay.edges if e.id in own]
    highlights.append((n + 1, "dl", own, [x for x in deltas + sources if x]))
    notes = []
    for o, path in enumerate(shown, start=1):
        top = next((f.by for f in path if f.of == E), None)
        where = f", through {fmt.inline_math(fmt.expr(top))}" if top is not None else ""
        notes.append(f"\\only<{o}>{{path {chain.index(path) + 1} of {len(chain)}{where}}}")
    notes.append(f"\\only<{n + 1}>{{the {fmt.greek('delta')} form: the paths share the error signals of "
                 "the layers above}")
    title = f"$\\partial E / \\partial {fmt.expr(p)}$: the chain rule, path by path"
    return _frame(title, drawing(lay, 13.5, _room(rows), highlights), rows, notes)


