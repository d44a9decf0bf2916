"""The Python API: network, rnn, graph, derive, prove, compile, check, verify, evaluate, draw (DESIGN.md §2.5).
Each function looks the network's kind up (``_kinds.py``) and calls its part.
"""
from __future__ import annotations

import os
from functools import lru_cache
from typing import TYPE_CHECKING

from ._errors import SpecError, ValuesError
from ._kinds import is_network, kind_of
from ._network import Network
from ._rnn import RNN
from ._spec import from_spec
if TYPE_CHECKING:                    # each function imports its kind's modules when called
    from ._circuit import Circuit
    from ._compile import Vectorized
    from ._tally import Report
    from ._verify import Verdict


@lru_cache(maxsize=8)
def _verifier_for(net) -> tuple:
    """The derivation verify compares against, without steps, and its random points: made once
    per network (networks are frozen, so they key the cache)."""
    kind = kind_of(net)
    d = kind.derive(net, weights=())
    from ._verify import Sampler
    return d, (kind.verifier[2] if kind.verifier else Sampler)(d, 0)


def graph(equations: str, *, output: str | None = None, parameters=()) -> Circuit:
    """A computational graph from equations (DESIGN.md §5.3): ``"q = x + y; f = q*z"``, or one
    equation, staged into gates f1, f2, … .  The output is the last left side (or ``output``);
    the leaves are the names no equation defines; ``parameters`` names the leaves eval --lr updates.

    >>> graph("q = x + y; f = q*z").describe()
    'graph of 2 nodes, output f, leaves x, y, z'
    """
    from ._circuit_parse import parse_circuit     # the graph kind's modules load when it is used
    return parse_circuit(equations, output, tuple(parameters))


def network(spec=None, *, activation=None, loss=None, bias=None, layers=None, skips=(), ties=(),
            penalty=None) -> Network:
    """A Network from a compact string (``"2-3-1"``), a spec file path, or keywords.

    With ``layers``: ``skips`` maps a layer k to the layer s whose a its z adds, ``ties``
    maps a weight layer k to the layer m whose W it reuses transposed, ``penalty`` maps
    "l1" / "l2" to λ (DESIGN.md §5.2).

    >>> network(layers=[2, 2, 1], activation="sigmoid").describe()
    '2-2-1, sigmoid, mse, no biases'
    >>> network(layers=[2, 2, 2], activation="tanh", skips={3: 1}, penalty={"l2": 0.1}).describe()
    '2-2-2, tanh, mse, no biases, a[1] added to z[3], l2 penalty 0.1'
    """
    if spec is None:
        if layers is None:
            raise SpecError("give a spec such as '2-3-1', a spec file, or layers=[2, 3, 1]")
        return Network.build(layers, activation or "g", loss or "mse", bool(bias), _pairs(skips, "skips"),
                             _pairs(ties, "ties"), _pairs(penalty or {}, "penalty"))
    if skips or ties or penalty:
        raise SpecError("skips, ties and penalty go with layers=[…]; in a spec file they are keys of its layers")
    return from_spec(spec, activation=activation, loss=loss, bias=bias)


def _pairs(mapping, what: str) -> list:
    """A dict (or pairs) of the structure keywords as a list of pairs."""
    try:
        return list(dict(mapping).items())
    except (TypeError, ValueError):
        raise SpecError(f"{what} must be a dict, e.g. skips={{3: 1}}, ties={{2: 1}}, penalty={{'l2': 0.01}}") from None


def rnn(inputs, hidden, outputs, steps, *, activation=None, output_activation="linear", loss="mse",
        bias=False, cell="elman", output="dense"):
    """A recurrent network unrolled over ``steps`` (a spec file with kind = "rnn" gives the same).

    Args:
        cell: "elman" (the simple RNN, h = g(s)), "lstm" or "gru".
        activation: the hidden activation g (default: the generic g), or for gated cells the
            cell activation φ (default tanh).
        output: gated cells: "dense" (an output layer V, c) or "hidden" (the loss reads h;
            outputs may then be None).

    Returns:
        An RNN, or for "lstm"/"gru" a GatedRNN.

    >>> rnn(2, 3, 1, 4, activation="tanh").describe()
    'RNN 2-3-1, T = 4, tanh hidden, linear outputs, mse, no biases'
    >>> rnn(2, 1, None, 2, cell="lstm", output="hidden").describe()
    'LSTM 2-1, T = 2, tanh cell, loss on h, mse, no biases'
    """
    if cell != "elman":
        from ._gated import GatedRNN
        return GatedRNN.build(cell, inputs, hidden, outputs, steps, activation or "tanh", output_activation, loss,
                              bias, output)
    if output != "dense":
        raise SpecError(f"output = {output!r} is for gated cells (cell=\"lstm\" or \"gru\"); the simple RNN has a "
                        "dense output layer")
    return RNN.build(inputs, hidden, outputs, steps, activation or "g", output_activation, loss, bias)


