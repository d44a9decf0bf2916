"""The general forms of an LSTM's or GRU's backprop, written with letter indices (j, k, i, t),
and their vector forms; each says how it was checked (``_gated_forms.py``).

>>> import sympy
>>> sympy.sstr(Letter("delta", "c", "j", "t+1")), sympy.latex(Letter("w", "γ", "jk"))
('deltacj<t+1>', 'w_{\\\\gamma,jk}')
"""
from __future__ import annotations

import sympy

from ._gated import SIGMOID
from ._gated_forms import matrix_holds
from ._graph import E

_TEX = {"γ": "\\gamma", "delta": "\\delta"}


class Letter(sympy.Symbol):
    """A name with letter indices and step: δcj<t+1>, wγjk, hi<t−1>; a vector or matrix without index."""

    def __new__(cls, kind: str, gate: str = "", index: str = "", step: str | None = None):
        obj = sympy.Symbol.__xnew__(cls, kind + gate + index + (f"<{step}>" if step else ""), real=True)
        obj.letter, obj.gate, obj.index, obj.step = kind, gate, index, step
        return obj

    def __getnewargs_ex__(self):
        return (self.letter, self.gate, self.index, self.step), {}

    def _sympystr(self, printer):
        unicode = getattr(printer, "unicode_names", False)
        head = "δ" if unicode and self.letter == "delta" else self.letter
        gate = self.gate if unicode or self.gate != "γ" else "(gamma)"
        step = (self.step.replace("-", "−") if unicode else self.step) if self.step else ""
        return head + gate + self.index + (f"<{step}>" if step else "")

    def _latex(self, printer):
        head = _TEX.get(self.letter, self.letter)
        sub = ",".join(p for p in (_TEX.get(self.gate, self.gate), self.index) if p)
        out = head + (f"_{{{sub}}}" if sub else "")
        return out + (f"^{{\\langle {self.step} \\rangle}}" if self.step else "")


def _sum(fmt, index, upper, body) -> str:
    return fmt.summed(index, 1, upper, body)


def _m(fmt, *name) -> str:
    """A name with letter indices as math inside prose."""
    return fmt.inline_math(fmt.expr(Letter(*name)))


def _gamma(fmt) -> str:
    from ._formats_tex import LatexFormat
    return fmt.inline_math("\\gamma" if isinstance(fmt, LatexFormat) else "gamma" if getattr(fmt, "ascii_only", False) else "γ")


def _gates(fmt, body) -> str:
    """Σ over the gates γ of body."""
    from ._formats_tex import LatexFormat
    return fmt.summed("\\gamma" if isinstance(fmt, LatexFormat) else "gamma" if getattr(fmt, "ascii_only", False) else "γ", 1, None, body)


