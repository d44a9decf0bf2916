"""A convolutional network as the one model: every feature-map entry a named equation.

A conv layer's ``zc,i,j[k+1] = Σ_d Σ_u Σ_v kc,d,u,v[k]·ad,s(i−1)+u−p,s(j−1)+v−p[k] (+ bc[k+1])``,
its terms the pairs (kernel element, entry) that fall inside the maps (padding adds zeros,
which add nothing); max pooling's ``a[k+1] = max(window)`` with local derivatives
[a = max], 1 for the first maximum of the window and 0 for the rest; average pooling's
mean; a dense layer reads the maps flattened in C order.

>>> from symbackprop._conv_spec import from_data
>>> net = from_data({"inputs": [1, 3], "layer": [{"kind": "conv", "channels": 1, "kernel": 2},
...                  {"kind": "maxpool", "size": 2}, {"size": 1}]}, "spec")
>>> m = build(net)
>>> [f"{eq.node} = {eq.expr}" for eq in m.equations[:5]]
['z11[2] = k111[1]*x11 + k112[1]*x12', 'a11[2] = g(z11[2])', 'z12[2] = k111[1]*x12 + k112[1]*x13', \
'a12[2] = g(z12[2])', 'a11[3] = max(a11[2], a12[2])']
"""
from __future__ import annotations

from itertools import product

import sympy

from ._conv import Conv, ConvNet, Dense, Pool
from ._conv_names import MapName
from ._dense import softmax_local, weighted_sum
from ._graph import E, Equation, Model


class WindowMax(sympy.Function):
    """max(a, b, …): a pooling window's largest entry (its local derivatives are FirstMax's)."""

    is_real = True

    def _sympystr(self, printer):
        return "max(" + ", ".join(printer._print(a) for a in self.args) + ")"

    def _latex(self, printer):
        return "\\max(" + ", ".join(printer._print(a) for a in self.args) + ")"

    def _mathml_presentation(self, printer):
        row, head = printer.dom.createElement("mrow"), printer.dom.createElement("mi")
        head.appendChild(printer.dom.createTextNode("max"))
        row.appendChild(head)
        row.appendChild(printer._paren_comma_separated(*self.args))
        return row

    def _numpycode(self, printer):
        # nested, so that a constant entry (a window over padding only) broadcasts against a batch
        code = printer._print(self.args[0])
        for a in self.args[1:]:
            code = f"numpy.maximum({code}, {printer._print(a)})"
        return code


class FirstMax(sympy.Function):
    """[a = max]: 1 when ``a`` (the first argument) is the first maximum of the window pooled into
    ``out`` (the second), whose entries are the other arguments, in order, ``a`` among them; else 0.
    Text shows it as [a = max]; JSON and verify's grammar as ismax(a, out)."""

    is_real = True

    def _position(self) -> int:
        return list(self.args[2:]).index(self.args[0])

    def _sympystr(self, printer):
        a, out = (printer._print(x) for x in self.args[:2])
        return f"[{a} = max]" if getattr(printer, "display", False) else f"ismax({a}, {out})"

    def _latex(self, printer):
        return f"[{printer._print(self.args[0])} = \\max]"

    def _mathml_presentation(self, printer):
        row = printer.dom.createElement("mrow")
        for piece in (("mo", "["), None, ("mo", "="), ("mi", "max"), ("mo", "]")):
            if piece is None:
                row.appendChild(printer._print(self.args[0]))
                continue
            el = printer.dom.createElement(piece[0])
            el.appendChild(printer.dom.createTextNode(piece[1]))
            row.appendChild(el)
        return row

    def _numpycode(self, printer):
        a, window, m = self.args[0], self.args[2:], self._position()
        tests = [f"({printer._print(a)} {'>' if n < m else '>='} {printer._print(e)})"
                 for n, e in enumerate(window) if n != m]
        return "(1.0*(" + " & ".join(tests) + "))" if tests else "1.0"


def entry(net: ConvNet, kind: str, k: int, idx: tuple) -> MapName:
    """The symbol of an entry of layer k: x for the inputs, else z, a or delta."""
    return MapName("x", idx) if k == 1 else MapName(kind, idx, k)


def target(j: int) -> MapName:
    return MapName("t", (j,))


def window(net: ConvNet, k: int, lay, out: tuple) -> list:
    """((offset indices), input position) of every window element of output position ``out``
    (positions counted from 1) that lies inside layer k's maps."""
    size = lay.kernel if isinstance(lay, Conv) else lay.size
    pad = lay.padding if isinstance(lay, Conv) else (0,) * len(size)
    found = []
    for offs in product(*[range(1, n + 1) for n in size]):
        pos = tuple(s * (o - 1) + u - p for o, u, s, p in zip(out, offs, lay.stride, pad))
        if all(1 <= q <= n for q, n in zip(pos, net.shape(k)[1:])):
            found.append((offs, pos))
    return found


