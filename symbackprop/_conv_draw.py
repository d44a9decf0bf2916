r"""A convolutional network drawn: feature maps as grids, one output entry's window marked.

Layers go left to right: a map layer is its channels, grids of cells (rows × columns; 1-D: one
row) stacked toward the lower right, the marked channel in front; a dense layer is a column of
nodes.  Each conv and pool layer marks one output entry (the lit one, by default a111[2]; the
others their first or last entry in turn, so marks stay apart): its cell, the window it reads
(shaded on every channel the kernel reads; dashed where it lies in the padding) and lines
joining them.  A grid is one path (28×28×8 costs a few kB); cells shrink until the picture is
at most 16 cm wide.  One geometry (``picture``), written as TikZ here, as SVG in ``_conv_draw_svg``.

>>> from symbackprop._conv_spec import from_data
>>> net = from_data({"inputs": [1, 4, 4], "layer": [{"kind": "conv", "channels": 2, "kernel": 3,
...                  "padding": 1}, {"size": 2}]}, "spec")
>>> tex = draw_conv(net)
>>> tex.count(r"\fill[convwin]"), tex.count(r"\draw[pad]"), tex.count(r"\fill[convout]")
(4, 5, 1)
"""
from __future__ import annotations

from dataclasses import dataclass, field
from itertools import product

from ._conv import Conv, ConvNet, Dense, Pool, _dims
from ._conv_draw_svg import svg
from ._conv_names import read
from ._document import DRAWING_PREAMBLE
from ._errors import NotationError

#: the picture's widest (cm), its largest cell, the channels and dense nodes drawn at most
WIDTH, MAX_CELL, MAX_CHANNELS, MAX_NODES = 16.0, 0.45, 8, 8
CHAR, LINE, RADIUS, NODE_STEP = 0.14, 0.36, 0.2, 0.55      # label width per character, line height (cm)
STYLES = ("grid/.style={draw=black!40,line width=0.2pt}", "map/.style={draw=black,line width=0.5pt}",
          "convwin/.style={fill=blue!22}", "convout/.style={fill=blue!55}", "poolwin/.style={fill=orange!30}",
          "convlink/.style={draw=blue!70!black,line width=0.6pt}", "poolout/.style={fill=orange!75}",
          "poollink/.style={draw=orange!80!black,line width=0.6pt}", "pad/.style={draw=black!60,densely dashed}",
          "unit/.style={circle,draw,fill=white,minimum size=4mm,inner sep=0pt,font=\\tiny}",
          "lab/.style={font=\\footnotesize,align=center,anchor=north,inner sep=1pt}")


@dataclass
class Grid:
    """One channel's map: top-left corner (cm), rows × columns of square cells; ``cells``: the
    marked cells (row, column, style), ``pads``: dashed cells outside (rows and columns 0 or n+1)."""

    x: float
    top: float
    rows: int
    cols: int
    cell: float
    cells: list = field(default_factory=list)
    pads: list = field(default_factory=list)

    def box(self, r0: float, c0: float, r1: float, c1: float) -> tuple:
        """(x0, y0, x1, y1) of the block of cells from (r0, c0) to (r1, c1), both included."""
        x, top, s = self.x, self.top, self.cell
        return x + (c0 - 1) * s, top - r1 * s, x + c1 * s, top - (r0 - 1) * s


@dataclass
class Picture:
    grids: list         # Grid, back to front, layer by layer
    links: list         # (kind, window box, output cell box, curve): the window's outline, lines to the cell
    #                     (1-D maps: ``curve``, the Bézier points of an arc above the row, ``arc``)
    nodes: list         # (x, y, text); text "" is a ⋮
    edges: list         # ((x0, y0), (x1, y1)) between dense nodes
    flatten: list       # (x0, y, x1): the arrow from the last map to the first dense layer, if any
    labels: list        # (x, y, lines): a line is pieces, str or ("names", letters, layer)
    bbox: tuple
    scale: float = 1.0  # to draw it at, text and all
    radius: float = RADIUS  # of a dense node
    line: float = LINE  # the labels' line height