def forward_rules(net, fmt) -> list:
    """What each step computes, in general: the gates' sums and values, the state, the outputs."""
    I, H = net.inputs, net.hidden
    phi = net.activation
    L = Letter
    s = _sum(fmt, "i", I, fmt.mul.join([fmt.expr(L("u", "γ", "ij")), fmt.expr(L("x", "", "i", "t"))]))
    s += " + " + _sum(fmt, "i", H, fmt.mul.join([fmt.expr(L("w", "γ", "ij")),
                                                 fmt.expr(L("h", "", "i", "t-1"))]))
    if net.bias:
        s += " + " + fmt.expr(L("b", "γ", "j"))
    rows = [(None, [fmt.expr(L("s", "γ", "j", "t")), s])]
    gates = [(g, SIGMOID if g not in ("g", "n") else phi) for g in net.gates]
    rows += [(None, [fmt.expr(L(g, "", "j", "t")), fmt.expr(act.apply(L("s", g, "j", "t")))]) for g, act in gates]
    j_t = lambda k, step="t": L(k, "", "j", step)                            # noqa: E731
    if net.cell == "lstm":
        rows.append((None, [fmt.expr(j_t("c")), fmt.plus([fmt.product([j_t("f"), j_t("c", "t-1")]),
                                                          fmt.product([j_t("i"), j_t("g")])])]))
        rows.append((None, [fmt.expr(j_t("h")), fmt.product([j_t("o"), phi.apply(j_t("c"))])]))
        what = "the input, forget and output gates i, f, o and the candidate g"
    else:
        rows.append((None, [fmt.expr(j_t("rh")), fmt.product([j_t("r"), j_t("h", "t-1")])]))
        rows.append((None, [fmt.expr(j_t("h")), fmt.plus([fmt.product([j_t("z"), j_t("h", "t-1")]),
                                                          fmt.product([1 - j_t("z"), j_t("n")])])]))
        what = (f"the reset and update gates r, z and the candidate n, whose sum reads {_m(fmt, 'rh', '', 'j', 't')} "
                f"in place of {_m(fmt, 'h', '', 'j', 't-1')}")
    items = [("para", f"Each step t, for every unit j and each gate {_gamma(fmt)} ({what}):"), ("eqs", rows)]
    if net.dense:
        q = _sum(fmt, "i", H, fmt.mul.join([fmt.expr(L("v", "", "ij")), fmt.expr(L("h", "", "i", "t"))]))
        q += (" + " + fmt.expr(L("c", "", "j"))) if net.bias else ""
        items += [("para", f"and the output layer ({net.output_activation.name}):"),
                  ("eqs", [(None, [fmt.expr(L("q", "", "j", "t")), q]),
                           (None, [fmt.expr(L("y", "", "j", "t")), fmt.call(net.output_activation.name,
                                                                            fmt.expr(L("q", "", "j", "t")))])])]
    items.append(("para", f"sigmoid is the logistic function and {phi.name} the cell activation; the weights are "
                          "the same at every step."))
    return items


def _checked(d, named: list) -> str:
    """How the forms of ``named`` ((kind, written name), …) fared against their instances, in one sentence."""
    forms = {f.kind: f for f in d.forms}
    failed = [f"{name} FAILS at {forms[k].failed}" for k, name in named if not forms[k].holds]
    counts = ", ".join(f"{name} at {forms[k].instances:,}" for k, name in named)
    return (f"Checked against every instance: {'; '.join(failed)}." if failed else
            f"Each holds at every instance it was checked against ({counts}).")


