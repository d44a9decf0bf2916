"""Reading a SPEC: a compact string ``2-3-1`` or a .toml / .json / .yaml file.

>>> from_spec("2-3-1", activation="sigmoid").describe()
'2-3-1, sigmoid, mse, no biases'
"""
from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

from ._files import read_text
from ._network import Network, SpecError

_KEYS = {"layers": list, "activation": (str, list), "loss": str, "bias": bool}
_COMPACT = re.compile(r"[0-9]+(-[0-9]+)+\Z")


def _read_file(path: Path) -> dict:
    suffix = path.suffix.lower()
    if suffix not in (".toml", ".json", ".yaml", ".yml"):
        raise SpecError(f"spec file {str(path)!r} must end in .toml, .json, .yaml or .yml")
    try:
        text = read_text(path, "spec file", SpecError)
    except SpecError as err:
        raise SpecError(f"{err}{': it needs at least layers = [2, 3, 1]' if 'empty' in str(err) else ''}") from None
    try:
        if suffix == ".toml":
            data = tomllib.loads(text)
        elif suffix == ".json":
            data = json.loads(text)
        else:
            try:
                import yaml
            except ImportError:
                raise SpecError("reading a .yaml spec needs PyYAML: pip install pyyaml, or use .toml or .json") from None
            data = yaml.safe_load(text)
    except (tomllib.TOMLDecodeError, json.JSONDecodeError) as err:
        raise SpecError(f"spec file {str(path)!r} is not valid {suffix[1:].upper()}: {err}") from None
    except SpecError:
        raise
    except Exception as err:  # yaml's own errors
        raise SpecError(f"spec file {str(path)!r} is not valid YAML: {str(err).splitlines()[0]}") from None
    if not isinstance(data, dict):
        raise SpecError(f"spec file {str(path)!r} must hold a table of keys such as layers = [2, 3, 1]")
    return data


def _check_keys(data: dict, source: str) -> dict:
    unknown = sorted(set(data) - set(_KEYS))
    if unknown:
        raise SpecError(f"{source}: unknown key {unknown[0]!r}; the keys are {', '.join(_KEYS)}")
    if "layers" not in data:
        raise SpecError(f"{source}: missing key 'layers', e.g. layers = [2, 3, 1]")
    for key, kind in _KEYS.items():
        if key in data and not isinstance(data[key], kind):
            raise SpecError(f"{source}: {key} has the wrong type ({type(data[key]).__name__}); "
                            f"e.g. layers = [2, 3, 1], activation = \"sigmoid\", loss = \"mse\", bias = false")
    return data


def split_activations(text: str):
    """'sigmoid,softmax' → ['sigmoid', 'softmax']; commas inside parentheses do not split."""
    parts, depth, start = [], 0, 0
    for n, ch in enumerate(text):
        depth += (ch == "(") - (ch == ")")
        if ch == "," and depth == 0:
            parts.append(text[start:n].strip())
            start = n + 1
    parts.append(text[start:].strip())
    return parts[0] if len(parts) == 1 else parts


def from_spec(spec, activation=None, loss=None, bias=None):
    """A Network (or an RNN, for a file with kind = "rnn") from a compact string, a spec
    file path, or a network (options override)."""
    from ._rnn import RNN, from_data
    if isinstance(spec, RNN):
        if activation is None and loss is None and bias is None:
            return spec
        return from_data(spec.as_dict(), "the network", split_activations(activation) if activation else None,
                         loss, bias)
    if isinstance(spec, Network):
        if activation is None and loss is None and bias is None:
            return spec
        data = spec.as_dict()
    elif isinstance(spec, Path) or (isinstance(spec, str) and re.search(r"\.(toml|json|ya?ml)\Z", spec, re.I)):
        source = f"spec file {str(spec)!r}"
        data = _read_file(Path(spec))
        if "kind" in data:
            if data["kind"] == "rnn":
                return from_data(data, source, split_activations(activation) if activation else None, loss, bias)
            raise SpecError(f"{source}: kind = {data['kind']!r}; write kind = \"rnn\" for a recurrent network, "
                            "or leave kind out for a feedforward one")
        data = _check_keys(data, source)
    elif isinstance(spec, str):
        text = spec.strip()
        if not _COMPACT.match(text) and Path(text).is_file():
            raise SpecError(f"spec file {text!r} must end in .toml, .json, .yaml or .yml")
        if not _COMPACT.match(text):
            raise SpecError(f"spec {spec!r} is neither layer sizes joined by '-' (e.g. 2-3-1) "
                            "nor a .toml/.json/.yaml file")
        data = {"layers": [int(n) for n in text.split("-")]}
    else:
        raise SpecError(f"spec must be a string such as '2-3-1' or a file path, not {type(spec).__name__}")
    if isinstance(activation, str):
        activation = split_activations(activation)
    options = {"activation": activation, "loss": loss, "bias": bias}
    merged = {**{"activation": "g", "loss": "mse", "bias": False}, **data,
              **{k: v for k, v in options.items() if v is not None}}
    return Network.build(merged["layers"], merged["activation"], merged["loss"], merged["bias"])
