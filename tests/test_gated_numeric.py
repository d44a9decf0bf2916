"""LSTM and GRU compiled (GatedFunction) against the NumPy reference and finite differences; check_gated."""
import itertools
from functools import lru_cache

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import symbackprop as sb
from symbackprop import CompileError, SpecError
from symbackprop._check import finite_differences
from symbackprop.extend import activations
from symbackprop._gated_check import check_gated, element_name, flat, random_gated_point
from symbackprop._gated_numeric import GatedFunction
from symbackprop._gated_reference import bptt

DENSE = [("linear", "mse"), ("sigmoid", "bce"), ("softmax", "cross_entropy"), ("tanh", "huber"),
         ("linear", "hinge"), ("softmax", "kl"), ("sigmoid", "mae")]
HIDDEN = [("linear", "mse"), ("linear", "huber"), ("linear", "mae")]
LOSSES = ("mse", "mae", "cross_entropy", "bce", "kl", "hinge", "huber")


@lru_cache(maxsize=None)
def function(cell, I, H, O, steps, out, loss, bias, output, truncate=None, activation="tanh", reduction="sum"):
    net = sb.rnn(I, H, O, steps, cell=cell, activation=activation, output_activation=out, loss=loss, bias=bias,
                 output=output)
    return GatedFunction(net, reduction=reduction, truncate=truncate)


def reference(f, P, X, T, h0, c0, truncate=None):
    net = f.network
    return bptt(net.cell, P, X, T, activation=net.activation.name, output_activation=net.output_activation.name,
                loss=net.loss.name, output=net.output, h0=h0, c0=c0, truncate=truncate)


def close(got: dict, want: dict, rtol=1e-9, atol=1e-12):
    """Every name within rtol of the largest |value| of its array (as check's tally), or atol."""
    assert got.keys() == want.keys()
    scale = max([abs(v) for v in want.values()] + [1.0])
    bad = {k: (got[k], want[k]) for k in got if abs(got[k] - want[k]) > max(atol, rtol * scale)}
    assert not bad, bad


def agree(f, seed, batch=2, truncate=None, fd=True):
    """Compiled, reference and (without truncation) finite differences of the reference's E agree."""
    rng = np.random.default_rng(seed)
    P, X, T, h0, c0 = point = random_gated_point(f.network, f.shapes, rng, batch)
    E, grads = f(*point)
    E_ref, g_ref = reference(f, *point, truncate=truncate)
    assert set(grads) == set(f.shapes) and all(grads[k].shape == f.shapes[k] for k in grads)
    close({"E": float(E), **flat(grads)}, {"E": float(E_ref), **flat(g_ref)})
    if fd and truncate is None:
        groups = [[(P[k], at, element_name(k, at)) for at in np.ndindex(P[k].shape)] for k in P]
        numeric = finite_differences(lambda: float(reference(f, P, X, T, h0, c0)[0]), groups)
        close(numeric, flat(g_ref), rtol=1e-5, atol=1e-7)


SPECS = [(cell, output, bias, out, loss, truncate)
         for cell, output, bias, truncate in itertools.product(("lstm", "gru"), ("dense", "hidden"), (False, True),
                                                               (None, 1, 2))
         for out, loss in (DENSE if output == "dense" else HIDDEN)]


@pytest.mark.parametrize("cell,output,bias,out,loss,truncate", SPECS)
def test_compiled_reference_and_finite_differences_agree(cell, output, bias, out, loss, truncate):
    O = 1 if loss == "hinge" else 3 if output == "dense" else 2
    f = function(cell, 2, 2, O, 4, out, loss, bias, output, truncate)
    agree(f, seed=len(loss) + 7 * bias + 13 * (truncate or 0), truncate=truncate)


@pytest.mark.parametrize("cell", ["lstm", "gru"])
@pytest.mark.parametrize("activation", ["relu", "sigmoid", "softplus", "elu"])
def test_other_cell_activations(cell, activation):
    """φ' through φ's argument (relu, elu) or its value (sigmoid) alike."""
    agree(function(cell, 3, 2, 2, 3, "linear", "mse", True, "dense", activation=activation), seed=5, batch=3)


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_float32_in_float32_out(cell):
    f = function(cell, 3, 4, 3, 5, "softmax", "cross_entropy", True, "dense")
    P, X, T, h0, c0 = random_gated_point(f.network, f.shapes, np.random.default_rng(3), 4)
    E, g = f(P, X, T, h0, c0)
    E32, g32 = f({k: v.astype(np.float32) for k, v in P.items()}, X.astype(np.float32), T.astype(np.float32),
                 h0.astype(np.float32), None if c0 is None else c0.astype(np.float32))
    assert E.dtype == np.float64 and E32.dtype == np.float32
    assert all(v.dtype == np.float32 for v in g32.values()) and all(v.dtype == np.float64 for v in g.values())
    assert abs(E32 - E) <= 1e-5 * abs(E)
    for k in g:
        assert np.abs(g32[k] - g[k]).max() <= 1e-4 * np.abs(g[k]).max(), k


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_reduction_mean_is_the_sum_over_the_batch(cell):
    total, mean = (function(cell, 2, 3, 2, 3, "sigmoid", "bce", True, "dense", reduction=r) for r in ("sum", "mean"))
    point = random_gated_point(total.network, total.shapes, np.random.default_rng(4), 5)
    (E, g), (Em, gm) = total(*point), mean(*point)
    assert Em == pytest.approx(E / 5, rel=1e-12)
    assert all(np.allclose(gm[k], g[k] / 5, rtol=1e-12, atol=0) for k in g)
    assert mean.loss(*point) == pytest.approx(Em, rel=1e-12)


