"""eval on a layer stack over a batch (_batch_values): every number against an independent computation.

The reference below is plain NumPy written from the textbook formulas (Ioffe & Szegedy's batch-norm
backward pass: ∂E/∂x̂ = γ·δ, ∂E/∂var = Σ ∂E/∂x̂·d·(−½)(var + ε)^(−3/2), ∂E/∂μ = Σ ∂E/∂x̂·(−1/σ) +
∂E/∂var·Σ(−2d)/N, ∂E/∂x = ∂E/∂x̂/σ + ∂E/∂var·2d/N + ∂E/∂μ/N; layer norm the same over a sample's
nodes; inverted dropout a = m·a[k−1]/(1 − p)), never from the package's output.
"""
import json
from pathlib import Path

import numpy as np
import pytest

import symbackprop as sb
from symbackprop import SpecError, ValuesError
from symbackprop._batch_values import evaluate, evaluate_batch

EPS = 1e-5
F = {"linear": (lambda z: z, lambda z: np.ones_like(z)),
     "tanh": (np.tanh, lambda z: 1 - np.tanh(z) ** 2),
     "relu": (lambda z: np.maximum(z, 0), lambda z: (z > 0).astype(float)),
     "sigmoid": (lambda z: 1 / (1 + np.exp(-z)), lambda z: np.exp(-z) / (1 + np.exp(-z)) ** 2)}


def reference(inputs, layers, P, X, T, M, loss):
    """(values by full name, E, gradients by plain name): forward and backward from the textbook."""
    out, A, cache = {}, X, []
    N = X.shape[0]

    def put(letter, k, V, per_node=True):           # V: N × n (per sample) or n (batch norm's statistics)
        if V.ndim == 1 and per_node:
            out.update({f"{letter}{j + 1}[{k}]": V[j] for j in range(V.size)})
        elif V.ndim == 1:
            out.update({f"{letter}[{k}]<{s + 1}>": V[s] for s in range(V.size)})
        else:
            out.update({f"{letter}{j + 1}[{k}]<{s + 1}>": V[s, j] for s in range(N) for j in range(V.shape[1])})
    for k, lay in enumerate(layers, start=2):
        kind, prev = lay.get("kind", "dense"), A
        if kind == "dense":
            Z = A @ P[f"W{k - 1}"] + P.get(f"b{k}", 0)
        elif kind == "dropout":
            A = M[k] * A / (1 - lay["rate"])
            put("a", k, A)
            cache.append((k, kind, lay, prev, None, None))
            continue
        else:
            axis = 0 if kind == "batchnorm" else 1
            mu = A.mean(axis, keepdims=True)
            D = A - mu
            var = (D ** 2).mean(axis, keepdims=True)
            sigma = np.sqrt(var + EPS)
            Xh = D / sigma
            Z = P[f"gamma{k}"] * Xh + P[f"beta{k}"]
            for letter, V in (("mu", mu), ("var", var), ("sigma", sigma)):
                put(letter, k, V.ravel(), per_node=axis == 0)
            put("d", k, D), put("xhat", k, Xh)
        f, fp = F[lay.get("activation", "linear")]
        A = f(Z)
        put("z", k, Z), put("a", k, A)
        cache.append((k, kind, lay, prev, Z, fp))
    E = 0.5 * np.sum((A - T) ** 2) if loss == "mse" else -np.sum(T * np.log(A) + (1 - T) * np.log(1 - A))
    grads, G = {}, None
    for n, (k, kind, lay, prev, Z, fp) in enumerate(reversed(cache)):
        if n:
            put("dE/da", k, G)                          # every a below the output: a stage
        if kind == "dropout":
            G = M[k] * G / (1 - lay["rate"])
            continue
        delta = A - T if n == 0 else G * fp(Z)          # a − t: sigmoid with bce, linear with mse
        put("delta", k, delta)
        if kind == "dense":
            grads[f"W{k - 1}"] = prev.T @ delta
            if lay.get("bias"):
                grads[f"b{k}"] = delta.sum(0)
            G = delta @ P[f"W{k - 1}"].T
            continue
        axis, m = (0, N) if kind == "batchnorm" else (1, prev.shape[1])
        mu = prev.mean(axis, keepdims=True)
        D = prev - mu
        var = (D ** 2).mean(axis, keepdims=True)
        sigma = np.sqrt(var + EPS)
        Xh = D / sigma
        grads[f"gamma{k}"], grads[f"beta{k}"] = (delta * Xh).sum(0), delta.sum(0)
        dXh = delta * P[f"gamma{k}"]
        dsigma = (dXh * -D / sigma ** 2).sum(axis, keepdims=True)
        dvar = (dXh * D * -0.5 * (var + EPS) ** -1.5).sum(axis, keepdims=True)
        dmu = (dXh * -1 / sigma).sum(axis, keepdims=True) + dvar * (-2 * D).sum(axis, keepdims=True) / m
        dD = dXh / sigma + dvar * 2 * D / m
        G = dXh / sigma + dvar * 2 * D / m + dmu / m
        put("dE/dxhat", k, dXh), put("dE/dd", k, dD)
        for letter, V in (("dE/dsigma", dsigma), ("dE/dvar", dvar), ("dE/dmu", dmu)):
            put(letter, k, V.ravel(), per_node=axis == 0)
    return out, E, grads