def derive(spec_or_network, weights=None, *, expanded=None, prove=False, max_weights=30, truncate=None,
           at=None, **options):
    """The whole derivation of a network (or of a spec, with ``network``'s options).

    Args:
        spec_or_network: a network (``network``, ``rnn``, ``graph``) or a spec ("2-3-1", a spec
            file path, equations), with ``network``'s keyword options (``activation=`` …).
        weights: the names whose step-by-step chain rule is kept (default: up to ``max_weights``).
        expanded: also every gradient in x, t, w, b only (default: for small networks).
        prove: show each δ form equal to brute-force ``sympy.diff`` (the result's ``.proof``).
        truncate: recurrent networks: backpropagate through chunks of K steps only.
        at: graphs: the leaves' values ({"x": -2, …} or "x=-2,y=5"): every value and
            gradient is then a number too.

    Returns:
        A Derivation (RNNDerivation, GraphDerivation, ConvDerivation): ``.forward``, ``.loss``,
        ``.deltas``, ``.gradients`` (plain name → SymPy expression), ``.gradient(name)``,
        ``.symbol(name)``, ``.subs(expr, {name: value})`` and ``to_text()``, ``to_latex()``,
        ``to_markdown()``, ``to_json()``, ``to_html()``.

    >>> d = derive("2-1", activation="sigmoid")
    >>> d.gradients
    {'w11[1]': x1*delta1[2], 'w21[1]': x2*delta1[2]}
    >>> derive(graph("f = x*y"), at="x=3,y=-2").values["df/dx"]
    -2.0
    """
    net = _as_network(spec_or_network, options)
    extra = {} if at is None else {"at": at}
    if at is not None and kind_of(net).name != "graph":
        raise SpecError("at= gives the leaves' values of a graph (symbackprop.graph); a network has none")
    return kind_of(net).derive(net, weights, expanded=expanded, prove=prove, max_weights=max_weights,
                               truncate=truncate, **extra)


def prove(derivation) -> dict:
    """name → how its δ form was shown equal to brute-force ``sympy.diff`` (or False).

    Args:
        derivation: what ``derive`` returned, for any kind of network.

    Returns:
        A dict plain name → the method that showed the δ form equal to ``sympy.diff`` of the
        nested E (e.g. "expand"), or False where none did.

    >>> prove(derive("2-1", activation="sigmoid"))
    {'w11[1]': 'expand', 'w21[1]': 'expand'}
    """
    return kind_of(derivation.network).prove(derivation)


def _as_network(spec_or_network, options):
    if is_network(spec_or_network) and not options:
        return spec_or_network
    return network(spec_or_network, **options)


def compile(spec_or_network, reduction: str = "sum", **options) -> Vectorized:  # noqa: A001 (the API's name)
    """``f(W, b, X, T) -> (E, dW, db)``: the network's gradients as NumPy matrix code.

    ``W[k-1]`` is layer k's weights, shape (n_k, n_{k+1}), ``W[k-1][i-1, j-1] = wij[k]``
    (a dict ``{k: W_k}`` works too); ``b[k-1]`` has shape (n_{k+1},), or b=None without
    biases; X is (batch, n_in), T is (batch, n_out). E and the gradients are sums over
    the batch, or means with ``reduction="mean"``. Raises CompileError for the generic g.

    >>> import numpy as np
    >>> f = compile("2-1", activation="linear")
    >>> E, dW, db = f([np.ones((2, 1))], None, np.ones((1, 2)), np.zeros((1, 1)))
    >>> float(E)
    2.0

    For a recurrent network it is ``f(P, X, T, h0=None) -> (E, grads)``, with P and grads
    mapping "U", "W", "V" (and "b", "c") to arrays, X (batch, steps, inputs), T (batch,
    steps, outputs); ``truncate=K`` gives truncated BPTT.
    """
    truncate = options.pop("truncate", None)
    net = _as_network(spec_or_network, options)
    return kind_of(net).compile(net, reduction, truncate)


def check(spec_or_network, samples: int = 5, seed: int = 0, batch: int = 1, **options) -> Report:
    """Cross-check printed formulas, vectorized code, the NumPy reference and finite differences.

    Args:
        spec_or_network: a network or a spec, with ``network``'s keyword options.
        samples: how many random points.
        seed: the seed of the random points.
        batch: samples per point (E and the gradients are sums over them).
        truncate: recurrent networks: check truncated BPTT (chunks of K steps).

    Returns:
        A Report, truthy when every pair agrees; ``report.rows`` holds the errors, and
        ``str(report)`` is the table ``symbackprop check`` prints.

    >>> r = check("2-1", activation="tanh", samples=2)
    >>> bool(r), len(r.rows)
    (True, 7)
    """
    truncate = options.pop("truncate", None)
    net = _as_network(spec_or_network, options)
    return kind_of(net).check(net, samples, seed, batch, truncate)