class _Names(dict):
    """Each map entry's symbol made once per build (a 28×28 map is read by 9 kernel offsets)."""

    def __init__(self, net: ConvNet):
        super().__init__()
        self.net = net

    def __call__(self, kind: str, k: int, idx: tuple) -> MapName:
        key = (kind, k, idx)
        found = self.get(key)
        if found is None:
            found = self[key] = entry(self.net, kind, k, idx)
        return found


def _prime(act):
    """f'(z) as a function of z: sympy.diff once per activation, not once per entry."""
    u = sympy.Dummy("u", real=True)
    d = sympy.diff(act.apply(u), u)
    return lambda z: d.xreplace({u: z})


def build(net: ConvNet) -> Model:
    entry = _Names(net)
    equations, parameters = [], []
    for k in range(1, net.depth):
        lay = net.layer(k + 1)
        if isinstance(lay, Conv):
            kernel = {idx: MapName("k", idx, k) for idx in product(
                *[range(1, n + 1) for n in (lay.channels, net.shape(k)[0], *lay.kernel)])}
            parameters += list(kernel.values())
            prime = _prime(lay.activation)
            if lay.bias:
                parameters += [MapName("b", (c,), k + 1) for c in range(1, lay.channels + 1)]
            for idx in net.entries(k + 1):
                c, out = idx[0], idx[1:]
                pairs = [(kernel[(c, d, *offs)], entry("a", k, (d, *pos)))
                         for d in range(1, net.shape(k)[0] + 1) for offs, pos in window(net, k, lay, out)]
                if lay.bias:
                    pairs.append((MapName("b", (c,), k + 1), sympy.S.One))
                z = entry("z", k + 1, idx)
                equations.append(Equation(z, weighted_sum(pairs), entry("delta", k + 1, idx), tuple(pairs)))
                equations.append(Equation(entry("a", k + 1, idx), lay.activation.apply(z), local=((z, prime(z)),)))
        elif isinstance(lay, Pool):
            for idx in net.entries(k + 1):
                cells = [entry("a", k, (idx[0], *pos)) for _, pos in window(net, k, lay, idx[1:])]
                if lay.mode == "max":
                    out = entry("a", k + 1, idx)
                    local = tuple((e, FirstMax(e, out, *cells)) for e in cells)
                    equations.append(Equation(out, WindowMax(*cells), local=local))
                else:
                    n = sympy.Integer(len(cells))
                    equations.append(Equation(entry("a", k + 1, idx), sympy.Add(*cells) / n,
                                              local=tuple((e, 1 / n) for e in cells)))
        else:
            equations += _dense(net, k, lay, parameters, entry)
    loss = sympy.Add(*[net.loss.term(entry("a", net.depth, (j,)), target(j))
                       for j in range(1, net.shape(net.depth)[0] + 1)])
    equations.append(Equation(E, loss))
    return Model(tuple(equations), tuple(parameters))


def _dense(net: ConvNet, k: int, lay: Dense, parameters: list, entry) -> list:
    """A dense layer k+1 over layer k's activations, flattened."""
    below = [entry("a", k, idx) for idx in net.entries(k)]
    W = [[MapName("w", (m, j), k) for j in range(1, lay.size + 1)] for m in range(1, len(below) + 1)]
    parameters += [w for row in W for w in row]
    if lay.bias:
        parameters += [MapName("b", (j,), k + 1) for j in range(1, lay.size + 1)]
    zs = [entry("z", k + 1, (j,)) for j in range(1, lay.size + 1)]
    outs = [entry("a", k + 1, (j,)) for j in range(1, lay.size + 1)]
    coupled = lay.activation.coupled           # softmax and the like: each a reads every z
    prime = None if coupled else _prime(lay.activation)
    equations = []
    for j in range(1, lay.size + 1):
        pairs = [(W[m][j - 1], a) for m, a in enumerate(below)]
        if lay.bias:
            pairs.append((MapName("b", (j,), k + 1), sympy.S.One))
        equations.append(Equation(zs[j - 1], weighted_sum(pairs), entry("delta", k + 1, (j,)), tuple(pairs)))
        if not coupled:
            equations.append(Equation(outs[j - 1], lay.activation.apply(zs[j - 1]), local=((zs[j - 1], prime(zs[j - 1])),)))
    if coupled:
        equations += [Equation(outs[j], coupled.value(zs, j), local=softmax_local(outs, zs, j, lay.activation))
                      for j in range(lay.size)]
    return equations