def by_name(P: dict) -> dict:
    """The values file's parameters: W1 → w11[1] …, b2 → b1[2], gamma3 → gamma1[3]."""
    found = {}
    for key, V in P.items():
        letter, k = key.rstrip("0123456789"), int(key.lstrip("Wbgamet"))
        if letter == "W":
            found.update({f"w{i + 1}{j + 1}[{k}]": float(V[i, j]) for i in range(V.shape[0])
                          for j in range(V.shape[1])})
        else:
            found.update({f"{letter}{j + 1}[{k}]": float(V[j]) for j in range(V.size)})
    return found


def values_file(P, X, T, M, **more) -> dict:
    samples = []
    for s in range(X.shape[0]):
        row = {f"x{i + 1}": float(X[s, i]) for i in range(X.shape[1])}
        row |= {f"t{j + 1}": float(T[s, j]) for j in range(T.shape[1])}
        for k, Mk in M.items():
            row |= {f"m{j + 1}[{k}]": float(Mk[s, j]) for j in range(Mk.shape[1])}
        samples.append(row)
    return {**by_name(P), "samples": samples, **more}


BN = {"inputs": 2, "batch": 3, "loss": "bce",
      "layer": [{"size": 2, "activation": "tanh", "bias": True}, {"kind": "batchnorm", "activation": "relu"},
                {"kind": "dropout", "rate": 0.25}, {"size": 1, "activation": "sigmoid", "bias": True}]}
LN = {"inputs": 2, "batch": 2, "loss": "mse",
      "layer": [{"size": 3, "activation": "linear"}, {"kind": "layernorm", "activation": "tanh"},
                {"size": 2, "activation": "linear"}]}


def bn_case(seed=0):
    rng = np.random.default_rng(seed)
    P = {"W1": rng.uniform(-1, 1, (2, 2)), "b2": rng.uniform(-1, 1, 2), "gamma3": rng.uniform(0.5, 1.5, 2),
         "beta3": rng.uniform(0, 0.5, 2), "W4": rng.uniform(-1, 1, (2, 1)), "b5": rng.uniform(-1, 1, 1)}
    X, T = rng.uniform(-1, 1, (3, 2)), np.array([[1.0], [0.0], [1.0]])
    return P, X, T, {4: np.array([[1.0, 1.0], [0.0, 1.0], [1.0, 0.0]])}


def ln_case(seed=1):
    rng = np.random.default_rng(seed)
    P = {"W1": rng.uniform(-1, 1, (2, 3)), "gamma3": rng.uniform(0.5, 1.5, 3), "beta3": rng.uniform(-0.5, 0.5, 3),
         "W3": rng.uniform(-1, 1, (3, 2))}
    return P, rng.uniform(-1, 1, (2, 2)), rng.uniform(-1, 1, (2, 2)), {}


def _close(got: dict, want: dict):
    assert got.keys() == want.keys()
    bad = {k: (got[k], want[k]) for k in got if abs(got[k] - want[k]) > 1e-9 * max(1.0, abs(want[k]))}
    assert not bad, bad


def _flat_grads(grads: dict) -> dict:
    return by_name({k: np.atleast_1d(v) if not k.startswith("W") else v for k, v in grads.items()})


