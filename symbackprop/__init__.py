"""symbackprop: backpropagation derived symbolically, explained, typeset and checked.

>>> import symbackprop as sb
>>> d = sb.derive(sb.network("2-3-1"))
>>> d.gradient("w11[2]")
a1[2]*delta1[3]
"""
from __future__ import annotations

import importlib

from ._api import check, compile, derive, draw, evaluate, graph, network, prove, rnn, verify  # noqa: A004 (compile is the API's name)
from ._derivation import Derivation, Partial, WeightStep
from ._errors import (CompileError, LimitError, NotationError, OutputError, ParseError, SpecError,
                      SymbackpropError, ValuesError)
from ._kinds import register_built_in as _register_built_in
from ._network import Network
from ._rnn import RNN, RNNDerivation
from ._steps import DeltaStep

_register_built_in()

#: the other kinds' classes, and the results of check and verify, imported when first asked for (a
#: command loads only the modules of its own kind and job)
_LATER = {"Circuit": "_circuit", "GraphDerivation": "_circuit_derive", "ConvNet": "_conv",
          "ConvDerivation": "_conv_derive", "Report": "_tally", "Verdict": "_verify"}


def __getattr__(name: str):
    if name in _LATER:
        return getattr(importlib.import_module(f"{__name__}.{_LATER[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["network", "rnn", "graph", "derive", "prove", "compile", "check", "verify", "evaluate", "draw",
           "Verdict", "Report",
           "ParseError", "CompileError", "Network", "RNN", "Circuit", "ConvNet", "ConvDerivation", "Derivation", "RNNDerivation", "GraphDerivation",
           "DeltaStep", "WeightStep", "Partial", "SpecError", "SymbackpropError", "NotationError", "ValuesError", "LimitError", "OutputError"]
__version__ = "0.1.0"
