"""verify's random points by matrix products (``_sample_dense``) against the printed formulas.

Each network's points are made both ways: the parameters, x, t, λ and η must be the very
same numbers, every z, a, δ, R and E the same to 1e-12, and every verdict the same text.
"""

import numpy as np
import pytest
import sympy

import symbackprop as sb
from symbackprop import _sample_dense
from symbackprop._chain import check_chain
from symbackprop._equation import ETA
from symbackprop._kinds import kind_of
from symbackprop._sample_dense import DenseValues, fits
from symbackprop._sampler import Sampler

from .conftest import CUSTOM, valid_combinations
from .test_verify import RIGHT, WRONG, _net

STRUCTURES = {
    "3-4-2 sigmoid, biases": sb.network("3-4-2", activation="sigmoid", bias=True),
    "softmax + cross_entropy": sb.network("2-3-3", activation="tanh,softmax", loss="cross_entropy", bias=True),
    "skip, tie, penalties": sb.network(layers=[2, 2, 2, 2], activation="sigmoid", bias=True, skips={4: 2},
                                       ties={3: 1}, penalty={"l1": 0.1, "l2": 0.2}),
    "skip from the layer below, g": sb.network(layers=[2, 3, 3, 2], skips={3: 2}, penalty={"l2": 0.5}),
    "the first layer tied to the last": sb.network(layers=[2, 3, 3, 2], activation="tanh", bias=True, ties={1: 3}),
    "log_softmax + nll": sb.network("2-3-3", activation="relu,log_softmax", loss="nll", bias=True),
    "multiclass_hinge": sb.network("2-2-3", activation="leaky_relu,linear", loss="multiclass_hinge"),
    "hinge": sb.network("3-2-1", activation="tanh,linear", loss="hinge", bias=True),
    "huber": sb.network("2-3-2", activation="elu,linear", loss="huber", bias=True),
    "custom": sb.network("2-3-2", activation=CUSTOM, bias=True),
    "generic g": sb.network("2-3-1"),
}


def _both(net, monkeypatch):
    """(derivation, its points from the printed formulas, the same points by matrix products)."""
    d = kind_of(net).derive(net, weights=())
    with monkeypatch.context() as m:
        m.setattr(_sample_dense, "FAST_ABOVE", 10 ** 9)
        printed = Sampler(d, 0)
        m.setattr(_sample_dense, "FAST_ABOVE", -1)
        matrix = Sampler(d, 0)
    assert isinstance(matrix.values, DenseValues) and isinstance(printed.values, dict)
    return d, printed, matrix


def _same_points(d, printed, matrix):
    assert len(matrix.values) == len(printed.values)
    assert all(np.array_equal(a, b) for a, b in zip(printed.g_params, matrix.g_params))
    base = {*d.base_symbols(), ETA}
    for symbol, want in printed.values.items():
        assert symbol in matrix.values, symbol
        got = matrix.values[symbol]
        if symbol in base:          # drawn: the very same numbers
            assert np.array_equal(got, want), symbol
        else:                       # computed: the same to rounding (NaN where both are: log of a g < 0)
            assert _close(got, want).all(), (symbol, got, want)


def _close(got, want) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        near = np.abs(got - want) <= 1e-12 * np.maximum(1.0, np.abs(want))
    return near | (got == want) | (np.isnan(got) & np.isnan(want))


@pytest.mark.parametrize("which", STRUCTURES)
def test_matrix_values_equal_the_printed_formulas(which, monkeypatch):
    _same_points(*_both(STRUCTURES[which], monkeypatch))


@pytest.mark.parametrize("hidden,out,loss", valid_combinations())
def test_matrix_values_for_every_activation_and_loss(hidden, out, loss, monkeypatch):
    _same_points(*_both(sb.network("2-3-2", activation=f"{hidden},{out}", loss=loss, bias=True), monkeypatch))


def test_a_large_network_takes_the_matrix_path_itself(monkeypatch):
    net = sb.network("30-20-10", activation="tanh,softmax", loss="cross_entropy", bias=True)
    d = kind_of(net).derive(net, weights=())
    assert fits(d) and not fits(kind_of(sb.network("2-3-1")).derive(sb.network("2-3-1"), weights=()))
    matrix = Sampler(d, 0)
    with monkeypatch.context() as m:
        m.setattr(_sample_dense, "FAST_ABOVE", 10 ** 9)
        printed = Sampler(d, 0)
    _same_points(d, printed, matrix)


