"""Where a network's drawing puts things: nodes, edges and edge labels, as plain data.

One layout is computed once and written out twice: as TikZ (``_document.py``) and as
SVG (``_svg.py``).  Coordinates are centimetres, y upwards, as TikZ has them.  The
weight labels sit on their edges, each at a fraction along it chosen so that no label
covers another label or a node, and as few other edges as can be (``_labels.py``).

>>> from symbackprop._spec import from_spec
>>> lay = layout(from_spec("2-3-1"))
>>> len(lay.of_kind("neuron")), len(lay.edges_of("weight"))
(6, 9)
>>> lay.edge("w21[2]").source, lay.edge("w21[2]").target
('n2_2', 'n3_1')
"""
from __future__ import annotations

from dataclasses import dataclass

from ._labels import RADIUS, Label, arc_point, place_labels, script_of, with_labels
from ._formats_tex import LatexFormat
from ._names import Parts, latex_name, plain

_TEX = LatexFormat()

#: layers wider than this are drawn as their first nodes, a vertical ellipsis and the last node
MAX_DRAWN = 6
#: weight edges are labelled when the drawing has at most this many (bias edges come on top)
MAX_LABELLED = 16
#: the layers span at most this many cm, so that a page (or a slide, scaled) holds the drawing
MAX_SPAN = 12.0


@dataclass(frozen=True)
class Node:
    """A node of the drawing: a neuron, a bias "1", an RNN state, an ellipsis, or text."""

    id: str             # the TikZ name (n2_1); the SVG id is node-<id>
    x: float
    y: float
    kind: str           # neuron | bias | state | dots | input | output | text (captions) | note (beside)
    latex: str          # what TikZ writes in (or at) it
    text: str           # what SVG writes
    name: str | None = None     # the plain name of the quantity it holds: x1, a1[2], h<1>
    script: tuple = ()          # a name's (letter, subscript, superscript), as in Label




@dataclass(frozen=True)
class Edge:
    """An arrow from one node to another; ``name`` is the parameter on it, if any."""

    id: str             # the SVG id: edge-w11-1
    source: str
    target: str
    kind: str           # weight | bias | skip | input | output | U | W | V | b | c (RNN)
    name: str | None = None      # w11[1], b2[3]; for an RNN the matrix U, W, V or vector b, c
    label: Label | None = None
    pos: float | None = None     # the label's fraction along the line between the centres
    bend: float = 0.0            # degrees, bent to the left (skip arcs)
    step: int | None = None      # an RNN edge's time step


@dataclass(frozen=True)
class Layout:
    nodes: tuple[Node, ...]
    edges: tuple[Edge, ...]
    labelled: bool
    note: str | None = None      # what the drawing leaves out, said under it

    def node(self, id_: str) -> Node:
        return next(n for n in self.nodes if n.id == id_)

    def of_kind(self, *kinds) -> list:
        return [n for n in self.nodes if n.kind in kinds]

    def edges_of(self, *kinds) -> list:
        return [e for e in self.edges if e.kind in kinds]

    def edge(self, name: str) -> Edge:
        """The (first) edge carrying the parameter ``name``."""
        return next(e for e in self.edges if e.name == name)

    def between(self, source: str, target: str) -> list:
        return [e for e in self.edges if (e.source, e.target) == (source, target)]

    def bbox(self) -> tuple[float, float, float, float]:
        """x0, y0, x1, y1 around every node and label, with room for their extent."""
        xs, ys = [], []
        for n in self.nodes:
            r = RADIUS[n.kind]
            w = r + (0.18 * len(n.text) if n.kind in ("input", "output", "text") else 0)
            left = n.x - (w + r if n.kind == "input" else w if n.kind == "text" else r)
            right = n.x + (w + r if n.kind == "output" else w if n.kind == "text" else r)
            if n.kind == "note":
                left, right = n.x, n.x + 0.16 * len(n.text)
            xs += [left, right]
            ys += [n.y - r, n.y + r]
        for e in self.edges:
            if e.label is not None:
                xs += [e.label.x - 0.4, e.label.x + 0.4]
                ys += [e.label.y - 0.3, e.label.y + 0.3]
        return min(xs), min(ys), max(xs), max(ys)


def slug(name: str) -> str:
    """A parameter's name as an id: w11[1] → w11-1, w12,3[1] → w12_3-1."""
    return name.replace(",", "_").replace("[", "-").replace("]", "").replace("<", "-").replace(">", "")


