"""Symbolic JSON (DESIGN.md §2.4): expressions as strings in the grammar verify reads.

>>> import json
>>> from symbackprop._spec import from_spec
>>> from symbackprop._derivation import derive
>>> json.loads(render_json(derive(from_spec("2-3-1"))))["gradient"]["w11[2]"]
'a1[2]*delta1[3]'
"""
from __future__ import annotations

import json

from ._derivation import Derivation, expanded_by_default
from ._printing import plain, plain_printer


def as_dict(d: Derivation, expanded: bool | None = None) -> dict:
    """The derivation as plain data; ``expanded`` defaults to nets of at most 50 parameters."""
    if expanded is None:
        expanded = expanded_by_default(d.network)
    p = plain_printer()
    sums = {eq.node.name: eq.terms for eq in d.sweep.model.equations if eq.terms} if d.sweep is not None else {}
    out = {
        "spec": d.network.as_dict(),
        "forward": {k: (k in sums and p.pairs_text(sums[k])) or plain(v, p) for k, v in d.forward.items()},
        "loss": plain(d.loss, p),
        "delta": {k: plain(v, p) for k, v in d.deltas.items()},
        "gradient": {k: plain(v, p) for k, v in d.gradients.items()},
    }
    if expanded:
        out["expanded"] = {k: plain(d.expanded(k), p) for k in d.gradients}
    if d.proof is not None:
        out["proof"] = {k: (v or False) for k, v in d.proof.items()}
    return out


def render_json(d: Derivation, expanded: bool | None = None) -> str:
    return json.dumps(as_dict(d, expanded), indent=1, ensure_ascii=True) + "\n"


Derivation.writers["json"] = render_json
