"""Reading a values file (DESIGN.md §2.3): every weight and bias, and x…/t… or samples.

>>> from symbackprop._spec import from_spec
>>> v = parse_values(from_spec("1-1"), {"w11[1]": 0.5, "x1": 2, "t1": 1})
>>> v.X.tolist(), v.W[0].tolist(), v.reduction
([[2.0]], [[0.5]], 'sum')
"""
from __future__ import annotations

import json
import math
import tomllib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import _names as names
from ._errors import ValuesError
from ._files import read_text
from ._rnn import RNN
from ._timed import parse_name
from ._network import Network


@dataclass(frozen=True)
class Values:
    W: list
    b: list | None
    X: np.ndarray
    T: np.ndarray
    reduction: str
    batch: bool       # given as samples = [...]


def read_values_file(path: str) -> dict:
    p = Path(path)
    text = read_text(path, "values file", ValuesError)
    try:
        data = tomllib.loads(text) if p.suffix.lower() == ".toml" else json.loads(text)
    except (tomllib.TOMLDecodeError, json.JSONDecodeError) as err:
        kind = "TOML" if p.suffix.lower() == ".toml" else "JSON"
        raise ValuesError(f"values file {path!r} is not valid {kind}: {err}") from None
    if not isinstance(data, dict):
        raise ValuesError(f"values file {path!r} must map names to numbers, e.g. {{\"w11[1]\": 0.5, \"x1\": 1}}")
    return data


def check_targets(groups, loss) -> None:
    """ValuesError when targets break what the derivation's δ assumes: ``groups`` are (names, rows) of targets
    that must sum to 1 (softmax with cross-entropy, log_softmax with nll: δ = p − t needs it), each row one
    sample's numbers; a one-hot loss (multiclass hinge) also wants every row one-hot."""
    for names_, rows in groups:
        for row in np.atleast_2d(np.asarray(rows, dtype=float)):
            total = float(row.sum())
            if loss.targets == "distribution" and (abs(total - 1.0) > 1e-9 or (row < 0).any()):
                raise ValuesError(f"targets {', '.join(names_)} are {', '.join(f'{v:g}' for v in row)}: with loss "
                                  f"{loss.name} they are a distribution (δ = p − t needs it): make them ≥ 0 and "
                                  f"summing to 1, e.g. one-hot")
            if loss.one_hot and loss.targets != "distribution" and not (
                    set(row.tolist()) <= {0.0, 1.0} and total == 1.0):
                raise ValuesError(f"targets {', '.join(names_)} are {', '.join(f'{v:g}' for v in row)}: loss "
                                  f"{loss.name} reads one class: make them one-hot (a single 1, the rest 0)")


