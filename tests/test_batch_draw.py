"""A layer stack over a batch drawn: columns of nodes, norm boxes, a dropped node, the batch's cards;
as TikZ, as SVG, and as a standalone document that compiles."""
import xml.etree.ElementTree as ET
from itertools import combinations

import pytest

import symbackprop as sb
from symbackprop._batch_draw import LINE, R, draw_batch, picture, rows
from symbackprop._batch_draw_svg import width

from .test_document import _compile
from .test_gated_draw import _balanced

SVG = "{http://www.w3.org/2000/svg}"
NETS = {
    "small": {"inputs": 2, "batch": 3, "loss": "bce", "layer": [
        {"size": 3, "activation": "linear", "bias": True}, {"kind": "batchnorm", "activation": "relu"},
        {"kind": "dropout", "rate": 0.5}, {"size": 1, "activation": "sigmoid"}]},
    "layernorm": {"inputs": 3, "batch": 2, "loss": "cross_entropy", "layer": [
        {"size": 2, "activation": "tanh"}, {"kind": "layernorm"}, {"size": 2, "activation": "softmax"}]},
    "wide": {"inputs": 4, "batch": 4, "loss": "cross_entropy", "layer": [
        {"size": 8, "activation": "relu", "bias": True}, {"kind": "batchnorm", "activation": "relu"},
        {"kind": "dropout", "rate": 0.25}, {"size": 8, "activation": "relu"}, {"kind": "layernorm", "activation": "gelu"},
        {"size": 3, "activation": "softmax"}]},
    "one sample": {"inputs": 1, "batch": 1, "layer": [{"kind": "dropout", "rate": 0.2}, {"size": 1}]},
    "twice": {"inputs": 7, "layer": [{"kind": "dropout", "rate": 0.1}, {"kind": "dropout", "rate": 0.3},
                                     {"kind": "batchnorm"}, {"size": 2, "activation": "linear"}]},
}


def _net(name):
    return sb.network(NETS[name])


def _real(n):
    return [j for j in rows(n) if j is not None]


@pytest.mark.parametrize("name", list(NETS))
def test_every_layer_is_a_column_of_its_nodes(name):
    net = _net(name)
    tex, pic = draw_batch(net), picture(net)
    assert tex.startswith("\\begin{tikzpicture}") and _balanced(tex) and tex.isascii()
    assert tex.count("\\node[unit") == len(pic.units) == sum(len(_real(n)) for n in net.sizes)
    columns = sorted({x for x, *_ in pic.units})
    assert len(columns) == net.depth
    for k, (x, n) in enumerate(zip(columns, net.sizes), start=1):
        assert [lab[0] for ux, _, lab, _ in pic.units if ux == x] == [f"{j}[{k}]" for j in _real(n)]
        assert tex.count(f" {{[{k}]}};") == 1                     # the layer's number under it
    assert tex.count("\\vdots") == sum(n > 6 for n in net.sizes) and tex.count("{$E$}") == 1
    for i in _real(net.inputs):
        assert f"{{$x_{{{i}}}^{{\\langle s \\rangle}}$}}" in tex


@pytest.mark.parametrize("name", list(NETS))
def test_edges_weights_and_the_batch(name):
    net = _net(name)
    tex, sizes = draw_batch(net), net.sizes
    edges, labelled = 0, 0
    for k, lay in enumerate(net.layers, start=2):
        below, here = len(_real(sizes[k - 2])), len(_real(sizes[k - 1]))
        if lay.kind != "dense":                                 # a norm or a dropout layer
            edges += here                                       # one to one
            continue
        edges += below * here
        wanted = [(1, 1)] + [(2, 1)] * (below > 1) + [(1, 2)] * (here > 1)
        for i, j in wanted:
            assert tex.count(f"{{$w_{{{i}{j}}}^{{[{k - 1}]}}$}}") == 1
        assert f"$w_{{31}}^{{[{k - 1}]}}$" not in tex and f"$w_{{22}}^{{[{k - 1}]}}$" not in tex
        labelled += len(wanted)
        assert (f"{{$+$$b_{{j}}^{{[{k}]}}$}}" in tex) == lay.bias
    out = len(_real(sizes[-1]))
    assert tex.count("\\draw[edge]") + tex.count("\\draw[dropedge]") == edges + out
    assert tex.count("\\node[weight]") == labelled
    unit = "sample" if net.samples == 1 else "samples"
    assert tex.count("\\draw[card]") == min(net.samples, 3)
    assert f"{{batch: $N = {net.samples}$ {unit}}}" in tex
    assert f"{{loss: {net.loss.name.replace('_', ' ')},}}" in tex


