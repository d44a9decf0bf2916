"""The network as a TikZ picture, and the complete LaTeX document around a derivation.

Formatting only: sizes come from the network, equations from the renderers.

>>> from symbackprop._spec import from_spec
>>> "\\\\begin{tikzpicture}" in tikz(from_spec("2-3-1"))
True
"""
from __future__ import annotations

from ._names import latex_name, plain, Parts
from ._network import Network

#: layers wider than this are drawn as their first nodes, a vertical ellipsis and the last node
MAX_DRAWN = 6
#: edges are labelled with their weights when the network has at most this many
MAX_LABELLED = 12

PREAMBLE = r"""\documentclass[11pt]{article}
\usepackage[a4paper,margin=2cm]{geometry}
\usepackage{amsmath,amssymb}
\usepackage{tikz}
\allowdisplaybreaks
"""


def _drawn(n: int) -> list:
    """Node numbers drawn for a layer of n, with None for the ellipsis."""
    if n <= MAX_DRAWN:
        return list(range(1, n + 1))
    return [1, 2, 3, None, n]


def tikz(net: Network) -> str:
    """A tikzpicture: layers left to right, nodes j[k] as in the seed's figure, weights on edges."""
    L = net.depth
    labelled = net.n_weights <= MAX_LABELLED
    dx, dy = (5.0, 2.2) if labelled else (2.6, 1.1)
    dx = min(dx, 12.0 / max(L - 1, 1))    # the layers span at most 12 cm: with the x and a labels, it fits the page
    bottom = -max(len(_drawn(n)) - 1 for n in net.layers) * dy / 2 - 0.9
    lines = [r"\begin{tikzpicture}[>=stealth,",
             r"  neuron/.style={circle,draw,minimum size=9mm,inner sep=1pt,font=\small},",
             r"  weight/.style={font=\scriptsize,inner sep=1pt}]"]
    positions = {}
    for k, n in enumerate(net.layers, start=1):
        drawn = _drawn(n)
        top = (len(drawn) - 1) * dy / 2
        for row, j in enumerate(drawn):
            y = top - row * dy
            x = (k - 1) * dx
            if j is None:
                lines.append(rf"  \node at ({x:.2f},{y:.2f}) {{$\vdots$}};")
                continue
            positions[(k, j)] = (x, y)
            lines.append(rf"  \node[neuron] (n{k}_{j}) at ({x:.2f},{y:.2f}) {{{j}[{k}]}};")
            if k == 1:
                lines.append(rf"  \draw[<-] (n{k}_{j}) -- ++(-1.3,0) node[left] {{${latex_name(plain(Parts('x', (j,))))}$}};")
            if k == L:
                out = latex_name(plain(Parts("a", (j,), L)))
                lines.append(rf"  \draw[->] (n{k}_{j}) -- ++(1.3,0) node[right] {{${out}$}};")
        caption = f"L{k}" + (f" ({n} nodes)" if n > MAX_DRAWN else "")
        lines.append(rf"  \node[font=\small] at ({(k - 1) * dx:.2f},{bottom:.2f}) {{{caption}}};")
    ties = dict(net.ties)
    for k in range(1, L):
        for (kk, i) in [p for p in positions if p[0] == k]:
            for (k2, j) in [p for p in positions if p[0] == k + 1]:
                edge = rf"  \draw[->] (n{k}_{i}) -- (n{k + 1}_{j})"
                if labelled:
                    # near the source, where a node's edges fan out: labels along their own edge;
                    # a tied layer's edge carries the weight it shares, W[m] transposed
                    w = latex_name(plain(Parts("w", (j, i), ties[k]) if k in ties else Parts("w", (i, j), k)))
                    edge += rf" node[weight,sloped,above,pos=0.2] {{${w}$}}"
                lines.append(edge + ";")
    for k, s in net.skips:                 # a skip: node j of layer s into node j of layer k, arched over
        for (_, j) in [p for p in positions if p[0] == s and (k, p[1]) in positions]:
            lines.append(rf"  \draw[->,dashed] (n{s}_{j}) to[bend left=25] node[weight,above] {{$+$}} (n{k}_{j});")
    lines.append(r"\end{tikzpicture}")
    return "\n".join(lines) + "\n"


def standalone_drawing(net: Network) -> str:
    return (PREAMBLE + "\\begin{document}\n\\begin{center}\n" + tikz(net)
            + "\\end{center}\n\\end{document}\n")


