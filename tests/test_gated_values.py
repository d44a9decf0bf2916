"""eval on LSTM and GRU cells (_gated_values): every number against an independent computation.

The gradients, E and the truncated gradients come from the plain NumPy reference
(``_gated_reference.bptt``); forward values, δ's and the --report table's entries of one-unit
cells from the textbook formulas written out here in plain floats; the full Jacobians of the
report from central differences of the reference's own forward step.
"""
import json
import math

import numpy as np
import pytest

import symbackprop as sb
from symbackprop import ValuesError
from symbackprop._gated_reference import _gru_step, _lstm_step, bptt, from_plain, plain_names, shapes
from symbackprop._gated_values import evaluate, evaluate_gated


def sig(z):
    return 1 / (1 + math.exp(-z))


def _data(cell, P, X, Y, h0=None, c0=None, **more) -> dict:
    """A values file's dict: the parameters by plain name and one table per sequence."""
    samples = []
    for b in range(X.shape[0]):
        entry = {f"x{i + 1}<{t + 1}>": float(X[b, t, i]) for t in range(X.shape[1]) for i in range(X.shape[2])}
        entry |= {f"t{j + 1}<{t + 1}>": float(Y[b, t, j]) for t in range(Y.shape[1]) for j in range(Y.shape[2])}
        for letter, S in (("h", h0), ("c", c0)):
            if S is not None:
                entry |= {f"{letter}{j + 1}<0>": float(S[b, j]) for j in range(S.shape[1])}
        samples.append(entry)
    return {**plain_names(cell, P), "samples": samples, **more}


def _case(cell, bias=True, output="dense", seed=0, batch=2, I=2, H=2, O=1, T=3):
    rng = np.random.default_rng(seed)
    P = {k: rng.uniform(-1, 1, s) for k, s in shapes(cell, I, H, O, bias, output).items()}
    O = O if output == "dense" else H
    return P, rng.uniform(-1, 1, (batch, T, I)), rng.uniform(0.05, 0.95, (batch, T, O)), \
        rng.uniform(-1, 1, (batch, H)), rng.uniform(-1, 1, (batch, H))


def _close(got: dict, want: dict, tol=1e-10):
    assert got.keys() == want.keys()
    bad = {k: (got[k], want[k]) for k in got if abs(got[k] - want[k]) > tol * max(1.0, abs(want[k]))}
    assert not bad, bad


@pytest.mark.parametrize("cell", ["lstm", "gru"])
@pytest.mark.parametrize("output, out_act, loss", [("dense", "sigmoid", "bce"), ("dense", "linear", "mse"),
                                                   ("hidden", "linear", "mse")])
def test_loss_and_gradients_are_the_references(cell, output, out_act, loss):
    P, X, Y, h0, c0 = _case(cell, output=output)
    net = sb.rnn(2, 2, 1 if output == "dense" else 2, 3, cell=cell, output_activation=out_act, loss=loss, bias=True,
                 output=output)
    r = evaluate(net, _data(cell, P, X, Y, h0, c0 if cell == "lstm" else None))
    E, grads = bptt(cell, P, X, Y, output_activation=out_act, loss=loss, output=output, h0=h0,
                    c0=c0 if cell == "lstm" else None)
    assert r.batch == 2 and r.reduction == "sum"
    assert r.loss == pytest.approx(float(E), rel=1e-12)
    _close(r.gradient, plain_names(cell, grads))


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_mean_reduction_and_the_update(cell):
    P, X, Y, _, _ = _case(cell, seed=3, batch=3)
    net = sb.rnn(2, 2, 1, 3, cell=cell, bias=True)
    r = evaluate(net, _data(cell, P, X, Y, reduction="mean"), lr=0.25)
    E, grads = bptt(cell, P, X, Y)           # h<0>, c<0> left out: 0
    want = {k: v / 3 for k, v in plain_names(cell, grads).items()}
    assert r.loss == pytest.approx(float(E) / 3, rel=1e-12)
    _close(r.gradient, want)
    old = plain_names(cell, P)
    _close(r.updated, {k: old[k] - 0.25 * want[k] for k in old})


