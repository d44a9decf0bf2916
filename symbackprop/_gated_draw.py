r"""A gated recurrent network drawn: the LSTM or GRU cell once with its gates, then unrolled over time.

Top: one step of the cell, as textbook figures draw it: the state that runs through (LSTM: the
cell state c, blue; GRU: h) is the top line, multiplied (⊙) and added (+) on its way; the
inputs x<t> (below) and h<t−1> (left) run along the bottom into the gate boxes ("f: σ",
"g: tanh"), whose outputs rise to the products.  Below: the network unrolled, one box per
step (at most 6: 1 … 4, ⋯, T beyond), x<t> under it, h<t> (and, thick and blue, c<t>) passed
on to the right, and above it q<t> and y<t> then the loss E (output = "hidden": E reads h<t>).
One geometry (``picture``), written as TikZ here, as SVG in ``_gated_draw_svg``.

>>> from symbackprop._gated import GatedRNN
>>> tex = draw_gated(GatedRNN.build("lstm", 2, 3, 1, 4))
>>> tex.count(r"\node[gate"), tex.count(r"\node[stepbox"), r"$f\colon \sigma$" in tex
(4, 4, True)
"""
from __future__ import annotations

from dataclasses import dataclass, field

from ._activations import ACTIVATIONS
from ._document import DRAWING_PREAMBLE
from ._gated_draw_svg import ONE_R, R, svg

#: the cell (cm): its bottom line, gates' row, a gate box's bottom and top, products, top line, its top
YB, YG, GATE_IN, GATE_OUT, YM, YT, TOP = 0.6, 1.4, 1.12, 1.68, 2.3, 3.3, 3.75
PITCH, BOX_W, BOX_H, MAX_DRAWN = 2.3, 1.3, 1.0, 6   # the unrolled steps: distance, a box's size, drawn at most
BAR = {False: 1.45, True: 2.9}                       # the bottom of E's bar, without and with q, y
STYLES = ("cell/.style={draw=black!60,fill=black!4,rounded corners=6pt}",
          "gate/.style={draw,fill=orange!25,rounded corners=2pt,font=\\small,inner sep=1pt}",
          "act/.style={draw,fill=orange!10,rounded corners=5pt,font=\\scriptsize,inner sep=1pt}",
          "stepbox/.style={draw,fill=black!4,rounded corners=3pt,font=\\small}",
          "loss/.style={draw,fill=black!8,font=\\small}",
          "link/.style={line width=0.6pt}", "wire/.style={link,->}",
          "cpath/.style={->,line width=1.6pt,blue!60!black}", "hpath/.style={->,line width=1.6pt}",
          "bridge/.style={wire,preaction={draw=black!4,line width=4pt,-}}")
GREEK = {"sigmoid": ("\\sigma", "σ"), "phi": ("\\phi", "φ")}      # a custom cell activation is called φ


@dataclass
class Picture:
    """What is drawn, in cm; a label is (LaTeX, SVG pieces), a piece (text, "i" | "r" | "sup")."""

    rects: list = field(default_factory=list)   # (x0, y0, x1, y1, style, label or None): cell, gate, act, stepbox, loss
    ops: list = field(default_factory=list)     # (x, y, kind): odot, plus, oneminus
    wires: list = field(default_factory=list)   # (points, style): link (no tip), wire, cpath, hpath, bridge
    joins: list = field(default_factory=list)   # (x, y): where a line branches
    texts: list = field(default_factory=list)   # (x, y, anchor, label, size): size "small" or "script"

    def wire(self, style, *points):
        self.wires.append((list(points), style))

    def text(self, x, y, anchor, label, size="small"):
        self.texts.append((x, y, anchor, label, size))

    def moved(self, dx: float, dy: float, other: "Picture") -> "Picture":
        """This picture moved by (dx, dy), with ``other`` added as it is."""
        def m(x, y):
            return x + dx, y + dy
        return Picture([(*m(*r[:2]), *m(*r[2:4]), *r[4:]) for r in self.rects] + other.rects,
                       [(*m(x, y), k) for x, y, k in self.ops] + other.ops,
                       [([m(*p) for p in points], s) for points, s in self.wires] + other.wires,
                       [m(*p) for p in self.joins] + other.joins,
                       [(*m(x, y), *rest) for x, y, *rest in self.texts] + other.texts)


