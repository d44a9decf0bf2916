"""The proof: each δ form, fully substituted, against brute-force ``sympy.diff`` of the nested E."""
from __future__ import annotations

import sympy

from . import _names as names

def _atomize(expr: sympy.Expr) -> sympy.Expr:
    """Every applied function as a symbol, exp(c·u) as s_u**c: what is left is a rational function.

    Both sides of a proof call the same functions on the same arguments, so this loses
    nothing, and spares expand and cancel a walk through the huge nested arguments.
    """
    table: dict = {}

    def symbol_for(key):
        return table.setdefault(key, sympy.Symbol(f"_f{len(table)}", positive=True))

    def as_power(arg):
        coeff, base = arg.as_content_primitive()   # exp(-2u) and exp(2u) share u
        if base.could_extract_minus_sign():
            coeff, base = -coeff, -base
        return symbol_for(("exp", base)) ** coeff

    expr = expr.replace(lambda e: isinstance(e, sympy.exp), lambda e: as_power(e.args[0]))
    return expr.replace(lambda e: isinstance(e, sympy.Function) or isinstance(e, sympy.Piecewise),
                        lambda e: symbol_for(e))


def prove_all(d, which=None) -> dict:
    """For each parameter: does the δ form, fully substituted, equal ``sympy.diff`` of the nested E?

    Returns name → the method that showed it ("expand" or "cancel"), or False.
    With softmax + cross-entropy (or KL) the targets are taken to sum to 1, as the δ's shortcut needs;
    f'(u) is rewritten by the registry's identities (σ' = σ(1 − σ), …), proved in its tests.
    """
    net = d.network
    nested = d.nested_loss()
    constraint = {}
    if net.activation(net.depth).coupled and net.loss.targets == "distribution":
        ts = [names.target(o) for o in range(1, net.layers[-1] + 1)]
        constraint = {ts[-1]: 1 - sympy.Add(*ts[:-1])}
    return {name: equal_by_algebra(sympy.diff(nested, d.symbols[name]) - d.expanded(name), constraint,
                                   net.activations)
            for name in which or [p.name for p in net.parameters()]}


def equal_by_algebra(diff: sympy.Expr, constraint: dict, activations) -> str | bool:
    """Whether ``diff`` (brute force minus δ form) is zero: "expand", "cancel", or False.

    The constraint (targets summing to 1) is applied first; f'(u) is rewritten by the
    registry's identities (σ' = σ(1 − σ), …), proved in its tests.
    """
    identities = {}
    for act in set(activations):
        if act.derivative_in_output is not None and not act.inline:
            f, fp = act.functions
            identities[fp] = lambda u, f=f, act=act: act.derivative_in_output(f(u))
    diff = diff.xreplace(constraint)
    diff = diff.replace(lambda e: type(e) in identities, lambda e: identities[type(e)](e.args[0]))
    # sign and abs of −u as −sign(u) and abs(u); a piecewise loss's branches compared one by one
    diff = diff.replace(lambda e: isinstance(e, (sympy.sign, sympy.Abs)) and e.args[0].could_extract_minus_sign(),
                        lambda e: (-sympy.sign(-e.args[0])) if isinstance(e, sympy.sign) else sympy.Abs(-e.args[0]))
    folded = sympy.piecewise_fold(diff) if diff.has(sympy.Piecewise) else diff
    branches = [b for b, _ in folded.args] if isinstance(folded, sympy.Piecewise) else [folded]
    how = set()
    for branch in map(_atomize, branches):
        if sympy.expand(branch) == 0:
            how.add("expand")
        elif sympy.cancel(sympy.together(branch)) == 0:
            how.add("cancel")
        else:
            return False
    return "cancel" if "cancel" in how else "expand"