@pytest.mark.parametrize("cell", ["lstm", "gru"])
@pytest.mark.parametrize("K", [1, 2])
def test_truncated_gradient_and_its_distance(cell, K):
    P, X, Y, h0, c0 = _case(cell, seed=5, T=4)
    net = sb.rnn(2, 2, 1, 4, cell=cell, bias=True)
    c0 = c0 if cell == "lstm" else None
    r = evaluate(net, _data(cell, P, X, Y, h0, c0), lr=0.1, truncate=K)
    full = plain_names(cell, bptt(cell, P, X, Y, h0=h0, c0=c0)[1])
    cut = plain_names(cell, bptt(cell, P, X, Y, h0=h0, c0=c0, truncate=K)[1])
    _close(r.gradient, full)
    _close(r.truncated, cut)
    a, b = np.array([cut[k] for k in full]), np.array(list(full.values()))
    assert r.distance == pytest.approx(np.linalg.norm(a - b) / np.linalg.norm(b), rel=1e-9)
    old = plain_names(cell, P)
    _close(r.updated, {k: old[k] - 0.1 * cut[k] for k in old})      # the step takes the truncated gradient


LSTM_P = {"ui11": 0.3, "wi11": -0.4, "uf11": 0.8, "wf11": 0.2, "uo11": -0.5, "wo11": 0.6, "ug11": 0.9, "wg11": -0.7}
GRU_P = {"ur11": 0.4, "wr11": -0.3, "uz11": 0.7, "wz11": 0.5, "un11": -0.6, "wn11": 0.8}


def _lstm_by_hand(x, t, h, c, P=LSTM_P):
    """The textbook LSTM of one unit (loss on h), forward and back, in plain floats."""
    fw = []
    for xt in x:
        i, f, o = (sig(P[f"u{g}11"] * xt + P[f"w{g}11"] * h) for g in "ifo")
        sg = P["ug11"] * xt + P["wg11"] * h
        g = math.tanh(sg)
        c_new = f * c + i * g
        fw.append(dict(i=i, f=f, o=o, g=g, sg=sg, c=c_new, c_prev=c, h_prev=h, h=o * math.tanh(c_new)))
        h, c = fw[-1]["h"], c_new
    dh_next = dc_next = 0.0
    deltas = {}
    for n in range(len(x), 0, -1):
        k = fw[n - 1]
        dh = (k["h"] - t[n - 1]) + dh_next
        dc = dh * k["o"] * (1 - math.tanh(k["c"]) ** 2) + dc_next
        d = {"i": dc * k["g"] * k["i"] * (1 - k["i"]), "f": dc * k["c_prev"] * k["f"] * (1 - k["f"]),
             "o": dh * math.tanh(k["c"]) * k["o"] * (1 - k["o"]), "g": dc * k["i"] * (1 - k["g"] ** 2)}
        deltas |= {f"deltah1<{n}>": dh, f"deltac1<{n}>": dc, **{f"delta{g}1<{n}>": v for g, v in d.items()}}
        dh_next = sum(P[f"w{g}11"] * v for g, v in d.items())
        dc_next = dc * k["f"]
    return fw, deltas


