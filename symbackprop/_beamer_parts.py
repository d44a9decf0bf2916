"""The pieces of a beamer deck (``_beamer.py``): preamble, the scaled drawing with its overlays,
boxed terms packed into lines, the forward-pass frames and a recurrent weight's frame."""
from __future__ import annotations

import re

from . import _names as names
from ._document import highlight, picture
from ._graph import E
from ._render_recurrent import shown_steps
from ._tex_width import width
from ._timed import parse_name, sym

PREAMBLE = r"""\documentclass[aspectratio=169,11pt]{beamer}
\usepackage{amsmath,amssymb}
\usepackage{tikz}
\setbeamertemplate{navigation symbols}{}
\definecolor{hl}{RGB}{204,40,40}
\definecolor{dl}{RGB}{30,90,200}
\tikzset{hl/.style={draw=hl,line width=1.6pt},hl label/.style={text=hl},
  hl node/.style={draw=hl,line width=1.6pt,text=hl,fill=hl!8},hl text/.style={text=hl},
  dl/.style={draw=dl,line width=1.6pt},dl label/.style={text=dl},
  dl node/.style={draw=dl,line width=1.6pt,text=dl,fill=dl!8},dl text/.style={text=dl}}
% \pathbox{n}{colour}{math}: boxed in the colour on overlay n, an invisible box of the same size elsewhere
\newcommand{\pathbox}[3]{\alt<#1>{\fcolorbox{#2}{#2!8}{$\displaystyle #3$}}{\fcolorbox{white}{white}{$\displaystyle #3$}}}
"""
#: a line of an equation's right side holds this many points of 10pt math (16:9, \footnotesize)
LINE = 370.0
#: the forward pass: at most this many lines a frame
FORWARD_LINES = 8


def pathbox(overlay: int, math: str, colour: str = "hl") -> str:
    return f"\\pathbox{{{overlay}}}{{{colour}}}{{{math}}}"


def _width(term: str) -> float:
    """How wide a term sets (``_tex_width.width``), a boxed term with its box's padding."""
    bare = re.sub(r"\\pathbox\{\d+\}\{[a-z]+\}", "", term)
    return width(bare) + (6.8 if bare != term else 0.0)


def packed(lhs: str, terms: list, overlay: int | None = None, line_width: float | None = None) -> list:
    """Rows of an align*: ``lhs &= t1 + t2 …``, a new line (\\quad +) when one is full; with
    ``overlay``, the right sides appear on that overlay only."""
    rows, line, used = [], [], 0
    for term in terms:
        w = _width(term)
        if line and used + w > (line_width or LINE):
            rows.append(line)
            line, used = [], 0
        line.append(term)
        used += w + 12.2            # and the + between terms
    rows.append(line)
    out = []
    for n, line in enumerate(rows):
        op, body = ("= ", " + ".join(line)) if n == 0 else ("\\quad + ", " + ".join(line))
        out.append(f"{lhs} &{op}{body}" if overlay is None else f"{lhs} & \\uncover<{overlay}>{{{op}{body}}}")
    return out


def drawing(lay, width: float, height: float, highlights=()) -> str:
    """The layout's picture scaled to fit ``width`` × ``height`` cm; highlights: (overlay, style,
    edge ids, node ids), each drawn over the picture on its overlay only."""
    x0, y0, x1, y1 = lay.bbox()
    scale = min(1.0, width / (x1 - x0), height / (y1 - y0))
    extra = []
    for overlay, style, edges, nodes in highlights:
        lines = highlight(lay, edges, nodes, style)
        if lines:
            extra.append(f"\\only<{overlay}>{{%")
            extra += ["  " + line for line in lines]
            extra.append("}")
    return picture(lay, f"scale={scale:.3f},transform shape", extra).rstrip("\n")


def _chunks(rows: list, lines_of) -> list:
    """Rows split into frames of at most FORWARD_LINES lines."""
    out, cur, used = [], [], 0
    for row in rows:
        n = lines_of(row)
        if cur and used + n > FORWARD_LINES:
            out.append(cur)
            cur, used = [], 0
        cur.append(row)
        used += n
    return out + ([cur] if cur else [])


