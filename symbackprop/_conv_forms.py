"""The general and compact forms of a conv net's gradients, checked against every instance.

For a conv layer from layer k to k+1 (stride s, padding p; positions counted from 1):

- kernel: ∂E/∂kc,d,u,v[k] = Σ_i Σ_j δc,i,j[k+1]·ad,s(i−1)+u−p,s(j−1)+v−p[k], the correlation of
  the padded input with δ dilated by s;
- input: ∂E/∂ad,x,y[k] = Σ_c Σ_u Σ_v δc,i,j[k+1]·kc,d,u,v[k] over the (u, v) for which
  i = (x + p − u)/s + 1 and j likewise are whole positions of the output: the full convolution
  of the dilated δ with the kernel rotated by 180°, cropped by p;
- bias: ∂E/∂bc[k+1] = Σ_i Σ_j δc,i,j[k+1].

A pool layer routes ∂E/∂a[k+1] back to the first maximum of each window (max) or spreads it
evenly (average).  Each general form is written out for every instance from its own index
arithmetic (the inverse map above, not the forward windows the model was built from) and
compared with what the sweep found.
"""
from __future__ import annotations

from dataclasses import dataclass
from itertools import product as grid

import sympy

from ._conv import Conv, ConvNet, Dense, Pool
from ._conv_build import FirstMax, window
from ._conv_names import MapName
from ._names import product


@dataclass(frozen=True)
class Form:
    """One general form of layer k's step to k+1: what it is about, how many instances were checked,
    whether every one held, and the first that did not (its plain name)."""

    kind: str            # "kernel", "input", "bias", "maxpool", "avgpool", "weight"
    layer: int
    instances: int
    holds: bool
    failed: str = ""


def _upstream(s, node):
    eq = s.model.by_node[node]
    return eq.delta if eq.delta is not None else s.adjoint[node]


class _Names(dict):
    """The model's own symbols by (letter, layer, indices): the general forms name what the model holds
    (the inputs x under layer 1)."""

    def __init__(self, model):
        super().__init__()
        for eq in model.equations[:-1]:
            for sym in (eq.node, eq.delta, *[q for pair in eq.terms for q in pair]):
                if isinstance(sym, MapName):
                    self[(sym.letter, sym.layer or 1, sym.indices)] = sym

    def __call__(self, letter: str, k: int, idx: tuple) -> MapName:
        key = ("x" if letter == "a" and k == 1 else letter, k, idx)
        found = self.get(key)
        if found is None:           # an input entry no window reads (a stride past the last full window)
            found = self[key] = MapName(key[0], idx, None if key[0] == "x" else k)
        return found


class _Adjoints:
    """∂E/∂value as the sweep writes it; for an input (a leaf, which the sweep does not name) the same
    sum over its consumers, each input's consumers found in one pass."""

    def __init__(self, s):
        self.s, self.leaves = s, {}
        for eq in s.model.equations[:-1]:
            for _, q in eq.terms:
                if q not in s.adjoint and q is not sympy.S.One:
                    self.leaves.setdefault(q, []).append(eq)

    def __call__(self, value) -> tuple:
        if value in self.s.adjoint:
            return sympy.Add.make_args(self.s.adjoint[value])
        return tuple(_times(eq.derivative(value), _upstream(self.s, eq.node)) for eq in self.leaves.get(value, ()))


def _times(a, b):
    """a·b; two names without SymPy's general flatten (thousands of terms are made)."""
    return product(a, b) if isinstance(a, sympy.Symbol) and isinstance(b, sympy.Symbol) and a != b else a * b


def _verdict(kind: str, k: int, pairs) -> Form:
    """Each (name, the general form's terms, the sweep's terms) compared as sets of terms: every term of
    these sums is a different product, so equal sets are equal sums."""
    n, failed = 0, ""
    for name, general, instance in pairs:
        n += 1
        if failed or (len(general) == len(instance) and set(general) == set(instance)):
            continue
        if sympy.Add(*general) - sympy.Add(*instance) != 0:        # the same sum, its terms grouped otherwise
            failed = name
    return Form(kind, k, n, not failed, failed)


def _positions(x: int, size: int, stride: int, pad: int, out: int) -> list:
    """(u, i) pairs with s(i − 1) + u − p = x: the kernel offsets u and output positions i that reach x."""
    found = []
    for u in range(1, size + 1):
        q, r = divmod(x + pad - u, stride)
        if r == 0 and 0 <= q < out:
            found.append((u, q + 1))
    return found


