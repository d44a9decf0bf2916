"""The second opinion for gated cells: LSTM and GRU forward passes and BPTT in plain NumPy.

Written from the textbook equations (Goodfellow et al. ch. 10, d2l.ai §10.1–10.2, CS231n's
``lstm_step_backward``), importing nothing symbolic: only the reference's own NumPy tables
of activations and losses (``_tables``).  Arrays as DESIGN.md §5.4: ``U_γ`` (inputs,
hidden), ``W_γ`` (hidden, hidden), ``b_γ`` (hidden,) per gate γ (LSTM i, f, o, g; GRU r, z,
h), and for a dense output layer ``V`` (hidden, outputs), ``c`` (outputs,).  X is (batch,
steps, inputs), Y (batch, steps, outputs).  Biases are there when P has ``b_…`` entries.

    LSTM  i, f, o = σ(x U + h<t−1> W + b),  g = φ(x U_g + h<t−1> W_g + b_g)
          c<t> = f ⊙ c<t−1> + i ⊙ g,          h<t> = o ⊙ φ(c<t>)
    GRU   r, z = σ(x U + h<t−1> W + b),     n = φ(x U_h + (r ⊙ h<t−1>) W_h + b_h)
          h<t> = z ⊙ h<t−1> + (1 − z) ⊙ n
    dense output: y<t> = output activation of h<t> V + c;  "hidden": the loss reads h<t>

φ is tanh in the textbook (``activation``).  E is the loss summed over steps and batch.

>>> P = {k: np.full(s, 0.5) for k, s in shapes("lstm", 1, 1, 1, output="hidden").items()}
>>> E, grads = bptt("lstm", P, np.ones((1, 1, 1)), np.zeros((1, 1, 1)), output="hidden")
>>> round(float(E), 6), sorted(plain_names("lstm", grads))
(0.015185, ['uf11', 'ug11', 'ui11', 'uo11', 'wf11', 'wg11', 'wi11', 'wo11'])
"""
from __future__ import annotations

import numpy as np

from ._tables import _loss_value, _output_delta, act_prime, act_value

GATES = {"lstm": ("i", "f", "o", "g"), "gru": ("r", "z", "h")}
#: an array's key → the letters of its entries' plain names (the GRU candidate's letter is n)
_LETTERS = {"V": "v", "c": "c", **{f"{M}_{g}": M.lower() + ("n" if g == "h" else g)
                                   for gates in GATES.values() for g in gates for M in ("U", "W", "b")}}


def sigmoid(z):
    """σ(z) = 1/(1 + e^−z), in the form that does not overflow."""
    return 0.5 * (1.0 + np.tanh(0.5 * z))


def shapes(cell, inputs, hidden, outputs=None, bias=False, output="dense") -> dict:
    """Each array's shape, in the order of DESIGN.md §5.4."""
    found = {}
    for g in GATES[cell]:
        found.update({f"U_{g}": (inputs, hidden), f"W_{g}": (hidden, hidden)})
        found.update({f"b_{g}": (hidden,)} if bias else {})
    if output == "dense":
        found.update({"V": (hidden, outputs)} | ({"c": (outputs,)} if bias else {}))
    return found


def _index(*indices) -> str:
    # indices run together unless one has two digits (DESIGN.md §1.1)
    return ",".join(map(str, indices)) if len(indices) > 1 and max(indices) >= 10 else "".join(map(str, indices))


def plain_names(cell, arrays: dict) -> dict:
    """Every entry of the arrays by its plain name: ``U_i[0, 1]`` is ui12, ``b_o[0]`` bo1, GRU ``W_h[1, 0]`` wn21."""
    found = {}
    for key, A in arrays.items():
        A = np.asarray(A)
        for at in np.ndindex(A.shape):
            found[_LETTERS[key] + _index(*(k + 1 for k in at))] = float(A[at])
    return found


def from_plain(cell, values: dict, inputs, hidden, outputs=None, bias=False, output="dense") -> dict:
    """The arrays from plain names (the inverse of plain_names)."""
    P = {}
    for key, shape in shapes(cell, inputs, hidden, outputs, bias, output).items():
        P[key] = np.empty(shape)
        for at in np.ndindex(shape):
            P[key][at] = values[_LETTERS[key] + _index(*(k + 1 for k in at))]
    return P


def _affine(P, g, x, h):
    return x @ P[f"U_{g}"] + h @ P[f"W_{g}"] + P.get(f"b_{g}", 0.0)


def _lstm_step(P, act, x, h, c):
    i, f, o = (sigmoid(_affine(P, g, x, h)) for g in "ifo")
    s_g = _affine(P, "g", x, h)
    g = act_value(act, s_g)
    c_new = f * c + i * g
    return {"x": x, "h_prev": h, "c_prev": c, "i": i, "f": f, "o": o, "g": g, "s_g": s_g, "c": c_new,
            "h": o * act_value(act, c_new)}


