"""Gated recurrent cells in the commands: the spec file's keys and the kind's parts.

A spec file with ``kind = "rnn"`` and ``cell = "lstm"`` or ``"gru"`` (DESIGN.md §5.2) makes a
GatedRNN; ``cell = "elman"`` (or no cell) the simple RNN.

>>> net = from_data({"kind": "rnn", "cell": "lstm", "inputs": 2, "hidden": 1, "steps": 2,
...                  "output": "hidden"}, "the spec")
>>> net.describe()
'LSTM 2-1, T = 2, tanh cell, loss on h, mse, no biases'
"""
from __future__ import annotations

from ._errors import SpecError, check_table
from ._gated import GatedRNN

KEYS = {"kind": str, "cell": str, "inputs": int, "hidden": int, "outputs": int, "steps": int, "activation": str,
        "output_activation": str, "loss": str, "bias": bool, "output": str}


def from_data(data: dict, source: str, activation=None, loss=None, bias=None) -> GatedRNN:
    """A GatedRNN from a spec file's table; options override the file (``activation`` may be
    [cell, output])."""
    check_table(data, KEYS, ("inputs", "hidden", "steps", "cell"), source, "a gated RNN spec has",
                "kind = \"rnn\", cell = \"lstm\", inputs = 2, hidden = 3, outputs = 1, steps = 4")
    merged = {"activation": "tanh", "output_activation": "linear", "loss": "mse", "bias": False,
              "output": "dense", "outputs": None, **data}
    if isinstance(activation, (list, tuple)):
        if len(activation) != 2:
            raise SpecError(f"activation {','.join(activation)!r}: give one for the cell, or cell,output "
                            "(e.g. tanh,sigmoid)")
        merged["activation"], merged["output_activation"] = activation
    elif activation is not None:
        merged["activation"] = activation
    for key, value in (("loss", loss), ("bias", bias)):
        if value is not None:
            merged[key] = value
    merged.pop("kind")
    if merged["cell"] not in ("lstm", "gru"):
        raise SpecError(f"{source}: cell = {merged['cell']!r}; use \"lstm\" or \"gru\" (or \"elman\", the simple RNN)")
    if merged["output"] == "dense" and merged["outputs"] is None:
        raise SpecError(f"{source}: a dense output layer needs outputs = … (or output = \"hidden\": the loss reads h)")
    return GatedRNN.build(**merged)


def is_gated(data: dict) -> bool:
    """Whether a spec file's table is a gated RNN (kind = "rnn" with an LSTM or GRU cell)."""
    return data.get("kind") == "rnn" and data.get("cell", "elman") != "elman"


def kind(Kind):
    """The parts of the commands for gated cells, as a ``_kinds.Kind`` (the class is passed in, so that
    the registry and this module do not import each other)."""

    def derive_(net, weights=None, *, expanded=None, prove=False, max_weights=30, truncate=None, progress=None):
        from ._gated_derive import derive_gated
        return derive_gated(net, weights, truncate=truncate, prove=prove, max_weights=max_weights, expanded=expanded)

    def prove_(d):
        from ._gated_derive import prove_gated
        return prove_gated(d)

    def compile_(net, reduction="sum", truncate=None):
        from ._gated_numeric import GatedFunction
        return GatedFunction(net, reduction, truncate)

    def check_(net, samples=5, seed=0, batch=1, truncate=None):
        from ._gated_check import check_gated
        return check_gated(net, samples, seed, batch, truncate)

    def rules():
        from ._gated_verify import RULES, reading
        return reading, RULES

    right_and_wrong = (lambda d, eq: rules()[1][0](d, eq), lambda d, eq, right: rules()[1][1](d, eq, right))

    def evaluate_(net, data, lr=None, truncate=None, report=False):
        from ._gated_values import evaluate_gated
        return evaluate_gated(net, data, lr, truncate, report)

    def draw_(net, standalone=False, fmt="tikz"):
        from ._gated_draw import draw_gated
        return draw_gated(net, standalone, fmt)

    def plain_name(text):
        from ._gated_names import gsym, parse
        kind_, gate, indices, t = parse(text.strip().replace(" ", "").replace("δ", "delta"))
        return gsym(kind_, *indices, gate=gate, t=t).name

    from ._gated_verify import VERIFIER
    return Kind("gated", derive_, prove_, compile_, check_, lambda net: rules()[0](net), right_and_wrong, evaluate_, draw_,
                None, plain_name, "uγij, wγij, vij (and bγj, cj) for each gate γ", VERIFIER)