def test_zero_states_and_shared_states():
    """h0, c0 left out are zeros; one (hidden,) state is every sample's."""
    f = function("lstm", 2, 2, 1, 3, "linear", "mse", False, "dense")
    P, X, T, _, _ = random_gated_point(f.network, f.shapes, np.random.default_rng(6), 3)
    E, g = f(P, X, T)
    E0, g0 = f(P, X, T, np.zeros(2), np.zeros((1, 2)))
    assert E == E0 and all(np.array_equal(g[k], g0[k]) for k in g)
    E_ref, _ = reference(f, P, X, T, np.tile([0.3, -0.2], (3, 1)), np.tile([0.1, 0.4], (3, 1)))
    assert f(P, X, T, np.array([0.3, -0.2]), np.array([0.1, 0.4]))[0] == pytest.approx(E_ref, rel=1e-12)


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_wrong_shapes_name_the_shape(cell):
    f = function(cell, 2, 3, 1, 4, "linear", "mse", True, "dense")
    P, X, T, h0, c0 = random_gated_point(f.network, f.shapes, np.random.default_rng(0), 2)
    gate = "i" if cell == "lstm" else "z"
    cases = [
        (({**P, f"W_{gate}": np.zeros((3, 2))}, X, T), r"P\['W_" + gate + r"'\] must have shape \(3, 3\)"),
        (({k: v for k, v in P.items() if k != "V"}, X, T), r"P\['V'\] must have shape \(3, 1\) \(it is missing\)"),
        (({**P, "Q": np.zeros(1)}, X, T), "'Q'"),
        ((P, X[:, :3], T), r"needs \(batch, 4, 2\)"),
        ((P, X, T[:1]), r"\(2, 4, 1\)"),
        ((P, X, T, np.zeros((2, 2))), r"h0 has shape \(2, 2\); the network needs \(3,\)"),
    ]
    if cell == "lstm":
        cases.append(((P, X, T, h0, np.zeros(4)), r"c0 has shape \(4,\)"))
    else:
        cases.append(((P, X, T, h0, np.zeros(3)), "a GRU has none"))
    for args, message in cases:
        with pytest.raises(ValueError, match=message):
            f(*args)


def test_bad_options():
    net = sb.rnn(1, 1, 1, 2, cell="gru")
    with pytest.raises(ValueError, match="reduction"):
        GatedFunction(net, reduction="max")
    with pytest.raises(ValueError, match="truncate"):
        GatedFunction(net, truncate=0)
    with pytest.raises(CompileError, match="generic g"):
        GatedFunction(sb.rnn(1, 1, 1, 2, cell="lstm", activation="g"))


# ---------------------------------------------------------------- check_gated
@pytest.mark.parametrize("cell,I,H,O,steps,kwargs,truncate", [
    ("lstm", 2, 2, 2, 3, {"bias": True}, None),
    ("gru", 1, 2, 2, 3, {"output_activation": "softmax", "loss": "cross_entropy"}, None),
    ("lstm", 2, 2, None, 3, {"output": "hidden"}, 2),
    ("gru", 2, 2, 1, 2, {"output_activation": "tanh", "loss": "hinge", "bias": True}, None),
    ("lstm", 1, 2, 1, 2, {"activation": "z/(1+abs(z))"}, None),
])
def test_check_gated_passes(cell, I, H, O, steps, kwargs, truncate):
    net = sb.rnn(I, H, O, steps, cell=cell, **kwargs)
    report = check_gated(net, samples=2, batch=2, truncate=truncate)
    assert report, [str(r) for r in report.failures]
    pairs = {r.pair for r in report.rows}
    assert {"vectorized vs reference", "printed vs reference", "printed vs vectorized"} <= pairs
    assert ("finite differences vs reference" in pairs) == (truncate is None)
    assert {r.layer for r in report.rows} >= {"E", "U_" + ("i" if cell == "lstm" else "h")}


