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
from ._errors import check_table
from ._network import Network, SpecError, whole

_KEYS = {"layers": list, "activation": (str, list), "loss": str, "bias": bool, "huber_delta": (int, float)}
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
    check_table(data, _KEYS, ("layers",), source, "the keys are",
                "layers = [2, 3, 1], activation = \"sigmoid\", loss = \"mse\", bias = false")
    return data


def _elman_keys(data: dict, source: str) -> dict:
    """A kind = "rnn" table without the keys that only say what is the default: cell = "elman", output = "dense"."""
    if data.get("output", "dense") != "dense":
        raise SpecError(f"{source}: output = {data['output']!r} is for gated cells (cell = \"lstm\" or \"gru\"); "
                        "the simple RNN has a dense output layer: leave output out")
    return {k: v for k, v in data.items() if not (k == "cell" and v == "elman") and k != "output"}


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


_GRAPH_KEYS = {"kind": str, "equations": str, "output": str, "parameters": list}


def _graph(data, source: str | None, activation, loss, bias):
    """A graph from an equation spec (text with '=') or a file's table with kind = "graph"."""
    from ._circuit_parse import parse_circuit
    if not (activation is None and loss is None and bias is None):
        raise SpecError("--activation, --loss and --bias are for layered networks; a graph's equations name "
                        "their own functions, e.g. f = sigmoid(w*x + b)")
    if source is None:
        return parse_circuit(data)
    check_table(data, _GRAPH_KEYS, ("equations",), source, "a graph spec has",
                'kind = "graph", equations = "q = x + y; f = q*z", output = "f", parameters = ["z"]')
    if not all(isinstance(p, str) for p in data.get("parameters", [])):
        raise SpecError(f"{source}: parameters is a list of leaf names, e.g. parameters = [\"w\", \"b\"]")
    return parse_circuit(data["equations"], data.get("output"), tuple(data.get("parameters", ())))


def from_spec(spec, activation=None, loss=None, bias=None):
    """A Network (an RNN, for a file with kind = "rnn"; a graph, for equations or a file with
    kind = "graph"; a ConvNet, for maps as inputs) from a compact string, a spec file path, a dict
    of a spec file's keys, or a network (options override)."""
    from ._circuit import Circuit
    from ._conv import ConvNet
    from ._batch import from_data as batch_data, is_batch
    from ._conv_spec import from_data as conv_data, is_conv
    from ._gated_kind import from_data as gated_data, is_gated
    from ._rnn import from_data
    if isinstance(spec, Circuit):       # options are refused, as for equations
        return spec if activation is None and loss is None and bias is None else _graph("", None, activation, loss,
                                                                                        bias)
    if isinstance(spec, str) and "=" in spec and not re.search(r"\.(toml|json|ya?ml)\Z", spec.strip(), re.I):
        return _graph(spec, None, activation, loss, bias)
    unchanged = activation is None and loss is None and bias is None
    if isinstance(spec, Network):
        if unchanged:
            return spec
        data = {"layers": list(spec.layers), "activation": [a.name for a in spec.activations], "loss": spec.loss.name,
                "bias": spec.bias, "skips": spec.skips, "ties": spec.ties, "penalty": spec.penalty,
                **dict(spec.loss.settings)}
    elif hasattr(spec, "as_dict"):               # a network of another kind: its own keys, options over them
        if unchanged:
            return spec
        if isinstance(spec, ConvNet):
            return conv_data(spec.as_dict(), "the network", activation, loss, bias)
        if is_batch(spec.as_dict()):
            return batch_data(spec.as_dict(), "the network", activation, loss, bias)
        if is_gated(spec.as_dict()):
            return gated_data(spec.as_dict(), "the network", split_activations(activation) if activation else None,
                              loss, bias)
        return from_data(spec.as_dict(), "the network", split_activations(activation) if activation else None,
                         loss, bias)
    elif isinstance(spec, (dict, Path)) or (isinstance(spec, str) and re.search(r"\.(toml|json|ya?ml)\Z", spec, re.I)):
        source = "the spec" if isinstance(spec, dict) else f"spec file {str(spec)!r}"
        data = dict(spec) if isinstance(spec, dict) else _read_file(Path(spec))
        if "kind" in data:
            if is_gated(data):
                return gated_data(data, source, split_activations(activation) if activation else None, loss, bias)
            if data["kind"] == "rnn":
                return from_data(_elman_keys(data, source), source, split_activations(activation) if activation else None,
                                 loss, bias)
            if data["kind"] == "graph":
                return _graph(data, source, activation, loss, bias)
            raise SpecError(f"{source}: kind = {data['kind']!r}; write kind = \"rnn\" for a recurrent network, "
                            "kind = \"graph\" for equations, or leave kind out for a feedforward one")
        if is_conv(data):
            return conv_data(data, source, activation, loss, bias)
        if is_batch(data):
            return batch_data(data, source, activation, loss, bias)
        data = _layer_list(data, source) if "layer" in data or "inputs" in data else _check_keys(data, source)
    elif isinstance(spec, str):
        text = spec.strip()
        if not _COMPACT.match(text) and Path(text).is_file():
            raise SpecError(f"spec file {text!r} must end in .toml, .json, .yaml or .yml")
        if not _COMPACT.match(text):
            raise SpecError(f"spec {spec!r} is neither layer sizes joined by '-' (e.g. 2-3-1), equations "
                            "(e.g. 'q = x + y; f = q*z') nor a .toml/.json/.yaml file")
        data = {"layers": [int(n) for n in text.split("-")]}
    else:
        raise SpecError(f"spec must be a string such as '2-3-1', a file path or a dict of a spec file's keys, "
                        f"not {type(spec).__name__}")
    if isinstance(activation, str):
        activation = split_activations(activation)
    options = {"activation": activation, "loss": loss, "bias": bias}
    merged = {**{"activation": "g", "loss": "mse", "bias": False}, **data,
              **{k: v for k, v in options.items() if v is not None}}
    if loss not in (None, "huber"):         # --loss puts another loss in place of the spec's huber
        merged.pop("huber_delta", None)
    return Network.build(merged["layers"], merged["activation"], merged["loss"], merged["bias"],
                         merged.get("skips", ()), merged.get("ties", ()), merged.get("penalty", ()),
                         merged.get("huber_delta"))