def test_lstm_forward_values_and_deltas_by_hand():
    net = sb.rnn(1, 1, None, 3, cell="lstm", output="hidden")
    x, t, h0, c0 = [0.5, -1.0, 0.25], [0.2, -0.3, 0.6], 0.1, -0.4
    data = {**LSTM_P, **{f"x1<{n}>": v for n, v in enumerate(x, 1)}, **{f"t1<{n}>": v for n, v in enumerate(t, 1)},
            "h1<0>": h0, "c1<0>": c0}
    r = evaluate(net, data)
    fw, deltas = _lstm_by_hand(x, t, h0, c0)
    for n, k in enumerate(fw, 1):
        for key in ("i", "f", "o", "g", "c", "h"):
            assert r.forward[f"{key}1<{n}>"] == [pytest.approx(k[key], rel=1e-12)]
    assert r.delta.keys() == deltas.keys()
    for key, v in deltas.items():
        assert r.delta[key] == [pytest.approx(v, rel=1e-12, abs=1e-15)], key
    assert r.loss == pytest.approx(sum(0.5 * (k["h"] - tt) ** 2 for k, tt in zip(fw, t)), rel=1e-12)
    assert r.gradient["wf11"] == pytest.approx(sum(k["h_prev"] * deltas[f"deltaf1<{n}>"]
                                                   for n, k in enumerate(fw, 1)), rel=1e-12)


def test_gru_forward_values_by_hand():
    net = sb.rnn(1, 1, None, 2, cell="gru", output="hidden")
    x, t, h = [0.5, -1.0], [0.2, -0.3], 0.3
    r = evaluate(net, {**GRU_P, "x1<1>": x[0], "x1<2>": x[1], "t1<1>": t[0], "t1<2>": t[1], "h1<0>": h})
    for n, xt in enumerate(x, 1):
        rr, z = sig(GRU_P["ur11"] * xt + GRU_P["wr11"] * h), sig(GRU_P["uz11"] * xt + GRU_P["wz11"] * h)
        nn = math.tanh(GRU_P["un11"] * xt + GRU_P["wn11"] * rr * h)
        h_prev, h = h, z * h + (1 - z) * nn
        for key, v in (("r", rr), ("z", z), ("rh", rr * h_prev), ("n", nn), ("h", h)):
            assert r.forward[f"{key}1<{n}>"] == [pytest.approx(v, rel=1e-12)], (key, n)


def _fd_state(step, P, x_steps, state, t, which, eps=1e-6):
    """∂h<T>/∂h<t> (or ∂c<T>/∂c<t>) of one unit by central differences of the reference's forward step."""
    def run(h, c):
        for xt in x_steps[t:]:
            k = step(P, "tanh", np.array([[xt]]), np.array([[h]]), None if c is None else np.array([[c]]))
            h, c = float(k["h"][0, 0]), None if k["c"] is None else float(k["c"][0, 0])
        return h if which == "h" else c
    h, c = state
    if which == "h":
        return (run(h + eps, c) - run(h - eps, c)) / (2 * eps)
    return (run(h, c + eps) - run(h, c - eps)) / (2 * eps)


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_report_rows(cell):
    lstm = cell == "lstm"
    net = sb.rnn(1, 1, None, 3, cell=cell, output="hidden")
    x, t = [0.5, -1.0, 0.25], [0.2, -0.3, 0.6]
    params = LSTM_P if lstm else GRU_P
    data = {**params, **{f"x1<{n}>": v for n, v in enumerate(x, 1)}, **{f"t1<{n}>": v for n, v in enumerate(t, 1)},
            "h1<0>": 0.1, **({"c1<0>": -0.4} if lstm else {})}
    r = evaluate(net, data, report=True)
    P = from_plain(cell, params, 1, 1, output="hidden")
    gate = "f" if lstm else "z"
    states = {0: (0.1, -0.4 if lstm else None)}
    states |= {n: (r.forward[f"h1<{n}>"][0], r.forward[f"c1<{n}>"][0] if lstm else None) for n in (1, 2, 3)}
    assert [row[0] for row in r.report] == [3, 2, 1, 0]
    for tt, product, cell_norm, full in r.report:
        gates = [r.forward[f"{gate}1<{k}>"][0] for k in range(tt + 1, 4)]
        assert product == pytest.approx(abs(math.prod(gates)), rel=1e-12)
        step = _lstm_step if lstm else _gru_step
        assert full == pytest.approx(abs(_fd_state(step, P, x, states[tt], tt, "h")), rel=1e-6, abs=1e-9)
        if lstm:
            assert cell_norm == pytest.approx(abs(_fd_state(step, P, x, states[tt], tt, "c")), rel=1e-6)
        else:
            assert cell_norm is None
    # one step back along the cell path the Jacobian is the forget gate itself: ∂c<T>/∂c<T−1> = f<T>
    if lstm:
        assert r.report[1][2] == pytest.approx(r.forward["f1<3>"][0], rel=1e-7)


