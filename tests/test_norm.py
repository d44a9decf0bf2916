"""Issue 18, item 1, first step: batch norm and layer norm graphs (_norm) against NumPy (_norm_reference)."""
from pathlib import Path

import numpy as np
import pytest
import sympy

from symbackprop._graph import E, sweep
from symbackprop._norm import (EPSILON, build, check_at_points, epsilon, input_gradient, local_derivatives_hold,
                               prove_compact)
from symbackprop import _norm_reference
from symbackprop._norm_reference import compact_backward, dense_norm_mse, forward, staged_backward

from .conftest import swept_values, value_at

KINDS = ("batchnorm", "layernorm")



def numeric_sweep(norm, values: dict):
    """(E, gradient by symbol, dx by (k, s)) from the sweep, at the leaves' values."""
    model = norm.model
    sw = sweep(model)
    env = {s: float(v) for s, v in values.items()}
    env[epsilon] = EPSILON
    swept_values(model, sw, env)
    gradient = {p: value_at(sw.gradient[p], env) for p in model.parameters}
    dx = {c: value_at(v, env) for c, v in input_gradient(norm, sw).items()}
    return env[E], gradient, dx


def _point(norm, rng, inputs=None):
    """Random values of the leaves and the same point as arrays (P, X, T)."""
    N, n = norm.samples, norm.features
    m = inputs or n
    P = {"W": rng.uniform(-1, 1, (m, n)), "b": rng.uniform(-1, 1, n),
         "gamma": rng.uniform(0.5, 1.5, n), "beta": rng.uniform(-1, 1, n)}
    X, T = rng.uniform(-2, 2, (N, m)), rng.uniform(-1, 1, (N, n))
    values = {}
    for k in range(1, n + 1):
        values[norm.gamma[k]], values[norm.beta[k]] = P["gamma"][k - 1], P["beta"][k - 1]
        values[sympy.Symbol(f"b{k}[2]", real=True)] = P["b"][k - 1]
        for i in range(1, m + 1):
            values[sympy.Symbol(f"w{i}{k}[1]", real=True)] = P["W"][i - 1, k - 1]
        for s in range(1, N + 1):
            values[norm.target[k, s]] = T[s - 1, k - 1]
    for s in range(1, N + 1):
        for i in range(1, m + 1):
            values[sympy.Symbol(f"x{i}<{s}>", real=True)] = X[s - 1, i - 1]
    return values, P, X, T


def _fd(f, x, h=1e-4):
    """∂f/∂x by the four-point central difference (error O(h⁴)), entry by entry."""
    grad = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        def at(step):
            y = x.copy()
            y[idx] += step
            return f(y)
        grad[idx] = (-at(2 * h) + 8 * at(h) - 8 * at(-h) + at(-2 * h)) / (12 * h)
    return grad


# ---------------------------------------------------------------- the graph
@pytest.mark.parametrize("kind", KINDS)
def test_names_and_equations(kind):
    norm = build(kind, 2, 2)
    names = [str(eq.node) for eq in norm.model.equations]
    stat = ["mu1", "var1", "sigma1"] if kind == "batchnorm" else ["mu<1>", "var<1>", "sigma<1>"]
    assert all(s in names for s in stat) and "xhat2<1>" in names and names[-1] == "E"
    assert [p.name for p in norm.model.parameters] == ["gamma1", "gamma2", "beta1", "beta2"]
    assert len(names) == 4 * 3 + 2 * 3 + 1         # d, xhat, y per cell; μ, var, σ per group; E
    with pytest.raises(ValueError, match="kind"):
        build("groupnorm", 2, 2)


@pytest.mark.parametrize("kind", KINDS)
def test_local_derivatives_are_sympys(kind):
    assert local_derivatives_hold(build(kind, 3, 2, dense=2))


# ---------------------------------------------------------------- against NumPy and finite differences
@pytest.mark.parametrize("kind,N,n", [("batchnorm", 3, 2), ("batchnorm", 4, 1), ("layernorm", 2, 3), ("layernorm", 3, 4)])
def test_norm_alone_matches_staged_numpy_and_fd(kind, N, n):
    rng = np.random.default_rng(N * 10 + n)
    norm = build(kind, N, n)
    values, P, X, T = _point(norm, rng)
    for k in range(1, n + 1):
        for s in range(1, N + 1):
            values[norm.inputs[k, s]] = X[s - 1, k - 1]     # here X is the norm's own input
    E_val, grad, dx = numeric_sweep(norm, values)
    y, cache = forward(kind, X, P["gamma"], P["beta"])
    dx_ref, dgamma, dbeta = staged_backward(y - T, cache)
    assert E_val == pytest.approx(0.5 * ((y - T) ** 2).sum(), rel=1e-12)
    sweep_dx = np.array([[dx[k, s] for k in range(1, n + 1)] for s in range(1, N + 1)])
    np.testing.assert_allclose(sweep_dx, dx_ref, rtol=0, atol=1e-9)
    np.testing.assert_allclose([grad[norm.gamma[k]] for k in range(1, n + 1)], dgamma, rtol=0, atol=1e-9)
    np.testing.assert_allclose([grad[norm.beta[k]] for k in range(1, n + 1)], dbeta, rtol=0, atol=1e-9)

    def loss(x):
        return 0.5 * ((forward(kind, x, P["gamma"], P["beta"])[0] - T) ** 2).sum()
    np.testing.assert_allclose(sweep_dx, _fd(loss, X), rtol=0, atol=1e-9)


