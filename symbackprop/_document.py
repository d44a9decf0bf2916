"""The network as a TikZ picture, and the complete LaTeX documents around a drawing or a derivation.

Formatting only: where things go comes from the layout (``_layout.py``), equations
from the renderers.

>>> from symbackprop._spec import from_spec
>>> "\\\\begin{tikzpicture}" in tikz(from_spec("2-3-1"))
True
"""
from __future__ import annotations

from ._layout import Layout, layout

PREAMBLE = r"""\documentclass[11pt]{article}
\usepackage[a4paper,margin=2cm]{geometry}
\usepackage{amsmath,amssymb}
\usepackage{tikz}
\allowdisplaybreaks
"""
#: the preamble's text width (17 cm at 11pt) in points of 10pt type, the unit of ``_tex_width.width``
TEXT_WIDTH = 483.7 / 1.095
#: a drawing alone: the standalone class crops the page to the picture
DRAWING_PREAMBLE = r"""\documentclass[tikz,border=4pt]{standalone}
\usepackage{amsmath,amssymb}
"""

STYLES = {
    "neuron": r"neuron/.style={circle,draw,minimum size=9mm,inner sep=1pt,font=\small}",
    "bias": r"bias/.style={circle,draw,densely dashed,minimum size=6mm,inner sep=1pt,font=\small}",
    "state": r"state/.style={rectangle,rounded corners,draw,minimum width=13mm,minimum height=8mm,font=\small}",
    "weight": r"weight/.style={font=\scriptsize,inner sep=1pt,fill=white}",
}


def _at(x: float, y: float) -> str:
    return f"({x:.2f},{y:.2f})"


def _node(n, extra: str = "") -> str:
    """One node as TikZ; ``extra`` adds styles (a highlight)."""
    style = {"neuron": "neuron", "bias": "bias", "state": "state", "dots": "", "input": "anchor=east",
             "output": "anchor=west", "text": "font=\\small", "note": "font=\\scriptsize,anchor=west"}[n.kind]
    style = ",".join(s for s in (style, extra) if s)
    return rf"\node[{style}] ({n.id}) at {_at(n.x, n.y)} {{{n.latex}}};" if not extra else \
        rf"\node[{style}] at {_at(n.x, n.y)} {{{n.latex}}};"


def _line(e, extra: str = "") -> str:
    style = ",".join(s for s in ("->", "dashed" if e.kind == "skip" else "", extra) if s)
    if e.bend:
        return rf"\draw[{style}] ({e.source}) to[bend left={e.bend:g}] ({e.target});"
    return rf"\draw[{style}] ({e.source}) -- ({e.target});"


def _label(e, extra: str = "") -> str:
    lab = e.label
    where = "rotate=" + f"{lab.angle:.1f}" if lab.anchor == "center" else "anchor=" + lab.anchor
    if lab.anchor == "center" and abs(lab.angle) < 0.05:
        where = ""
    style = ",".join(s for s in ("weight", where, extra) if s)
    return rf"\node[{style}] at {_at(lab.x, lab.y)} {{{lab.latex}}};"


def picture(lay: Layout, options: str = "", extra=()) -> str:
    """The tikzpicture of a layout: nodes, then edges, then the labels on top; ``extra``: more lines
    at the end (a slide's highlights)."""
    kinds = {n.kind for n in lay.nodes}
    styles = [STYLES[k] for k in ("neuron", "bias", "state") if k in kinds] + [STYLES["weight"]]
    lines = [r"\begin{tikzpicture}[>=stealth," + (options + "," if options else "")]
    lines += ["  " + s + "," for s in styles[:-1]] + ["  " + styles[-1] + "]"]
    if lay.note:
        lines.append(f"  % {lay.note}")
    lines += ["  " + _node(n) for n in lay.nodes]
    lines += ["  " + _line(e) for e in lay.edges]
    lines += ["  " + _label(e) for e in lay.edges if e.label is not None]
    lines += ["  " + line for line in extra]
    lines.append(r"\end{tikzpicture}")
    return "\n".join(lines) + "\n"


def highlight(lay: Layout, edges=(), nodes=(), style: str = "hl") -> list:
    """TikZ lines that draw the given edges (ids) and nodes (ids) again, in ``style``, over the picture."""
    out = []
    for e in lay.edges:
        if e.id in edges:
            out.append(_line(e, style))
    for e in lay.edges:
        if e.id in edges and e.label is not None:
            out.append(_label(e, style + " label"))
    for n in lay.nodes:
        if n.id in nodes:
            out.append(_node(n, style + (" node" if n.kind in ("neuron", "bias", "state") else " text")))
    return out


