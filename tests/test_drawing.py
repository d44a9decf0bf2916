"""Issue 13: one layout for the drawing, written as TikZ and as SVG; labels kept apart."""
import itertools
import math
import xml.etree.ElementTree as ET

import pytest

import symbackprop as sb
from symbackprop._document import standalone_drawing, tikz
from symbackprop._labels import rects_overlap
from symbackprop._layout import layout
from symbackprop._svg import svg

from .test_document import _compile

NETS = [("2-3-1", {}), ("2-2-2", {}), ("2-3-1", {"bias": True}), ("2-2-2-1", {"bias": True}),
        ("4-5-3", {}), ("784-128-10", {})]


def _drawn(n):
    return n if n <= 6 else 4


@pytest.mark.parametrize("spec,kw", NETS, ids=[f"{s}{'-bias' if k else ''}" for s, k in NETS])
def test_layout_counts(spec, kw):
    net = sb.network(spec, **kw)
    lay = layout(net)
    sizes = [_drawn(n) for n in net.layers]
    assert len(lay.of_kind("neuron")) == sum(sizes)
    assert len(lay.edges_of("weight")) == sum(a * b for a, b in zip(sizes, sizes[1:]))
    assert len(lay.of_kind("dots")) == sum(n > 6 for n in net.layers)
    assert len(lay.of_kind("bias")) == (net.depth - 1 if net.bias else 0)
    assert len(lay.edges_of("bias")) == (sum(sizes[1:]) if net.bias else 0)
    assert len(lay.edges_of("input")) == sizes[0] and len(lay.edges_of("output")) == sizes[-1]
    # every weight edge joins node i of layer k to node j of layer k+1, as its name says
    for e in lay.edges_of("weight"):
        digits, layer = e.name[1:-1].split("[")
        i, j = digits.split(",") if "," in digits else digits
        assert (e.source, e.target) == (f"n{layer}_{i}", f"n{int(layer) + 1}_{j}")


def test_bias_follows_the_network_and_can_be_turned_off():
    net = sb.network("2-3-1", bias=True)
    assert len(layout(net).of_kind("bias")) == 2
    assert not layout(net, bias=False).of_kind("bias")
    assert len(layout(sb.network("2-3-1"), bias=True).of_kind("bias")) == 2
    assert "b_{1}^{[3]}" in tikz(net) and "b_{" not in tikz(net, bias=False)


@pytest.mark.parametrize("spec,kw", [("2-3-1", {}), ("2-3-1", {"bias": True}), ("2-2-2", {}), ("3-2-2", {}),
                                     ("2-2-2-1", {"bias": True}), ("1-3-3", {})])
def test_labels_never_overlap(spec, kw):
    lay = layout(sb.network(spec, **kw))
    assert lay.labelled
    labels = [e.label for e in lay.edges_of("weight", "bias")]
    assert all(labels)
    # boxes sized from the fonts, not from the layout's own estimate: a \scriptsize (7 pt) letter is
    # about 4.9 pt wide, each script character (5 pt) about 2.5 pt, the scripts stacked, 1 pt inner
    # sep each side; the line with its scripts about 12 pt high (1 pt = 0.03515 cm)
    def box(lab):
        letter, below, above = lab.script
        wide = 4.9 + 2.5 * max(len(below), len(above)) + 2
        return (lab.x, lab.y, wide * 0.03515, 12 * 0.03515, lab.angle)
    for a, b in itertools.combinations(labels, 2):
        assert math.dist((a.x, a.y), (b.x, b.y)) >= 0.5, (a.text, b.text)
        assert not rects_overlap(box(a), box(b)), (a.text, b.text)
    # every label lies on its own edge, between the two nodes
    for e in lay.edges_of("weight", "bias"):
        s, t = lay.node(e.source), lay.node(e.target)
        cross = (t.x - s.x) * (e.label.y - s.y) - (t.y - s.y) * (e.label.x - s.x)
        assert abs(cross) < 1e-6 and 0 < e.pos < 1


def test_the_seed_drawing_labels_every_weight_once():
    text = tikz(sb.network("2-3-1"))
    for i, j in itertools.product((1, 2), (1, 2, 3)):
        assert text.count(f"$w_{{{i}{j}}}^{{[1]}}$") == 1
    assert text.count("node[neuron]") == 6


def test_large_layers_are_elided_and_unlabelled():
    lay = layout(sb.network("784-128-10"))
    assert not lay.labelled and "101,632 weights" in lay.note
    assert all(e.label is None for e in lay.edges_of("weight"))


def test_svg_parses_and_has_one_element_per_weight():
    ns = {"s": "http://www.w3.org/2000/svg"}
    for spec, expected in [("2-3-1", 9), ("4-5-3", 35), ("784-128-10", 4 * 4 + 4 * 4)]:
        root = ET.fromstring(svg(sb.network(spec)))
        assert root.tag == "{http://www.w3.org/2000/svg}svg" and len(root.get("viewBox").split()) == 4
        edges = root.findall(".//s:g[@class='edge weight']", ns)
        assert len(edges) == expected
        assert len({e.get("id") for e in edges}) == expected
    root = ET.fromstring(svg(sb.network("2-3-1"), link=lambda name: "#" + name))
    g = root.find(".//s:g[@id='edge-w11-1']", ns)
    assert g.get("data-name") == "w11[1]" and g.find("s:line", ns) is not None
    assert root.find(".//s:a[@href='#w21[2]']", ns) is not None
    assert root.find(".//s:g[@id='node-n2_1']", ns).get("data-name") == "a1[2]"
    texts = "".join(root.itertext())
    assert "1[2]" in texts                                      # the neuron's own label
    label = g.find("s:text", ns)                                # w, then 11 below and [1] above
    assert label.text == "w" and [t.text for t in label.findall("s:tspan", ns)] == ["11", "[1]"]


def test_rnn_layout_and_svg():
    net = sb.rnn(1, 1, 1, 3, activation="tanh")
    lay = layout(net)
    assert len(lay.of_kind("state")) == 1 + 3 * 3
    assert [e.step for e in lay.edges_of("W")] == [1, 2, 3]
    big = layout(sb.rnn(2, 3, 1, 9, bias=True))
    assert len(big.of_kind("dots")) == 1 and {e.step for e in big.edges_of("U")} == {1, 2, 3, 9}
    assert len(big.edges_of("b")) == 4 and len(big.edges_of("c")) == 4
    root = ET.fromstring(svg(net))
    assert root.find(".//{http://www.w3.org/2000/svg}g[@id='edge-U-2']").get("data-name") == "U"


def test_standalone_drawing_is_cropped():
    tex = standalone_drawing(sb.network("2-3-1"))
    assert tex.startswith("\\documentclass[tikz,border=4pt]{standalone}") and "a4paper" not in tex


def test_standalone_drawings_compile(tmp_path):
    tex = standalone_drawing(sb.network("2-3-1", bias=True))
    tex = tex.replace("\\end{document}", tikz(sb.rnn(1, 1, 1, 3, bias=True)) + "\\end{document}")
    _compile(tmp_path, "drawings", tex)
