"""LSTM and GRU drawn: the cell once with its gates, then unrolled over the steps; as TikZ, as SVG,
and as a standalone document that compiles."""
import xml.etree.ElementTree as ET
from itertools import combinations

import pytest

import symbackprop as sb
from symbackprop._gated_draw import draw_gated, picture, steps_drawn

from .test_document import _compile

SVG = "{http://www.w3.org/2000/svg}"
GATES = {"lstm": "ifog", "gru": "rzn"}
CASES = [(cell, output, T) for cell in GATES for output in ("dense", "hidden") for T in range(1, 9)]


def _net(cell, output="dense", steps=4, **kw):
    if output == "hidden":
        return sb.rnn(2, 3, None, steps, cell=cell, output="hidden", **kw)
    return sb.rnn(2, 3, 1, steps, cell=cell, **kw)


def _name(letter, t):
    return f"{{${letter}^{{\\langle {t} \\rangle}}$}}"


def _balanced(tex: str) -> bool:
    """Braces nest, and every \\begin{…} meets its \\end{…} in order."""
    depth, stack = 0, []
    for n, ch in enumerate(tex):
        depth += (ch == "{") - (ch == "}")
        if depth < 0:
            return False
        for word, push in (("\\begin{", True), ("\\end{", False)):
            if tex.startswith(word, n):
                env = tex[n + len(word):tex.index("}", n)]
                if push:
                    stack.append(env)
                elif not stack or stack.pop() != env:
                    return False
    return depth == 0 and not stack


@pytest.mark.parametrize("cell,output,T", CASES)
def test_tikz_has_every_gate_once_and_every_step(cell, output, T):
    net = _net(cell, output, T)
    tex = draw_gated(net)
    drawn = [t for t in steps_drawn(T) if t]
    assert tex.startswith("\\begin{tikzpicture}") and _balanced(tex)
    assert tex.count("\\node[gate,") == len(GATES[cell])
    for g in GATES[cell]:
        fn = "\\tanh" if g in "gn" else "\\sigma"
        assert tex.count(f"{{${g}\\colon {fn}$}}") == 1
    assert tex.count("\\node[stepbox,") == len(drawn) == (T if T <= 6 else 5)
    assert tex.count(f"{{{cell.upper()}}}") == len(drawn)
    assert ("\\cdots" in tex) == (T > 6) and tex.count("{$E$}") == 1
    for t in range(1, T + 1):
        assert tex.count(_name("x", t)) == (t in drawn)
        assert tex.count(_name("q", t)) == tex.count(_name("y", t)) == (t in drawn and output == "dense")
    # h<t> passed on: one arrow into each slot after h<0>, labelled by the step before it
    passed = [t for t in range(1, T) if t <= 4 or t == T - 1] if T > 6 else list(range(1, T))
    for t in range(1, T + 1):
        assert tex.count(_name("h", t)) == (t in passed) + (t in drawn and output == "hidden")
        assert tex.count(_name("c", t)) == (t in passed and cell == "lstm")
    assert tex.count(_name("h", 0)) == 1 and tex.count(_name("c", 0)) == (cell == "lstm")
    slots = len(steps_drawn(T))
    assert tex.count("\\draw[cpath]") == (3 + slots if cell == "lstm" else 0)   # the cell's top line, then c<t>
    assert tex.count("\\draw[hpath]") == (3 if cell == "gru" else 0)
    assert tex.count("\\draw[bridge]") == (cell == "gru")


@pytest.mark.parametrize("cell", list(GATES))
def test_the_cells_parts(cell):
    """LSTM: ⊙ for f·c, i·g, o·φ(c) and + for c<t>; GRU: ⊙ for r·h, z·h, (1−z)·n, one 1− and one +."""
    pic = picture(_net(cell))
    kinds = [k for _, _, k in pic.ops]
    assert kinds.count("odot") == 3 and kinds.count("plus") == 1 and kinds.count("oneminus") == (cell == "gru")
    texts = {lab[0] for *_, lab, _ in pic.texts}
    ins = {"lstm": ("c", "h"), "gru": ("h",)}[cell]
    for letter in ins:
        assert _name(letter, "t-1")[1:-1] in texts and _name(letter, "t")[1:-1] in texts
    assert _name("x", "t")[1:-1] in texts and f"the {cell.upper()} cell at step $t$" in texts
    acts = [r for r in pic.rects if r[4] == "act"]
    assert [r[5][0] for r in acts] == (["$\\tanh$"] if cell == "lstm" else [])


