"""check on a dense stack compares whole arrays (``_check_grads``): it must find what the comparison
by names finds, entry for entry, and report a planted error at its layer and parameter."""
import numpy as np
import pytest

import symbackprop as sb
from symbackprop import _names as names
from symbackprop import _reference as reference
from symbackprop._check import FD_PER_LAYER, _layer_of, finite_differences, random_point
from symbackprop._check_grads import dense_fd, dense_grads
from symbackprop._compile import vectorized
from symbackprop._tally import Tally


def _by_name(E, dW, db) -> dict:
    """Name → value, spelt out one parameter at a time (weights row by row, then biases, per layer)."""
    out = {"E": float(E)}
    for k, M in enumerate(dW):
        if M is not None:
            for i in range(M.shape[0]):
                for j in range(M.shape[1]):
                    out[names.weight(i + 1, j + 1, k + 1).name] = float(M[i, j])
        if db is not None:
            for j, v in enumerate(db[k]):
                out[names.bias(j + 1, k + 2).name] = float(v)
    return out


def _rows(tally: Tally) -> list:
    return [repr(r) for r in tally.rows()]


def _perturbed(rng, dW, db):
    """dW, db moved by errors of one size at several entries (equal errors: the first is the worst)."""
    dW = [M + rng.choice([0.0, 1e-9, -1e-9], size=M.shape) for M in dW]
    db = [v + rng.choice([0.0, 1e-9], size=v.shape) for v in db]
    return dW, db


@pytest.mark.parametrize("seed", range(5))
def test_arrays_find_what_the_names_find(seed):
    rng = np.random.default_rng(seed)
    dW = [rng.normal(size=(12, 3)), rng.normal(size=(3, 2))]
    db = [rng.normal(size=3), rng.normal(size=2)]
    dW2, db2 = _perturbed(rng, dW, db)
    if seed == 1:                      # a row of zeros on both sides: scale 0
        dW[1][:] = dW2[1][:] = 0.0
        db[1][:] = db2[1][:] = 0.0
    if seed == 2:                      # a nan that is not the first entry of its row …
        dW2[0][4, 1] = np.nan
    if seed == 3:                      # … on the side that sets the scale too …
        dW[0][5, 2] = np.nan
    if seed == 4:                      # … and one it keeps (the first entry of its row)
        dW2[1][0, 0] = np.nan
    by_names, by_arrays = Tally(_layer_of), Tally(_layer_of)
    by_names.record("vectorized vs reference", _by_name(0.25, dW2, db2), _by_name(0.5, dW, db))
    by_arrays.record("vectorized vs reference", dense_grads(0.25, dW2, db2), dense_grads(0.5, dW, db))
    assert _rows(by_arrays) == _rows(by_names)
    assert len(by_arrays.rows()) == 3


@pytest.mark.parametrize("net", [
    sb.network("3-4-2", activation="tanh", bias=True),                    # every entry
    sb.network("30-20-3", activation="sigmoid", bias=True),                # FD_PER_LAYER of each layer
    sb.network(layers=[3, 4, 4, 3], activation="tanh", bias=True, ties={3: 1}, skips={3: 2}),
    sb.network(layers=[12, 8, 12], activation="tanh", ties={2: 1}),        # a tied layer, no biases: no row
])
def test_finite_differences_draw_and_name_the_same_entries(net):
    point = random_point(net, np.random.default_rng(7))
    W, b, X, T = point
    f = vectorized(net)
    tied = dict(net.ties)
    groups = []
    for k in range(net.depth - 1):
        layer = [(W[k], (i, j), names.weight(i + 1, j + 1, k + 1).name)
                 for i in range(net.layers[k]) for j in range(net.layers[k + 1]) if k + 1 not in tied]
        layer += [(b[k], (j,), names.bias(j + 1, k + 2).name) for j in range(net.layers[k + 1])] if net.bias else []
        groups.append(layer)
    want = finite_differences(lambda: f.loss(*point), groups, np.random.default_rng(3))
    got = dense_fd(net, W, b, lambda: f.loss(*point), FD_PER_LAYER, np.random.default_rng(3))
    assert list(got.items()) == list(want.items())
    assert all(type(v) is type(want[name]) for name, v in got.items())


def _planted(monkeypatch, where: str, index: tuple, by: float):
    """The reference's gradient moved by ``by`` at one entry of its first (db) or second (dW) layer."""
    backprop = reference.backprop

    def wrong(*args):
        E, dW, db, info = backprop(*args)
        arrays = [M.copy() for M in (dW if where == "dW" else db)]
        arrays[1 if where == "dW" else 0][index] += by
        return (E, arrays, db, info) if where == "dW" else (E, dW, arrays, info)
    monkeypatch.setattr(reference, "backprop", wrong)


def test_a_planted_weight_error_is_reported_at_its_layer_and_name(monkeypatch):
    _planted(monkeypatch, "dW", (7, 3), 1e-3)
    report = sb.check("60-50-10", activation="tanh", samples=2)      # 3,500 weights: no printed formulas
    assert not report
    (row,) = [r for r in report.failures if r.pair == "vectorized vs reference"]
    assert (row.layer, row.worst) == ("layer 2", "w84[2]")
    assert row.other - row.value == pytest.approx(1e-3, rel=1e-6) and row.max_abs == pytest.approx(1e-3, rel=1e-6)
    assert all(r.ok for r in report.rows if r.layer != "layer 2")


def test_a_planted_bias_error_is_reported_at_its_layer_and_name(monkeypatch):
    _planted(monkeypatch, "db", (11,), -0.5)
    report = sb.check("40-20-3", activation="sigmoid", bias=True, samples=1)
    failing = {(r.pair, r.layer, r.worst) for r in report.failures}
    assert ("vectorized vs reference", "layer 1", "b12[2]") in failing
    assert ("printed vs reference", "layer 1", "b12[2]") in failing
    assert not any(pair == "printed vs vectorized" for pair, _, _ in failing)
    assert "DISAGREE: vectorized vs reference, layer 1: at b12[2]" in str(report)


@pytest.mark.parametrize("where", [(0, 0), (4, 1), (11, 2)])
def test_a_nan_anywhere_makes_its_row_disagree(where):
    """A gradient that is not a number fails its row, by names and by arrays alike, wherever it is:
    it is the worst entry, not one that max passes over."""
    rng = np.random.default_rng(7)
    dW = [rng.normal(size=(12, 3)), rng.normal(size=(3, 2))]
    db = [rng.normal(size=3), rng.normal(size=2)]
    bad = [M.copy() for M in dW]
    bad[0][where] = np.nan
    for got, want in ((_by_name(0.5, bad, db), _by_name(0.5, dW, db)), (dense_grads(0.5, bad, db),
                                                                         dense_grads(0.5, dW, db))):
        tally = Tally(_layer_of)
        tally.record("vectorized vs reference", got, want)
        (row,) = [r for r in tally.rows() if r.layer == "layer 1"]
        assert not row.ok and row.worst == names.weight(where[0] + 1, where[1] + 1, 1).name
        assert all(r.ok for r in tally.rows() if r.layer != "layer 1")