def _forward_deck(title: str, pairs: list, fmt, tail: list) -> list:
    """Frames of aligned pairs (z = …, a = g(z)) side by side, or one below the other when long."""
    rows = []
    for (l1, r1), (l2, r2) in pairs:
        if _width(r1) + _width(r2) <= 300:
            rows.append(f"{l1} &= {r1} &\\qquad {l2} &= {r2}")
        else:
            rows.append(f"{l1} &= {fmt.side(r1, LINE)} \\\\\n{l2} &= {r2}")
    rows += tail
    frames = _chunks(rows, lambda r: r.count("\\\\") + 1)
    out = []
    for n, chunk in enumerate(frames, start=1):
        head = title + (f" ({n}/{len(frames)})" if len(frames) > 1 else "")
        out.append("\\begin{frame}{" + head + "}\n{\\small\n\\begin{alignat*}{2}\n" + " \\\\\n".join(chunk)
                   + "\n\\end{alignat*}}\n\\end{frame}")
    return out


def forward_frames(d, fmt) -> list:
    """The forward pass of a dense network: each node's z beside its a, then E."""
    layers: dict = {}                       # layer → its nodes' (z, a) pairs
    for key in d.forward:
        p = names.parse(key)
        if p.kind == "z":
            a = names.plain(names.Parts("a", p.indices, p.layer))
            layers.setdefault(p.layer, []).append(((fmt.expr(d.symbols[key]), fmt.expr(d.forward[key])),
                                                   (fmt.expr(d.symbols[a]), fmt.expr(d.forward[a]))))
    pairs = [pair for group in layers.values() for pair in group]
    if len(pairs) > FORWARD_LINES:          # the first and last node of each layer
        pairs = [p for group in layers.values() for p in ([group[0], group[-1]] if len(group) > 1 else group)]
    tail = [f"{fmt.expr(E)} &= {fmt.side(fmt.expr(d.loss), LINE)}"]
    return _forward_deck("The forward pass", pairs, fmt, tail)


def rnn_forward_frames(d, fmt) -> list:
    """The forward pass of a recurrent network: per step s beside h and o beside y, then E."""
    shown = set(shown_steps(d.network.steps))
    pairs = []
    for k in d.forward:
        kind, indices, t = parse_name(k)
        if t in shown and kind in ("s", "o"):
            partner = sym("h" if kind == "s" else "y", *indices, t=t).name
            pairs.append(((fmt.expr(d.symbols[k]), fmt.expr(d.forward[k])),
                          (fmt.expr(d.symbols[partner]), fmt.expr(d.forward[partner]))))
    tail = [f"{fmt.expr(E)} &= {fmt.side(fmt.expr(d.loss), LINE)}"]
    return _forward_deck("The forward pass, unrolled", pairs, fmt, tail)


_EDGE = {"u": ("U", "x", "h"), "w": ("W", None, "h"), "v": ("V", "h", "y"), "b": ("b", None, "h"),
         "c": ("c", None, "y")}


def rnn_lit(lay, kind: str, t: int) -> tuple[list, list]:
    """What the term of step t lights up: the parameter's edge at that step and the nodes it joins."""
    label, source, target = _EDGE[kind]
    edges = [e for e in lay.edges if e.kind == label and e.step == t]
    nodes = [n for n in (f"{source}{t}" if source else None, f"{target}{t}") if n]
    nodes += [e.source for e in edges if e.source.startswith("h")]
    ids = {n.id for n in lay.nodes}
    return [e.id for e in edges], [n for n in dict.fromkeys(nodes) if n in ids]


def _room(rows) -> float:
    """The drawing's height (cm) that leaves room for the equation's rows on a 16:9 slide."""
    return max(1.6, 6.4 - (0.8 if len(rows) <= 5 else 0.62) * len(rows))


def _frame(title, picture, rows, notes) -> str:
    return ("\\begin{frame}{" + title + "}\n\\centering\n" + picture + "\n{" + ("\\footnotesize" if len(rows) <= 5 else "\\scriptsize")
            + "\n\\begin{align*}\n"
            + " \\\\\n".join(rows) + "\n\\end{align*}}\n\\vspace{-1ex}{\\footnotesize "
            + "".join(notes) + "}\n\\end{frame}")
