"""Reading a conv net's spec (DESIGN.md §5.2): ``inputs = [channels, (height,) width]`` and one
``[[layer]]`` table per layer (conv, maxpool, avgpool, flatten, dense), each checked, with one line
naming what is wrong and how to write it.

>>> from_data({"inputs": [1, 5], "layer": [{"kind": "conv", "channels": 2, "kernel": 3, "stride": 2,
...            "padding": 1}, {"size": 1}]}, "spec").describe()
'1×5 → conv 2 3 stride 2 pad 1 g → dense 1 g, mse'
"""
from __future__ import annotations

from ._activations import Activation
from ._conv import Conv, ConvNet, Dense, Pool
from ._errors import SpecError, check_table
from ._network import activation_named, check_outputs, checked_parts, whole

_TOP = {"kind": str, "inputs": list, "loss": str, "layer": list}
_CONV = {"kind": str, "channels": int, "kernel": (int, list), "stride": (int, list), "padding": (int, list),
         "activation": str, "bias": bool}
_POOL = {"kind": str, "size": (int, list), "stride": (int, list)}
_DENSE = {"kind": str, "size": int, "activation": str, "bias": bool}


def _tuple(value, n: int, key: str, where: str, least: int) -> tuple:
    """An int or a list of n ints, each ≥ least, as a tuple of n."""
    values = [value] * n if not isinstance(value, list) else value
    if len(values) != n or not all(isinstance(v, int) and not isinstance(v, bool) and v >= least for v in values):
        raise SpecError(f"{where}: {key} = {value!r}; give a whole number ≥ {least} or a list of {n} of them, "
                        f"e.g. {key} = {max(least, 2) if key != 'padding' else 1}")
    return tuple(values)


def is_conv(data: dict) -> bool:
    """Whether a spec file's table is a conv net's: inputs given as maps, or a conv or pool layer."""
    layers = data.get("layer")
    kinds = {t.get("kind") for t in layers if isinstance(t, dict)} if isinstance(layers, list) else set()
    return isinstance(data.get("inputs"), list) or bool(kinds & {"conv", "maxpool", "avgpool", "flatten"})


def from_data(data: dict, source: str, activation=None, loss=None, bias=None) -> ConvNet:
    """A ConvNet from a spec file's table (inputs = [channels, (height,) width] and [[layer]] tables)."""
    if activation is not None or bias is not None:
        raise SpecError("--activation and --bias are for dense stacks; a conv spec gives them per [[layer]]")
    check_table(data, _TOP, ("inputs", "layer"), source, "a conv spec has",
                'inputs = [1, 6, 6], loss = "mse" and one [[layer]] table per layer')
    inputs = data["inputs"]
    if not (2 <= len(inputs) <= 3 and all(whole(n) for n in inputs)):
        raise SpecError(f"{source}: inputs = {inputs!r}; give [channels, length] or [channels, height, width], "
                        "e.g. inputs = [1, 6, 6]")
    if not data["layer"] or not all(isinstance(t, dict) for t in data["layer"]):
        raise SpecError(f"{source}: give one [[layer]] table per layer after the inputs")
    dims, layers, letters = len(inputs) - 1, [], {}
    for entry in data["layer"]:
        k = len(layers) + 2
        where = f"{source}, layer {k}"
        kind = entry.get("kind", "dense")
        if kind == "flatten":                  # implicit before a dense layer: it names no layer
            check_table(entry, {"kind": str}, (), where, "a flatten layer has", 'kind = "flatten" only')
            continue
        if kind == "conv":
            check_table(entry, _CONV, ("channels", "kernel"), where, "a conv layer has",
                        'channels = 3, kernel = 3, stride = 1, padding = 1, activation = "relu", bias = true')
            if not whole(entry["channels"]):
                raise SpecError(f"{where}: channels = {entry['channels']!r}; give a positive whole number")
            layers.append(Conv(entry["channels"], _tuple(entry["kernel"], dims, "kernel", where, 1),
                               _tuple(entry.get("stride", 1), dims, "stride", where, 1),
                               _tuple(entry.get("padding", 0), dims, "padding", where, 0),
                               _activation(entry, k, letters, where), entry.get("bias", False)))
        elif kind in ("maxpool", "avgpool"):
            check_table(entry, _POOL, ("size",), where, f"a {kind} layer has", "size = 2, stride = 2")
            size = _tuple(entry["size"], dims, "size", where, 1)
            layers.append(Pool(kind[:3], size, _tuple(entry.get("stride", list(size)), dims, "stride", where, 1)))
        elif kind == "dense":
            check_table(entry, _DENSE, ("size",), where, "a dense layer has", 'size = 10, activation = "softmax"')
            if not whole(entry["size"]):
                raise SpecError(f"{where}: size = {entry['size']!r}; give a positive whole number")
            layers.append(Dense(entry["size"], _activation(entry, k, letters, where), entry.get("bias", False)))
        else:
            raise SpecError(f"{where}: kind = {kind!r}; a layer is conv, maxpool, avgpool, flatten or dense")
    if not isinstance(layers[-1], Dense):
        raise SpecError(f"{source}: the last layer is {layers[-1].kind}; end with a dense layer, whose outputs the loss reads")
    lossobj = checked_parts(0, [], loss if loss is not None else data.get("loss", "mse"))
    net = ConvNet(tuple(inputs), tuple(layers), lossobj)
    net.shapes                                       # sizes checked here, before any name is made
    checked_parts(net.n_parameters, [], lossobj.name)
    for k, lay in enumerate(layers[:-1], start=2):
        if not isinstance(lay, Pool) and lay.activation.output_only:
            raise SpecError(f"{lay.activation.name} is for the output layer only, but layer {k} is hidden: "
                            "choose another activation for the hidden layers")
    check_outputs(lossobj, layers[-1].activation, layers[-1].size, layers[-1].bias,
                  "use sigmoid or softmax outputs, or loss mse", coupled_outputs=True)
    return net


def _activation(entry: dict, k: int, letters: dict, where: str) -> Activation:
    text = entry.get("activation", "g").strip()
    if text not in letters and any(ch in text for ch in "()+-*/^"):
        letters[text] = "fhpq"[min(len(letters), 3)]
    try:
        return activation_named(text, letters.get(text, "f"))
    except SpecError as err:
        raise SpecError(f"{where}: {err}") from None
