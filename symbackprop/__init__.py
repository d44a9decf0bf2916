"""symbackprop: backpropagation derived symbolically, explained, typeset and checked.

>>> import symbackprop as sb
>>> d = sb.derive(sb.network("2-3-1"))
>>> d.gradient("w11[2]")
a1[2]*delta1[3]
"""
from __future__ import annotations

from . import _batch_pages, _batch_render, _beamer, _circuit_pages, _circuit_walk, _conv_pages, _conv_render, _gated_pages, _gated_render, _html, _render, _render_json, _render_recurrent  # noqa: F401 (importing them registers the writers)
from ._api import check, compile, derive, draw, evaluate, graph, network, prove, rnn, verify  # noqa: A004 (compile is the API's name)
from ._tally import Report
from ._circuit import Circuit
from ._circuit_derive import GraphDerivation
from ._conv import ConvNet
from ._conv_derive import ConvDerivation
from ._derivation import Derivation, Partial, WeightStep
from ._errors import (CompileError, LimitError, NotationError, OutputError, ParseError, SpecError,
                      SymbackpropError, ValuesError)
from ._kinds import register_built_in as _register_built_in
from ._network import Network
from ._rnn import RNN, RNNDerivation
from ._steps import DeltaStep
from ._verify import Verdict

_register_built_in()

__all__ = ["network", "rnn", "graph", "derive", "prove", "compile", "check", "verify", "evaluate", "draw",
           "Verdict", "Report",
           "ParseError", "CompileError", "Network", "RNN", "Circuit", "ConvNet", "ConvDerivation", "Derivation", "RNNDerivation", "GraphDerivation",
           "DeltaStep", "WeightStep", "Partial", "SpecError", "SymbackpropError", "NotationError", "ValuesError", "LimitError", "OutputError"]
__version__ = "0.1.0"
