"""The one model and its reverse sweep, held against sympy.diff."""
import pytest
import sympy

import symbackprop as sb
from symbackprop._dense import build as build_dense
from symbackprop._elman import build as build_elman
from symbackprop._graph import E, Equation, Model, sweep
from symbackprop._program import numpy_function

NETWORKS = [
    sb.network("2-3-2", activation="tanh,softmax", loss="cross_entropy", bias=True),
    sb.network(layers=[2, 2, 2, 2], activation="sigmoid", bias=True, skips={4: 2}, ties={3: 1},
               penalty={"l1": 0.1, "l2": 0.2}),
]


@pytest.mark.parametrize("model", [build_dense(n) for n in NETWORKS] + [build_elman(sb.rnn(2, 2, 2, 2, bias=True))],
                         ids=["softmax", "skip-tie-penalty", "rnn"])
def test_local_derivatives_are_sympy_diff(model):
    """Every look-up in Equation.terms (and every closed form in Equation.local) is ∂node/∂by,
    both written out in the leaves."""
    nested = {}
    for eq in model.equations:
        nested[eq.node] = eq.expr.xreplace(nested)
    for eq in model.equations:
        for s in eq.expr.free_symbols:
            got, want = eq.derivative(s).xreplace(nested), sympy.diff(eq.expr, s).xreplace(nested)
            assert _at_a_point(got - want) == pytest.approx(0, abs=1e-12), (eq.node, s)


def _at_a_point(expr) -> float:
    """expr at a fixed point: targets summing to 1 (as the softmax shortcut a − t needs)."""
    args = sorted(expr.free_symbols, key=str)
    values = [0.3 if a.name == "t1" else 0.7 if a.name == "t2" else 0.37 * (-1) ** n + 0.05 * n
              for n, a in enumerate(args)]
    return float(numpy_function(args, expr)(*values))


@pytest.mark.parametrize("net", NETWORKS, ids=["softmax", "skip-tie-penalty"])
def test_sweep_equals_brute_force(net):
    """∂E/∂p from the sweep, with every δ and node substituted, is sympy.diff of the nested E."""
    model = build_dense(net)
    found = sweep(model)
    nested = {}
    for eq in model.equations:
        nested[eq.node] = eq.expr.xreplace(nested)
    adjoint = {}                           # each δ in the leaves, from the outputs back
    for eq in reversed(model.equations[:-1]):
        if eq.delta is not None:
            adjoint[eq.delta] = found.adjoint[eq.node].xreplace(adjoint).xreplace(nested)
    for p in model.parameters:
        mine = found.gradient[p].xreplace(adjoint).xreplace(nested)
        assert _at_a_point(mine - sympy.diff(nested[E], p)) == pytest.approx(0, abs=1e-12), p


def test_a_detached_value_passes_nothing_back():
    w, x, h, s, t = sympy.symbols("w x h s t", real=True)
    m = Model((Equation(h, w * x, terms=((w, x),)), Equation(s, w * h, terms=((w, h),), detached=frozenset({h})),
               Equation(E, (s - t) ** 2 / 2)), (w,))
    found = sweep(m)
    assert found.adjoint[h] == 0 and found.gradient[w] == h * (s - t)


@pytest.mark.parametrize("model", [build_dense(n) for n in NETWORKS]
                         + [build_dense(sb.network("12-11-3", bias=True)),
                            build_elman(sb.rnn(2, 2, 2, 2, bias=True))],
                         ids=["softmax", "skip-tie-penalty", "wide", "rnn"])
def test_every_weighted_sum_is_sympys_own_add(model):
    """The builders make their sums without Add's flatten (and weights without SymPy's
    assumption deduction): each must be the very expression SymPy makes of the same terms."""
    for eq in model.equations:
        if eq.terms:
            rebuilt = sympy.Add(*[p * q for p, q in eq.terms])
            assert eq.expr == rebuilt and eq.expr.args == rebuilt.args, eq.node
            assert hash(eq.expr) == hash(rebuilt)
    for p in model.parameters:
        own = sympy.Symbol.__xnew__(type(p), p.name, real=True)
        assert p == own and hash(p) == hash(own) and p.is_real and p.is_positive is None


def test_a_model_refuses_terms_the_lookups_cannot_take():
    x, w, v, z = sympy.symbols("x w v z")
    Model((Equation(z, w * x, terms=((w, x),)), Equation(E, z ** 2)), parameters=(w,))   # fine
    with pytest.raises(ValueError, match=r"not \(x, w\)"):      # a parameter as the value
        Model((Equation(z, w * x, terms=((x, w),)), Equation(E, z ** 2)), parameters=(w,))
    with pytest.raises(ValueError, match=r"not \(v, x\)"):      # a coefficient that is no parameter
        Model((Equation(z, v * x, terms=((v, x),)), Equation(E, z ** 2)), parameters=(w,))


def test_a_weighted_sum_of_any_terms_is_sympys_own_add():
    """The fast sum's fall-backs: a term twice (Add collects it), names of two kinds, a non-name."""
    from symbackprop import _names as names
    from symbackprop._dense import weighted_sum
    w, v, a, b = names.weight(1, 1, 1), names.weight(2, 1, 1), names.asym(1, 1), names.bias(1, 2)
    one, other = sympy.S.One, sympy.Symbol("other", real=True)
    for pairs in ([(w, a), (v, a), (b, one), (one, a)], [(w, a), (w, a)], [(w, other), (v, a)],
                  [(w, a), (one, sympy.sin(a))]):
        got, want = weighted_sum(pairs), sympy.Add(*[p * q for p, q in pairs])
        assert got == want and got.args == want.args, pairs


def test_a_named_activations_closed_form_is_sympy_diff():
    """The dense builder hands each a = f(z) its f'(z) instead of differentiating it: the very
    expression sympy.diff gives, for every named activation (inline ones are differentiated)."""
    from symbackprop._activations import ACTIVATIONS
    for name, act in ACTIVATIONS.items():
        if act.coupled is not None or act.inline:
            continue
        net = sb.network("2-2-1", activation=name)
        for eq in build_dense(net).equations:
            if eq.local:
                (z, prime), = eq.local
                assert prime == sympy.diff(eq.expr, z), (name, eq.node)