# ---------------------------------------------------------------- labels: (LaTeX, SVG pieces)
def name(letter: str, step) -> tuple:
    """``h`` at step ``t-1`` → $h^{\\langle t-1 \\rangle}$, and h with ⟨t−1⟩ raised."""
    raised = "⟨" + str(step).replace("-", "−") + "⟩"
    return f"${letter}^{{\\langle {step} \\rangle}}$", ((letter, "i"), (raised, "sup"))


def function(act) -> tuple:
    """An activation's name: (LaTeX, text): (\\tanh, tanh), (\\mathrm{ReLU}, ReLU), (\\sigma, σ), (\\phi, φ)."""
    if (act.function_name or act.name) in GREEK:
        return GREEK[act.function_name or act.name]
    text = act.function_name or act.latex.removeprefix("\\mathrm{").removesuffix("}").lstrip("\\") or act.name
    return act.latex or f"\\mathrm{{{text}}}", text


def gate_label(letter: str, act) -> tuple:
    """A gate box's label: $f\\colon \\sigma$, f: σ."""
    tex, text = function(act)
    return f"${letter}\\colon {tex}$", ((letter, "i"), (": " + text, "r"))


def _width(label: tuple) -> float:
    return max(0.9, 0.17 * sum(len(t) for t, _ in label[1]) + 0.3)


def _gate(x: float, label: tuple) -> tuple:
    """A gate's box, centred at x on the gates' row."""
    return x - _width(label) / 2, GATE_IN, x + _width(label) / 2, GATE_OUT, "gate", label


# ---------------------------------------------------------------- the cell, once
def _lstm(pic: Picture, net, labels: dict, pitch: float) -> float:
    """c<t> = f⊙c<t−1> + i⊙g on the top line, h<t> = o⊙φ(c<t>) out at the bottom right; the width."""
    xf, xi, xg, xo = (1.3 + n * pitch for n in range(4))
    tanh = function(net.activation)
    half = _width((None, ((tanh[1], "r"),))) / 2 - 0.1    # φ(c<t>)'s box at xh, o⊙φ(c<t>) at (xh, ho)
    xh, ho, width = xo + 1.25, YM - 0.35, xo + 1.25 + max(0.8, half + 0.3)
    pic.rects += [(0, 0, width, TOP, "cell", None)] + [_gate(x, labels[g]) for g, x in zip("figo", (xf, xi, xg, xo))]
    pic.wires += [([(x, YB), (x, GATE_IN)], "wire") for x in (xf, xi, xg, xo)]
    for style, *points in (
            ("cpath", (-0.9, YT), (xf - R, YT)), ("cpath", (xf + R, YT), (xg - R, YT)),
            ("cpath", (xg + R, YT), (width + 0.9, YT)), ("link", (-0.9, YB), (xo, YB)),
            ("link", (0.55, -0.5), (0.55, YB)), ("wire", (xf, GATE_OUT), (xf, YT - R)),
            ("wire", (xi, GATE_OUT), (xi, YM), (xg - R, YM)),
            ("wire", (xg, GATE_OUT), (xg, YM - R)), ("wire", (xg, YM + R), (xg, YT - R)), ("wire", (xh, YT), (xh, 2.9)),
            ("wire", (xh, 2.5), (xh, ho + R)), ("wire", (xo, GATE_OUT), (xo, ho), (xh - R, ho)),
            ("wire", (xh, ho - R), (xh, YB), (width + 0.9, YB))):
        pic.wire(style, *points)
    pic.ops += [(xf, YT, "odot"), (xg, YT, "plus"), (xg, YM, "odot"), (xh, ho, "odot")]
    pic.joins += [(0.55, YB), (xf, YB), (xi, YB), (xg, YB), (xh, YT)]
    pic.rects.append((xh - half, 2.5, xh + half, 2.9, "act", (f"${tanh[0]}$", ((tanh[1], "r"),))))
    for x, y, anchor, label in ((-0.95, YT, "east", name("c", "t-1")), (-0.95, YB, "east", name("h", "t-1")),
                                (width + 0.95, YT, "west", name("c", "t")), (width + 0.95, YB, "west", name("h", "t")),
                                (0.55, -0.55, "north", name("x", "t"))):
        pic.text(x, y, anchor, label)
    return width