def tikz(net, bias: bool | None = None) -> str:
    """A tikzpicture: layers left to right, nodes j[k] as in the seed's figure, weights on edges
    (an RNN: unrolled, one column per step); ``bias`` (default: the network's) draws the bias nodes."""
    return picture(layout(net, bias))


def fitted(net, width: float = 16.5) -> str:
    """The drawing in a document's text (17 cm less a margin for labels the layout estimates):
    scaled down, text and all, when wider; as it is otherwise."""
    lay = layout(net)
    x0, _, x1, _ = lay.bbox()
    scale = min(1.0, width / (x1 - x0))
    return picture(lay, f"scale={scale:.3f},transform shape" if scale < 1 else "")


def standalone_drawing(net, bias: bool | None = None) -> str:
    """The drawing alone, as a document cropped to it (the standalone class)."""
    return DRAWING_PREAMBLE + "\\begin{document}\n" + tikz(net, bias) + "\\end{document}\n"


def dense_titles(net, fmt) -> tuple[str, str]:
    """A dense network's title and the line under it (activations, loss, biases)."""
    acts = ", ".join(dict.fromkeys(a.function_name or a.name for a in net.activations))
    return (f"Backpropagation for the {'-'.join(map(str, net.layers))} network",
            f"activation {fmt.words(acts)}; loss {fmt.words(net.loss.name)}; {'with' if net.bias else 'no'} biases")


def rnn_titles(net, fmt, truncate: int | None = None) -> tuple[str, str]:
    """A recurrent network's title and the line under it."""
    hidden = net.activation.function_name or net.activation.name
    out = net.output_activation.function_name or net.output_activation.name
    return (f"Backpropagation through time for the {net.shape()} recurrent network, {fmt.inline_math(f'T = {net.steps}')}",
            f"hidden activation {fmt.words(hidden)}; outputs {fmt.words(out)}; loss {fmt.words(net.loss.name)}; "
            f"{'with' if net.bias else 'no'} biases" + (f"; truncated to {truncate} steps" if truncate else ""))


def _article(title: str, subtitle: str, network: str, body: str) -> str:
    """A complete article: the title block, a section with the drawing, then the walk's sections
    (the body opens with its own title and subtitle lines, which the title block replaces)."""
    rest = body.split("\n", 2)[2] if body.count("\n") >= 2 else ""
    # the subtitle under the title, in a paragraph that breaks where it must (\\author would not)
    return (PREAMBLE + f"\\title{{{title}\\\\[1ex]\\large {subtitle}}}\n\\author{{}}\n\\date{{}}\n"
            + "\\begin{document}\n\\maketitle\n\n" + network + rest + "\n\\end{document}\n")


def fragment(body: str) -> str:
    """The derivation to paste into a document of one's own (amsmath): its blocks of equations may
    break across pages, as in the standalone notes."""
    return "\\allowdisplaybreaks  % long blocks of equations may break across pages\n" + body


def standalone_document(d, body: str, fmt) -> str:
    """A complete article for a dense network: title, the drawing, then the derivation's sections."""
    net = d.network
    network = ("\\subsection*{The network}\n"
               + "Layers $L1$ (the inputs) to $L" + str(net.depth) + "$; node $j$ of layer $k$ is drawn as $j[k]$, "
               + "and $w_{ij}^{[k]}$ joins node $i$ of layer $k$ to node $j$ of layer $k+1$.\n\n"
               + "\\begin{center}\n" + fitted(net) + "\\end{center}\n\n")
    return _article(*dense_titles(net, fmt), network, body)


def standalone_rnn_document(d, body: str, fmt) -> str:
    """A complete article for a recurrent network: title, the unrolled drawing, the derivation."""
    network = ("\\subsection*{The network, unrolled}\n"
               + "Each column is one time step; the same $U$, $W$, $V$ act at every step, with $U$ holding $u_{ij}$ "
               + "in row $i$ and column $j$ (likewise $W$, $V$).\n\n"
               + "\\begin{center}\n" + fitted(d.network) + "\\end{center}\n\n")
    return _article(*rnn_titles(d.network, fmt, d.truncate), network, body)