def _check(r, spec, P, X, T, M, scale=1.0):
    want, E, grads = reference(spec["inputs"], spec["layer"], P, X, T, M, spec["loss"])
    stages = {k[4:]: v for k, v in want.items() if k.startswith("dE/d")}
    deltas = {k: v for k, v in want.items() if k.startswith("delta")}
    forward = {k: v for k, v in want.items() if k not in deltas and not k.startswith("dE/d")}
    _close({k: v[0] for k, v in r.forward.items()}, forward)
    _close({k: v[0] for k, v in r.delta.items()}, deltas)
    _close(r.stages, stages)
    assert r.loss == pytest.approx(E * scale, rel=1e-12)
    _close(r.gradient, {k: v * scale for k, v in _flat_grads(grads).items()})
    return grads


def test_batchnorm_and_dropout_are_the_reference():
    P, X, T, M = bn_case()
    r = evaluate(sb.network(BN), values_file(P, X, T, M), lr=0.1)
    grads = _check(r, BN, P, X, T, M)
    old, step = by_name(P), _flat_grads(grads)
    _close(r.updated, {k: old[k] - 0.1 * step[k] for k in old})
    assert r.masks == {f"m{j}[4]<{s}>": M[4][s - 1, j - 1] for s in (1, 2, 3) for j in (1, 2)} and r.drawn == ()


def test_layernorm_and_the_mean_are_the_reference():
    P, X, T, M = ln_case()
    r = evaluate(sb.network(LN), values_file(P, X, T, M, reduction="mean"), lr=0.5)
    grads = _check(r, LN, P, X, T, M, scale=0.5)
    old, step = by_name(P), _flat_grads(grads)
    _close(r.updated, {k: old[k] - 0.5 * 0.5 * step[k] for k in old})
    assert "mu[3]<2>" in r.forward and "sigma[3]<1>" in r.forward and "var[3]<2>" in r.stages


def test_the_samples_may_be_named_at_the_top():
    P, X, T, M = bn_case(3)
    data = values_file(P, X, T, M)
    top = {f"{k}<{s}>": v for s, row in enumerate(data.pop("samples"), start=1) for k, v in row.items()}
    net = sb.network(BN)
    assert evaluate(net, {**data, **top}).gradient == evaluate(net, values_file(P, X, T, M)).gradient


def test_missing_masks_are_drawn_from_the_seed():
    P, X, T, M = bn_case(4)
    net = sb.network(BN)
    data = values_file(P, X, T, {}, seed=7)
    r = evaluate(net, data)
    assert len(r.drawn) == 6 and set(r.masks.values()) <= {0.0, 1.0} and r.seed == 7
    assert evaluate(net, data).masks == r.masks
    drawn = {4: np.array([[r.masks[f"m{j}[4]<{s}>"] for j in (1, 2)] for s in (1, 2, 3)])}
    _check(r, BN, P, X, T, drawn)
    data["samples"][0]["m1[4]"] = 1 - r.masks["m1[4]<1>"]             # a given mask stays as given
    r2 = evaluate(net, data)
    assert r2.masks["m1[4]<1>"] == 1 - r.masks["m1[4]<1>"] and "m1[4]<1>" not in r2.drawn
    text, _, res = evaluate_batch(net, data)
    assert "5 of 6 drawn with seed = 7" in text(res)


def test_text_and_json():
    P, X, T, M = bn_case()
    text, as_json, r = evaluate_batch(sb.network(BN), values_file(P, X, T, M), lr=0.1)
    out = text(r)
    for part in ("3 samples; E and the gradients are the sum", "Dropout masks (every one given)", "mu1[3] = ",
                 "δ1[5]<1> = ", "Staged gradients", "∂E/∂xhat1[3]<2> = ", "∂E/∂gamma1[3] = ", "After one step"):
        assert part in out
    assert "delta1[5]<1> = " in text(r, ascii_only=True) and "∂" not in text(r, ascii_only=True)
    data = json.loads(as_json(r))
    assert data["loss"] == r.loss and data["forward"]["var2[3]"] == r.forward["var2[3]"][0]
    assert data["stages"] == r.stages and data["masks_drawn"] == [] and data["seed"] is None


def _bad(change):
    P, X, T, M = bn_case()
    data = values_file(P, X, T, M)
    change(data)
    return data


