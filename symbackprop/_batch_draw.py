r"""A layer stack over a batch drawn: the layers left to right as columns of nodes, as a lecturer would.

Layer 1 (the inputs x_i<s>) stands in front of a small stack of cards, one per sample (at most
three shown), under "batch: N = 3 samples".  A dense layer's nodes are joined to every node below
by their weights (a few labelled: w_i1 into its first node, w_12); a batch- or layer-norm layer
is its nodes in a blue box under what is normalised over and its γ_j, β_j; a dropout layer's
nodes are joined one to one to the layer below, one of them greyed and crossed out as dropped,
under "dropout p = 0.5".  Wide layers are drawn as nodes 1, 2, 3, ⋮, n.  Under each column its
number [k] and what it is; E at the right.  One geometry (``picture``), written as TikZ here,
as SVG in ``_batch_draw_svg``.

>>> from symbackprop._batch import from_data
>>> net = from_data({"inputs": 2, "batch": 3, "layer": [{"size": 3, "activation": "linear", "bias": True},
...                  {"kind": "batchnorm", "activation": "relu"}, {"kind": "dropout", "rate": 0.5},
...                  {"size": 1, "activation": "sigmoid"}], "loss": "bce"}, "spec")
>>> tex = draw_batch(net)
>>> tex.count(r"\node[unit"), tex.count(r"\draw[normbox]"), tex.count(r"\draw[cross]"), "{dropout $p = 0.5$}" in tex
(12, 1, 2, True)
"""
from __future__ import annotations

from dataclasses import dataclass, field
from math import hypot

from ._batch import Dropout, Norm
from ._batch_draw_svg import svg, width
from ._document import DRAWING_PREAMBLE
from ._gated_draw import function

#: a node's radius, rows apart, a norm box's margin round its nodes, the cards' offset, a text line (cm)
R, DY, MARGIN, CARD, LINE = 0.38, 1.05, 0.2, 0.14, 0.36
MAX_DRAWN = 6                                      # wider layers: nodes 1, 2, 3, ⋮, n
BASE = {"dense": 3.1, "other": 2.3, "loss": 1.5}   # the least distance to the column before
STYLES = ("unit/.style={circle,draw,fill=white,minimum size=7.6mm,inner sep=0pt,font=\\scriptsize}",
          "dropped/.style={draw=black!45,fill=black!12,text=black!45}",
          "edge/.style={->,line width=0.4pt}", "dropedge/.style={->,densely dashed,black!35}",
          "cross/.style={line width=1pt,red!70!black}",
          "normbox/.style={draw=blue!55!black,fill=blue!6,rounded corners=4pt}",
          "card/.style={draw=black!45,fill=white,rounded corners=3pt}",
          "loss/.style={draw,fill=black!8,font=\\small,minimum size=7mm}",
          "weight/.style={font=\\scriptsize,inner sep=1pt,fill=white}")


@dataclass
class Picture:
    """What is drawn, in cm; a label is (LaTeX, SVG pieces), a piece (text, "r" | "i" | "sub" | "sup")."""

    units: list = field(default_factory=list)    # (x, y, label, dropped)
    rects: list = field(default_factory=list)    # (x0, y0, x1, y1, style, label or None): card, normbox, loss
    lines: list = field(default_factory=list)    # (points, style): edge, dropedge, cross
    texts: list = field(default_factory=list)    # (x, y, anchor, label, size): size small | script | weight


# ---------------------------------------------------------------- labels: (LaTeX, SVG pieces)
def words(text: str) -> tuple:
    return text, ((text, "r"),)


def sym(letter: str, sub: str = "", sup: str = "", tex: str | None = None) -> tuple:
    """w, 11, [1] → $w_{11}^{[1]}$ and its pieces; ``tex``: the letter in LaTeX (\\gamma for γ)."""
    sup_tex = sup.replace("⟨", "\\langle ").replace("⟩", " \\rangle")
    latex = (tex or letter) + (f"_{{{sub}}}" if sub else "") + (f"^{{{sup_tex}}}" if sup else "")
    pieces = ((letter, "i"),) + (((sub, "sub"),) if sub else ()) + (((sup, "sup"),) if sup else ())
    return f"${latex}$", pieces


def joined(*labels) -> tuple:
    return "".join(lab[0] for lab in labels), tuple(p for lab in labels for p in lab[1])


def equals(letter: str, value) -> tuple:
    """N, 3 → $N = 3$, N italic."""
    return f"${letter} = {value}$", ((letter, "i"), (f" = {value}", "r"))


def rows(n: int) -> list:
    """The nodes drawn of a layer of n: all up to MAX_DRAWN, else 1, 2, 3, an ellipsis (None), n."""
    return list(range(1, n + 1)) if n <= MAX_DRAWN else [1, 2, 3, None, n]