def test_names_without_values(monkeypatch):
    d, printed, matrix = _both(STRUCTURES["skip, tie, penalties"], monkeypatch)
    Name = type(d.symbol("w11[1]"))
    for symbol in [Name("w11[3]", real=True),      # a tied layer's weights are W[1]ᵀ, no parameters
                   Name("a1[1]", real=True), Name("z3[2]", real=True), Name("delta1[5]", real=True),
                   sympy.Symbol("w11[1]"),         # not the real symbol verify reads
                   sympy.Symbol("E"), sympy.Symbol("_alpha"), sympy.Integer(1)]:
        assert symbol not in matrix.values and symbol not in printed.values
        with pytest.raises(KeyError):
            matrix.values[symbol]
    assert set(matrix.values) == set(printed.values)


CASES = sorted({repr(spec): spec for spec, *_ in RIGHT + WRONG}.items())


@pytest.mark.parametrize("spec", [spec for _, spec in CASES], ids=[key for key, _ in CASES])
def test_verdicts_are_the_same_either_way(spec, monkeypatch):
    net = _net(spec)
    d, printed, matrix = _both(net, monkeypatch)
    kind = kind_of(net)
    checked = 0
    for case_spec, equation, *_ in RIGHT + WRONG:
        if case_spec != spec:
            continue
        one, other = (check_chain(d, kind.reading(net), kind.rules, s, equation) for s in (printed, matrix))
        assert (str(one), one.diagnosis, bool(one.counterexample)) == \
            (str(other), other.diagnosis, bool(other.counterexample))
        if one.counterexample:      # the same point, the same values to rounding
            c, k = one.counterexample, other.counterexample
            assert list(c["point"]) == list(k["point"])
            assert _close(np.array([*c["point"].values(), c["yours"], c["expected"]]),
                          np.array([*k["point"].values(), k["yours"], k["expected"]])).all()
        checked += 1
    assert checked


# the message verify gave before the matrix path (it printed every z and δ: 24 s)
HIDDEN_WRONG = "delta1[2] = a1[2]*(1 - a1[2])*(w11[2]*delta1[3] + w12[2]*delta2[3])"
HIDDEN_MESSAGE = (
    "✗ delta1[2] = a1[2]*(1 - a1[2])*(w11[2]*delta1[3] + w12[2]*delta2[3]); "
    "expected (w11[2]·δ1[3] + w12[2]·δ2[3] + … + w19[2]·δ9[3] + w1,10[2]·δ10[3])·sigmoid'(z1[2]); "
    "e.g. at w11[2]=-1.005, w12[2]=-0.6185, w13[2]=-2.545, w14[2]=1.496, w15[2]=0.6047, w16[2]=1.508, "
    "w17[2]=-0.6258, w18[2]=0.3355, …: yours 0.00161545, expected -0.00116554")


def test_784_128_10_verdicts_through_the_matrix_path():
    """The large network goes through the matrix path (its time is in benchmarks/run.py, not here);
    the wrong hidden δ keeps the very message the SymPy path gave it."""
    net = sb.network("784-128-10", activation="sigmoid", bias=True)
    kind = kind_of(net)
    d = kind.derive(net, weights=())
    sampler = Sampler(d, 0)
    lines = [check_chain(d, kind.reading(net), kind.rules, sampler, eq) for eq in (
        "dE/dw11[1] = delta1[2]*x1",
        HIDDEN_WRONG,
        "delta1[2] = sigmoid'(z1[2])*Σ_j w1j[2]*δj[3]",
        "dE/db3[2] = a3[2]*(1 - a3[2])*Σ_j w3j[2]*(aj[3] - tj)*aj[3]*(1 - aj[3])")]
    assert [str(v) for v in lines] == [
        "✓ dE/dw11[1] = delta1[2]*x1 (agrees at 24 random points)",
        HIDDEN_MESSAGE,
        "✓ delta1[2] = sigmoid'(z1[2])*Σ_j w1j[2]*δj[3] (every instance, the sums written out: agrees at 24 "
        "random points)",
        "✓ dE/db3[2] = a3[2]*(1 - a3[2])*Σ_j w3j[2]*(aj[3] - tj)*aj[3]*(1 - aj[3]) (every instance, the sums "
        "written out: agrees at 24 random points)"]