@pytest.mark.parametrize("change, words", [
    (lambda d: d["samples"].pop(), "samples has 2 tables, but the spec has batch = 3 and batch norm takes its "
                                   "statistics over the batch"),
    (lambda d: d["samples"][1].update({"m2[4]": 0.5}), "a dropout mask is 0 (dropped) or 1 (kept)"),
    (lambda d: d["samples"][1].pop("m2[4]"), "or seed = 0 in the values file (or --seed 0) to draw"),
    (lambda d: d.pop("gamma2[3]"), "missing gamma2[3]"),
    (lambda d: d.update({"w11[9]": 1.0}), "unknown name 'w11[9]'"),
    (lambda d: d.update({"q1": 1.0}), "unknown name 'q1'"),
    (lambda d: d["samples"][0].pop("t1"), "samples[1]: missing t1"),
    (lambda d: d["samples"][0].update({"x3": 1.0}), "'x3' is not a name sample 1 holds"),
    (lambda d: d["samples"][0].update({"x1<2>": 1.0}), "'x1<2>' is not a name sample 1 holds"),
    (lambda d: d.update({"x1<1>": 1.0}), "x1<1> given beside samples"),
    (lambda d: d.update({"seed": -1}), "seed = -1"),
    (lambda d: d.update({"reduction": "max"}), "reduction = 'max'"),
    (lambda d: d.update({"w11[1]": "one"}), "is not a number"),
    (lambda d: d.update({"w11[4]": 1e6, "b1[5]": 1e6}), "E is not a finite number"),
])
def test_bad_values_are_one_line(change, words):
    with pytest.raises(ValuesError, match=None) as err:
        evaluate(sb.network(BN), _bad(change))
    assert words in str(err.value) and "\n" not in str(err.value)


def test_a_top_level_sample_needs_its_number():
    net = sb.network(LN)
    P, X, T, M = ln_case()
    with pytest.raises(ValuesError, match=r"x1: say which sample, e.g. x1<1> \(1 … 2\)"):
        evaluate(net, {**by_name(P), "x1": 1.0})


def test_truncate_and_report_are_for_recurrent_nets():
    net = sb.network(LN)
    with pytest.raises(SpecError, match="truncate .--truncate. is for recurrent networks"):
        evaluate_batch(net, {}, truncate=2)
    with pytest.raises(SpecError, match="--report is for recurrent networks"):
        evaluate_batch(net, {}, report=True)


def test_the_public_api_evaluates_a_batch_stack():
    P, X, T, M = bn_case()
    net = sb.network(BN)
    r = sb.evaluate(net, values_file(P, X, T, M))
    _check(r, BN, P, X, T, M)


def test_the_seed_option_draws_the_missing_masks(tmp_path, monkeypatch):
    """eval --seed N stands for seed = N in the values file; without either, a missing mask is refused;
    a spec without dropout refuses --seed."""
    from click.testing import CliRunner
    from symbackprop.cli import cli
    monkeypatch.chdir(Path(__file__).parent.parent)
    data = json.loads(Path("examples/batchnorm-2-2-1-values.json").read_text(encoding="utf-8"))
    for sample in data["samples"]:
        del sample["m1[4]"], sample["m2[4]"]
    values = tmp_path / "v.json"
    values.write_text(json.dumps(data), encoding="utf-8")
    runner = CliRunner()
    drawn = runner.invoke(cli, ["eval", "examples/batchnorm-2-2-1.toml", "--values", str(values), "--seed", "3"])
    in_file = tmp_path / "w.json"
    in_file.write_text(json.dumps({**data, "seed": 3}), encoding="utf-8")
    same = runner.invoke(cli, ["eval", "examples/batchnorm-2-2-1.toml", "--values", str(in_file)])
    assert drawn.exit_code == 0 and drawn.output == same.output and "6 of 6 drawn with seed = 3" in drawn.output
    missing = runner.invoke(cli, ["eval", "examples/batchnorm-2-2-1.toml", "--values", str(values)])
    assert missing.exit_code == 2 and "--seed 0" in missing.output
    other = runner.invoke(cli, ["eval", "2-1", "--values", str(values), "--seed", "3"])
    assert other.exit_code == 2 and "dropout" in other.output