def arc(win: tuple, cell: tuple) -> tuple:
    """The Bézier points from the top of a window to the top of its cell, over the maps between."""
    a, b = ((win[0] + win[2]) / 2, win[3]), ((cell[0] + cell[2]) / 2, cell[3])
    lift = 0.35 + 0.08 * abs(b[0] - a[0])                   # higher over longer ways
    return a, (a[0], a[1] + lift), (b[0], b[1] + lift), b


def _rc(pos: tuple) -> tuple:          # (row, column) of a position: a 1-D map is one row
    return (1, pos[0]) if len(pos) == 1 else pos


def _marks(net: ConvNet, lit) -> tuple:
    """(layer k+1 → the marked entry (channel, *position) of every conv and pool layer, the lit layer)."""
    maps = [k for k in range(2, net.depth + 1) if not isinstance(net.layer(k), Dense)]
    at = next((k for k in maps if isinstance(net.layer(k), Conv)), maps[0] if maps else 0)
    entry = (1,) * len(net.shape(at)) if at else ()
    if lit is not None:
        def want(kind, layer):
            ok = layer in maps and (kind == "a" or kind == "z" and isinstance(net.layer(layer), Conv))
            return len(net.shape(layer)) if ok else None
        _, entry, at = read(str(lit), want)
        if any(i > n for i, n in zip(entry, net.shape(at))):
            raise NotationError(f"'{lit}': layer {at} has {'×'.join(map(str, net.shape(at)))} entries")
    return {k: entry if k == at else (1,) * len(net.shape(k)) if abs(n - maps.index(at)) % 2 == 0
            else (1, *net.shape(k)[1:]) for n, k in enumerate(maps)}, at


def _window(net: ConvNet, k: int, idx: tuple) -> list:
    """(channel, row, column, inside) of the window of entry ``idx`` of layer k+1 in layer k; a conv's
    window is on every channel, its padding (channel 0) on the front one."""
    lay = net.layer(k + 1)
    size = lay.kernel if isinstance(lay, Conv) else lay.size
    pad = lay.padding if isinstance(lay, Conv) else (0,) * len(size)
    conv, found = isinstance(lay, Conv), []
    for offs in product(*[range(1, n + 1) for n in size]):
        pos = tuple(s * (o - 1) + u - p for o, u, s, p in zip(idx[1:], offs, lay.stride, pad))
        if all(1 <= q <= n for q, n in zip(pos, net.shape(k)[1:])):
            found += [(d, *_rc(pos), True) for d in (range(1, net.shape(k)[0] + 1) if conv else (idx[0],))]
        else:
            found.append((0 if conv else idx[0], *_rc(pos), False))
    return found


def _label(net: ConvNet, k: int) -> list:
    """The lines under layer k: what makes it (in lines of at most 20 characters), then its names and shape."""
    dims, lay = "×".join(map(str, net.shape(k))), net.layer(k) if k > 1 else None
    if k == 1:
        return [[("names", ("x",), None), f": {dims}"]]
    if isinstance(lay, Pool):
        words = [f"{lay.mode} pool {_dims(lay.size)}"] + [f"stride {_dims(lay.stride)}"] * (lay.stride != lay.size)
    else:
        words = [f"dense {lay.size}"] if isinstance(lay, Dense) else [
            f"conv {'×'.join(map(str, lay.kernel))}", f"{lay.channels} ch"] + [f"stride {_dims(lay.stride)}"] * (
            set(lay.stride) != {1}) + [f"pad {_dims(lay.padding)}"] * (set(lay.padding) != {0})
        words.append((lay.activation.function_name or lay.activation.name).replace("_", " "))
    lines = words[:1]
    for word in words[1:]:
        lines[-1:] = [lines[-1] + ", " + word] if len(lines[-1]) + len(word) < 19 else [lines[-1], word]
    names = ("a",) if isinstance(lay, Pool) else ("z", "a")
    return [[line] for line in lines] + [["→ ", ("names", names, k)] + [f": {dims}"] * (not isinstance(lay, Dense))]


