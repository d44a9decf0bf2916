"""Layer stacks over a batch (normalisation, dropout) in the commands: the kind's parts.

>>> from symbackprop._batch import from_data
>>> net = from_data({"inputs": 1, "layer": [{"kind": "batchnorm"}, {"size": 1}]}, "spec")
>>> import symbackprop as sb
>>> sb.derive(net).gradient("gamma1[2]")
xhat1[2]<1>*delta1[2]<1> + xhat1[2]<2>*delta1[2]<2>
"""
from __future__ import annotations

from ._errors import SpecError


def _recurrent_only(truncate, report=False) -> None:
    if report:
        raise SpecError("--report is for recurrent networks: a spec file with kind = \"rnn\"")
    if truncate is not None:
        raise SpecError("truncate (--truncate) is for recurrent networks: a spec file with kind = \"rnn\"")


def kind(Kind):
    """The parts of the commands for batch stacks, as a ``_kinds.Kind`` (the class is passed in, so that
    the registry and this module do not import each other)."""

    def derive_(net, weights=None, *, expanded=None, prove=False, max_weights=30, truncate=None, progress=None):
        from ._batch_derive import derive_batch
        _recurrent_only(truncate)
        return derive_batch(net, weights, expanded, prove, max_weights)

    def prove_(d):
        from ._batch_derive import prove_batch
        from ._batch_forms import prove_forms
        return {**prove_batch(d), **prove_forms(d)}

    def compile_(net, reduction="sum", truncate=None):
        from ._batch_numeric import BatchFunction
        _recurrent_only(truncate)
        return BatchFunction(net, reduction)

    def check_(net, samples=5, seed=0, batch=1, truncate=None):
        from ._batch_check import check_batch
        _recurrent_only(truncate)
        return check_batch(net, samples, seed, batch)

    def rules():
        from ._batch_verify import RULES, reading
        return reading, RULES

    right_and_wrong = (lambda d, eq: rules()[1][0](d, eq), lambda d, eq, right: rules()[1][1](d, eq, right))

    def evaluate_(net, data, lr=None, truncate=None, report=False):
        from ._batch_values import evaluate_batch
        _recurrent_only(truncate, report)
        return evaluate_batch(net, data, lr)

    def draw_(net, standalone=False, fmt="tikz"):
        from ._batch_draw import draw_batch
        return draw_batch(net, standalone, fmt)

    def plain_name(text):
        from ._batch_names import BName, read
        return BName(*read(text)).name

    from ._batch_verify import VERIFIER
    return Kind("batch", derive_, prove_, compile_, check_, lambda net: rules()[0](net), right_and_wrong, evaluate_,
                draw_, None, plain_name, "wij[k], bj[k], gammaj[k], betaj[k]", VERIFIER)
