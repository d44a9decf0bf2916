"""Checking a hand derivation on a conv net: verify's reading of its names, its right answers.

A left side is ∂E/∂ of a kernel element, dense weight or bias (``dE/dk1111[1]``,
``dE/dw27,3[3]``, ``dE/db1[2]``), of a map entry (``dE/da111[2]``, ``dE/dz111[2]``) or a
δ (``delta111[2]``, ``δ111[2]``); names as in ``_conv_names``.  The right answer is what the
sweep says, as one writes it: for a kernel element the sum over the output positions of
δ·a, for an entry the sum over channels and kernel offsets of δ·k (through a pool: the
upstream gradient of each window holding it, times ``ismax(…)`` or ÷n), for a δ one step
of the recursion.  Max pooling's local derivative is written ``ismax(a112[2], a11[3])``:
1 when a112[2] is the first maximum of the window pooled into a11[3]; ``ismax(a112[2])``
when a112[2] lies in one window only.  The named mistakes are in ``_conv_mistakes``.

>>> from symbackprop._conv_spec import from_data
>>> from symbackprop._equation import parse_equation
>>> net = from_data({"inputs": [1, 4], "layer": [{"kind": "conv", "channels": 1, "kernel": 2},
...                  {"kind": "maxpool", "size": 2}, {"size": 1}]}, "spec")
>>> parse_equation(net, "dE/da12[2] = ismax(a12[2])*w11[3]*delta1[4]", reading(net)).rhs
w11[3]*delta1[4]*ismax(a12[2], a11[3])
"""
from __future__ import annotations

import re

from . import _conv_names as cn
from ._conv import Conv, Pool
from ._conv_build import FirstMax, entry, window
from ._conv_mistakes import mistakes, windows_of
from ._equation import ETA, Reading, functions_for
from ._errors import NotationError, ParseError

_LOOKS = re.compile(r"(delta|δ|[kwbzaxt])[0-9]")


# ---------------------------------------------------------------- names
def symbol(kind: str, indices: tuple, layer: int | None) -> cn.MapName:
    """The symbol of a name read: x and t carry no layer."""
    return cn.MapName(kind, indices, None if kind in ("x", "t") else layer)


def _inside(net, kind: str, indices: tuple, layer: int | None) -> bool:
    """Whether every index of a name read lies inside the network (the name's form is right)."""
    if kind in ("k", "w", "b"):
        return net.has(cn.plain(kind, indices, layer))
    shape = net.shape(1) if kind == "x" else net.shape(net.depth) if kind == "t" else net.shape(layer)
    return all(i <= n for i, n in zip(indices, shape))


def resolver(net):
    """name → symbol for the names of the conv ``net`` (and η); None for a word that is no name."""
    def resolve(text: str, column: int):
        if text in ("eta", "η"):
            return ETA
        try:
            kind, indices, layer = cn.read(text, net.index_count)
        except NotationError as err:
            if _LOOKS.match(text):
                raise ParseError(str(err), column) from None
            return None
        if not _inside(net, kind, indices, layer):
            raise ParseError(f"{text} is not in the network {net.describe()}: see the derivation for its names",
                             column)
        return symbol(kind, indices, layer)
    return resolve


def _size(net, kind: str, position: int, layer: int | None) -> int | None:
    """How many values an index of a conv name runs over (for the general form's letters)."""
    count = net.index_count(kind, layer) if kind in ("k", "w", "b", "z", "a", "delta", "x", "t") else None
    if count is None or position >= count:
        return None
    if kind in ("x", "t"):
        return net.shape(1 if kind == "x" else net.depth)[position]
    if kind in ("z", "a", "delta"):
        return net.shape(layer)[position]
    lay = net.layer(layer if kind == "b" else layer + 1)
    if kind == "b":
        return lay.channels if isinstance(lay, Conv) else lay.size
    n = 1
    for s in net.shape(layer):
        n *= s
    return ((lay.channels, net.shape(layer)[0], *lay.kernel) if kind == "k" else (n, lay.size))[position]