_LAYER_KEYS = {"kind": str, "size": int, "activation": str, "bias": bool, "skip": int, "tied": int}


def _layer_list(data: dict, source: str) -> dict:
    """A spec with ``inputs`` and one ``[[layer]]`` table per layer (DESIGN.md §5.2), as keywords."""
    unknown = sorted(set(data) - {"inputs", "layer", "loss", "penalty", "huber_delta"})
    if unknown:
        raise SpecError(f"{source}: unknown key {unknown[0]!r}; a layer-list spec has inputs, loss, penalty, "
                        "huber_delta and one [[layer]] table per layer")
    inputs, layers = data.get("inputs"), data.get("layer")
    if not whole(inputs):
        raise SpecError(f"{source}: inputs = {inputs!r}; give the number of inputs, e.g. inputs = 4")
    if not isinstance(layers, list) or not layers or not all(isinstance(t, dict) for t in layers):
        raise SpecError(f"{source}: give one [[layer]] table per layer after the inputs, each with size = N")
    sizes, acts, biases, skips, ties = [inputs], [], set(), [], []
    for k, entry in enumerate(layers, start=2):
        where = f"{source}, layer {k}"
        check_table(entry, _LAYER_KEYS, ("size",), where, "a dense layer has",
                    "size = 3, activation = \"tanh\", bias = true, skip = 2, tied = 1")
        if entry.get("kind", "dense") != "dense":
            raise SpecError(f"{where}: kind = {entry['kind']!r} is not a layer kind yet; use kind = \"dense\"")
        sizes.append(entry["size"])
        acts.append(entry.get("activation", "g"))
        biases.add(entry.get("bias", False))
        if "skip" in entry:
            skips.append((k, entry["skip"]))
        if "tied" in entry:
            ties.append((k - 1, entry["tied"]))
    if len(biases) > 1:
        raise SpecError(f"{source}: some layers have biases and some not; give every layer the same bias for now")
    penalty = data.get("penalty", {})
    if not isinstance(penalty, dict):
        raise SpecError(f"{source}: penalty must be a table, e.g. penalty = {{ l2 = 0.01 }}")
    found = {"layers": sizes, "activation": acts, "bias": biases.pop(), "skips": skips, "ties": ties,
             "penalty": list(penalty.items())}
    found.update({key: data[key] for key in ("loss", "huber_delta") if key in data})
    return found
