"""eval for a layer stack over a batch: a values file's numbers through the printed formulas themselves.

The file names every parameter by its plain name (``w11[1]``, ``b1[2]``, ``gamma1[3]``, ``beta1[3]``)
and exactly ``batch`` samples (batch norm's statistics are taken over them, so the batch is one
whole): ``samples = [{x1 = …, t1 = …, m1[4] = 1}, …]``, or at the top with the sample in angle
brackets (``x1<2> = …``).  A dropout layer's mask ``m…[k]`` is 0 (dropped) or 1 (kept); a missing
one is drawn from ``seed = …`` (kept with probability 1 − rate), and the output says so.
``reduction`` is "sum" or "mean" (of E and the gradients; δ's and stages are of the summed E).
ε is 1e-5.

>>> from symbackprop._batch import from_data
>>> net = from_data({"inputs": 1, "batch": 2, "layer": [{"kind": "dropout", "rate": 0.5},
...                  {"size": 1, "activation": "linear"}]}, "spec")
>>> r = evaluate(net, {"w11[2]": 3, "samples": [{"x1": 1, "t1": 0, "m1[2]": 1},
...                                             {"x1": 2, "t1": 0, "m1[2]": 0}]}, lr=0.5)
>>> r.forward["a1[2]<1>"], r.loss, r.stages["a1[2]<1>"], r.gradient["w11[2]"], r.updated["w11[2]"]
([2.0], 18.0, 18.0, 12.0, -3.0)
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field

import numpy as np
import sympy

from . import _views as views
from ._batch import EPSILON
from ._batch_build import leaves
from ._batch_derive import derive_batch
from ._batch_names import BName, read
from ._errors import NotationError, SpecError, ValuesError
from ._evaluate import Evaluation
from ._program import printed_formulas, program
from ._report import _evaluation_lines
from ._values import _number, _reduction
from ._views import number

_KEYS = ("reduction", "samples", "seed")
_ASCII = str.maketrans({"→": "->", "−": "-", "…": "...", "η": "eta"})


@dataclass(frozen=True)
class BatchEvaluation(Evaluation):
    """eval's numbers for a batch stack: every value by its full name (one number each, in a list as
    the other kinds' per-sample values), ``stages`` the ∂E/∂ of the nodes without a δ, ``masks`` every
    dropout mask, ``drawn`` the masks drawn from ``seed``."""

    stages: dict = field(default_factory=dict)
    masks: dict = field(default_factory=dict)
    drawn: tuple = ()
    seed: int | None = None

    __repr__ = views.evaluation_repr


def _read(key: str, where: str) -> tuple:
    try:
        return read(key)
    except NotationError as err:
        raise ValuesError(f"{where}unknown name {key!r}: {err}") from None


def _seed(data: dict):
    seed = data.get("seed")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or seed < 0):
        raise ValuesError(f"seed = {seed!r}: give a whole number ≥ 0 (the missing dropout masks are drawn from it)")
    return seed


def _samples(net, data: dict, top: dict) -> list:
    """(where, {key: value}) of each of the batch's samples, from ``samples`` or the top's <s> names."""
    N = net.samples
    couples = "batch norm takes its statistics over the batch" if any(
        lay.kind == "batchnorm" for _, lay in net.norm_layers()) else "the derivation is over that batch"
    if "samples" in data:
        if top:
            raise ValuesError(f"{sorted(top)[0]} given beside samples: put every x, t and m inside samples")
        rows = data["samples"]
        if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
            raise ValuesError("samples must be a list of tables such as {x1 = 0.5, t1 = 1}")
        if len(rows) != N:
            raise ValuesError(f"samples has {len(rows)} table{'s' if len(rows) != 1 else ''}, but the spec has "
                              f"batch = {N} and {couples}: give exactly {N} sample{'s' if N > 1 else ''} (or change batch in "
                              "the spec)")
        return [(f"samples[{n}]", row) for n, row in enumerate(rows, start=1)]
    rows = [("values file", {}) for _ in range(N)]
    for key, value in top.items():
        sample = _read(key, "")[3]
        if sample is None and N > 1:
            raise ValuesError(f"{key}: say which sample, e.g. {key}<1> (1 … {N}), or put the samples in "
                              "samples = [{…}, …]")
        if not 1 <= (sample or 1) <= N:
            raise ValuesError(f"{key}: the spec has batch = {N} and {couples}: samples are <1> … <{N}>")
        rows[(sample or 1) - 1][1][key] = value
    return rows


def _span(letter: str, n: int) -> str:
    return f"{letter}1" if n == 1 else f"{letter}1 … {letter}{n}"


def _sample(net, n: int, where: str, entries: dict, masks: set) -> dict:
    """One sample's x, t and given masks by full name; ValuesError for an unknown, misplaced or bad one."""
    found = {}
    wanted = {s.name for s in leaves(net) if getattr(s, "sample", None) == n}
    for key, value in entries.items():
        letter, indices, layer, sample = _read(key, f"{where}: ")
        name = BName(letter, indices, layer, n).name
        if sample not in (None, n) or name not in wanted:
            raise ValuesError(f"{where}: {key!r} is not a name sample {n} holds; it holds every input "
                              f"{_span('x', net.inputs)}, target {_span('t', net.layers[-1].size)}"
                              + (" and dropout mask m…[k] (0 or 1)" if masks else ""))
        found[name] = _number(key, value)
        if letter == "m" and found[name] not in (0.0, 1.0):
            raise ValuesError(f"{where}: {key} = {value!r}; a dropout mask is 0 (dropped) or 1 (kept)")
    missing = sorted((wanted - masks) - set(found), key=lambda s: (s[0] == "t", s))
    if missing:
        raise ValuesError(f"{where}: missing {missing[0].split('<')[0]} (every {_span('x', net.inputs)} and "
                          f"{_span('t', net.layers[-1].size)} is needed)")
    return found


