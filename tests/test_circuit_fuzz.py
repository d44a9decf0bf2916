"""Fuzzing the equation-spec reader (issue 15): any text is a graph or one SpecError, nothing else.

The example count is the profile's: 200 in CI; ``HYPOTHESIS_PROFILE=fuzz`` runs 100,000.
"""
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import symbackprop as sb
from symbackprop import LimitError, ParseError, SpecError, SymbackpropError

TOKENS = ["x", "y", "z", "q", "f", "w1", "x_in", "E", "=", "=", ";", ";", "\n", "+", "-", "*", "/", "^", "**", "(",
          ")", ",", " ", "0", "1", "2.5", "1e308", "1000", "max", "min", "exp", "log", "ln", "sqrt", "sigmoid",
          "σ", "relu", "abs", "sign", "tanh", "g", "linear", "−", "·", "²", "#", "'", "[1]", "<1>", "foo", "δ", "\\"]
fuzz_settings = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])


#: equations shaped as equations (name = tokens; …), so that many of them are graphs
EQUATIONS = st.lists(st.tuples(st.sampled_from(["x", "q", "f", "w1", "x_in"]), st.lists(
    st.sampled_from([t for t in TOKENS if t not in ("=", ";", "\n", "#")]), min_size=1, max_size=12).map("".join)),
    min_size=1, max_size=4).map(lambda eqs: "; ".join(f"{name} = {rhs}" for name, rhs in eqs))


@fuzz_settings
@given(st.lists(st.sampled_from(TOKENS), max_size=30).map("".join) | st.text(max_size=40).map(lambda t: "f=" + t)
       | EQUATIONS)
@example("f = max(x, y)*max(y, x) - min(x, x)")
@example("a = b; b = c; c = a")
@example("f = x^1000^1000")
@example("x=xx−x")                       # found by fuzzing: an equation using its own left side
@example("x=1e3081000")                  # found by fuzzing: a constant too long to print
def test_fuzz_equation_specs(text):
    """A graph whose nodes each come after what they use, with the output last; or one SpecError."""
    try:
        net = sb.network(text)
    except SymbackpropError as err:
        assert str(err) and "\n" not in str(err)
        assert "=" not in text or isinstance(err, (SpecError, LimitError)), err     # said with its equation
        return
    if "=" not in text:                  # layer sizes such as 1-1: another test's
        return
    assert isinstance(net, sb.Circuit)
    order = {n: k for k, n in enumerate(net.nodes)}
    for k, (node, expr) in enumerate(net.equations):
        assert all(s in net.leaves or order[s] < k for s in expr.free_symbols)
    assert net.leaves and net.output == net.nodes[-1]
    d = sb.derive(net)
    assert set(d.gradients) == {s.name for s in net.leaves}


_GRAPH = sb.network("q = x + y; s = sigmoid(q); f = s*z + max(q, z)")


@fuzz_settings
@given(st.lists(st.sampled_from(["df/dx", "dq/dx", "∂f/∂q", "ds/dz", "dx/dy", "=", "=", "z", "q", "s", "x", "*",
                                 "+", "-", "(", ")", "1", "sigmoid'", "σ", "max", ",", "step", "\\frac{", "}",
                                 "\\partial ", "w", "/", " "]), max_size=16).map("".join))
def test_fuzz_verify_on_a_graph(text):
    """Any line: a Verdict (one per step of a chain) or a ParseError with a column; nothing else escapes."""
    try:
        verdict = sb.verify(_GRAPH, text)
    except ParseError as err:
        assert err.column >= 1
    else:
        assert verdict.expected is not None
