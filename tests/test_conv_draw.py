"""Issue 16, item 6: a conv net drawn as grids with one entry's window marked, as TikZ and SVG;
the standalone drawing and the article's section compile."""
import re
import xml.etree.ElementTree as ET

import pytest

import symbackprop as sb
from symbackprop import NotationError
from symbackprop._conv_build import window
from symbackprop._conv_draw import WIDTH, conv_network_section, draw_conv, picture
from symbackprop._document import PREAMBLE

from .test_document import _compile

SVG = "{http://www.w3.org/2000/svg}"
NETS = {
    "2d": {"inputs": [2, 6, 6], "loss": "cross_entropy", "layer": [
        {"kind": "conv", "channels": 3, "kernel": 3, "padding": 1, "activation": "relu"},
        {"kind": "maxpool", "size": 2}, {"size": 3, "activation": "softmax"}]},
    "1d": {"inputs": [1, 9], "loss": "bce", "layer": [
        {"kind": "conv", "channels": 2, "kernel": 3, "stride": 2, "padding": 1},
        {"kind": "avgpool", "size": 2, "stride": 1}, {"size": 1, "activation": "sigmoid"}]},
    "mnist": {"inputs": [1, 28, 28], "layer": [{"kind": "conv", "channels": 8, "kernel": 3},
                                               {"kind": "maxpool", "size": 2}, {"size": 10}]},
}


def _net(name):
    return sb.network(NETS[name])


def _conv(inputs, **conv):
    return sb.network({"inputs": inputs, "layer": [{"kind": "conv", "channels": 2, **conv}, {"size": 2}]})


def test_corner_window_with_padding_one():
    """a111[2] of a 3×3 kernel with padding 1: 4 cells of the map and 5 dashed padding cells."""
    tex = draw_conv(_conv([1, 6, 6], kernel=3, padding=1))
    assert tex.count(r"\fill[convwin]") == 4 and tex.count(r"\draw[pad]") == 5
    assert tex.count(r"\fill[convout]") == 1 and tex.count(r"\draw[convlink]") == 2
    two = draw_conv(_conv([2, 6, 6], kernel=3, padding=1))           # the kernel reads both input channels
    assert two.count(r"\fill[convwin]") == 8 and two.count(r"\draw[pad]") == 5


def test_every_grid_is_one_path():
    tex = draw_conv(_net("2d"))
    assert tex.count(" grid[step=") == 2 + 3 + 3 and tex.count(r"\draw[map]") == 8
    assert tex.count(r"\fill[poolwin]") == 4 and tex.count(r"\fill[poolout]") == 1
    assert "{flatten}" in tex and tex.count(r"\node[unit]") == 3


def test_labels():
    tex = draw_conv(_net("2d"))
    for label in (r"{$x$: 2$\times$6$\times$6}", r"{max pool 2\\$\to$ $a^{[3]}$: 3$\times$3$\times$3}",
                  r"{conv 3$\times$3, 3 ch\\pad 1, relu\\$\to$ $z^{[2]}, a^{[2]}$: 3$\times$6$\times$6}",
                  r"{dense 3, softmax\\$\to$ $z^{[4]}, a^{[4]}$}"):
        assert label in tex
    one = draw_conv(_net("1d"))
    assert r"{conv 3, 2 ch\\stride 2, pad 1, g\\" in one and r"avg pool 2, stride 1" in one and ".. controls" in one