def _masks(net, given: dict, seed) -> tuple:
    """Every mask by full name, and those drawn: each kept with probability 1 − rate, in the order of
    samples, layers, nodes (the same draws whichever masks are given)."""
    rng = None if seed is None else np.random.default_rng(seed)
    masks, drawn = {}, []
    for s in range(1, net.samples + 1):
        for k, lay in net.dropout_layers():
            for j in range(1, net.sizes[k - 1] + 1):
                name = BName("m", (j,), k, s).name
                draw = None if rng is None else float(rng.random() >= float(lay.rate))
                if name in given:
                    masks[name] = given[name]
                elif draw is None:
                    raise ValuesError(f"missing the dropout mask m{j}[{k}] of sample {s}: give every mask (0 or 1), "
                                      "or seed = 0 in the values file (or --seed 0) to draw the missing ones")
                else:
                    masks[name], _ = draw, drawn.append(name)
    return masks, tuple(drawn)


def read_values(d, data: dict) -> tuple:
    """(parameters {name: number}, every leaf {name: number}, masks, drawn, seed, reduction)."""
    net = d.network
    reduction, seed = _reduction(data), _seed(data)
    params = {p.name for p in d.sweep.model.parameters}
    values, top = {}, {}
    for key, value in data.items():
        if key in _KEYS:
            continue
        letter = _read(key, "")[0]
        name = d.name_of(key)
        if letter in ("x", "t", "m"):
            top[key] = value
        elif name in params:
            values[name] = _number(key, value)
        else:
            raise ValuesError(f"unknown name {key!r}: not a weight, bias, γ or β of {net.describe()} (the forward "
                              "pass computes the other nodes)")
    missing = [p.name for p in d.sweep.model.parameters if p.name not in values]
    if missing:
        raise ValuesError(f"missing {missing[0]}: the values file needs every parameter (w, b, gamma, beta)")
    masks = {name for name in (s.name for s in leaves(net)) if name.startswith("m")}
    given = {}
    for n, (where, entries) in enumerate(_samples(net, data, top), start=1):
        given.update(_sample(net, n, where, entries, masks))
    mask_values, drawn = _masks(net, given, seed)
    inputs = {**given, **mask_values, "epsilon": EPSILON}
    return values, inputs, mask_values, drawn, seed, reduction


def _stages(d):
    """The stages' NumPy code: from the leaves, the forward values and the δ's, each ∂E/∂ named stage[…]."""
    inputs = [*d.base_symbols(), *(d.symbols[k] for k in d.forward), *(d.symbols[k] for k in d.deltas)]
    return program(inputs, [[(sympy.Symbol(f"stage[{k}]"), v) for k, v in d.stages.items()]])