def _top(net, k: int, lay) -> list:
    """The lines over column k: the batch, what a norm layer normalises over, a dropout's rate."""
    if k == 1:
        unit = "sample" if net.samples == 1 else "samples"
        return [joined(words("batch: "), equals("N", net.samples), words(f" {unit}"))]
    if isinstance(lay, Norm):
        over = ([joined(words("the "), equals("N", net.samples), words(" samples,")), words("per node;")]
                if lay.kind == "batchnorm" else [words("the nodes, per sample;")])
        head = "batch norm:" if lay.kind == "batchnorm" else "layer norm:"
        mu = joined(sym("μ", tex="\\mu"), words(", "), sym("σ", sup="2", tex="\\sigma"), words(" over"))
        params = joined(sym("γ", "j", f"[{k}]", "\\gamma"), words(", "), sym("β", "j", f"[{k}]", "\\beta"))
        return [words(head), mu, *over, params]
    if isinstance(lay, Dropout):
        p = f"{float(lay.rate):g}"
        scaled = ("$/(1-p)$", (("/(1 − ", "r"), ("p", "i"), (")", "r")))
        times = ("$\\times$", (("× ", "r"),))
        return [joined(words("dropout "), equals("p", p)), joined(times, sym("m", "j", "⟨s⟩"), scaled)]
    return []


def _under(net, k: int, lay) -> list:
    """The lines under column k: its number [k], then what the layer is."""
    lines = [words(f"[{k}]")]
    if k == 1:
        return lines + [words("inputs")]
    if isinstance(lay, Dropout):
        return lines
    tex, text = function(lay.activation)
    act = (f"${tex}$", ((text, "i" if len(text) == 1 else "r"),))
    if isinstance(lay, Norm):
        return lines + ([joined(words("then "), act)] if lay.activation.name != "linear" else [])
    bias = [joined(("$+$", (("+ ", "r"),)), sym("b", "j", f"[{k}]"))] if lay.bias else []
    return lines + [joined(words("dense, "), act)] + bias


# ---------------------------------------------------------------- the geometry
def _clipped(a: tuple, b: tuple, ra: float, rb: float) -> list:
    """The segment from a to b, less ra at a's end and rb at b's."""
    d = hypot(b[0] - a[0], b[1] - a[1])
    ux, uy = (b[0] - a[0]) / d, (b[1] - a[1]) / d
    return [(a[0] + ra * ux, a[1] + ra * uy), (b[0] - rb * ux, b[1] - rb * uy)]


def _spans(labels: list, size: str = "script") -> float:
    return max([width(lab[1], size) for lab in labels] + [2 * R])


def _weights(pic: Picture, k: int, a: dict, b: dict, left: float) -> None:
    """Labels on a few of layer k's weights: w11 and w21 near their sources, w_12 near its target."""
    x0, x1 = next(iter(a.values()))[0], next(iter(b.values()))[0]
    chosen = [(i, 1, True) for i in list(a)[:2]] + ([(1, 2, False)] if 2 in b else [])
    for i, j, near_source in chosen:
        label = sym("w", f"{i}{j}", f"[{k - 1}]")
        half = width(label[1], "script") / 2
        x = x0 + max(0.3 * (x1 - x0), left + 0.2 + half) if near_source else \
            x1 - max(0.3 * (x1 - x0), R + 0.15 + half)
        (ax, ay), (bx, by) = a[i], b[j]
        pic.texts.append((x, ay + (by - ay) * (x - ax) / (bx - ax), "center", label, "weight"))


