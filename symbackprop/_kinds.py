"""What each kind of network contributes to the commands, in one registry.

The commands (``derive``, ``eval``, ``check``, ``verify``, ``draw``, ``cost``,
``compile``) are written once; they look a network's kind up here by its class and
call what it gives.  A new kind is one entry (``extend.register_kind``).

>>> import symbackprop as sb
>>> kind_of(sb.network("2-3-1")).name, kind_of(sb.rnn(1, 1, 1, 2)).name
('dense', 'rnn')
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from ._errors import SpecError


@dataclass(frozen=True)
class Kind:
    """One kind's parts.

    derive(net, weights, expanded=, prove=, max_weights=, truncate=, progress=) → derivation;
    prove(derivation) → {name: how}; compile(net, reduction, truncate) → f;
    check(net, samples, seed, batch, truncate) → Report; reading(net) → how verify reads
    its equations (_equation.Reading) and rules (verify's expected answer and named mistakes); evaluate(net, data, lr, truncate, report) → (text writer, JSON writer, result);
    draw(net, standalone, fmt) → TikZ or SVG; cost(net, batch, repeat) → rows, or None;
    plain_name(text) → the parameter's plain name; weights: how its weights are named; verifier: a
    kind's own (check_chain, verify_lines, Sampler), for equations that are not ∂E/∂… (graphs).
    """

    name: str
    derive: Callable
    prove: Callable
    compile: Callable
    check: Callable
    reading: Callable
    rules: object
    evaluate: Callable
    draw: Callable
    cost: Callable | None
    plain_name: Callable
    weights: str
    verifier: object = None     # (check_chain, verify_lines, Sampler) when verify's own readers do not fit (graphs)


KINDS: dict = {}


def register(network_class: type, kind: Kind) -> Kind:
    """Make ``kind`` the parts of every network of ``network_class``."""
    KINDS[network_class] = kind
    return kind


#: the kinds made at their first use, by the qualified name of their network class: a command
#: imports the modules of the kind it works on, not every kind's
LATER: dict = {}


def is_network(obj) -> bool:
    """Whether ``obj`` is a network of a registered kind (made already, or at its first use)."""
    return type(obj) in KINDS or f"{type(obj).__module__}.{type(obj).__qualname__}" in LATER


def kind_of(net) -> Kind:
    """The kind of ``net``; SpecError for an object that is not a network."""
    kind = KINDS.get(type(net))
    if kind is None and f"{type(net).__module__}.{type(net).__qualname__}" in LATER:
        kind = register(type(net), LATER[f"{type(net).__module__}.{type(net).__qualname__}"]())
    if kind is None:
        raise SpecError(f"{type(net).__name__} is not a network: make one with symbackprop.network(...), "
                        "symbackprop.rnn(...) or symbackprop.graph(...)")
    return kind


def _no_truncate(truncate) -> None:
    if truncate is not None:
        raise SpecError("truncate (--truncate) is for recurrent networks: a spec file with kind = \"rnn\"")


# ---------------------------------------------------------------- the dense stack
def _draw(net, standalone: bool = False, fmt: str = "tikz") -> str:
    """Every kind's drawing comes from its layout (``_layout.py``)."""
    from ._document import standalone_drawing, tikz
    from ._svg import svg
    if fmt == "svg":
        return svg(net)
    return standalone_drawing(net) if standalone else tikz(net)


def _dense() -> Kind:
    # each part imports what it needs when it is called: a command loads its own modules only
    from . import _names as names

    def derive_(net, weights=None, *, expanded=None, prove=False, max_weights=30, truncate=None, progress=None):
        from ._derivation import derive
        _no_truncate(truncate)
        return derive(net, weights, expanded=expanded, prove=prove, max_weights=max_weights, progress=progress)

    def prove_(d):
        from ._proof import prove_all
        return prove_all(d)

    def compile_(net, reduction="sum", truncate=None):
        from ._compile import vectorized
        _no_truncate(truncate)
        return vectorized(net, reduction)

    def check_(net, samples=5, seed=0, batch=1, truncate=None):
        from ._check import check
        _no_truncate(truncate)
        return check(net, samples=samples, seed=seed, batch=batch)

    def reading(net):
        from ._equation import dense_reading
        return dense_reading(net)

    def evaluate_(net, data, lr=None, truncate=None, report=False):
        from ._evaluate import evaluate
        from ._report import evaluation_json, evaluation_text
        from ._values import parse_values
        if report:
            raise SpecError("--report is for recurrent networks: a spec file with kind = \"rnn\"")
        _no_truncate(truncate)
        return evaluation_text, evaluation_json, evaluate(net, parse_values(net, data), lr)

    def cost_(net, *args, **kwargs):
        from ._cost import cost
        return cost(net, *args, **kwargs)

    def expected(d, eq):
        from ._verify import RULES
        return RULES[0](d, eq)

    def mistakes(d, eq, right):
        from ._verify import RULES
        return RULES[1](d, eq, right)

    return Kind("dense", derive_, prove_, compile_, check_, reading, (expected, mistakes), evaluate_, _draw, cost_,
                lambda text: names.plain(names.parse(text)), "w11[1] … wij[L-1] (and bj[k])")


# ---------------------------------------------------------------- the recurrent network
def _recurrent() -> Kind:
    def derive_(net, weights=None, *, expanded=None, prove=False, max_weights=30, truncate=None, progress=None):
        from ._elman import derive_rnn
        return derive_rnn(net, weights, truncate=truncate, prove=prove, max_weights=max_weights, expanded=expanded)

    def prove_(d):
        from ._elman import prove_rnn
        return prove_rnn(d)

    def compile_(net, reduction="sum", truncate=None):
        from ._bptt import RNNVectorized
        return RNNVectorized(net, truncate, reduction)

    def check_(net, *args, **kwargs):
        from ._check import check_rnn
        return check_rnn(net, *args, **kwargs)

    def reading(net):
        from ._timed import reading
        return reading(net)

    def evaluate_(net, data, lr=None, truncate=None, report=False):
        from ._evaluate import evaluate_rnn
        from ._report import rnn_evaluation_json, rnn_evaluation_text
        from ._values import parse_rnn_values
        return rnn_evaluation_text, rnn_evaluation_json, evaluate_rnn(net, parse_rnn_values(net, data), lr,
                                                                      truncate, report)

    def expected(d, eq):
        from ._elman import expected_rnn
        return expected_rnn(d, eq)

    def mistakes(d, eq, right):
        from ._elman import mistakes_rnn
        return mistakes_rnn(d, eq, right)

    def plain_name(text):
        from ._elman import plain_name
        return plain_name(text)

    return Kind("rnn", derive_, prove_, compile_, check_, reading, (expected, mistakes), evaluate_, _draw, None,
                plain_name, "uij, wij, vij (and bj, cj)")


# ---------------------------------------------------------------- the computational graph
def _graph() -> Kind:
    from . import _circuit_numeric as numeric
    from . import _circuit_verify as verify
    from ._circuit_derive import derive_graph, prove_graph
    from ._circuit_draw import draw

    def derive_(net, weights=None, *, expanded=None, prove=False, max_weights=30, truncate=None, progress=None,
                at=None):
        _no_truncate(truncate)
        return derive_graph(net, at, weights, expanded, prove)

    def compile_(net, reduction="sum", truncate=None):
        _no_truncate(truncate)
        return numeric.GraphFunction(net)

    def check_(net, samples=5, seed=0, batch=1, truncate=None):
        _no_truncate(truncate)
        return numeric.check_graph(net, samples, seed, batch)

    def evaluate_(net, data, lr=None, truncate=None, report=False, every_node=False):
        if report:
            raise SpecError("--report is for recurrent networks: a spec file with kind = \"rnn\"")
        _no_truncate(truncate)
        return numeric.evaluation_text, numeric.evaluation_json, numeric.evaluate_graph(net, data, lr, every_node)

    def draw_(net, standalone=False, fmt="tikz", at=None):
        return draw(derive_graph(net, at), standalone, fmt)

    return Kind("graph", derive_, prove_graph, compile_, check_, verify.reading, verify.RULES, evaluate_, draw_, None,
                verify.plain_name, "its leaves", (verify.check_chain, verify.verify_lines, verify.GraphSampler))


# ---------------------------------------------------------------- convolution and pooling
def _convolutional() -> Kind:
    from ._conv_derive import derive_conv, prove_conv

    def derive_(net, weights=None, *, expanded=None, prove=False, max_weights=30, truncate=None, progress=None):
        _no_truncate(truncate)
        return derive_conv(net, weights, expanded, prove, max_weights)

    def compile_(net, reduction="sum", truncate=None):
        from ._conv_numeric import ConvFunction
        _no_truncate(truncate)
        return ConvFunction(net, reduction)

    def check_(net, samples=5, seed=0, batch=1, truncate=None):
        from ._conv_check import check_conv
        _no_truncate(truncate)
        return check_conv(net, samples, seed, batch)

    def reading(net):
        from ._conv_verify import reading
        return reading(net)

    def expected(d, eq):
        from ._conv_verify import RULES
        return RULES[0](d, eq)

    def mistakes(d, eq, right):
        from ._conv_verify import RULES
        return RULES[1](d, eq, right)

    def evaluate_(net, data, lr=None, truncate=None, report=False):
        from ._conv_values import evaluate_conv
        from ._report import evaluation_json, evaluation_text
        if report:
            raise SpecError("--report is for recurrent networks: a spec file with kind = \"rnn\"")
        _no_truncate(truncate)
        return evaluation_text, evaluation_json, evaluate_conv(net, data, lr)

    def draw_(net, standalone=False, fmt="tikz"):
        from ._conv_draw import draw_conv
        return draw_conv(net, standalone, fmt)

    return Kind("conv", derive_, prove_conv, compile_, check_, reading, (expected, mistakes), evaluate_, draw_, None,
                lambda text: text.strip(), "kcduv[k], wmj[k] (and bc[k])")


def register_built_in() -> None:
    """The kinds the package ships with (called once by the package's __init__)."""
    from ._network import Network
    from ._rnn import RNN
    register(Network, _dense())
    register(RNN, _recurrent())
    LATER.update({f"{__package__}._circuit.Circuit": _graph, f"{__package__}._conv.ConvNet": _convolutional,
                  f"{__package__}._gated.GatedRNN": _gated, f"{__package__}._batch.BatchNet": _batch})


def _gated() -> Kind:
    from ._gated_kind import kind
    return kind(Kind)


def _batch() -> Kind:
    from ._batch_kind import kind
    return kind(Kind)