def verify(spec_or_network, equation: str, **options) -> Verdict:
    """Whether a hand-derived equation is right: a Verdict, truthy when right.

    It has ``.expected`` (the tool's answer), ``.diagnosis`` (a named mistake, when one
    matches) and ``.counterexample`` (a point and both values). A chain ``lhs = step 1 =
    step 2 = …`` gives one Verdict per step in ``.steps``, each held against the left side.
    Raises ParseError, with the column, for text it cannot read.

    >>> v = verify("2-3-1", "dE/dw11[1] = delta1[3]*w11[2]*x1")
    >>> bool(v), v.diagnosis
    (False, "a missing g'(z1[2]) factor")
    """
    net = _as_network(spec_or_network, options)
    kind = kind_of(net)
    d, sampler = _verifier_for(net)
    from ._chain import check_chain
    chain = kind.verifier[0] if kind.verifier else check_chain
    return chain(d, kind.reading(net), kind.rules, sampler, equation)


def evaluate(spec_or_network, values, *, lr=None, truncate=None, report=False, every_node=False, **options):
    """Numbers at one point: forward values, E, every δ and gradient (``symbackprop eval``).

    Args:
        spec_or_network: a network (``network``, ``rnn``, ``graph``) or a spec, with
            ``network``'s keyword options (``activation=``, ``loss=``, ``bias=``).
        values: a dict as a values file holds it (``{"w11[1]": 0.5, "x1": 1, "t1": 0}``, or
            ``samples = [...]`` for a batch; a graph's leaves), or the path of a .toml / .json
            values file.
        lr: a learning rate ≥ 0: the result's ``updated`` then holds the parameters after one step.
        truncate: recurrent networks: also the gradient of truncated BPTT (chunks of K steps).
        report: recurrent networks: per step, the size of ∂E/∂h<t> and ∂h<T>/∂h<t>.
        every_node: graphs: the gradient by every node, not only the leaves.

    Returns:
        The evaluation ``eval`` prints: ``.loss`` (a graph: ``.value``), ``.forward``,
        ``.gradient`` (name → number; sums over a batch, or means with ``reduction = "mean"``),
        ``.updated`` (with ``lr``), and for layered networks ``.delta``.

    Raises:
        ValuesError: a missing, unknown or non-numeric value (SpecError for a bad spec).

    >>> r = evaluate("1-1", {"w11[1]": 0.5, "x1": 2, "t1": 0}, activation="linear", lr=0.1)
    >>> r.loss, r.gradient["w11[1]"], r.updated["w11[1]"]
    (0.5, 2.0, 0.3)
    >>> evaluate(graph("f = x*y"), {"x": 3, "y": -2}).gradient
    {'x': -2.0, 'y': 3.0}
    """
    net = _as_network(spec_or_network, options)
    if lr is not None:
        if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not lr >= 0 or lr == float("inf"):
            raise ValuesError(f"lr = {lr!r}: the learning rate must be a finite number ≥ 0")
        lr = float(lr)
    if isinstance(values, (str, os.PathLike)):
        from ._values import read_values_file
        values = read_values_file(os.fspath(values))
    elif not isinstance(values, dict):
        raise ValuesError(f"values must be a dict such as {{'w11[1]': 0.5, 'x1': 1, 't1': 0}} or the path of a "
                          f".toml/.json values file, not {type(values).__name__}")
    kind = kind_of(net)
    if every_node and kind.name != "graph":
        raise SpecError("every_node lists the gradient by every node of a graph; a network's evaluation lists them all")
    extra = {"every_node": True} if every_node else {}
    return kind.evaluate(net, values, lr, truncate, report, **extra)[2]


def draw(spec_or_network, *, standalone: bool = False, fmt: str = "tikz", at=None, **options) -> str:
    """The network as a picture (``symbackprop draw``): TikZ code, or an SVG document.

    Args:
        spec_or_network: a network (``network``, ``rnn``, ``graph``) or a spec, with
            ``network``'s keyword options.
        standalone: TikZ only: a complete, cropped LaTeX document (standalone class) rather
            than the ``tikzpicture`` alone.
        fmt: ``"tikz"`` or ``"svg"``.
        at: graphs only: the leaves' values (``{"x": -2, …}`` or ``"x=-2,y=5"``), written on
            the drawing with every value and gradient.

    Returns:
        The drawing as text.

    >>> print(draw("2-3-1").splitlines()[0])
    \\begin{tikzpicture}[>=stealth,
    >>> draw(graph("f = x*y"), fmt="svg").startswith("<svg")
    True
    """
    if fmt not in ("tikz", "svg"):
        raise SpecError(f"fmt={fmt!r}: a drawing is \"tikz\" or \"svg\"")
    if fmt == "svg" and standalone:
        raise SpecError("standalone goes with fmt=\"tikz\" (an SVG is complete as it is)")
    net = _as_network(spec_or_network, options)
    kind = kind_of(net)
    if at is not None and kind.name != "graph":
        raise SpecError("at= gives the leaves' values of a graph (symbackprop.graph); a network has none")
    return kind.draw(net, standalone, fmt, **({} if at is None else {"at": at}))