def _lstm_back(P, act, k, dh, dc, grads):
    """One step back: (dh<t−1>, dc<t−1>) from ∂E/∂h<t> and the cell path's ∂E/∂c<t> (from t+1)."""
    dc = dc + dh * k["o"] * act_prime(act, k["c"])                 # through h<t> = o ⊙ φ(c<t>)
    d = {"o": dh * act_value(act, k["c"]) * k["o"] * (1 - k["o"]),  # δ's of the pre-activations
         "i": dc * k["g"] * k["i"] * (1 - k["i"]),
         "f": dc * k["c_prev"] * k["f"] * (1 - k["f"]),
         "g": dc * k["i"] * act_prime(act, k["s_g"])}
    dh_prev = 0.0
    for g, delta in d.items():
        _accumulate(grads, g, k["x"], k["h_prev"], delta)
        dh_prev = dh_prev + delta @ P[f"W_{g}"].T
    return dh_prev, dc * k["f"]


def _gru_step(P, act, x, h, c=None):
    r, z = (sigmoid(_affine(P, g, x, h)) for g in "rz")
    s_h = x @ P["U_h"] + (r * h) @ P["W_h"] + P.get("b_h", 0.0)
    n = act_value(act, s_h)
    return {"x": x, "h_prev": h, "r": r, "z": z, "s_h": s_h, "n": n, "h": z * h + (1 - z) * n, "c": None}


def _gru_back(P, act, k, dh, dc, grads):
    h_prev, r, z = k["h_prev"], k["r"], k["z"]
    d_h = dh * (1 - z) * act_prime(act, k["s_h"])                   # δ of the candidate's sum
    _accumulate(grads, "h", k["x"], r * h_prev, d_h)
    d_rh = d_h @ P["W_h"].T                                          # ∂E/∂(r ⊙ h<t−1>)
    d_z = dh * (h_prev - k["n"]) * z * (1 - z)
    d_r = d_rh * h_prev * r * (1 - r)
    dh_prev = dh * z + d_rh * r
    for g, delta in (("z", d_z), ("r", d_r)):
        _accumulate(grads, g, k["x"], h_prev, delta)
        dh_prev = dh_prev + delta @ P[f"W_{g}"].T
    return dh_prev, None


def _accumulate(grads, g, x, below, delta):
    grads[f"U_{g}"] += x.T @ delta
    grads[f"W_{g}"] += below.T @ delta
    if f"b_{g}" in grads:
        grads[f"b_{g}"] += delta.sum(axis=0)


def bptt(cell, P, X, Y, *, activation="tanh", output_activation="linear", loss="mse", output="dense",
             h0=None, c0=None, truncate=None):
    """(E, grads) of the LSTM or GRU, summed over the batch; grads has P's keys.

    h0, c0: (batch, hidden) initial states (zeros when None; c0 for the LSTM only).
    truncate K: no error flows from step t+1 back to step t when t is a multiple of K.
    """
    X, Y = np.asarray(X, dtype=float), np.asarray(Y, dtype=float)
    P = {k: np.asarray(v, dtype=float) for k, v in P.items()}
    batch, T, _ = X.shape
    H = P[f"W_{GATES[cell][0]}"].shape[0]
    h = np.zeros((batch, H)) if h0 is None else np.asarray(h0, dtype=float)
    c = (np.zeros((batch, H)) if c0 is None else np.asarray(c0, dtype=float)) if cell == "lstm" else None
    step, back = (_lstm_step, _lstm_back) if cell == "lstm" else (_gru_step, _gru_back)
    kept, E, dense = [], 0.0, output == "dense"
    for t in range(T):
        k = step(P, activation, X[:, t], h, c)
        h, c = k["h"], k["c"]
        if dense:
            k["q"] = h @ P["V"] + P.get("c", 0.0)
            k["y"] = act_value(output_activation, k["q"])
            E += _loss_value(output_activation, loss, k["q"], k["y"], Y[:, t]).sum()
        else:
            E += _loss_value("linear", loss, h, h, Y[:, t]).sum()
        kept.append(k)
    grads = {key: np.zeros_like(v) for key, v in P.items()}
    dh_next, dc_next = np.zeros((batch, H)), np.zeros((batch, H))
    for t in range(T, 0, -1):
        k = kept[t - 1]
        if dense:
            e = _output_delta(output_activation, loss, k["q"], k["y"], Y[:, t - 1])    # ∂E/∂q<t>
            grads["V"] += k["h"].T @ e
            if "c" in grads:
                grads["c"] += e.sum(axis=0)
            dh = e @ P["V"].T
        else:
            dh = _output_delta("linear", loss, k["h"], k["h"], Y[:, t - 1])           # ∂E/∂h<t> of step t's loss
        if t < T and (truncate is None or t % truncate != 0):
            dh = dh + dh_next
        else:
            dc_next = np.zeros((batch, H))
        dh_next, dc_next = back(P, activation, k, dh, dc_next, grads)
    return E, grads
