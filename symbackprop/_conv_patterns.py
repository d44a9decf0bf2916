"""The general forms of a conv net, written with letter indices: what each layer computes,
each gradient in general, the compact forms, and the update rule.

>>> import sympy
>>> sympy.latex(Pattern("a", ("d", "i+u-1"), "1")), sympy.sstr(Pattern("k", ("c", "d", "u"), "k"))
('a_{d,i+u-1}^{[1]}', 'kcdu[k]')
"""
from __future__ import annotations

import sympy

from ._conv import Conv, ConvNet, Dense, Pool
from ._graph import E

_OUT, _OFF, _AT = ("i", "j"), ("u", "v"), ("p", "q")


class Pattern(sympy.Symbol):
    """A name with letter indices: kcduv[k], δc,i,j[k+1], a_{d,i+u−1}^{[k]} (``-`` prints as − in unicode)."""

    def __new__(cls, letter: str, parts: tuple, layer: str | None = None):
        name = letter + ",".join(parts) + (f"[{layer}]" if layer else "")
        obj = sympy.Symbol.__xnew__(cls, name, real=True)
        obj.letter, obj.parts, obj.layer_text = letter, tuple(parts), layer
        return obj

    def __getnewargs_ex__(self):
        return (self.letter, self.parts, self.layer_text), {}

    def print_key(self):
        return ({"k": 0, "w": 0, "b": 1, "x": 2, "a": 2, "z": 3, "t": 4, "delta": 5}[self.letter], 0, self.parts)

    def _sympystr(self, printer):
        unicode = getattr(printer, "unicode_names", False)
        head = "δ" if unicode and self.letter == "delta" else self.letter
        sep = "" if all(len(p) == 1 for p in self.parts) else ","
        idx = sep.join(self.parts)
        return head + (idx.replace("-", "−") if unicode else idx) + (f"[{self.layer_text}]" if self.layer_text else "")

    def _latex(self, printer):
        head = "\\delta" if self.letter == "delta" else self.letter
        sep = "" if all(len(p) == 1 for p in self.parts) else ","
        return f"{head}_{{{sep.join(self.parts)}}}" + (f"^{{[{self.layer_text}]}}" if self.layer_text else "")


_TEX = {"δ": "$\\delta$", "×": "$\\times$", "→": "$\\to$", "Σ": "$\\sum$", "°": "$^\\circ$", "—": "---",
        "−": "$-$", "η": "$\\eta$", "…": "\\dots{}", "γ": "$\\gamma$", "β": "$\\beta$", "μ": "$\\mu$",
        "σ": "$\\sigma$", "·": "$\\cdot$", "ε": "$\\varepsilon$"}


_ASCII = {"δ": "delta", "×": "x", "→": "->", "Σ": "sum", "°": " degrees", "—": "--", "−": "-", "η": "eta",
          "…": "...", "γ": "gamma", "⊙": "(.)", "σ": "sigma", "·": "*", "∂": "d", "ᵀ": "^T", "≤": "<=",
          "β": "beta", "μ": "mu", "ε": "epsilon", "\u0302": "hat"}


def prose(fmt, text: str) -> str:
    """Words as the format sets them: in LaTeX (and Markdown), the few symbols of the prose as math; in
    ASCII text, as words."""
    from ._formats_tex import LatexFormat
    if isinstance(fmt, LatexFormat):
        return "".join(_TEX.get(ch, ch) for ch in text.replace("x\u0302", "$\\hat{x}$"))
    if getattr(fmt, "ascii_only", False):
        return "".join(_ASCII.get(ch, ch) for ch in text)
    return text


def _shift(c: int) -> str:
    return "" if c == 0 else f"-{c}" if c > 0 else f"+{-c}"


def reads(o: str, u: str, s: int, p: int) -> str:
    """The input position output position ``o`` reads at offset ``u``: s(o − 1) + u − p, simplified."""
    return f"{s if s > 1 else ''}{o}+{u}{_shift(s + p)}"


def reached(x: str, u: str, s: int, p: int) -> str:
    """The output position whose offset ``u`` reads input ``x``: (x + p − u)/s + 1."""
    return f"{x}-{u}{_shift(-(p + 1))}" if s == 1 else f"({x}{_shift(-p)}-{u})/{s}+1"