def standalone_document(d, body: str) -> str:
    """A complete article: title, the drawing, then the derivation's sections."""
    net = d.network
    shape = "-".join(map(str, net.layers))
    head = body.split("\n", 2)
    # the fragment opens with its own \section* title and a subtitle line: the document has \maketitle
    rest = head[2] if len(head) > 2 else ""
    acts = ", ".join(dict.fromkeys(a.function_name or a.name for a in net.activations))
    return (PREAMBLE
            + f"\\title{{Backpropagation for the {shape} network}}\n"
            + f"\\author{{activation {acts}; loss {net.loss.name.replace('_', ' ')}; "
            + f"{'with' if net.bias else 'no'} biases}}\n\\date{{}}\n"
            + "\\begin{document}\n\\maketitle\n\n"
            + "\\subsection*{The network}\n"
            + "Layers $L1$ (the inputs) to $L" + str(net.depth) + "$; node $j$ of layer $k$ is drawn as $j[k]$, "
            + "and $w_{ij}^{[k]}$ joins node $i$ of layer $k$ to node $j$ of layer $k+1$.\n\n"
            + "\\begin{center}\n" + tikz(net) + "\\end{center}\n\n"
            + rest
            + "\n\\end{document}\n")


# ---------------------------------------------------------------- recurrent networks
def _steps_drawn(T: int) -> list:
    """Time steps drawn: all up to 5, else 1, 2, 3, an ellipsis (None) and T."""
    return list(range(1, T + 1)) if T <= 5 else [1, 2, 3, None, T]


def rnn_tikz(net) -> str:
    """The recurrent network unrolled: one column per step, x<t> below, h<t> in the middle, y<t> above."""
    dx = 2.3
    lines = [r"\begin{tikzpicture}[>=stealth,",
             r"  state/.style={rectangle,rounded corners,draw,minimum width=13mm,minimum height=8mm,font=\small},",
             r"  weight/.style={font=\scriptsize,inner sep=1pt}]"]
    sizes = {"x": net.inputs, "h": net.hidden, "y": net.outputs}
    lines.append(r"  \node[state] (h0) at (0,0) {$h^{\langle 0 \rangle}$};")
    previous = "h0"
    for n, t in enumerate(_steps_drawn(net.steps), start=1):
        x = n * dx
        if t is None:
            lines.append(rf"  \node (dots) at ({x:.2f},0) {{$\cdots$}};")
            lines.append(rf"  \draw[->] ({previous}) -- (dots) node[weight,midway,above] {{$W$}};")
            previous = "dots"
            continue
        for kind, y in (("x", -1.8), ("h", 0.0), ("y", 1.8)):
            lines.append(rf"  \node[state] ({kind}{t}) at ({x:.2f},{y:.2f}) "
                         rf"{{${kind}^{{\langle {t} \rangle}}$}};")
        lines.append(rf"  \draw[->] (x{t}) -- (h{t}) node[weight,midway,right] {{$U$}};")
        lines.append(rf"  \draw[->] (h{t}) -- (y{t}) node[weight,midway,right] {{$V$}};")
        lines.append(rf"  \draw[->] ({previous}) -- (h{t}) node[weight,midway,above] {{$W$}};")
        previous = f"h{t}"
    right = len(_steps_drawn(net.steps)) * dx + 0.9
    for kind, y in (("x", -1.8), ("h", 0.0), ("y", 1.8)):
        word = {"x": "input", "h": "hidden", "y": "output"}[kind]
        n = sizes[kind]
        word += "" if kind == "h" or n == 1 else "s"
        lines.append(rf"  \node[font=\scriptsize,anchor=west] at ({right:.2f},{y:.2f}) {{{n} {word}}};")
    lines.append(r"\end{tikzpicture}")
    return "\n".join(lines) + "\n"


def standalone_rnn_drawing(net) -> str:
    return (PREAMBLE + "\\begin{document}\n\\begin{center}\n" + rnn_tikz(net)
            + "\\end{center}\n\\end{document}\n")


def standalone_rnn_document(d, body: str) -> str:
    """A complete article for a recurrent network: title, the unrolled drawing, the derivation."""
    net = d.network
    head = body.split("\n", 2)
    rest = head[2] if len(head) > 2 else ""
    hidden = net.activation.function_name or net.activation.name
    out = net.output_activation.function_name or net.output_activation.name
    return (PREAMBLE
            + f"\\title{{Backpropagation through time for the {net.shape()} recurrent network, $T = {net.steps}$}}\n"
            + f"\\author{{hidden activation {hidden}; outputs {out}\\\\ loss {net.loss.name.replace('_', ' ')}; "
            + f"{'with' if net.bias else 'no'} biases"
            + (f"; truncated to {d.truncate} steps" if d.truncate else "") + "}\n\\date{}\n"
            + "\\begin{document}\n\\maketitle\n\n"
            + "\\subsection*{The network, unrolled}\n"
            + "Each column is one time step; the same $U$, $W$, $V$ act at every step, with $U$ holding $u_{ij}$ "
            + "in row $i$ and column $j$ (likewise $W$, $V$).\n\n"
            + "\\begin{center}\n" + rnn_tikz(net) + "\\end{center}\n\n"
            + rest
            + "\n\\end{document}\n")