def _number(name: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValuesError(f"{name} = {value!r} is not a number")
    value = float(value)
    if not math.isfinite(value):
        raise ValuesError(f"{name} is {value}: give a finite number")
    return value


def _sample(net: Network, entries: dict, where: str):
    """x and t vectors from one sample's entries."""
    n_in, n_out = net.layers[0], net.layers[-1]
    x, t = np.zeros(n_in), np.zeros(n_out)
    want = {f"x{i}" for i in range(1, n_in + 1)} | {f"t{j}" for j in range(1, n_out + 1)}
    missing = sorted(want - set(entries), key=lambda n: (n[0], int(n[1:])))
    if missing:
        raise ValuesError(f"{where}: missing {missing[0]} (every x1…x{n_in} and t1…t{n_out} is needed)")
    for key, value in entries.items():
        if key not in want:
            raise ValuesError(f"{where}: unknown name {key!r}; a sample holds x1…x{n_in} and t1…t{n_out}")
        v = _number(key, value)
        (x if key[0] == "x" else t)[int(key[1:]) - 1] = v
    return x, t


def _reduction(data: dict) -> str:
    """How E and the gradients gather a batch: "sum" (the seed's accumulation) or "mean"."""
    reduction = data.get("reduction", "sum")
    if reduction not in ("sum", "mean"):
        raise ValuesError(f"reduction = {reduction!r}: use \"sum\" or \"mean\"")
    return reduction


def parse_values(net: Network, data: dict) -> Values:
    """Check every entry against ``net`` and arrange them as matrices (W[k-1] holds wij[k])."""
    L = net.layers
    W = [np.full((L[k], L[k + 1]), np.nan) for k in range(len(L) - 1)]
    b = [np.full(L[k + 1], np.nan) for k in range(len(L) - 1)] if net.bias else None
    reduction = _reduction(data)
    per_sample = {}
    for key, value in data.items():
        if key in ("reduction", "samples"):
            continue
        if key[:1] in ("x", "t") and key[1:].isdigit():
            per_sample[key] = value
            continue
        try:
            parts = names.parse(key)
        except names.NameError_ as err:
            raise ValuesError(f"unknown name {key!r}: {err}") from None
        if parts.kind not in ("w", "b") or not net.has(names.plain(parts)):
            raise ValuesError(f"unknown name {key!r}: not a weight or bias of {net.describe()}")
        v = _number(key, value)
        if parts.kind == "w":
            W[parts.layer - 1][parts.indices[0] - 1, parts.indices[1] - 1] = v
        else:
            b[parts.layer - 2][parts.indices[0] - 1] = v
    for p in net.parameters():
        pp = names.parse(p.name)
        value = W[pp.layer - 1][pp.indices[0] - 1, pp.indices[1] - 1] if pp.kind == "w" \
            else b[pp.layer - 2][pp.indices[0] - 1]
        if np.isnan(value):
            raise ValuesError(f"missing {p.name}: the values file needs every weight"
                              f"{' and bias' if net.bias else ''}")
    rows = [_sample(net, entries, where) for where, entries in _tables(
        data, per_sample, "x and t", "{x1 = …, t1 = …} tables", "such as {x1 = 0.5, t1 = 1}")]
    return Values(W, b, np.array([x for x, _ in rows]), np.array([t for _, t in rows]), reduction, "samples" in data)


def _tables(data: dict, per_sample: dict, inside: str, listed: str, table: str) -> list:
    """(where, entries) of each sample: the ``samples`` list's tables, or the file's own entries.

    inside, listed, table: how the messages name what a sample holds.
    """
    if "samples" not in data:
        return [("values file", per_sample)]
    if per_sample:
        raise ValuesError(f"{sorted(per_sample)[0]} given beside samples: put every {inside} inside samples")
    samples = data["samples"]
    if not isinstance(samples, list) or not samples:
        raise ValuesError(f"samples must be a non-empty list of {listed}")
    for n, entry in enumerate(samples, start=1):
        if not isinstance(entry, dict):
            raise ValuesError(f"samples[{n}] must be a table {table}")
    return [(f"samples[{n}]", entry) for n, entry in enumerate(samples, start=1)]


# ---------------------------------------------------------------- recurrent networks
@dataclass(frozen=True)
class RNNValues:
    P: dict
    X: np.ndarray
    T: np.ndarray
    h0: np.ndarray
    reduction: str


def parse_rnn_values(net: RNN, data: dict) -> RNNValues:
    """Every shared weight (and bias), xi<t> and tj<t> for every step, optional hj<0>; or samples = [...]."""
    shapes = {"U": (net.inputs, net.hidden), "W": (net.hidden, net.hidden), "V": (net.hidden, net.outputs)}
    if net.bias:
        shapes.update({"b": (net.hidden,), "c": (net.outputs,)})
    P = {k: np.full(s, np.nan) for k, s in shapes.items()}
    reduction = _reduction(data)
    per_sample = {}
    for key, value in data.items():
        if key in ("reduction", "samples"):
            continue
        try:
            kind, indices, t = parse_name(key)
        except Exception as err:
            raise ValuesError(f"unknown name {key!r}: {err}") from None
        if not net.exists(kind, indices, t) or kind not in ("u", "w", "v", "b", "c", "x", "t", "h") or \
                (kind == "h" and t != 0):
            raise ValuesError(f"unknown name {key!r}: not a weight, bias, input xi<t>, target tj<t> or hj<0> "
                              f"of the {net.describe()}")
        if kind in ("x", "t", "h"):
            per_sample[key] = value
            continue
        group = {"u": "U", "w": "W", "v": "V", "b": "b", "c": "c"}[kind]
        P[group][tuple(i - 1 for i in indices)] = _number(key, value)
    for p in net.parameters():
        kind, indices, _ = parse_name(p.name)
        group = {"u": "U", "w": "W", "v": "V", "b": "b", "c": "c"}[kind]
        if np.isnan(P[group][tuple(i - 1 for i in indices)]):
            raise ValuesError(f"missing {p.name}: the values file needs every weight{' and bias' if net.bias else ''}")
    rows = [_sequence(net, entries, where) for where, entries in _tables(
        data, per_sample, "x, t and h<0>", "tables of xi<t> and tj<t>", "of xi<t> and tj<t>")]
    X, T, h0 = (np.array([r[n] for r in rows]) for n in range(3))
    return RNNValues(P, X, T, h0, reduction)


def _sequence(net: RNN, entries: dict, where: str):
    X, T, h0 = np.full((net.steps, net.inputs), np.nan), np.full((net.steps, net.outputs), np.nan), np.zeros(net.hidden)
    for key, value in entries.items():
        try:
            kind, indices, t = parse_name(key)
        except Exception as err:
            raise ValuesError(f"{where}: unknown name {key!r}: {err}") from None
        if kind not in ("x", "t", "h") or not net.exists(kind, indices, t) or (kind == "h" and t != 0):
            raise ValuesError(f"{where}: unknown name {key!r}; a sequence holds xi<t>, tj<t> (t = 1 … {net.steps}) "
                              "and optionally hj<0>")
        v = _number(key, value)
        if kind == "h":
            h0[indices[0] - 1] = v
        else:
            (X if kind == "x" else T)[t - 1, indices[0] - 1] = v
    for M, letter, n in ((X, "x", net.inputs), (T, "t", net.outputs)):
        missing = np.argwhere(np.isnan(M))
        if len(missing):
            t, i = missing[0]
            raise ValuesError(f"{where}: missing {letter}{i + 1}<{t + 1}> (every {letter}1<t> … {letter}{n}<t> for "
                              f"t = 1 … {net.steps} is needed)")
    return X, T, h0