def pooled(net, a) -> tuple:
    """(layer k, its pool) when ``a`` is an entry of a map that a max pool reads; else NotationError."""
    how = "an entry of a max-pooled map, e.g. ismax(a111[2], a11[3])"
    if not isinstance(a, cn.MapName) or a.letter not in ("a", "x"):
        raise NotationError(f"ismax(…) takes {how}")
    k = 1 if a.letter == "x" else a.layer
    lay = net.layer(k + 1) if k < net.depth else None
    if not (isinstance(lay, Pool) and lay.mode == "max"):
        raise NotationError(f"ismax({a.name}): layer {k} is not max-pooled; ismax(…) takes {how}")
    return k, lay


def _ismax(net):
    """ismax(a, out): [a is the first maximum of the window pooled into out]; ismax(a): its one window."""
    def ismax(a, out=None):
        k, lay = pooled(net, a)
        c, at = a.indices[0], a.indices[1:]
        if out is None:
            found = sorted(windows_of(net, k, lay, at))
            if not found:
                raise NotationError(f"ismax({a.name}): no window of the max pool holds {a.name} (its gradient is 0)")
            if len(found) > 1:
                outs = [entry(net, "a", k + 1, (c, *p)).name for p in found]
                raise NotationError(f"ismax({a.name}): {a.name} lies in {len(found)} pooling windows "
                                    f"({', '.join(outs)}); name the one you mean, e.g. ismax({a.name}, {outs[0]})")
            pos = found[0]
        else:
            if not (isinstance(out, cn.MapName) and out.letter == "a" and out.layer == k + 1 and out.indices[0] == c):
                raise NotationError(f"ismax({a.name}, …): the second argument is the pool's output of channel {c}, "
                                    f"e.g. ismax({a.name}, {entry(net, 'a', k + 1, (c, *[1] * len(at))).name})")
            pos = out.indices[1:]
        cells = [entry(net, "a", k, (c, *q)) for _, q in window(net, k, lay, pos)]
        if a not in cells:
            raise NotationError(f"ismax({a.name}, {entry(net, 'a', k + 1, (c, *pos)).name}): {a.name} is not "
                                "in that window")
        return FirstMax(a, entry(net, "a", k + 1, (c, *pos)), *cells)
    ismax.most_arguments = 2
    return ismax


def reading(net) -> Reading:
    """verify's reading of ``∂E/∂k1111[1] = …``, ``δ111[2] = …`` (or ∂E/∂ of w, b, z, a)."""
    def target(text):
        kind, indices, layer = cn.read(text, net.index_count)
        return kind, cn.plain(kind, indices, layer), _inside(net, kind, indices, layer)
    functions = {**functions_for(net), "ismax": _ismax(net)}
    example = next(net.parameters()).name
    first = next(k for k in range(2, net.depth + 1) if not isinstance(net.layer(k), Pool))
    delta = cn.plain("delta", (1,) * len(net.shape(first)), first)
    return Reading(target, ("k", "w", "b", "z", "a"), resolver(net), functions,
                   f"dE/d{example} = …", "δcij[k]", delta, "z or a",
                   f"network {net.describe()}", lambda kind, n, layer: _size(net, kind, n, layer))


# ---------------------------------------------------------------- right answers
def expected(d, eq):
    """verify's right answer: a parameter's gradient (Σ over its uses), an entry's ∂E/∂a over the
    δ's (or upstream gradients) of what it feeds, a δ as one step of the recursion."""
    kind, indices, layer = cn.read(eq.lhs_name, d.network.index_count)
    if kind in ("k", "w", "b"):
        return d.gradients[eq.lhs_name]
    if kind in ("z", "delta"):
        return d.deltas[cn.plain("delta", indices, layer)]
    return d.sweep.adjoint[d.symbols[eq.lhs_name]]


RULES = (expected, mistakes)        # the conv net's right answers and named mistakes