def picture(net) -> Picture:
    """The geometry: columns centred on y = 0, labels over them, captions under them, E at the right."""
    pic, L = Picture(), net.depth
    lays = [None, *net.layers]
    drawn = [rows(n) for n in net.sizes]
    tallest = max((len(d) - 1) * DY / 2 for d in drawn)
    tops = [_top(net, k, lay) for k, lay in enumerate(lays, start=1)]
    unders = [_under(net, k, lay) for k, lay in enumerate(lays, start=1)]
    loss = [words(f"loss: {net.loss.name.replace('_', ' ')},"), joined(words("summed over "), sym("s"))]
    xs = [0.0]
    for k in range(2, L + 2):
        base = BASE["loss" if k > L else "dense" if not isinstance(lays[k - 1], (Norm, Dropout)) else "other"]
        below = unders[k - 1] if k <= L else loss
        card = 0.6 + (min(net.samples, 3) - 1) * CARD - R if k == 2 else 0.0   # the cards reach right
        xs.append(xs[-1] + max(base + card, (_spans(unders[k - 2]) + _spans(below)) / 2 + 0.35,
                               (_spans(tops[k - 2]) + (_spans(tops[k - 1]) if k <= L else 0)) / 2 + 0.35))
    centres, dropped = [], {}
    for k, (x, rws) in enumerate(zip(xs, drawn), start=1):
        top = (len(rws) - 1) * DY / 2
        at = {j: (x, top - r * DY) for r, j in enumerate(rws) if j is not None}
        centres.append(at)
        lay = lays[k - 1]
        if isinstance(lay, Dropout):
            dropped[k] = list(at)[1 if len(at) > 1 else 0]
        if None in rws:
            pic.texts.append((x, top - rws.index(None) * DY, "center", ("$\\vdots$", (("⋮", "r"),)), "small"))
        pic.units += [(px, py, words(f"{j}[{k}]"), dropped.get(k) == j) for j, (px, py) in at.items()]
        label_base = top + R + 0.2
        if k == 1:      # the sample's card in front of (at most) two more
            x0, x1, y0, y1 = x - 1.4, x + 0.6, -top - 0.6, top + 0.6
            for n in reversed(range(min(net.samples, 3))):
                pic.rects.append((x0 + n * CARD, y0 + n * CARD, x1 + n * CARD, y1 + n * CARD, "card", None))
            pic.texts += [(x - R - 0.1, py, "east", sym("x", str(j), "⟨s⟩"), "small") for j, (_, py) in at.items()]
            label_base = y1 + 2 * CARD + 0.2
        elif isinstance(lay, Norm):
            pic.rects.append((x - R - MARGIN, -top - R - MARGIN, x + R + MARGIN, top + R + MARGIN, "normbox", None))
            label_base = top + R + MARGIN + 0.2
        for n, lab in enumerate(reversed(tops[k - 1])):
            pic.texts.append((x + (-0.4 if k == 1 else 0), label_base + n * LINE, "base", lab, "script"))
        for n, lab in enumerate(unders[k - 1]):
            pic.texts.append((x, -tallest - 1.05 - n * LINE, "base", lab, "small" if n == 0 else "script"))
        if k == 1:
            continue
        a, b, lay = centres[k - 2], at, lays[k - 1]
        pairs = [(i, i) for i in b] if isinstance(lay, (Norm, Dropout)) else [(i, j) for i in a for j in b]
        for i, j in pairs:
            grey = dropped.get(k - 1) == i or dropped.get(k) == j
            pic.lines.append((_clipped(a[i], b[j], R, R), "dropedge" if grey else "edge"))
        if not isinstance(lay, (Norm, Dropout)):
            left = 0.6 + (min(net.samples, 3) - 1) * CARD if k == 2 else R + MARGIN if isinstance(
                lays[k - 2], Norm) else R       # the right edge of what the source column holds
            _weights(pic, k, a, b, left)
    for k, j in dropped.items():
        px, py = centres[k - 1][j]
        c = 0.7 * R
        pic.lines += [([(px - c, py - c), (px + c, py + c)], "cross"), ([(px - c, py + c), (px + c, py - c)], "cross")]
    xe = xs[-1]
    pic.rects.append((xe - 0.35, -0.35, xe + 0.35, 0.35, "loss", sym("E")))
    for point in centres[-1].values():
        pic.lines.append((_clipped(point, (xe - 0.35, max(-0.22, min(0.22, 0.3 * point[1]))), R, 0.0), "edge"))
    pic.texts += [(xe, -tallest - 1.05 - n * LINE, "base", lab, "script") for n, lab in enumerate(loss)]
    return pic


# ---------------------------------------------------------------- TikZ
def _n(v: float) -> str:
    return f"{v:.3f}".rstrip("0").rstrip(".") if round(v, 3) else "0"


def _pt(x: float, y: float) -> str:
    return f"({_n(x)},{_n(y)})"


def tikz(net) -> str:
    """The tikzpicture (see the module's docstring)."""
    pic = picture(net)
    lines = ["\\begin{tikzpicture}[>=stealth,", *["  " + s + "," for s in STYLES[:-1]], "  " + STYLES[-1] + "]",
             "  % " + net.describe().replace("→", "->").encode("ascii", "replace").decode()]
    for x0, y0, x1, y1, style, label in pic.rects:
        if label is None:
            lines.append(f"  \\draw[{style}] {_pt(x0, y0)} rectangle {_pt(x1, y1)};")
    lines += [f"  \\draw[{style}] " + " -- ".join(_pt(*p) for p in points) + ";"
              for points, style in pic.lines if style != "cross"]
    for x, y, label, dropped in pic.units:
        lines.append(f"  \\node[unit{',dropped' if dropped else ''}] at {_pt(x, y)} {{{label[0]}}};")
    lines += ["  \\draw[cross] " + " -- ".join(_pt(*p) for p in points) + ";"
              for points, style in pic.lines if style == "cross"]
    for x0, y0, x1, y1, style, label in pic.rects:
        if label is not None:
            lines.append(f"  \\node[{style}] at {_pt((x0 + x1) / 2, (y0 + y1) / 2)} {{{label[0]}}};")
    for x, y, anchor, label, size in pic.texts:
        style = "weight" if size == "weight" else \
            f"anchor={anchor},font=\\{'scriptsize' if size == 'script' else 'small'},inner sep=0pt"
        lines.append(f"  \\node[{style}] at {_pt(x, y)} {{{label[0]}}};")
    return "\n".join(lines + ["\\end{tikzpicture}"]) + "\n"


def draw_batch(net, standalone: bool = False, fmt: str = "tikz") -> str:
    """The drawing of a ``BatchNet``: a tikzpicture, a complete standalone document (pdflatex), or
    (fmt="svg") an inline ``<svg>`` with ``width`` and ``height``."""
    if fmt == "svg":
        return svg(picture(net), net.describe())
    body = tikz(net)
    return DRAWING_PREAMBLE + "\\begin{document}\n" + body + "\\end{document}\n" if standalone else body