@pytest.mark.parametrize("cell", list(GATES))
def test_nothing_overlaps(cell):
    """Gate boxes, step boxes and the products stay apart, also with a long activation name."""
    for net in (_net(cell, steps=8), _net(cell, steps=3, activation="hard_sigmoid")):
        pic = picture(net)
        boxes = [r[:4] for r in pic.rects if r[4] in ("gate", "stepbox", "act")]
        boxes += [(x - 0.18, y - 0.18, x + 0.18, y + 0.18) for x, y, _ in pic.ops]
        for a, b in combinations(boxes, 2):
            assert a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1], (a, b)
        cell_box = next(r for r in pic.rects if r[4] == "cell")
        for x0, y0, x1, y1, style, _ in pic.rects:
            if style in ("gate", "act"):
                assert cell_box[0] < x0 < x1 < cell_box[2] and cell_box[1] < y0 < y1 < cell_box[3]


def test_other_activations_are_named():
    tex = draw_gated(_net("gru", activation="relu"))
    assert "{$n\\colon \\mathrm{ReLU}$}" in tex and "{$r\\colon \\sigma$}" in tex
    lstm = draw_gated(_net("lstm", activation="softsign"), fmt="svg")
    assert ": softsign" in lstm and lstm.count(": σ") == 3
    custom = draw_gated(_net("lstm", activation="z/(1+abs(z))"))
    assert "{$g\\colon \\phi$}" in custom and "{$\\phi$}" in custom


def test_long_runs_are_cut():
    tex = draw_gated(_net("lstm", "hidden", 50))
    assert tex.count("\\node[stepbox,") == 5 and _name("x", 50) in tex and _name("x", 5) not in tex
    assert "{$h^{\\langle 49 \\rangle}$}" in tex and "{$c^{\\langle 49 \\rangle}$}" in tex


@pytest.mark.parametrize("cell,output,T", [c for c in CASES if c[2] in (1, 3, 8)])
def test_svg_parses_and_holds_the_parts(cell, output, T):
    s = draw_gated(_net(cell, output, T), fmt="svg")
    root = ET.fromstring(s)
    assert root.tag == SVG + "svg" and not s.startswith("<?xml")
    assert s.index('width="') < s.index(">") and float(root.get("width")) > 300 and float(root.get("height")) > 200
    assert len(root.findall(f".//{SVG}g[@class='gate']")) == len(GATES[cell])
    steps = root.findall(f".//{SVG}g[@class='stepbox']")
    assert len(steps) == len([t for t in steps_drawn(T) if t])
    assert all("".join(g.itertext()) == cell.upper() for g in steps)
    assert len(root.findall(f".//{SVG}path[@class='cpath']")) == (3 + len(steps_drawn(T)) if cell == "lstm" else 0)
    texts = ["".join(t.itertext()) for t in root.iter(SVG + "text")]
    assert "x⟨t⟩" in texts and "h⟨t−1⟩" in texts and ("c⟨t−1⟩" in texts) == (cell == "lstm")
    assert texts.count("y⟨1⟩") == (output == "dense") and "E" in texts
    ids = [m.get("id") for m in root.iter(SVG + "marker")]
    assert len(ids) == len(set(ids)) == 3


@pytest.mark.parametrize("cell,output,T", [("lstm", "dense", 4), ("gru", "hidden", 3), ("lstm", "hidden", 8),
                                           ("gru", "dense", 8)])
def test_standalone_drawing_compiles(tmp_path, cell, output, T):
    tex = draw_gated(_net(cell, output, T), standalone=True)
    assert tex.startswith(r"\documentclass[tikz,border=4pt]{standalone}") and tex.isascii() and _balanced(tex)
    _compile(tmp_path, f"{cell}-{output}-{T}", tex)