def _chars(line: list) -> float:
    """A label line's width in characters: × with its spaces as 2.2, a name with its raised [k] as 2.8."""
    return sum(len(p) + 1.2 * p.count("×") if isinstance(p, str) else 4.8 * len(p[1]) - 2 for p in line)


def picture(net: ConvNet, lit=None, width: float = WIDTH) -> Picture:
    """The geometry, its cells as large as fit in ``width`` cm (at most MAX_CELL); where its labels alone are
    wider, the cells as large as they leave room for, and ``scale`` shrinks the whole."""
    marks, at = _marks(net, lit)
    windows = {k - 1: _window(net, k - 1, idx) for k, idx in marks.items()}
    floor = _layout(net, marks, windows, 0.03, at).bbox       # the labels' width, when cells cannot shrink more
    target, s = max(width, floor[2] - floor[0] + 0.5), MAX_CELL
    while (pic := _layout(net, marks, windows, s, at)).bbox[2] - pic.bbox[0] > target and s > 0.03:
        s *= 0.98
    pic.scale = min(1.0, width / (pic.bbox[2] - pic.bbox[0]))   # the labels too wide: the whole picture shrinks
    return pic


def _layout(net: ConvNet, marks: dict, windows: dict, s: float, at: int) -> Picture:
    """Layer by layer, in slots as wide as contents or labels; in front, the channel marked (lit first)."""
    slots, x = [], 0.0
    for k in range(1, net.depth + 1):
        shape, labels = net.shape(k), _label(net, k)
        if len(shape) > 1:
            rows, cols = _rc(shape[1:])
            need = [marks[j][0] for j in sorted((k, k + 1), key=lambda j: j != at)
                    if j in marks and (j == k or net.layer(j).kind != "conv")] or [1]
            chans = [need[0], *sorted((set(range(1, min(shape[0], MAX_CHANNELS) + 1)) | set(need)) - {need[0]})]
            behind = len(chans) - 1                                  # channels behind the front one
            off = min(0.2, max(0.06, 0.3 * s * min(rows, cols) / behind)) if behind else 0.0
            cs = [0] + [w[2] for w in windows.get(k, ())]
            body = (max(0, 1 - min(cs[1:] or [1])) * s, cols * s + behind * off + max(0, max(cs) - cols) * s,
                    rows * s + behind * off)
            item = ("map", rows, cols, chans, off)
        else:
            count = min(shape[0], MAX_NODES)
            body, item = (0.0, 2 * RADIUS, (count - 1) * NODE_STEP + 2 * RADIUS), ("dense", shape[0], count)
        wide = max(body[1] + body[0], max(_chars(line) for line in labels) * CHAR) + 0.2
        if slots:
            x += 0.6 if item[0] == "map" else 1.7 if slots[-1][1][0] == "map" else 1.3
        slots.append((x, item, body, wide, labels))
        x += wide
    pic = Picture([], [], [], [], [], [], (0, 0, 0, 0))
    spans, rights, out = [], {}, {}           # spans: (bottom, top) of each layer's drawing
    for k, (x, item, (left, inner, height), wide, labels) in enumerate(slots, start=1):
        x0 = x + (wide - left - inner) / 2 + left
        if item[0] == "map":
            _, rows, cols, chans, off = item
            grids = {d: Grid(x0 + i * off, height / 2 - i * off, rows, cols, s) for i, d in enumerate(chans)}
            for d, r, c, inside in windows.get(k, ()):
                d = d or chans[0]
                if d in grids:
                    (grids[d].cells if inside else grids[d].pads).append((r, c, net.layer(k + 1).kind[-4:] + "win"))
            if k in marks:
                r, c = _rc(marks[k][1:])
                grids[marks[k][0]].cells.append((r, c, net.layer(k).kind[-4:] + "out"))
                out[k] = grids[marks[k][0]].box(r, c, r, c)
            pic.grids += [grids[d] for d in reversed(chans)]
            pads = [(r, c) for g in grids.values() for r, c, _ in g.pads]
            spans.append((min(g.top - g.rows * s for g in grids.values()) - max([0] + [r - rows for r, _ in pads]) * s,
                          grids[chans[0]].top + max([0] + [1 - r for r, _ in pads]) * s))
            rights[k] = x0 + inner
            if k in windows:
                d0 = chans[0] if net.layer(k + 1).kind == "conv" else windows[k][0][0]
                rs, cs = [w[1] for w in windows[k]], [w[2] for w in windows[k]]
                box, e = grids[d0].box(min(rs), min(cs), max(rs), max(cs)), 0.03    # outset: dashes stay seen
                out[-k] = (box[0] - e, box[1] - e, box[2] + e, box[3] + e)
        else:
            _, size, count = item
            shown = list(range(1, size + 1)) if size <= MAX_NODES else [*range(1, MAX_NODES - 1), 0, size]
            cx = x0 + RADIUS
            ys = [(count - 1) / 2 * NODE_STEP - n * NODE_STEP for n in range(count)]
            if k > 1 and slots[k - 2][1][0] == "dense":
                prev = [(px, py) for px, py, t in pic.nodes[-slots[k - 2][1][2]:] if t]
                pic.edges += [((px + RADIUS, py), (cx - RADIUS, y)) for px, py in prev
                              for y, j in zip(ys, shown) if j]
            elif k > 1:
                pic.flatten.append((rights[k - 1] + 0.15, 0.0, cx - RADIUS - 0.1))
            pic.nodes += [(cx, y, str(j) if j else "") for y, j in zip(ys, shown)]
            spans.append((ys[-1] - RADIUS, ys[0] + RADIUS))
    pic.links = [(net.layer(k).kind[-4:], out[-(k - 1)], out[k], arc(out[-(k - 1)], out[k]) if net.spatial == 1
                  else ()) for k in marks]
    spans += [(win[1], max(curve[1][1], curve[2][1]) * 0.75 + 0.25 * win[3]) for _, win, _, curve in pic.links if curve]
    ly = min(b for b, _ in spans) - 0.2
    pic.labels = [(x + wide / 2, ly, labels) for x, _, _, wide, labels in slots]
    depth = max(len(lab) for *_, lab in slots) * LINE
    pic.bbox = (slots[0][0], ly - depth, slots[-1][0] + slots[-1][3], max(t for _, t in spans))
    return pic