def _drawn(n: int) -> list:
    """Node numbers drawn for a layer of n, with None for the ellipsis."""
    if n <= MAX_DRAWN:
        return list(range(1, n + 1))
    return [1, 2, 3, None, n]


def layout(net, bias: bool | None = None) -> Layout:
    """The drawing of a dense or recurrent network; ``bias`` (default: the network's own)
    draws a "1" node per layer feeding the next layer's nodes through their biases."""
    if getattr(net, "kind", None) == "rnn":
        return rnn_layout(net, bias)
    return dense_layout(net, bias)


def dense_layout(net, bias: bool | None = None) -> Layout:
    """Layers left to right, node j of layer k drawn as j[k], the weights on the edges."""
    bias = net.bias if bias is None else bias
    ties = dict(net.ties)
    drawn = [_drawn(n) for n in net.layers]
    n_edges = sum(len([j for j in a if j]) * len([j for j in b if j]) for a, b in zip(drawn, drawn[1:]))
    labelled = n_edges <= MAX_LABELLED and all(n <= MAX_DRAWN for n in net.layers)
    for stretch in (1.0, 1.3, 1.6, 2.0):
        lay, ok = _dense(net, bias, labelled, drawn, stretch, ties)
        if ok or not labelled:
            return lay
    return _dense(net, bias, False, drawn, 1.0, ties)[0]   # no stretch frees the labels: leave them out


def _dense(net, bias, labelled, drawn, stretch, ties):
    L = net.depth
    dx, dy = (5.0, 2.2 * stretch) if labelled else (2.6, 1.1)
    dx = min(dx, MAX_SPAN / max(L - 1, 1))
    nodes, edges = [], []
    tallest = max(len(d) - 1 for d in drawn) * dy / 2
    bottom = -tallest - 0.9
    for k, (n, rows) in enumerate(zip(net.layers, drawn), start=1):
        x, top = (k - 1) * dx, (len(rows) - 1) * dy / 2
        for row, j in enumerate(rows):
            y = top - row * dy
            if j is None:
                nodes.append(Node(f"dots{k}", x, y, "dots", r"$\vdots$", "⋮"))
                continue
            name = plain(Parts("x", (j,))) if k == 1 else plain(Parts("a", (j,), k))
            nodes.append(Node(f"n{k}_{j}", x, y, "neuron", f"{j}[{k}]", f"{j}[{k}]", name))
            if k == 1:
                nodes.append(Node(f"in{j}", x - 1.3, y, "input", f"${latex_name(name)}$", name, name, script_of(name)))
                edges.append(Edge(f"edge-in-{j}", f"in{j}", f"n1_{j}", "input"))
            if k == L:
                nodes.append(Node(f"out{j}", x + 1.3, y, "output", f"${latex_name(name)}$", name, name, script_of(name)))
                edges.append(Edge(f"edge-out-{j}", f"n{k}_{j}", f"out{j}", "output"))
        caption = f"L{k}" + (f" ({n} nodes)" if n > MAX_DRAWN else "")
        nodes.append(Node(f"caption{k}", x, bottom, "text", caption, caption))
    if bias:
        y = tallest + 0.8 * dy if labelled else tallest + dy
        for k in range(1, L):
            nodes.append(Node(f"bias{k}", (k - 1) * dx, y, "bias", "1", "1"))
    ids = {n.id for n in nodes}
    seen = set()
    for k in range(1, L):
        for i in [i for i in drawn[k - 1] if i]:
            for j in [j for j in drawn[k] if j]:
                # a tied layer's edge carries the weight it shares, W[m] transposed
                name = plain(Parts("w", (j, i), ties[k]) if k in ties else Parts("w", (i, j), k))
                id_ = "edge-" + slug(name) + (f"-in{k + 1}" if name in seen else "")
                seen.add(name)
                edges.append(Edge(id_, f"n{k}_{i}", f"n{k + 1}_{j}", "weight", name))
        if bias:
            for j in [j for j in drawn[k] if j]:
                name = plain(Parts("b", (j,), k + 1))
                edges.append(Edge("edge-" + slug(name), f"bias{k}", f"n{k + 1}_{j}", "bias", name))
    for k, s in net.skips:                 # a skip: node j of layer s into node j of layer k, arched over
        for j in [j for j in drawn[s - 1] if j and f"n{k}_{j}" in ids]:
            edges.append(Edge(f"edge-skip-{s}-{k}-{j}", f"n{s}_{j}", f"n{k}_{j}", "skip", None,
                              Label(0, 0, 0, "south", "$+$", "+"), 0.5, 25.0))
    note = None
    if not labelled:
        note = f"edges not labelled: {net.n_weights:,} weights"
        nodes.append(Node("caption-note", (L - 1) * dx / 2, bottom - 0.55, "text", note, note))
    lay = Layout(tuple(nodes), tuple(edges), labelled, note)
    if not labelled:
        return _skip_labels(lay), True
    return place_labels(lay)


