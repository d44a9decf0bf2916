"""Issue 8: property-based agreement over random networks (hypothesis), every loss among them.

Profiles (tests/conftest.py): "ci" (the default, 200 examples for the agreement property)
and "long" (HYPOTHESIS_PROFILE=long, for local runs of thousands).
"""
import json

import numpy as np
from hypothesis import example, given, settings
from hypothesis import strategies as st

import symbackprop as sb
from symbackprop._equation import functions_for, resolver
from symbackprop._grammar import MAX_LENGTH, parse_expression

from .conftest import HIDDEN, valid_combinations


NUMERIC = [c for c in valid_combinations() if "g" not in c[:2]]


def threshold_losses(numeric: bool) -> list:
    """(hidden, output, loss) for the Huber loss after every output activation, softmax too, the
    hinge loss after every elementwise one (one output node), the multiclass hinge loss after every
    elementwise one too, and nll after log_softmax (two or more output nodes for these two)."""
    outs = [h for h in HIDDEN if not (numeric and h == "g")]
    return ([(out, out, loss) for out in outs for loss in ("huber", "hinge", "multiclass_hinge")]
            + [("sigmoid", "softmax", "huber"), ("tanh", "log_softmax", "nll"), ("relu", "log_softmax", "nll")])


@st.composite
def networks(draw, numeric=True, max_depth=4, max_width=6):
    combos = (NUMERIC if numeric else valid_combinations()) + threshold_losses(numeric)
    hidden, out, loss = draw(st.sampled_from(combos))
    depth = draw(st.integers(1, max_depth))                 # layers after the inputs
    widths = [draw(st.integers(1, max_width)) for _ in range(depth + 1)]
    if out in ("softmax", "log_softmax") or loss == "multiclass_hinge":
        widths[-1] = max(widths[-1], 2)
    if loss == "hinge":
        widths[-1] = 1
    delta = draw(st.none() | st.sampled_from([0.05, 0.3, 1.0, 1.5, 4.0])) if loss == "huber" else None
    return sb.Network.build(widths, [hidden] * (depth - 1) + [out], loss, draw(st.booleans()), huber_delta=delta)


@given(networks(), st.integers(0, 2**32 - 1))
def test_four_computations_agree(net, seed):
    report = sb.check(net, samples=1, seed=seed)
    assert report, [str(r) for r in report.failures]


@settings(max_examples=60)
@given(networks(numeric=False, max_depth=3, max_width=4))
def test_json_round_trips_through_the_parser(net):
    d = sb.derive(net)
    data = json.loads(d.to_json())
    resolve, functions = resolver(net), functions_for(net)
    for section, exprs in (("forward", d.forward), ("delta", d.deltas), ("gradient", d.gradients)):
        for name, text in data[section].items():
            assert parse_expression(text, resolve, functions) == exprs[name], (section, name, text)


@settings(max_examples=40)
@given(networks(numeric=False, max_depth=3, max_width=3), st.data())
def test_verify_accepts_the_tools_own_answers(net, data):
    d = sb.derive(net)
    out = json.loads(d.to_json())
    names = sorted(out["gradient"])
    for name in data.draw(st.lists(st.sampled_from(names), min_size=1, max_size=3, unique=True)):
        assert sb.verify(net, f"dE/d{name} = {out['gradient'][name]}")
        if "expanded" in out and len(out["expanded"][name]) < MAX_LENGTH - 20:     # longer is refused, by design
            assert sb.verify(net, f"dE/d{name} = {out['expanded'][name]}")


@settings(max_examples=30)
@given(networks(numeric=False, max_depth=2, max_width=2))
def test_delta_form_equals_brute_force_on_small_nets(net):
    proof = sb.prove(sb.derive(net))
    assert all(proof.values()), proof


@settings(max_examples=50)
@given(st.sampled_from(["sigmoid", "softplus", "tanh"]), st.floats(-1000, 1000))
@example("softplus", 704.0)         # found by hypothesis: the scalar code's product overflowed to inf
def test_large_z_stays_finite(act, w):
    f = sb.compile(f"1-1", activation=act)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        E, dW, _ = f([np.array([[w]])], None, np.ones((1, 1)), np.array([[0.5]]))
    assert np.isfinite(E) and np.isfinite(dW[0]).all()


@st.composite
def recurrent_networks(draw, numeric=True):
    """Small RNNs: sizes 1–3, T ≤ 4, every output activation and loss the registry allows (Huber and
    hinge in the numeric ones)."""
    hidden_names = [h for h in ("tanh", "sigmoid", "relu", "leaky_relu", "softplus", "linear", "z/(1+abs(z))")]
    if not numeric:
        hidden_names.append("g")
    out, loss = draw(st.sampled_from([("linear", "mse"), ("tanh", "mse"), ("sigmoid", "mse"), ("sigmoid", "bce"),
                                      ("sigmoid", "cross_entropy"), ("softmax", "cross_entropy"),
                                      ("softmax", "mse"), ("log_softmax", "nll")]
                                     + ([("linear", "huber"), ("tanh", "huber"), ("sigmoid", "hinge"), ("linear", "hinge"),
                                         ("softmax", "huber")] if numeric else [])))
    outputs = 1 if loss == "hinge" else draw(st.integers(2 if out in ("softmax", "log_softmax") else 1, 3))
    return sb.rnn(draw(st.integers(1, 3)), draw(st.integers(1, 3)), outputs, draw(st.integers(1, 4)),
                  activation=draw(st.sampled_from(hidden_names)), output_activation=out, loss=loss,
                  bias=draw(st.booleans()))


@given(recurrent_networks(), st.integers(0, 2**32 - 1), st.none() | st.integers(1, 3))
def test_recurrent_computations_agree(net, seed, truncate):
    report = sb.check(net, samples=1, seed=seed, truncate=truncate)
    assert report, [str(r) for r in report.failures]


@settings(max_examples=30)
@given(recurrent_networks(numeric=False), st.data())
def test_verify_accepts_the_tools_own_recurrent_answers(net, data):
    from symbackprop._timed import functions as functions_rnn, resolver as resolver_rnn
    d = sb.derive(net)
    out = json.loads(d.to_json())
    resolve, functions = resolver_rnn(net), functions_rnn(net)
    for section, exprs in (("delta", d.deltas), ("gradient", d.gradients)):
        for name, text in out[section].items():
            assert parse_expression(text, resolve, functions) == exprs[name]
    for name in data.draw(st.lists(st.sampled_from(sorted(out["gradient"])), min_size=1, max_size=2, unique=True)):
        assert sb.verify(net, f"dE/d{name} = {out['gradient'][name]}")