def _n(v: float) -> str:
    return f"{v:.3f}".rstrip("0").rstrip(".") or "0"


def _pt(x: float, y: float) -> str:
    return f"({_n(x)},{_n(y)})"


def _tex(lines: list) -> str:
    """A label's lines in LaTeX, broken by \\\\."""
    return "\\\\".join("".join(p.replace("×", "$\\times$").replace("→", "$\\to$") if isinstance(p, str) else
                               "$" + ", ".join(f"{n}^{{[{p[2]}]}}" if p[2] else n for n in p[1]) + "$" for p in line)
                       for line in lines)


def _rect(style: str, box: tuple, how: str = "draw") -> str:
    return f"\\{how}[{style}] {_pt(*box[:2])} rectangle {_pt(*box[2:])};"


def tikz(net: ConvNet, lit=None, width: float = WIDTH) -> str:
    """The tikzpicture (see the module's docstring)."""
    pic = picture(net, lit, width)
    fit = f"scale={pic.scale:.3f},transform shape," if pic.scale < 1 else ""
    lines = [f"\\begin{{tikzpicture}}[>=stealth,{fit}", *["  " + s + "," for s in STYLES[:-1]], "  " + STYLES[-1] + "]",
             f"  % {net.describe()}"]
    for g in pic.grids:
        s, whole = g.cell, g.box(1, 1, g.rows, g.cols)
        lines.append(f"  \\fill[white] {_pt(*whole[:2])} rectangle {_pt(*whole[2:])};")
        lines += ["  " + _rect(style, g.box(r, c, r, c), "fill") for r, c, style in g.cells]
        lines.append(f"  \\draw[grid,shift={{{_pt(*whole[:2])}}}] (0,0) grid[step={_n(s)}] "
                     f"{_pt(g.cols * s + s / 100, g.rows * s + s / 100)};")
        lines.append("  " + _rect("map", whole))
        lines += ["  " + _rect("pad", g.box(r, c, r, c)) for r, c, _ in g.pads]
    for kind, win, cell, curve in pic.links:
        lines.append("  " + _rect(kind + "link", win))
        if curve:
            a, p, q, b = (_pt(*xy) for xy in curve)
            lines.append(f"  \\draw[{kind}link,->] {a} .. controls {p} and {q} .. {b};")
        else:
            lines.append(f"  \\draw[{kind}link] {_pt(win[2], win[3])} -- {_pt(cell[0], cell[3])} "
                         f"{_pt(win[2], win[1])} -- {_pt(cell[0], cell[1])};")
    lines += ["  \\draw[black!45,line width=0.3pt] " + " ".join(f"{_pt(*a)} -- {_pt(*b)}" for a, b in pic.edges)
              + ";"] * bool(pic.edges)
    for x0, y, x1 in pic.flatten:
        lines.append(f"  \\draw[->] {_pt(x0, y)} -- node[above,font=\\footnotesize] {{flatten}} {_pt(x1, y)};")
    lines += [f"  \\node[unit] at {_pt(x, y)} {{{t}}};" if t else f"  \\node at {_pt(x, y)} {{$\\vdots$}};"
              for x, y, t in pic.nodes]
    lines += [f"  \\node[lab] at {_pt(x, y)} {{{_tex(text)}}};" for x, y, text in pic.labels]
    return "\n".join(lines + ["\\end{tikzpicture}"]) + "\n"


