"""The reference's own tables: activations and losses written out by hand in NumPy.

Nothing here is derived or imported from the symbolic registries, so a mistake there cannot
fool the reference (``_reference.py``) that check holds the compiled code against.
"""
from __future__ import annotations

import math

import numpy as np


def _sigmoid(z):
    return 0.5 * (1.0 + np.tanh(0.5 * z))


# name → (f, f') written out by hand, independently of the SymPy registry
ACTIVATIONS = {
    "sigmoid": (_sigmoid, lambda z: _sigmoid(z) * (1.0 - _sigmoid(z))),
    "tanh": (np.tanh, lambda z: 1.0 - np.tanh(z) ** 2),
    "relu": (lambda z: np.where(z > 0, z, 0.0), lambda z: np.where(z > 0, 1.0, 0.0)),
    "leaky_relu": (lambda z: np.where(z > 0, z, 0.01 * z), lambda z: np.where(z > 0, 1.0, 0.01)),
    "softplus": (lambda z: np.logaddexp(0.0, z), _sigmoid),
    "linear": (lambda z: z, np.ones_like),
    "elu": (lambda z: np.where(z > 0, z, np.expm1(np.minimum(z, 0.0))),
            lambda z: np.where(z > 0, 1.0, np.exp(np.minimum(z, 0.0)))),
    "gelu": (lambda z: z * _phi(z), lambda z: _phi(z) + z * np.exp(-z * z / 2) / math.sqrt(2 * math.pi)),
    "silu": (lambda z: z * _sigmoid(z), lambda z: _sigmoid(z) * (1.0 + z * (1.0 - _sigmoid(z)))),
    "softsign": (lambda z: z / (1.0 + np.abs(z)), lambda z: 1.0 / (1.0 + np.abs(z)) ** 2),
    "hardtanh": (lambda z: np.clip(z, -1.0, 1.0), lambda z: np.where((z > -1) & (z < 1), 1.0, 0.0)),
    "hard_sigmoid": (lambda z: np.clip(z / 6 + 0.5, 0.0, 1.0), lambda z: np.where((z > -3) & (z < 3), 1 / 6, 0.0)),
}


def _phi(z):
    """Φ(z), the standard normal distribution function (for GELU): erfc(−z/√2)/2, from math.erfc."""
    erfc = np.frompyfunc(math.erfc, 1, 1)
    return 0.5 * np.asarray(erfc(-np.asarray(z, dtype=float) / math.sqrt(2)), dtype=float)


def five_point_derivative(f, z, h=1e-4):
    """f'(z) by five-point stencils: for activations given only as a function (custom ones).

    The central stencil, unless f is not smooth within 2h of z (|z| in z/(1+|z|), a max):
    then the central and a one-sided estimate part, and the one-sided stencil whose
    estimate holds when its step is halved (it stays on z's own piece) is taken.
    """
    z = np.asarray(z, dtype=float)

    def one_sided(step):            # f'(z) from f(z), f(z + step), …, f(z + 4·step)
        v = [f(z + n * step) for n in range(5)]
        return (-25 * v[0] + 48 * v[1] - 36 * v[2] + 16 * v[3] - 3 * v[4]) / (12 * step)

    central = (-f(z + 2 * h) + 8 * f(z + h) - 8 * f(z - h) + f(z - 2 * h)) / (12 * h)
    ahead, behind = one_sided(h), one_sided(-h)
    steady_ahead = np.abs(ahead - one_sided(h / 2)) <= np.abs(behind - one_sided(-h / 2))
    kink = np.maximum(np.abs(ahead - central), np.abs(behind - central)) > 1e-7 * np.maximum(1.0, np.abs(central))
    return np.where(kink, np.where(steady_ahead, ahead, behind), central)


def _softmax(z):
    shifted = z - z.max(axis=1, keepdims=True)
    e = np.exp(shifted)
    return e / e.sum(axis=1, keepdims=True)


def _log_softmax(z):
    """log softmax(z) = z − log Σ e^z, from the shifted z: no overflow, no log of 0."""
    shifted = z - z.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


#: the output activations that read the whole layer, handled by name below
COUPLED = ("softmax", "log_softmax")


def _output_delta(act, loss, z, a, t):
    """δ[L] = ∂E/∂z[L] for the output activation and loss, by hand."""
    if act == "log_softmax":                   # ∂aₒ/∂zⱼ = [o = j] − pⱼ, p = softmax(z)
        p = _softmax(z)
        if loss == "nll":
            return p * t.sum(axis=1, keepdims=True) - t        # = p − t for targets summing to 1
        dE_da = _loss_derivative(loss, a, t)
        return dE_da - p * dE_da.sum(axis=1, keepdims=True)
    if act == "softmax":
        if loss == "cross_entropy":
            return a * t.sum(axis=1, keepdims=True) - t        # = a − t for targets summing to 1
        dE_da = _loss_derivative(loss, a, t)
        return a * (dE_da - (dE_da * a).sum(axis=1, keepdims=True))   # softmax Jacobian times ∂E/∂a
    if act == "sigmoid" and loss == "bce":
        return a - t
    if act == "sigmoid" and loss == "cross_entropy":
        return -t * (1.0 - a)
    return _loss_derivative(loss, a, t) * act_prime(act, z)