def _float(v) -> float:
    return float(v) + 0.0                 # −0.0 (a product with a dropped node's 0) as 0.0


def evaluate(net, data: dict, lr: float | None = None) -> BatchEvaluation:
    """Forward values (the batch statistics among them), E, every δ and stage, every gradient and,
    with ``lr``, every parameter after one step from its value before the update."""
    d = derive_batch(net, weights=())
    values, inputs, masks, drawn, seed, reduction = read_values(d, data)
    with np.errstate(all="ignore"):
        out = printed_formulas(d)({**values, **inputs})
        # out holds the gradients by the parameters' names: the parameters' values go over them
        staged = _stages(d)({**out, **values, **inputs}) if d.stages else {}
    scale = 1 / net.samples if reduction == "mean" else 1.0
    loss = float(out["E"]) * scale
    if not np.isfinite(loss):
        raise ValuesError("E is not a finite number at these values (a log of 0?): choose other values")
    forward = {k: [_float(out[k])] for k in d.forward}
    delta = {k: [_float(out[k])] for k in d.deltas}
    stages = {k: _float(staged[f"stage[{k}]"]) for k in d.stages}
    gradient = {p.name: _float(out[p.name]) * scale for p in d.sweep.model.parameters}
    updated = {n: values[n] - lr * g for n, g in gradient.items()} if lr is not None else None
    return BatchEvaluation(net, net.samples, loss, forward, delta, gradient, updated, lr, reduction, stages, masks,
                           drawn, seed)


def batch_evaluation_text(r: BatchEvaluation, ascii_only: bool = False) -> str:
    """eval's text: the masks (and how they were drawn), the values, the stages before the gradients."""
    d = "d" if ascii_only else "∂"
    out = _evaluation_lines(r, ascii_only, r.network.describe(), "sample")
    if r.masks:
        how = ("every one given" if not r.drawn else
               f"{len(r.drawn)} of {len(r.masks)} drawn with seed = {r.seed}, each node kept with probability "
               "1 − rate" + ("" if len(r.drawn) == len(r.masks) else f"; drawn: {', '.join(r.drawn)}"))
        out[1:1] = ["", f"Dropout masks ({how})"] + [f"  {k} = {v:g}" for k, v in r.masks.items()]
    if r.stages:
        at = out.index("Gradients")
        what = "of the summed E, " if r.reduction == "mean" else ""
        delta = "delta" if ascii_only else "δ"
        out[at - 1:at - 1] = ["", f"Staged gradients ({what}{d}E/{d} of the nodes without a {delta})"] + \
            [f"  {d}E/{d}{k} = {number(v)}" for k, v in r.stages.items()]
    if r.updated is not None:
        eta = "eta" if ascii_only else "η"
        out += ["", f"After one step ({eta} = {number(r.lr)}; every parameter from its value before the update)"]
        out += [f"  {k} = {number(v)}" for k, v in r.updated.items()]
    text = "\n".join(out) + "\n"
    return text.translate(_ASCII) if ascii_only else text


def batch_evaluation_json(r: BatchEvaluation) -> str:
    data = {"loss": r.loss, "reduction": r.reduction, "batch": r.batch,
            "forward": {k: v[0] for k, v in r.forward.items()}, "delta": {k: v[0] for k, v in r.delta.items()},
            "stages": r.stages, "gradient": r.gradient, "updated": r.updated,
            "masks": r.masks, "masks_drawn": list(r.drawn), "seed": r.seed}
    return json.dumps(data, indent=1) + "\n"


def evaluate_batch(net, data: dict, lr: float | None = None, truncate=None, report: bool = False):
    """eval for the kind: (text writer, JSON writer, BatchEvaluation), as every kind's evaluate."""
    if report:
        raise SpecError("--report is for recurrent networks: a spec file with kind = \"rnn\"")
    if truncate is not None:                 # the messages of _kinds (imported from here, it would be a cycle)
        raise SpecError("truncate (--truncate) is for recurrent networks: a spec file with kind = \"rnn\"")
    return batch_evaluation_text, batch_evaluation_json, evaluate(net, data, lr)