@pytest.mark.parametrize("kind,N,n,m", [("batchnorm", 3, 2, 2), ("batchnorm", 4, 3, 2), ("layernorm", 2, 3, 2),
                                        ("layernorm", 3, 2, 3)])
def test_dense_then_norm_matches_staged_numpy_and_fd(kind, N, n, m):
    rng = np.random.default_rng(100 + N * 10 + n)
    norm = build(kind, N, n, dense=m)
    values, P, X, T = _point(norm, rng, inputs=m)
    E_val, grad, dz = numeric_sweep(norm, values)
    E_ref, ref, _ = dense_norm_mse(kind, P, X, T)
    assert E_val == pytest.approx(E_ref, rel=1e-12)
    by_name = {p.name: v for p, v in grad.items()}
    W = np.array([[by_name[f"w{i}{k}[1]"] for k in range(1, n + 1)] for i in range(1, m + 1)])
    arrays = {"W": W, "b": np.array([by_name[f"b{k}[2]"] for k in range(1, n + 1)]),
              "gamma": np.array([by_name[f"gamma{k}"] for k in range(1, n + 1)]),
              "beta": np.array([by_name[f"beta{k}"] for k in range(1, n + 1)])}
    for key, value in arrays.items():
        np.testing.assert_allclose(value, ref[key], rtol=0, atol=1e-9, err_msg=key)

        def loss(a, key=key):
            return dense_norm_mse(kind, {**P, key: a}, X, T)[0]
        np.testing.assert_allclose(value, _fd(loss, P[key]), rtol=0, atol=1e-9, err_msg=key)
    z = X @ P["W"] + P["b"]
    y, cache = forward(kind, z, P["gamma"], P["beta"])
    dz_ref = staged_backward(y - T, cache)[0]
    np.testing.assert_allclose([[dz[k, s] for k in range(1, n + 1)] for s in range(1, N + 1)], dz_ref, atol=1e-9)


# ---------------------------------------------------------------- the compact form
@pytest.mark.parametrize("size", range(2, 7))
@pytest.mark.parametrize("kind", KINDS)
def test_compact_form_proven(kind, size):
    # batch norm: N = size samples of one feature; layer norm: n = size features of one sample
    shape = (size, 1) if kind == "batchnorm" else (1, size)
    assert prove_compact(kind, *shape) in ("expand", "cancel")


@pytest.mark.parametrize("kind", KINDS)
def test_compact_form_proven_for_several_groups(kind):
    assert prove_compact(kind, 3, 2) in ("expand", "cancel")


@pytest.mark.parametrize("kind,drop", [("batchnorm", "sum_dy"), ("batchnorm", "sum_dy_xhat"),
                                       ("layernorm", "sum_dy"), ("layernorm", "gamma_inside")])
def test_a_wrong_compact_form_is_not_proven(kind, drop):
    # gamma_inside: layer norm's γ taken out of the sums, as if it were one number (a published slip)
    shape = (3, 1) if kind == "batchnorm" else (1, 3)
    assert prove_compact(kind, *shape, drop=(drop,)) is False


@pytest.mark.parametrize("kind,shape", [("batchnorm", (32, 5)), ("layernorm", (4, 32))])
def test_compact_numpy_equals_staged_for_large_batches(kind, shape):
    rng = np.random.default_rng(7)
    for _ in range(5):
        X, dy = rng.normal(size=shape) * 3 + 1, rng.normal(size=shape)
        gamma, beta = rng.uniform(0.5, 2, shape[1]), rng.normal(size=shape[1])
        _, cache = forward(kind, X, gamma, beta)
        for staged, short in zip(staged_backward(dy, cache), compact_backward(dy, cache)):
            np.testing.assert_allclose(short, staged, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("kind,shape", [("batchnorm", (12, 2)), ("layernorm", (2, 12))])
def test_compact_form_at_exact_points_for_larger_sizes(kind, shape):
    assert check_at_points(kind, *shape)
    assert not check_at_points(kind, *shape, points=2, drop=("sum_dy_xhat",))


def test_the_reference_reads_no_sympy():
    source = Path(_norm_reference.__file__).read_text(encoding="utf-8")
    assert "sympy" not in source.split('"""', 2)[2] and "from ." not in source
