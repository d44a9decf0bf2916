"""The classic mistakes of backprop through convolution and pooling, as wrong answers.

Each is a (name, wrong answer) pair built from the index arithmetic of the layer (stride s,
padding p, kernel size K; positions counted from 1), not from the sweep: output position i
reads input s(i−1)+u−p at kernel offset u, so input position x is reached from the (u, i)
with i = (x + p − u)/s + 1.  The kernel not flipped pairs those δ's with k at K+1−u (a
correlation with the kernel as it is), or reads δ at the forward indices s(x−1)+u−p;
stride (padding) ignored is the same arithmetic with s = 1 (p = 0); a missing sum keeps
one position's or one channel's terms; pooling's mistakes spread the upstream gradient to
every entry of a window, or leave out the 1/n.

>>> from symbackprop._conv_spec import from_data
>>> net = from_data({"inputs": [1, 3], "layer": [{"kind": "conv", "channels": 1, "kernel": 2},
...                  {"kind": "conv", "channels": 1, "kernel": 2}, {"size": 1}]}, "spec")
>>> lay = net.layer(3)
>>> input_terms(net, 2, lay, (1, 1)), input_terms(net, 2, lay, (1, 1), how="rotated")
({1: [k111[2]*delta11[3]]}, {1: [k112[2]*delta11[3]]})
"""
from __future__ import annotations

from itertools import chain, product

import sympy

from . import _conv_names as cn
from ._conv import Conv, Pool
from ._conv_build import entry, window
from ._conv_forms import _positions
from ._printing import plain

#: a gradient's terms are offered one at a time (a missing sum over positions) for its first this many
MOST_TERMS = 16


def windows_of(net, k: int, lay, at: tuple) -> list:
    """The output positions of the pool after layer k whose windows hold position ``at``."""
    reach = [_positions(x, w, st, 0, n) for x, w, st, n in zip(at, lay.size, lay.stride, net.shape(k + 1)[1:])]
    return [tuple(i for _, i in combo) for combo in product(*reach)]


def _reach(x: int, size: int, stride: int, pad: int, out: int, how: str) -> list:
    """(kernel offset, output position) pairs for input position x: right, s(i−1)+u−p = x; rotated,
    the same positions with the kernel offset K+1−u; forward, i = s(x−1)+u−p (the wrong way round)."""
    if how == "forward":
        return [(u, stride * (x - 1) + u - pad) for u in range(1, size + 1) if 1 <= stride * (x - 1) + u - pad <= out]
    found = _positions(x, size, stride, pad, out)
    return [(size + 1 - u, i) for u, i in found] if how == "rotated" else found


def input_terms(net, k: int, lay: Conv, idx: tuple, stride=None, pad=None, how: str = "right") -> dict:
    """{output channel c: its δ·k terms} of ∂E/∂a at ``idx`` of layer k, which the conv ``lay`` reads."""
    stride, pad = stride or lay.stride, lay.padding if pad is None else pad
    d, at, out = idx[0], idx[1:], net.shape(k + 1)
    found = {}
    for c in range(1, lay.channels + 1):
        reach = [_reach(x, w, s, p, n, how) for x, w, s, p, n in zip(at, lay.kernel, stride, pad, out[1:])]
        found[c] = [entry(net, "delta", k + 1, (c, *(i for _, i in combo)))
                    * cn.MapName("k", (c, d, *(u for u, _ in combo)), k) for combo in product(*reach)]
    return found


def kernel_terms(net, k: int, lay: Conv, idx: tuple, stride=None, pad=None, rotated: bool = False) -> list:
    """The δ·a terms of ∂E/∂k at ``idx`` (c, d, offsets): one per output position whose input is inside."""
    stride, pad = stride or lay.stride, lay.padding if pad is None else pad
    c, d, offs = idx[0], idx[1], idx[2:]
    terms = []
    for pos in product(*[range(1, n + 1) for n in net.shape(k + 1)[1:]]):
        at = tuple(s * (i - 1) + (w + 1 - u if rotated else u) - p
                   for i, u, w, s, p in zip(pos, offs, lay.kernel, stride, pad))
        if all(1 <= q <= n for q, n in zip(at, net.shape(k)[1:])):
            terms.append(entry(net, "delta", k + 1, (c, *pos)) * entry(net, "a", k, (d, *at)))
    return terms


def _dims(t: tuple) -> str:
    return str(t[0]) if len(set(t)) == 1 else "×".join(map(str, t))


def _ignored(lay: Conv, build):
    """Stride ignored and padding ignored: ``build(stride, padding)`` with s = 1 or p = 0."""
    ones, zeros = (1,) * len(lay.stride), (0,) * len(lay.padding)
    if lay.stride != ones:
        yield f"stride ignored (the indices of stride 1, not {_dims(lay.stride)})", build(ones, lay.padding)
    if lay.padding != zeros:
        yield f"padding ignored (the indices of padding 0, not {_dims(lay.padding)})", build(lay.stride, zeros)


def _one_position(d, name: str):
    """A parameter's gradient with only one of its uses: a missing sum over positions."""
    uses = d.sweep.uses[d.symbols[name]]
    for eq, term in uses[:MOST_TERMS] if len(uses) > 1 else ():
        where = ", ".join(map(str, eq.node.indices[1:]))
        yield f"a missing sum over positions (only the term of position ({where}))", term


def _kernel(d, idx: tuple, k: int):
    net = d.network
    lay = net.layer(k + 1)
    yield from _one_position(d, cn.plain("k", idx, k))
    yield ("the kernel flipped (∂E/∂K is the correlation of the input with δ, not a convolution)",
           sympy.Add(*kernel_terms(net, k, lay, idx, rotated=True)))
    yield from _ignored(lay, lambda s, p: sympy.Add(*kernel_terms(net, k, lay, idx, s, p)))