def _a(k: int, parts: tuple) -> Pattern:
    return Pattern("x", parts) if k == 1 else Pattern("a", parts, str(k))


def _sums(fmt, letters, uppers, body: str) -> str:
    for letter, upper in reversed(list(zip(letters, uppers))):
        body = fmt.summed(letter, 1, upper, body)
    return body


def forward_rule(net: ConvNet, k: int, lay, fmt) -> str:
    """What layer k computes from layer k − 1, in words and in general (one sentence)."""
    n, below, m = net.spatial, net.shape(k - 1), fmt.inline_math
    out, off = _OUT[:n], _OFF[:n]
    if isinstance(lay, Conv):
        s, p = lay.stride, lay.padding
        z = Pattern("z", ("c", *out), str(k))
        a = _a(k - 1, ("d", *[reads(o, u, si, pi) for o, u, si, pi in zip(out, off, s, p)]))
        body = fmt.mul.join([fmt.expr(Pattern("k", ("c", "d", *off), str(k - 1))), fmt.expr(a)])
        rhs = _sums(fmt, ("d", *off), (below[0], *lay.kernel), body)
        if lay.bias:
            rhs += " + " + fmt.expr(Pattern("b", ("c",), str(k)))
        how = ", ".join(f"{w} {v}" for w, v in (("stride", _dims(s)), ("padding", _dims(p))) if set(v) != {0})
        return prose(fmt, f"Layer {k}: the maps of layer {k - 1} correlated with the kernel K[{k - 1}] ({how}; entries "
                f"outside the maps are zero and drop out), then {lay.activation.name}: "
                f"{m(f'{fmt.expr(z)} = {rhs}')}.")
    if isinstance(lay, Pool):
        a = Pattern("a", ("c", *out), str(k))
        cell = fmt.expr(_a(k - 1, ("c", *[reads(o, u, si, 0) for o, u, si in zip(out, off, lay.stride)])))
        size = "×".join(map(str, lay.size))
        offsets = ", ".join(f"{m(u)} = 1…{w}" for u, w in zip(off, lay.size))
        what = "the largest" if lay.mode == "max" else "the mean"
        return prose(fmt, f"Layer {k}: {'max' if lay.mode == 'max' else 'average'} pooling of layer {k - 1}, windows "
                          f"of {size} moved by {_dims(lay.stride)}, channel by channel: {m(fmt.expr(a))} is {what} "
                          f"of the window's entries {m(cell)} for {offsets}.")
    flat = len(below) > 1
    z, w = Pattern("z", ("j",), str(k)), Pattern("w", ("m" if flat else "i", "j"), str(k - 1))
    rhs = fmt.summed("m" if flat else "i", 1, _count(below), fmt.mul.join(
        [fmt.expr(w), fmt.expr(_a(k - 1, ("m" if flat else "i",)))]))
    if lay.bias:
        rhs += " + " + fmt.expr(Pattern("b", ("j",), str(k)))
    where = (f" reading layer {k - 1}'s maps flattened in C order (entry m is channel, then row, then column)"
             if flat else "")
    return prose(fmt, f"Layer {k}: dense,{where} then {lay.activation.name}: {m(f'{fmt.expr(z)} = {rhs}')}.")


def _count(shape) -> int:
    n = 1
    for s in shape:
        n *= s
    return n


def _dims(t: tuple) -> str:
    return str(t[0]) if len(set(t)) == 1 else "×".join(map(str, t))


def _checked(f) -> str:
    return (f"Checked against every instance: all {f.instances:,} hold." if f.holds else
            f"Checked against every instance: it FAILS at {f.failed}.")