def _conv_forms(net: ConvNet, k: int, lay: Conv, s, adjoint, names) -> list:
    shape_in, shape_out = net.shape(k), net.shape(k + 1)
    delta = lambda c, pos: names("delta", k + 1, (c, *pos))   # noqa: E731
    kernel = []
    for c, d, *offs in grid(*[range(1, n + 1) for n in (lay.channels, shape_in[0], *lay.kernel)]):
        p = names("k", k, (c, d, *offs))
        terms = []
        for pos in grid(*[range(1, n + 1) for n in shape_out[1:]]):
            at = tuple(st * (i - 1) + u - pd for i, u, st, pd in zip(pos, offs, lay.stride, lay.padding))
            if all(1 <= q <= n for q, n in zip(at, shape_in[1:])):
                terms.append(_times(delta(c, pos), names("a", k, (d, *at))))
        kernel.append((p.name, terms, sympy.Add.make_args(s.gradient[p])))
    forms = [_verdict("kernel", k, kernel)]
    inputs = []
    for d, *at in net.entries(k):
        a = names("a", k, (d, *at))
        terms = []
        for c in range(1, lay.channels + 1):
            reach = [_positions(x, w, st, pd, n) for x, w, st, pd, n in
                     zip(at, lay.kernel, lay.stride, lay.padding, shape_out[1:])]
            for combo in grid(*reach):
                offs, pos = tuple(u for u, _ in combo), tuple(i for _, i in combo)
                terms.append(_times(delta(c, pos), names("k", k, (c, d, *offs))))
        inputs.append((a.name, terms, adjoint(a)))
    forms.append(_verdict("input", k, inputs))
    if lay.bias:
        biases = [(f"b{c}[{k + 1}]", [delta(c, pos) for pos in grid(*[range(1, n + 1) for n in shape_out[1:]])],
                   sympy.Add.make_args(s.gradient[names("b", k + 1, (c,))]))
            for c in range(1, lay.channels + 1)]
        forms.append(_verdict("bias", k, biases))
    return forms


def _pool_form(net: ConvNet, k: int, lay: Pool, s, adjoint, names) -> Form:
    shape_out = net.shape(k + 1)
    pairs = []
    for c, *at in net.entries(k):
        a = names("a", k, (c, *at))
        reach = [_positions(x, w, st, 0, n) for x, w, st, n in zip(at, lay.size, lay.stride, shape_out[1:])]
        terms = []
        for combo in grid(*reach):
            pos = tuple(i for _, i in combo)
            up = _upstream(s, names("a", k + 1, (c, *pos)))
            if lay.mode == "max":
                cells = [names("a", k, (c, *q)) for _, q in window(net, k, lay, pos)]
                terms += sympy.Add.make_args(FirstMax(a, names("a", k + 1, (c, *pos)), *cells) * up)
            else:
                terms += sympy.Add.make_args(up / sympy.Integer(len(window(net, k, lay, pos))))
        pairs.append((a.name, terms, adjoint(a)))
    return _verdict(lay.kind, k, pairs)


def _dense_form(net: ConvNet, k: int, lay: Dense, s, names) -> Form:
    below = [names("a", k, idx) for idx in net.entries(k)]
    pairs = [(f"w{m},{j}[{k}]", [_times(names("delta", k + 1, (j,)), a)],
              sympy.Add.make_args(s.gradient[names("w", k, (m, j))]))
             for m, a in enumerate(below, start=1) for j in range(1, lay.size + 1)]
    return _verdict("weight", k, pairs)


def check_forms(net: ConvNet, model, s) -> tuple:
    """Every layer's general forms, each checked against every instance."""
    forms, adjoint, names = [], _Adjoints(s), _Names(model)
    for k in range(1, net.depth):
        lay = net.layer(k + 1)
        if isinstance(lay, Conv):
            forms += _conv_forms(net, k, lay, s, adjoint, names)
        elif isinstance(lay, Pool):
            forms.append(_pool_form(net, k, lay, s, adjoint, names))
        elif len(net.shape(k)) > 1:          # the dense layer that reads the maps, flattened
            forms.append(_dense_form(net, k, lay, s, names))
    return tuple(forms)
