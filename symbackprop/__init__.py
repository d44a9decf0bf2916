"""symbackprop: backpropagation derived symbolically, explained, typeset and checked.

>>> import symbackprop as sb
>>> d = sb.derive(sb.network("2-3-1"))
>>> d.gradient("w11[2]")
a1[2]*delta1[3]
"""
from __future__ import annotations

from ._derivation import Derivation, DeltaStep, Partial, WeightStep, prove_all
from ._derivation import derive as _derive
from ._network import Network, SpecError
from ._spec import from_spec

__all__ = ["network", "derive", "prove", "Network", "Derivation", "DeltaStep", "WeightStep",
           "Partial", "SpecError"]
__version__ = "0.1.0"


def network(spec=None, *, activation=None, loss=None, bias=None, layers=None) -> Network:
    """A Network from a compact string (``"2-3-1"``), a spec file path, or keywords.

    >>> network(layers=[2, 2, 1], activation="sigmoid").describe()
    '2-2-1, sigmoid, mse, no biases'
    """
    if spec is None:
        if layers is None:
            raise SpecError("give a spec such as '2-3-1', a spec file, or layers=[2, 3, 1]")
        return Network.build(layers, activation or "g", loss or "mse", bool(bias))
    return from_spec(spec, activation=activation, loss=loss, bias=bias)


def derive(spec_or_network, weights=None, *, expanded=None, prove=False, max_weights=30,
           **options) -> Derivation:
    """The whole derivation of a network (or of a spec, with ``network``'s options)."""
    net = spec_or_network if isinstance(spec_or_network, Network) and not options \
        else network(spec_or_network, **options)
    return _derive(net, weights, expanded=expanded, prove=prove, max_weights=max_weights)


def prove(derivation: Derivation) -> dict:
    """name → how its δ form was shown equal to brute-force ``sympy.diff`` (or False)."""
    return prove_all(derivation)