def draw_conv(net: ConvNet, standalone: bool = False, fmt: str = "tikz", lit=None) -> str:
    """The drawing: a tikzpicture, a complete standalone document, or (fmt="svg") an inline ``<svg>``.
    ``lit``: the output entry whose window is marked, e.g. "a111[2]" or "z123[2]" (default a111[2])."""
    if fmt == "svg":
        return svg(picture(net, lit), net.describe())
    body = tikz(net, lit)
    return DRAWING_PREAMBLE + "\\begin{document}\n" + body + "\\end{document}\n" if standalone else body


def conv_network_section(net: ConvNet, lit=None) -> str:
    """The standalone article's section before the derivation: the notation in two sentences, the drawing."""
    entry, kernel, offset, where = ("cij", "cduv", "offset $(u, v)$", "channel $c$, row $i$, column $j$") \
        if net.spatial == 2 else ("ci", "cdu", "offset $u$", "channel $c$, position $i$")
    marked = [net.layer(k) for k in range(2, net.depth + 1) if not isinstance(net.layer(k), Dense)]
    padded = any(set(getattr(lay, "padding", (0,))) != {0} for lay in marked)
    return ("\\subsection*{The network}\n"
            f"Entry $a_{{{entry}}}^{{[k]}}$ is {where} of layer $k$ (the inputs $x_{{{entry}}}$ are layer 1), and "
            f"the kernel element $k_{{{kernel}}}^{{[k]}}$ joins input channel $d$ at {offset} to output channel $c$ "
            "of layer $k+1$; a dense layer reads the maps flattened, $w_{mj}^{[k]}$ joining entry $m$ of the "
            "flattened layer $k$ to node $j$ of layer $k+1$."
            + (" Of each conv (blue) and pool layer (orange) one entry is marked, and the cells it reads below are "
               "shaded" + ("; dashed cells are the zero padding." if padded else ".") if marked else "")
            + "\n\n\\begin{center}\n" + tikz(net, lit) + "\\end{center}\n\n")