def _gru(pic: Picture, net, labels: dict, pitch: float) -> float:
    """r⊙h<t−1> feeds n; h<t> = z⊙h<t−1> + (1−z)⊙n on the top line; the width."""
    xr, xz = 1.3, 1.3 + pitch
    xn = xz + pitch + 0.2
    xm = xn + _width(labels["n"]) / 2 + 0.6                # (1−z)⊙n, then + on the top line at xp
    xp, x1, y1 = xm + 0.6, (xz + xm) / 2, YM + 0.5         # 1−z at (x1, y1)
    width = xp + 0.7
    pic.rects += [(0, 0, width, TOP, "cell", None)] + [_gate(x, labels[g]) for g, x in zip("rzn", (xr, xz, xn))]
    for style, *points in (
            ("hpath", (-0.9, YT), (xz - R, YT)), ("hpath", (xz + R, YT), (xp - R, YT)),
            ("hpath", (xp + R, YT), (width + 0.9, YT)), ("link", (0.3, YT), (0.3, YB), (xz, YB)),
            ("link", (0.65, -0.5), (0.65, YB)), ("wire", (xz, YB), (xz, GATE_IN)), ("wire", (xr, YB), (xr, GATE_IN)),
            ("wire", (0.65, 0.25), (xn, 0.25), (xn, GATE_IN)), ("wire", (xr, GATE_OUT), (xr, YM - R)),
            ("wire", (xr, YT), (xr, YM + R)), ("wire", (xr + R, YM), (xn, YM), (xn, GATE_OUT)),
            ("bridge", (xz, GATE_OUT), (xz, YT - R)),      # over the line r⊙h<t−1> → n
            ("wire", (xz, y1), (x1 - ONE_R, y1)), ("wire", (x1 + ONE_R, y1), (xm, y1), (xm, YM + R)),
            ("wire", (xn + _width(labels["n"]) / 2, YG), (xm, YG), (xm, YM - R)),
            ("wire", (xm + R, YM), (xp, YM), (xp, YT - R))):
        pic.wire(style, *points)
    pic.ops += [(xz, YT, "odot"), (xp, YT, "plus"), (xr, YM, "odot"), (xm, YM, "odot"), (x1, y1, "oneminus")]
    pic.joins += [(0.3, YT), (xr, YT), (xr, YB), (0.65, YB), (0.65, 0.25), (xz, y1)]
    for x, y, anchor, label in ((-0.95, YT, "east", name("h", "t-1")), (width + 0.95, YT, "west", name("h", "t")),
                                (0.65, -0.55, "north", name("x", "t"))):
        pic.text(x, y, anchor, label)
    return width


# ---------------------------------------------------------------- the network, unrolled
def steps_drawn(T: int) -> list:
    """The steps drawn: all up to MAX_DRAWN, else 1 … MAX_DRAWN − 2, an ellipsis (None) and T."""
    return list(range(1, T + 1)) if T <= MAX_DRAWN else [*range(1, MAX_DRAWN - 1), None, T]


def _unrolled(pic: Picture, net) -> None:
    """Boxes at y = 0, x<t> below, h<t> (and c<t>) to the right, q<t>, y<t> and E above; x from 0."""
    slots, lstm, box = steps_drawn(net.steps), net.cell == "lstm", net.cell.upper()
    xs = [1.6 + n * PITCH for n in range(len(slots))]
    states = (("h", -0.22, "wire", "north"),) + ((("c", 0.22, "cpath", "south"),) if lstm else ())
    bar = BAR[net.dense]
    for n, (x, t) in enumerate(zip(xs, slots)):
        half = BOX_W / 2 if t else 0.3
        left = 0.2 if n == 0 else xs[n - 1] + (BOX_W / 2 if slots[n - 1] else 0.3)
        before = 0 if n == 0 else slots[n - 1] or t - 1
        for letter, y, style, anchor in states:
            pic.wire(style, (left, y), (x - half, y))
            if n == 0:
                pic.text(left - 0.05, y, "east", name(letter, 0))
            else:
                pic.text((left + x - half) / 2, y + (0.05 if anchor == "south" else -0.05), anchor,
                         name(letter, before), "script")
        if t is None:
            pic.text(x, 0, "center", ("$\\cdots$", (("⋯", "r"),)))
            continue
        pic.rects.append((x - half, -BOX_H / 2, x + half, BOX_H / 2, "stepbox", (box, ((box, "r"),))))
        pic.text(x, -1.25, "north", name("x", t))
        pic.wire("wire", (x, -1.25), (x, -BOX_H / 2))
        if net.dense:
            pic.text(x, 1.3, "center", name("q", t))
            pic.text(x, 2.2, "center", name("y", t))
            for y0, y1 in ((BOX_H / 2, 1.07), (1.56, 1.95), (2.46, bar)):
                pic.wire("wire", (x, y0), (x, y1))
        else:
            pic.wire("wire", (x, BOX_H / 2), (x, bar))
            pic.text(x + 0.05, (BOX_H / 2 + bar) / 2, "west", name("h", t), "script")
    pic.rects.append((xs[0] - BOX_W / 2, bar, xs[-1] + BOX_W / 2, bar + 0.5, "loss", ("$E$", (("E", "i"),))))