@pytest.mark.parametrize("inputs,conv,lit", [
    ([1, 6, 6], dict(kernel=3, padding=1), "z111[2]"), ([1, 6, 6], dict(kernel=3, padding=1), "a266[2]"),
    ([2, 7, 7], dict(kernel=3, stride=2, padding=1), "a234[2]"), ([1, 5, 5], dict(kernel=[2, 3]), "a123[2]"),
    ([1, 9], dict(kernel=3, stride=2, padding=2), "a16[2]"), ([3, 8], dict(kernel=4, padding=1), "a21[2]"),
])
def test_the_window_is_the_models(inputs, conv, lit):
    """The shaded cells are the entries the model's own equation reads (``_conv_build.window``), on every
    input channel; the dashed ones are the rest of the kernel's window; the marked channel is in front."""
    net = _conv(inputs, **conv)
    pic = picture(net, lit)
    channel, *out = (int(c) for c in re.findall(r"\d", lit)[:-1])
    inside = window(net, 1, net.layer(2), tuple(out))
    kernel = 1
    for n in net.layer(2).kernel:
        kernel *= n
    cells = [c for g in pic.grids for c in g.cells if c[2] == "convwin"]
    pads = [p for g in pic.grids for p in g.pads]
    assert len(cells) == len(inside) * inputs[0] and len(pads) == kernel - len(inside)
    front = pic.grids[len(pic.grids) - 1]             # layer 2's channels, back to front: the marked one last
    assert [c[2] for c in front.cells] == ["convout"]
    assert len(pic.grids) == inputs[0] + 2


def test_lit_names_are_checked():
    net = _net("2d")
    assert draw_conv(net, lit="a133[3]").count(r"\fill[poolout]") == 1
    for bad in ("a999[2]", "w11[3]", "z111[3]", "a11[2]", "x111"):
        with pytest.raises(NotationError):
            draw_conv(net, lit=bad)


def test_svg_parses_and_holds_the_grids():
    for name in NETS:
        s = draw_conv(_net(name), fmt="svg")
        root = ET.fromstring(s)
        assert root.tag == SVG + "svg" and not s.startswith("<?xml")
        grids = root.findall(f".//{SVG}path[@class='grid']")
        maps = root.findall(f".//{SVG}g[@class='map']")
        assert len(maps) == {"2d": 8, "1d": 5, "mnist": 17}[name] and len(grids) == len(maps)
        assert root.findall(f".//{SVG}rect[@class='convout']") and root.findall(f".//{SVG}rect[@class='poolwin']")
    s = ET.fromstring(draw_conv(_conv([1, 6, 6], kernel=3, padding=1), fmt="svg"))
    assert len(s.findall(f".//{SVG}rect[@class='convwin']")) == 4 and len(s.findall(f".//{SVG}rect[@class='pad']")) == 5


def test_large_maps_stay_small_and_fit():
    net = _net("mnist")
    assert len(draw_conv(net, standalone=True)) < 60_000 and len(draw_conv(net, fmt="svg")) < 60_000
    for name in NETS:
        pic = picture(_net(name))
        assert pic.bbox[2] - pic.bbox[0] <= WIDTH
    cell = picture(net).grids[0].cell
    assert 0.08 < cell < 0.2                          # 1.5 mm: the 28×28 grid is still a grid
    assert picture(_net("2d")).grids[0].cell == 0.45  # small maps keep large cells


def test_many_nodes_and_channels_are_cut():
    net = sb.network({"inputs": [12, 4, 4], "layer": [{"kind": "conv", "channels": 16, "kernel": 3}, {"size": 20},
                                                      {"size": 3}]})
    tex = draw_conv(net)
    assert tex.count(" grid[step=") == 8 + 8 and tex.count(r"\vdots") == 1 and tex.count(r"\node[unit]") == 7 + 3
    assert "{20}" in tex and tex.count(" -- (") > 7 * 3   # the dense layers joined node to node


@pytest.mark.parametrize("name", list(NETS))
def test_standalone_drawing_compiles(tmp_path, name):
    tex = draw_conv(_net(name), standalone=True)
    assert tex.startswith(r"\documentclass[tikz,border=4pt]{standalone}")
    _compile(tmp_path, f"conv-{name}", tex)


@pytest.mark.parametrize("name", list(NETS))
def test_the_network_section_compiles_in_an_article(tmp_path, name):
    """The section a standalone derivation opens with: its drawing fits the text width (no overfull box)."""
    section = conv_network_section(_net(name))
    assert section.startswith("\\subsection*{The network}") and "\\begin{center}" in section
    assert ("k_{cduv}^{[k]}" in section) == (name != "1d") and ("k_{cdu}^{[k]}" in section) == (name == "1d")
    _compile(tmp_path, f"section-{name}", PREAMBLE + "\\begin{document}\n" + section + "\\end{document}\n")