def _total(found: dict) -> sympy.Expr:
    return sympy.Add(*[t for terms in found.values() for t in terms])


def _flat(shape: tuple, idx: tuple, axes) -> int:
    """The 1-based position of ``idx`` when maps of ``shape`` are flattened over ``axes`` in turn."""
    m = 0
    for axis in axes:
        m = m * shape[axis] + idx[axis] - 1
    return m + 1


def _channels_last(shape: tuple, idx: tuple) -> int:
    """The flat position of ``idx`` when the maps are flattened channels last (row, column, channel)."""
    return _flat(shape, idx, (*range(1, len(shape)), 0))


_LAST = "the maps flattened channels last (torch.flatten reads channel, row, column: C order)"


def _entry(d, idx: tuple, k: int):
    """The mistakes of ∂E/∂a at ``idx`` of layer k, by the layer that reads it."""
    net, s = d.network, d.sweep
    lay = net.layer(k + 1)
    if isinstance(lay, Conv):
        for how, name in (("rotated", "the kernel not flipped (or flipped twice): δ paired with k at the "
                                      "un-rotated offsets, a correlation, not a full convolution"),
                          ("forward", "the kernel not flipped: δ read at the forward indices s(x−1)+u−p")):
            yield name, _total(input_terms(net, k, lay, idx, how=how))
        if lay.channels > 1:
            for c, terms in input_terms(net, k, lay, idx).items():
                yield f"a missing sum over channels (only output channel {c})", sympy.Add(*terms)
        yield from _ignored(lay, lambda st, p: _total(input_terms(net, k, lay, idx, st, p)))
    elif isinstance(lay, Pool):
        c, ups = idx[0], []
        for pos in windows_of(net, k, lay, idx[1:]):
            out = entry(net, "a", k + 1, (c, *pos))
            ups.append((s.adjoint[out], len(window(net, k, lay, pos))))
        if lay.mode == "max":
            yield ("max-pool gradient spread to every entry (the window's upstream gradient given to each "
                   "entry, not only to its maximum)", sympy.Add(*[u for u, _ in ups]))
            yield ("max pooling's gradient spread evenly (÷n, as in average pooling)",
                   sympy.Add(*[u / n for u, n in ups]))
        else:
            yield "average pool without the 1/n (each entry gets 1/n of the window's gradient)", \
                sympy.Add(*[u for u, _ in ups])
    else:
        shape = net.shape(k)
        m = _flat(shape, idx, range(len(shape))) if len(shape) > 1 else idx[0]
        terms = [cn.MapName("w", (m, j), k) * entry(net, "delta", k + 1, (j,)) for j in range(1, lay.size + 1)]
        for j, term in enumerate(terms if len(terms) > 1 else (), start=1):
            yield f"a missing sum over the next layer's nodes (only node {j})", term
        if len(shape) > 1 and _channels_last(shape, idx) != m:
            m2 = _channels_last(shape, idx)
            yield _LAST, sympy.Add(*[cn.MapName("w", (m2, j), k) * entry(net, "delta", k + 1, (j,))
                                     for j in range(1, lay.size + 1)])


def _weight(d, idx: tuple, k: int):
    net = d.network
    shape, (m, j) = net.shape(k), idx
    if len(shape) > 1:
        there = next(e for e in net.entries(k) if _channels_last(shape, e) == m)
        if _flat(shape, there, range(len(shape))) != m:
            yield _LAST, entry(net, "delta", k + 1, (j,)) * entry(net, "a", k, there)


def _primes(d, right: sympy.Expr):
    """A missing g' factor: the right answer, or it with its δ's written out once, without g'."""
    deltas = {s: d.deltas[s.name] for s in right.free_symbols if s.name in d.deltas}
    for form in (right, right.xreplace(deltas)):
        primes = sorted({f for f in form.atoms(sympy.Function) if type(f).__name__.endswith("'")},
                        key=sympy.default_sort_key)
        if primes:
            what = plain(primes[0]) if len(primes) == 1 else " or ".join(sorted({type(f).__name__ for f in primes}))
            yield f"a missing {what} factor", form.xreplace({f: sympy.S.One for f in primes})


def mistakes(d, eq, right: sympy.Expr):
    """(name, wrong answer) for each classic mistake that applies to the equation's left side."""
    net = d.network
    kind, idx, layer = cn.read(eq.lhs_name, net.index_count)
    found = ()
    if kind == "k":
        found = _kernel(d, idx, layer)
    elif kind == "b":
        found = _one_position(d, eq.lhs_name)
    elif kind == "w":
        found = _weight(d, idx, layer)
    elif kind == "a" and layer < net.depth:
        found = _entry(d, idx, layer)
    elif kind in ("z", "delta") and layer < net.depth:
        a, z = entry(net, "a", layer, idx), entry(net, "z", layer, idx)
        factor = d.sweep.model.by_node[a].derivative(z)             # g'(z): δ = g'(z)·∂E/∂a
        found = ((name, factor * wrong) for name, wrong in _entry(d, idx, layer))
    generic = (("the wrong sign (t − a in place of a − t)", -right),
               ("a missing ½ factor, or an extra 2", 2 * right), ("an extra ½ factor, or a missing 2", right / 2))
    named: dict = {}                   # wrong answer → its names (two slips may give the same answer)
    for name, wrong in chain(found, _primes(d, right), generic):
        if wrong != right and name not in named.setdefault(wrong, []):
            named[wrong].append(name)
    for wrong, names in named.items():
        yield ", or ".join(names), wrong