# name → (term(a, t), ∂term/∂a) per output node, by hand and independent of the SymPy registry;
# extend.register_loss(..., reference=(value, derivative)) adds the user's own second opinion here
LOSSES = {
    "mse": (lambda a, t: 0.5 * (a - t) ** 2, lambda a, t: a - t),
    "cross_entropy": (lambda a, t: -t * np.log(a), lambda a, t: -t / a),
    "bce": (lambda a, t: -(t * np.log(a) + (1.0 - t) * np.log1p(-a)),
            lambda a, t: -t / a + (1.0 - t) / (1.0 - a)),
    "mae": (lambda a, t: np.abs(a - t), lambda a, t: np.sign(a - t)),
    "kl": (lambda a, t: np.where(t > 0, t * np.log(np.where(t > 0, t, 1.0) / a), 0.0), lambda a, t: -t / a),
    "hinge": (lambda a, t: np.maximum(0.0, 1.0 - t * a), lambda a, t: np.where(t * a < 1.0, -t, 0.0)),
}


def _huber(delta: float) -> tuple:
    """The Huber loss with threshold δ: (a − t)²/2 for |a − t| ≤ δ, δ·(|a − t| − δ/2) beyond; its
    derivative a − t clipped to [−δ, δ] (either branch's at |a − t| = δ: they agree)."""
    def value(a, t):
        u = np.abs(a - t)
        return np.where(u <= delta, 0.5 * np.minimum(u, delta) ** 2, delta * (u - 0.5 * delta))
    return value, lambda a, t: np.clip(a - t, -delta, delta)


def _multiclass_hinge() -> tuple:
    """CS231n's SVM loss per sample, one-hot t (class y): Σ over j ≠ y of max(0, aⱼ − a_y + 1), given
    entry by entry (the row sums to it); its ∂/∂a row by row: 1 for each wrong class whose margin is
    above 0, minus their count at y (0 at a margin of exactly 0)."""
    def margins(a, t):
        right = (a * t).sum(axis=-1, keepdims=True)        # a_y, the right class's score
        return a - right + 1.0, t > 0.5
    def value(a, t):
        m, y = margins(a, t)
        return np.where(y, 0.0, np.maximum(0.0, m))
    def derivative(a, t):
        m, y = margins(a, t)
        above = np.where(y, 0.0, (m > 0).astype(float))
        return above - y * above.sum(axis=-1, keepdims=True)
    return value, derivative


LOSSES["nll"] = (lambda a, t: -t * a, lambda a, t: -t)
LOSSES["multiclass_hinge"] = _multiclass_hinge()
#: losses whose entries read the whole row (their derivative is not entry by entry)
ROW_LOSSES = frozenset({"multiclass_hinge"})
LOSSES["huber"] = _huber(1.0)
STABLE_LOSSES = frozenset({"mse", "cross_entropy", "bce"})     # written below in forms that keep logs finite


def loss_entry(loss):
    """(value, derivative) of ``loss``; ValueError for a name the table lacks, never a guess."""
    if loss not in LOSSES:
        raise ValueError(f"the NumPy reference has no loss {loss!r} (it knows {', '.join(LOSSES)}): give it "
                         "one with extend.register_loss(name, term, reference=(value, derivative))")
    if loss == "huber" and getattr(loss, "huber_delta", 1.0) != 1.0:   # the name carries a threshold δ ≠ 1
        return _huber(float(loss.huber_delta))
    return LOSSES[loss]


def _loss_derivative(loss, a, t):
    return loss_entry(loss)[1](a, t)                          # ∂E/∂a, elementwise


def _loss_value(act, loss, z, a, t):
    """E summed over outputs, per sample, in a stable form where the math allows."""
    value = loss_entry(loss)[0]
    if loss not in STABLE_LOSSES:
        return value(a, t).sum(axis=1)                        # by its own formula
    if loss == "mse":
        return 0.5 * ((a - t) ** 2).sum(axis=1)
    if act == "softmax" and loss == "cross_entropy":
        shifted = z - z.max(axis=1, keepdims=True)
        log_a = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        return -(t * log_a).sum(axis=1)
    if act == "sigmoid":
        log_a = -np.logaddexp(0.0, -z)          # log σ(z)
        log_1ma = -np.logaddexp(0.0, z)         # log(1 − σ(z))
    else:
        log_a, log_1ma = np.log(a), np.log1p(-a)
    if loss == "cross_entropy":
        return -(t * log_a).sum(axis=1)
    return -(t * log_a + (1.0 - t) * log_1ma).sum(axis=1)


def act_value(act, z):
    if act == "softmax":
        return _softmax(z)
    if act == "log_softmax":
        return _log_softmax(z)
    if callable(act):
        return act(z)
    return ACTIVATIONS[act][0](z)


def act_prime(act, z):
    if callable(act):
        return five_point_derivative(act, z)
    return ACTIVATIONS[act][1](z)