@pytest.mark.parametrize("name", list(NETS))
def test_norm_boxes_say_what_they_normalise_over(name):
    net = _net(name)
    tex = draw_batch(net)
    norms = net.norm_layers()
    assert tex.count("\\draw[normbox]") == len(norms)
    assert tex.count("{batch norm:}") == sum(lay.kind == "batchnorm" for _, lay in norms)
    assert tex.count("{layer norm:}") == sum(lay.kind == "layernorm" for _, lay in norms)
    assert tex.count("{the $N = " + str(net.samples) + "$ samples,}") == tex.count("{per node;}") == \
        tex.count("{batch norm:}")
    assert tex.count("{the nodes, per sample;}") == tex.count("{layer norm:}")
    assert tex.count("{$\\mu$, $\\sigma^{2}$ over}") == len(norms)
    for k, lay in norms:
        assert f"{{$\\gamma_{{j}}^{{[{k}]}}$, $\\beta_{{j}}^{{[{k}]}}$}}" in tex
        assert ("{then $" in tex) or lay.activation.name == "linear"
    # the box holds its column's nodes and nothing else
    pic = picture(net)
    for x0, y0, x1, y1, style, _ in pic.rects:
        if style == "normbox":
            inside = [u for u in pic.units if x0 < u[0] < x1]
            assert inside and all(y0 < y - R and y + R < y1 for _, y, *_ in inside)


@pytest.mark.parametrize("name", list(NETS))
def test_dropout_crosses_out_one_node(name):
    net = _net(name)
    tex, pic = draw_batch(net), picture(net)
    drops = net.dropout_layers()
    assert tex.count("\\node[unit,dropped]") == len(drops) == sum(u[3] for u in pic.units)
    assert tex.count("\\draw[cross]") == 2 * len(drops)
    for _, lay in drops:
        assert f"{{dropout $p = {float(lay.rate):g}$}}" in tex
    assert ("\\draw[dropedge]" in tex) == bool(drops)
    crosses = [points for points, style in pic.lines if style == "cross"]
    for x, y, _, dropped in pic.units:           # the cross lies on the dropped node
        assert dropped == any(abs((p[0][0] + p[1][0]) / 2 - x) < 1e-9 and abs((p[0][1] + p[1][1]) / 2 - y) < 1e-9
                              for p in crosses)


def _box(x, y, anchor, label, size):
    w, h = width(label[1], size), LINE * 0.9
    low = y - 0.1 if anchor == "base" else y - h / 2
    return x - w / 2, low, x + w / 2, low + h


@pytest.mark.parametrize("name", list(NETS))
def test_labels_keep_off_nodes_and_each_other(name):
    pic = picture(_net(name))
    weights = [_box(*t) for t in pic.texts if t[4] == "weight"]
    nodes = [(x - R, y - R, x + R, y + R) for x, y, *_ in pic.units]
    above = [_box(*t) for t in pic.texts if t[2] == "base"]
    apart = [(a, b) for a, b in combinations(weights, 2)] + [(a, b) for a in weights for b in nodes + above]
    apart += [(a, b) for a, b in combinations(above, 2)] + [(a, b) for a in above for b in nodes]
    for a, b in apart:
        assert a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1], (a, b)


@pytest.mark.parametrize("name", list(NETS))
def test_svg_parses_and_holds_the_parts(name):
    net = _net(name)
    s = draw_batch(net, fmt="svg")
    root = ET.fromstring(s)
    assert root.tag == SVG + "svg" and not s.startswith("<?xml")
    assert s.index('width="') < s.index(">") and float(root.get("width")) > 200 and float(root.get("height")) > 100
    units = root.findall(f".//{SVG}g")
    assert len([g for g in units if g.get("class", "").startswith("unit")]) == sum(len(_real(n)) for n in net.sizes)
    assert len([g for g in units if g.get("class") == "unit dropped"]) == len(net.dropout_layers())
    assert len(root.findall(f".//{SVG}path[@class='cross']")) == 2 * len(net.dropout_layers())
    assert len(root.findall(f".//{SVG}rect[@class='normbox']")) == len(net.norm_layers())
    assert len(root.findall(f".//{SVG}rect[@class='card']")) == min(net.samples, 3)
    texts = ["".join(t.itertext()) for t in root.iter(SVG + "text")]
    assert "E" in texts and "x1⟨s⟩" in texts and ("w11[1]" in texts) == (net.layers[0].kind == "dense")
    assert all(f"[{k}]" in texts for k in range(1, net.depth + 1))
    assert texts.count("batch norm:") == sum(lay.kind == "batchnorm" for _, lay in net.norm_layers())
    assert texts.count("the nodes, per sample;") == sum(lay.kind == "layernorm" for _, lay in net.norm_layers())
    assert sum(t.startswith("dropout p = ") for t in texts) == len(net.dropout_layers())
    ids = [m.get("id") for m in root.iter(SVG + "marker")]
    assert len(ids) == len(set(ids)) == 2


@pytest.mark.parametrize("name", ["small", "layernorm", "wide", "one sample"])
def test_standalone_drawing_compiles(tmp_path, name):
    tex = draw_batch(_net(name), standalone=True)
    assert tex.startswith(r"\documentclass[tikz,border=4pt]{standalone}") and tex.isascii() and _balanced(tex)
    _compile(tmp_path, name.replace(" ", "-"), tex)