def test_check_gated_on_a_large_network_leaves_out_the_printed_formulas():
    report = check_gated(sb.rnn(4, 12, 3, 6, cell="lstm", bias=True), samples=1)
    assert report and "printed vs reference" not in {r.pair for r in report.rows}
    assert any("printed formulas not compiled" in n for n in report.notes)
    assert any("finite differences on" in n for n in report.notes)


@pytest.mark.parametrize("cell,key", [("lstm", "W_f"), ("gru", "U_h"), ("lstm", "c")])
def test_check_gated_fails_on_a_corrupted_gradient(monkeypatch, cell, key):
    net = sb.rnn(2, 2, 2, 3, cell=cell, bias=True)
    assert check_gated(net, samples=1)
    run = GatedFunction.run

    def corrupted(self, *args, grads=True, **kwargs):
        found = run(self, *args, grads=grads, **kwargs)
        if not grads:
            return found
        E, g = found
        g[key] = g[key] * (1 + 1e-6)
        return E, g
    monkeypatch.setattr(GatedFunction, "run", corrupted)
    monkeypatch.setattr(GatedFunction, "__call__", corrupted)
    report = check_gated(net, samples=1)
    assert not report
    assert {r.layer for r in report.failures} == {key}
    assert {r.pair for r in report.failures} == {"vectorized vs reference", "printed vs vectorized"}


# ---------------------------------------------------------------- random specs
def _pairings() -> list:
    """(output activation, loss, outputs) for every pairing an LSTM accepts (1 or 2 outputs)."""
    found = []
    outs = [name for name in activations() if name != "g"]
    for out, loss, O in itertools.product(outs, LOSSES, (1, 2)):
        try:
            sb.rnn(1, 1, O, 1, cell="lstm", output_activation=out, loss=loss)
        except SpecError:
            continue
        found.append((out, loss, O))
    return found


PAIRINGS = _pairings()


@st.composite
def gated_specs(draw):
    cell, output = draw(st.sampled_from(["lstm", "gru"])), draw(st.sampled_from(["dense", "hidden"]))
    I, H, steps = draw(st.integers(1, 3)), draw(st.integers(1, 3)), draw(st.integers(1, 4))
    if output == "dense":
        out, loss, O = draw(st.sampled_from(PAIRINGS))
        O = O if O == 1 else draw(st.integers(2, 3))
    else:
        out, loss = "linear", draw(st.sampled_from(["mse", "mae", "huber", "hinge"]))
        H = 1 if loss == "hinge" else H
        O = H
    activation = draw(st.sampled_from(["tanh", "sigmoid", "softplus", "relu", "softsign"]))
    truncate = draw(st.none() | st.integers(1, 3))
    f = function(cell, I, H, O, steps, out, loss, draw(st.booleans()), output, truncate, activation)
    return f, truncate, draw(st.integers(1, 3)), draw(st.integers(0, 2**32 - 1))


def test_every_pairing_is_drawn():
    assert len(PAIRINGS) > 50 and {("softmax", "cross_entropy", 2), ("linear", "hinge", 1)} <= set(PAIRINGS)


@settings(max_examples=40, deadline=None)
@given(gated_specs())
def test_random_specs_agree(spec):
    """Compiled, reference and finite differences; and the whole check (the printed formulas too) passes."""
    f, truncate, batch, seed = spec
    agree(f, seed, batch=batch, truncate=truncate)
    net = f.network
    report = check_gated(net, samples=1, seed=seed % 1000, batch=batch, truncate=truncate)
    # finite differences may straddle a kink (hinge's margin, relu's 0) at a random point: with a kinked
    # loss or activation only they may disagree; the printed, compiled and reference gradients never
    kinked = bool(net.loss.kink) or any(a.kink for a in (net.activation, net.output_activation))
    allowed = {"finite differences vs reference"} if kinked else set()
    assert not {r.pair for r in report.failures} - allowed, str(report)
    assert "printed vs reference" in {r.pair for r in report.rows}


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_a_later_call_changes_no_earlier_result(cell):
    """The work arrays are kept between calls; nothing returned is one of them."""
    f = function(cell, 2, 3, 2, 3, "linear", "mse", True, "dense")
    rng = np.random.default_rng(8)
    first = random_gated_point(f.network, f.shapes, rng, 4)
    E, g = f(*first)
    kept = {k: v.copy() for k, v in g.items()}
    f(*random_gated_point(f.network, f.shapes, rng, 4))
    f.loss(*random_gated_point(f.network, f.shapes, rng, 4))
    assert all(np.array_equal(g[k], kept[k]) for k in g)
    assert f(*first)[0] == E