def _skip_labels(lay: Layout) -> Layout:
    """Only the skip arcs' + signs, at their tops (no weight labels)."""
    return with_labels(lay, {e.id: arc_point(lay, e, 0.5) for e in lay.edges if e.kind == "skip"})


# ---------------------------------------------------------------- recurrent networks
def _steps_drawn(T: int) -> list:
    """Time steps drawn: all up to 5, else 1, 2, 3, an ellipsis (None) and T."""
    return list(range(1, T + 1)) if T <= 5 else [1, 2, 3, None, T]


def rnn_layout(net, bias: bool | None = None) -> Layout:
    """The recurrent network unrolled: one column per step, x<t> below, h<t> in the middle, y<t> above;
    with biases, a "1" node left of each column feeds h<t> through b and y<t> through c."""
    bias = net.bias if bias is None else bias
    dx, rows = (2.8 if bias else 2.3), (("x", -1.8), ("h", 0.0), ("y", 1.8))
    nodes = [Node("h0", 0.0, 0.0, "state", f"${_TEX.indexed('h', 0, time=True)}$", "h⟨0⟩", "h<0>", ("h", "", "⟨0⟩"))]
    edges = []
    previous = "h0"
    steps = _steps_drawn(net.steps)
    for n, t in enumerate(steps, start=1):
        x = n * dx
        if t is None:
            nodes.append(Node("dots", x, 0.0, "dots", r"$\cdots$", "⋯"))
            edges.append(Edge("edge-W-dots", previous, "dots", "W", "W", Label(x - dx / 2, 0.12, 0, "south", "$W$", "W")))
            previous = "dots"
            continue
        for kind, y in rows:
            nodes.append(Node(f"{kind}{t}", x, y, "state", f"${_TEX.indexed(kind, t, time=True)}$", f"{kind}⟨{t}⟩",
                              f"{kind}<{t}>", (kind, "", f"⟨{t}⟩")))
        edges.append(Edge(f"edge-U-{t}", f"x{t}", f"h{t}", "U", "U", Label(x + 0.1, -0.9, 0, "west", "$U$", "U"),
                          step=t))
        edges.append(Edge(f"edge-V-{t}", f"h{t}", f"y{t}", "V", "V", Label(x + 0.1, 0.9, 0, "west", "$V$", "V"),
                          step=t))
        edges.append(Edge(f"edge-W-{t}", previous, f"h{t}", "W", "W",
                          Label(x - dx / 2 + (0.3 if previous == "dots" else 0), 0.12, 0, "south", "$W$", "W"), step=t))
        if bias:        # "1" left of the column, into h<t> (b) and y<t> (c); the label below-right of the line
            for kind, by, to in (("b", -0.9, "h"), ("c", 0.9, "y")):
                nodes.append(Node(f"{kind}one{t}", x - 1.05, by, "bias", "1", "1"))
                edges.append(Edge(f"edge-{kind}-{t}", f"{kind}one{t}", f"{to}{t}", kind, kind,
                                  Label(x - 0.44, by + (0.18 if kind == "b" else 0.16), 0, "center", f"${kind}$", kind),
                                  step=t))
        previous = f"h{t}"
    right = len(steps) * dx + 0.9
    sizes = {"x": net.inputs, "h": net.hidden, "y": net.outputs}
    for kind, y in rows:
        word = {"x": "input", "h": "hidden", "y": "output"}[kind]
        word += "" if kind == "h" or sizes[kind] == 1 else "s"
        text = f"{sizes[kind]} {word}"
        nodes.append(Node(f"note{kind}", right, y, "note", text, text))
    return Layout(tuple(nodes), tuple(edges), True)