def forms_section(d, fmt):
    net, L, phi = d.network, Letter, d.network.activation
    H = net.hidden
    dj = lambda g, step="t": L("delta", g, "j", step)                    # noqa: E731
    j_t = lambda k, step="t": L(k, "", "j", step)                        # noqa: E731
    out = (_sum(fmt, "k", net.outputs, fmt.mul.join([fmt.expr(L("v", "", "jk")), fmt.partial(E, L("q", "", "k", "t"))]))
           if net.dense else fmt.partial(E, j_t("h")))
    plain = [g for g in net.gates if g != "n"]
    back = _gates(fmt, _sum(fmt, "k", H, fmt.mul.join(
        [fmt.expr(L("w", "γ", "jk")), fmt.expr(L("delta", "γ", "k", "t+1"))])))
    wn = _sum(fmt, "k", H, fmt.mul.join([fmt.expr(L("w", "n", "jk")), fmt.expr(L("delta", "n", "k", "t+1"))]))
    h_rhs = [out, back] if net.cell == "lstm" else [out, back, fmt.mul.join([fmt.expr(j_t("r", "t+1")), fmt.paren(wn)]),
                                                    fmt.product([j_t("z", "t+1"), dj("h", "t+1")])]
    rows = [("h", [fmt.expr(dj("h")), fmt.plus(h_rhs)])]
    if net.cell == "lstm":
        rows += [("c", [fmt.expr(dj("c")), fmt.plus([fmt.product([dj("h"), j_t("o"), phi.prime(j_t("c"))]),
                                                     fmt.product([j_t("f", "t+1"), dj("c", "t+1")])])]),
                 ("i", [fmt.expr(dj("i")), fmt.product([dj("c"), j_t("g"), SIGMOID.prime(L("s", "i", "j", "t"))])]),
                 ("f", [fmt.expr(dj("f")), fmt.product([dj("c"), j_t("c", "t-1"), SIGMOID.prime(L("s", "f", "j", "t"))])]),
                 ("o", [fmt.expr(dj("o")), fmt.product([dj("h"), phi.apply(j_t("c")), SIGMOID.prime(L("s", "o", "j", "t"))])]),
                 ("g", [fmt.expr(dj("g")), fmt.product([dj("c"), j_t("i"), phi.prime(L("s", "g", "j", "t"))])])]
    else:
        wn_t = _sum(fmt, "k", H, fmt.mul.join([fmt.expr(L("w", "n", "jk")), fmt.expr(L("delta", "n", "k", "t"))]))
        rows += [("z", [fmt.expr(dj("z")), fmt.product([dj("h"), j_t("h", "t-1") - j_t("n"),
                                                        SIGMOID.prime(L("s", "z", "j", "t"))])]),
                 ("n", [fmt.expr(dj("n")), fmt.product([dj("h"), 1 - j_t("z"), phi.prime(L("s", "n", "j", "t"))])]),
                 ("r", [fmt.expr(dj("r")), fmt.mul.join([fmt.paren(wn_t), fmt.product(
                     [j_t("h", "t-1"), SIGMOID.prime(L("s", "r", "j", "t"))])])])]
    own = "" if net.dense else (f" In the first line {fmt.inline_math(fmt.inline_partial('E', fmt.expr(j_t('h'))))} "
                                "is the derivative of "
                                "the step's own loss term.")
    items = [("para", f"Written with letter indices ({_gamma(fmt)} runs over the gates " + ", ".join(plain)
              + "; a term with t + 1 is left out at the last step and across a truncation cut); each form was checked "
                "against every instance the sweep found." + own)]
    items.append(("eqs", [(None, sides) for _, sides in rows]))
    items.append(("para", _checked(d, [(k, _m(fmt, "delta", k)) for k, _ in rows])))
    grads = [("u", [fmt.partial(E, L("u", "γ", "ij")), fmt.summed("t", 1, "T", fmt.mul.join(
        [fmt.expr(L("x", "", "i", "t")), fmt.expr(L("delta", "γ", "j", "t"))]))]),
             ("w", [fmt.partial(E, L("w", "γ", "ij")), fmt.summed("t", 1, "T", fmt.mul.join(
                 [fmt.expr(L("h", "", "i", "t-1")), fmt.expr(L("delta", "γ", "j", "t"))]))])]
    if net.bias:
        grads.append(("b", [fmt.partial(E, L("b", "γ", "j")), fmt.summed("t", 1, "T", fmt.expr(L("delta", "γ", "j", "t")))]))
    if net.dense:
        grads.append(("v", [fmt.partial(E, L("v", "", "ij")), fmt.summed("t", 1, "T", fmt.mul.join(
            [fmt.expr(L("h", "", "i", "t")), fmt.partial(E, L("q", "", "j", "t"))]))]))
        if net.bias:
            grads.append(("c_out", [fmt.partial(E, L("c", "", "j")), fmt.summed("t", 1, "T", fmt.partial(
                E, L("q", "", "j", "t")))]))
    items.append(("eqs", [(None, sides) for _, sides in grads]))
    note = (f" (for the GRU's candidate n, {_m(fmt, 'rh', '', 'i', 't')} in place of {_m(fmt, 'h', '', 'i', 't-1')})"
            if net.cell == "gru" else "")
    letters = {"u": ("u", "γ", "ij"), "w": ("w", "γ", "ij"), "b": ("b", "γ", "j"), "v": ("v", "", "ij"),
               "c_out": ("c", "", "j")}
    items.append(("para", f"with {_m(fmt, 'h', '', 'i', '0')} the starting state{note}. " + _checked(d, [
        (k, fmt.inline_math(fmt.inline_partial("E", fmt.expr(Letter(*letters[k]))))) for k, _ in grads])))
    return ("General forms", items)