def _form(net: ConvNet, f, fmt) -> list:
    """The items of one general form: its equation, what it is in compact terms, its check."""
    n, k = net.spatial, f.layer
    out, off, at = _OUT[:n], _OFF[:n], _AT[:n]
    lay, above = net.layer(k + 1), net.shape(k + 1)
    m = fmt.inline_math
    if f.kind == "kernel":
        a = _a(k, ("d", *[reads(o, u, s, p) for o, u, s, p in zip(out, off, lay.stride, lay.padding)]))
        body = fmt.mul.join([fmt.expr(Pattern("delta", ("c", *out), str(k + 1))), fmt.expr(a)])
        lhs, rhs = Pattern("k", ("c", "d", *off), str(k)), _sums(fmt, out, above[1:], body)
        said = (f"That is, {m(fmt.dE(fmt.indexed('K', k)))} at output channel c and input channel d "
                f"is the correlation of channel d of layer {k}" + (f", padded with {_dims(lay.padding)} zero{'' if set(lay.padding) == {1} else 's'} on each side," if set(
                    lay.padding) != {0} else "") + " with the "
                f"δ of output channel c" + (f" dilated by {_dims(lay.stride)} ({_dims(lay.stride)} − 1 zeros between "
                                           "its entries)" if set(lay.stride) != {1} else "") + ".")
    elif f.kind == "input":
        d = Pattern("delta", ("c", *[reached(x, u, s, p) for x, u, s, p in zip(at, off, lay.stride, lay.padding)]),
                    str(k + 1))
        body = fmt.mul.join([fmt.expr(d), fmt.expr(Pattern("k", ("c", "d", *off), str(k)))])
        lhs, rhs = _a(k, ("d", *at)), _sums(fmt, ("c", *off), (lay.channels, *lay.kernel), body)
        said = ("The sum takes only the offsets for which δ's positions are whole numbers inside its maps. That is, "
                f"the gradient of channel d of layer {k} is the sum over c of the full convolution of δ of channel c"
                + (f" (dilated by {_dims(lay.stride)})" if set(lay.stride) != {1} else "")
                + " with the kernel K[c, d] (the same as the full correlation with the kernel rotated by 180°)"
                + (f", cropped by {_dims(lay.padding)} on each side" if set(lay.padding) != {0} else "") + ".")
    elif f.kind == "bias":
        lhs, rhs = Pattern("b", ("c",), str(k + 1)), _sums(fmt, out, above[1:], fmt.expr(
            Pattern("delta", ("c", *out), str(k + 1))))
        said = "Each bias is shared over every position of its channel."
    elif f.kind in ("maxpool", "avgpool"):
        up = Pattern("a", ("c", *out), str(k + 1))
        lhs = _a(k, ("c", *at))
        factor = f"[{fmt.expr(lhs)} = max]" if f.kind == "maxpool" else f"1/{_count(lay.size)}"
        rhs = _sums(fmt, out, above[1:], f"{factor}{fmt.mul}{fmt.partial(E, up)}")
        said = (f"Only the windows ({', '.join(out)}) that hold entry ({', '.join(at)}) add to the sum. "
                + "Max pooling hands the gradient to the window's maximum only; where the maximum is tied, to the first "
                "in row-major order, as the forward pass takes it." if f.kind == "maxpool" else
                "Average pooling spreads the gradient evenly over the window.")
    else:
        lhs = Pattern("w", ("m", "j"), str(k))
        rhs = fmt.mul.join([fmt.expr(Pattern("delta", ("j",), str(k + 1))), fmt.expr(_a(k, ("m",)))])
        said = (f"Here {m(fmt.expr(_a(k, ('m',))))} is entry m of layer {k} in C order, the order the dense layer "
                "reads it in.")
    return [("eqs", [(None, [fmt.partial(E, lhs), rhs])]), ("para", prose(fmt, said + " " + _checked(f)))]


def forms_section(d, fmt):
    items = [("para", "Written with letter indices, each checked against every instance the sweep found.")]
    for f in d.forms:
        items += _form(d.network, f, fmt)
    return ("General and compact forms", items)


def update_rules(net: ConvNet) -> list:
    rules = []
    for k in range(1, net.depth):
        lay = net.layer(k + 1)
        if isinstance(lay, Conv):
            rules.append(Pattern("k", ("c", "d", *_OFF[:net.spatial]), str(k)))
        elif isinstance(lay, Dense):
            rules.append(Pattern("w", ("m" if len(net.shape(k)) > 1 else "i", "j"), str(k)))
        if lay.bias:
            rules.append(Pattern("b", ("c" if isinstance(lay, Conv) else "j",), str(k + 1)))
    return rules