def test_report_in_words_and_json():
    net = sb.rnn(1, 1, None, 2, cell="lstm", output="hidden")
    data = {**LSTM_P, "x1<1>": 1, "x1<2>": -1, "t1<1>": 0, "t1<2>": 0.5}
    text, as_json, r = evaluate_gated(net, data, lr=0.1, report=True)
    out = text(r)
    assert "forget gate alone" in out and "‖∂c<T>/∂c<t>‖" in out
    assert out.index("Why the cell path") < out.index("After one step")
    ascii_out = text(r, True)
    assert ascii_out.isascii()
    assert "|dh<T>/dh<t>|" in ascii_out and "‖" not in ascii_out
    data_out = json.loads(as_json(r))
    assert [row["t"] for row in data_out["report"]] == [2, 1, 0] and data_out["report"][0]["gate"] == "f"
    assert data_out["updated"]["wf11"] == pytest.approx(LSTM_P["wf11"] - 0.1 * r.gradient["wf11"])
    gru = sb.rnn(1, 1, None, 2, cell="gru", output="hidden")
    out = evaluate_gated(gru, {**GRU_P, "x1<1>": 1, "x1<2>": -1, "t1<1>": 0, "t1<2>": 0.5}, report=True)
    assert "update gate alone" in out[0](out[2]) and "dcT_dct_norm" not in out[1](out[2])


def test_public_evaluate():
    net = sb.rnn(1, 1, None, 2, cell="gru", output="hidden")
    r = sb.evaluate(net, {**GRU_P, "x1<1>": 1, "x1<2>": -1, "t1<1>": 0, "t1<2>": 0.5})
    assert r.gradient.keys() == set(GRU_P) and "deltah1<1>" in r.delta


GOOD = {**GRU_P, "x1<1>": 1, "x1<2>": -1, "t1<1>": 0, "t1<2>": 0.5}


@pytest.mark.parametrize("change, message", [
    ({"wz11": None}, "missing wz11"),
    ({"x1<2>": None}, "missing x1<2>"),
    ({"wq11": 1}, "unknown name 'wq11'"),
    ({"h1<1>": 0.5}, "unknown name 'h1<1>'"),
    ({"c1<0>": 0.5}, "unknown name 'c1<0>'"),                  # a GRU has no cell
    ({"x1<3>": 0.5}, "unknown name 'x1<3>'"),
    ({"wn11": "a"}, "wn11 = 'a' is not a number"),
    ({"reduction": "max"}, "reduction = 'max'"),
    ({"samples": [{"x1<1>": 1}]}, "given beside samples"),
])
def test_bad_values_are_one_line(change, message):
    net = sb.rnn(1, 1, None, 2, cell="gru", output="hidden")
    data = {k: v for k, v in {**GOOD, **change}.items() if v is not None}
    with pytest.raises(ValuesError, match=message.replace("(", r"\(")) as err:
        evaluate(net, data)
    assert "\n" not in str(err.value)


def test_bad_sample():
    net = sb.rnn(1, 1, None, 2, cell="gru", output="hidden")
    with pytest.raises(ValuesError, match=r"samples\[2\]: missing t1<2>"):
        evaluate(net, {**GRU_P, "samples": [{"x1<1>": 1, "x1<2>": 1, "t1<1>": 0, "t1<2>": 0},
                                            {"x1<1>": 1, "x1<2>": 1, "t1<1>": 0}]})
    with pytest.raises(ValuesError, match=r"samples\[1\]: 'wz11' is not a name a sequence holds"):
        evaluate(net, {**GRU_P, "samples": [{"wz11": 1}]})