def matrix_section(d, fmt):
    """The same with vectors over the units (columns) and the arrays of the compiled function."""
    net, L, phi = d.network, Letter, d.network.activation
    had = f" {fmt.hadamard} "
    v = lambda k, g="", step="t": fmt.expr(L(k, g, "", step))                # noqa: E731
    back = _gates(fmt, f"{fmt.expr(L('W', 'γ'))}{fmt.juxtapose}{v('delta', 'γ', 't+1')}")
    rhs = [f"{fmt.expr(L('V'))}{fmt.juxtapose}{fmt.dE(v('q'))}" if net.dense else fmt.dE(v("h")), back]
    if net.cell == "gru":
        rhs += [v("r", "", "t+1") + had + fmt.paren(f"{fmt.expr(L('W', 'n'))}{fmt.juxtapose}{v('delta', 'n', 't+1')}"),
                v("z", "", "t+1") + had + v("delta", "h", "t+1")]
    rows = [(None, [v("delta", "h"), fmt.plus(rhs)])]
    if net.cell == "lstm":
        rows.append((None, [v("delta", "c"), fmt.plus([had.join([v("delta", "h"), v("o"), fmt.call(
            phi.name + "'", v("c"))]), had.join([v("f", "", "t+1"), v("delta", "c", "t+1")])])]))
    rows += [(None, [fmt.dE(fmt.expr(L("U", "γ"))), fmt.summed("t", 1, "T", f"{v('x')}{fmt.juxtapose}"
                     + fmt.transpose(v("delta", "γ")))]),
             (None, [fmt.dE(fmt.expr(L("W", "γ"))), fmt.summed("t", 1, "T", f"{v('h', '', 't-1')}{fmt.juxtapose}"
                     + fmt.transpose(v("delta", "γ")))])]
    ok = matrix_holds(d)
    said = (f"Vectors are columns over the units; {_m(fmt, 'U', 'γ')} is inputs by hidden and {_m(fmt, 'W', 'γ')} hidden "
            f"by hidden, as the compiled function's arrays, and {fmt.inline_math(fmt.hadamard)} is the elementwise "
            "product. The first line, evaluated on random numbers against every instance, "
            + ("holds." if ok else "FAILS."))
    return ("Vector forms", [("eqs", rows), ("para", said)])


def path_section(d, fmt):
    """Why the error survives many steps back: the cell path (LSTM) or the update gate's path (GRU)."""
    net, m = d.network, fmt.inline_math
    state = "c" if net.cell == "lstm" else "h"
    ratio = m(fmt.inline_partial(fmt.expr(Letter(state, "", "j", "T")), fmt.expr(Letter(state, "", "j", "t"))))
    gate = "f" if net.cell == "lstm" else "z"
    gates = f"{_m(fmt, gate, '', 'j', 't+1')} to {_m(fmt, gate, '', 'j', 'T')}"
    elman = m(fmt.inline_partial(fmt.expr(Letter("h", "", "", "T")), fmt.expr(Letter("h", "", "", "t"))))
    factor = m(f"{fmt.expr(Letter('W'))}{fmt.mul}" + fmt.call("diag", fmt.call("g'", fmt.expr(Letter("s", "", "", "k")))))
    if net.cell == "lstm":
        head = f"Along the cell path, {ratio} is the product of the forget gates {gates}"
    else:
        head = (f"The GRU's {_m(fmt, 'h', '', 'j', 't')} holds {_m(fmt, 'z', '', 'j', 't')} times "
                f"{_m(fmt, 'h', '', 'j', 't-1')} directly: along that path {ratio} is the product of the update gates "
                f"{gates}")
    text = (head + ", with no weight and no activation's derivative in it. While these gates stay near 1 the error "
            f"reaches early steps undiminished; in the simple RNN, {elman} is a product of {factor} over the steps, "
            "which shrinks (or grows) geometrically. The eval command's report prints both, step by step.")
    return ("Why the error reaches back", [("para", text)])