def picture(net) -> Picture:
    """The geometry: the cell on top, centred over the unrolled network, each with a caption under it."""
    labels = {g: gate_label(g, net.activation if g in "gn" else ACTIVATIONS["sigmoid"]) for g in net.gates}
    pitch = max(1.2, max(_width(label) for label in labels.values()) + 0.3)
    cell, unrolled = Picture(), Picture()
    width = (_lstm if net.cell == "lstm" else _gru)(cell, net, labels, pitch)
    cell.text(width / 2, -1.1, "north", (f"the {net.cell.upper()} cell at step $t$",
                                          ((f"the {net.cell.upper()} cell at step ", "r"), ("t", "i"))))
    _unrolled(unrolled, net)
    middle, unit = 1.6 + (len(steps_drawn(net.steps)) - 1) * PITCH / 2, "step" if net.steps == 1 else "steps"
    unrolled.text(middle, -2.0, "north", (f"unrolled over $T = {net.steps}$ {unit}",
                                          (("unrolled over ", "r"), ("T", "i"), (f" = {net.steps} {unit}", "r"))))
    return unrolled.moved(0.0, -2.5 - BAR[net.dense], cell.moved(middle - width / 2, 0.0, Picture()))


# ---------------------------------------------------------------- TikZ
def _n(v: float) -> str:
    return f"{v:.3f}".rstrip("0").rstrip(".") or "0"


def _pt(x: float, y: float) -> str:
    return f"({_n(x)},{_n(y)})"


def _op(x: float, y: float, kind: str) -> str:
    if kind == "oneminus":
        return f"\\node[circle,draw,fill=white,line width=0.6pt,inner sep=0pt,minimum size=5mm,font=\\scriptsize] " \
               f"at {_pt(x, y)} {{$1-$}};"
    mark = f"\\fill {_pt(x, y)} circle (0.045);" if kind == "odot" else \
        f"\\draw[link] {_pt(x - R, y)} -- {_pt(x + R, y)} {_pt(x, y - R)} -- {_pt(x, y + R)};"
    return f"\\draw[link,fill=white] {_pt(x, y)} circle ({_n(R)}); {mark}"


def tikz(net) -> str:
    """The tikzpicture (see the module's docstring)."""
    pic = picture(net)
    lines = ["\\begin{tikzpicture}[>=stealth,", *["  " + s + "," for s in STYLES[:-1]], "  " + STYLES[-1] + "]",
             f"  % {net.describe()}"]
    for x0, y0, x1, y1, style, label in pic.rects:
        if label is None:
            lines.append(f"  \\draw[{style}] {_pt(x0, y0)} rectangle {_pt(x1, y1)};")
        else:
            lines.append(f"  \\node[{style},minimum width={_n(x1 - x0)}cm,minimum height={_n(y1 - y0)}cm] "
                         f"at {_pt((x0 + x1) / 2, (y0 + y1) / 2)} {{{label[0]}}};")
    for points, style in sorted(pic.wires, key=lambda w: w[1] == "bridge"):
        lines.append(f"  \\draw[{style}] " + " -- ".join(_pt(*p) for p in points) + ";")
    lines += ["  " + _op(*op) for op in pic.ops]
    lines += [f"  \\fill {_pt(x, y)} circle (0.05);" for x, y in pic.joins]
    lines += [f"  \\node[anchor={anchor},font=\\{'scriptsize' if size == 'script' else 'small'}] at {_pt(x, y)} "
              f"{{{label[0]}}};" for x, y, anchor, label, size in pic.texts]
    return "\n".join(lines + ["\\end{tikzpicture}"]) + "\n"


def draw_gated(net, standalone: bool = False, fmt: str = "tikz") -> str:
    """The drawing of a ``GatedRNN``: a tikzpicture, a complete standalone document (pdflatex), or
    (fmt="svg") an inline ``<svg>``."""
    if fmt == "svg":
        return svg(picture(net), net.describe())
    body = tikz(net)
    return DRAWING_PREAMBLE + "\\begin{document}\n" + body + "\\end{document}\n" if standalone else body
