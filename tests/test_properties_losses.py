"""Issue 18: the property tests of tests/test_properties.py, over the Huber loss (any threshold) and
the hinge loss: printed vs compiled vs reference vs finite differences, JSON through verify's grammar,
verify accepting the tool's own answers, the δ form against sympy.diff.
"""
import json

from hypothesis import given, settings
from hypothesis import strategies as st

import symbackprop as sb
from symbackprop._equation import functions_for, resolver
from symbackprop._grammar import MAX_LENGTH, parse_expression
from symbackprop._network import Network

from .conftest import HIDDEN


def combinations(numeric: bool) -> list:
    """(hidden, output, loss) for the losses here: huber after every output activation, softmax too;
    hinge after every elementwise one (one output node)."""
    outs = [h for h in HIDDEN if not (numeric and h == "g")]
    combos = [(out, out, loss) for out in outs for loss in ("huber", "hinge")]
    return combos + [("sigmoid", "softmax", "huber")]


@st.composite
def networks(draw, numeric=True, max_depth=4, max_width=6):
    hidden, out, loss = draw(st.sampled_from(combinations(numeric)))
    depth = draw(st.integers(1, max_depth))
    widths = [draw(st.integers(1, max_width)) for _ in range(depth + 1)]
    if out == "softmax":
        widths[-1] = max(widths[-1], 2)
    if loss == "hinge":
        widths[-1] = 1
    delta = draw(st.none() | st.sampled_from([0.05, 0.3, 1.0, 1.5, 4.0])) if loss == "huber" else None
    return Network.build(widths, [hidden] * (depth - 1) + [out], loss, draw(st.booleans()), huber_delta=delta)


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
    assert parse_expression(data["loss"], resolve, functions) == d.loss
    for section, exprs in (("forward", d.forward), ("delta", d.deltas), ("gradient", d.gradients)):
        for name, text in data[section].items():
            assert parse_expression(text, resolve, functions) == exprs[name], (section, name, text)


@settings(max_examples=40)
@given(networks(numeric=False, max_depth=3, max_width=3), st.data())
def test_verify_accepts_the_tools_own_answers(net, data):
    out = json.loads(sb.derive(net).to_json())
    for name in data.draw(st.lists(st.sampled_from(sorted(out["gradient"])), min_size=1, max_size=3, unique=True)):
        assert sb.verify(net, f"dE/d{name} = {out['gradient'][name]}")
        if "expanded" in out and len(out["expanded"][name]) < MAX_LENGTH - 20:
            assert sb.verify(net, f"dE/d{name} = {out['expanded'][name]}")


@settings(max_examples=30)
@given(networks(numeric=False, max_depth=2, max_width=2))
def test_delta_form_equals_brute_force_on_small_nets(net):
    proof = sb.prove(sb.derive(net))
    assert all(proof.values()), proof


@st.composite
def recurrent_networks(draw):
    out, loss = draw(st.sampled_from([("linear", "huber"), ("tanh", "huber"), ("sigmoid", "hinge"),
                                      ("linear", "hinge"), ("softmax", "huber")]))
    outputs = 1 if loss == "hinge" else draw(st.integers(2 if out == "softmax" else 1, 3))
    return sb.rnn(draw(st.integers(1, 3)), draw(st.integers(1, 3)), outputs, draw(st.integers(1, 4)),
                  activation=draw(st.sampled_from(["tanh", "relu", "sigmoid"])), output_activation=out, loss=loss,
                  bias=draw(st.booleans()))


@settings(max_examples=60)
@given(recurrent_networks(), st.integers(0, 2**32 - 1), st.none() | st.integers(1, 3))
def test_recurrent_computations_agree(net, seed, truncate):
    report = sb.check(net, samples=1, seed=seed, truncate=truncate)
    assert report, [str(r) for r in report.failures]
