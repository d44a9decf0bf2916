import json

import pytest

import symbackprop as sb
from symbackprop import SpecError


def test_defaults():
    net = sb.network("2-3-1")
    assert net.layers == (2, 3, 1) and net.loss.name == "mse" and not net.bias
    assert [a.name for a in net.activations] == ["g", "g"]


def test_activation_list_and_custom():
    net = sb.network("2-3-2", activation="z/(1+abs(z)),softmax", loss="cross_entropy")
    assert net.activations[0].function_name == "f" and net.activations[1].name == "softmax"


@pytest.mark.parametrize("suffix,text", [
    (".toml", 'layers = [2, 3, 1]\nactivation = "sigmoid"\nloss = "bce"\nbias = true\n'),
    (".json", json.dumps({"layers": [2, 3, 1], "activation": "sigmoid", "loss": "bce", "bias": True})),
    (".yaml", "layers: [2, 3, 1]\nactivation: sigmoid\nloss: bce\nbias: true\n"),
])
def test_spec_files(tmp_path, suffix, text):
    if suffix == ".yaml":
        pytest.importorskip("yaml", reason="PyYAML is optional: pip install '.[yaml]'")
    path = tmp_path / ("net" + suffix)
    path.write_text(text)
    net = sb.network(str(path))
    assert net.describe() == "2-3-1, sigmoid, bce, biases"


@pytest.mark.parametrize("spec,kw,fragment", [
    ("2-0-1", {}, "positive whole number"),
    ("two-three", {}, "layer sizes joined by '-'"),
    ("2", {}, "layer sizes joined by '-'"),
    ("2-3-1", {"activation": "swish"}, "unknown activation"),
    ("2-3-1", {"loss": "quartic"}, "unknown loss"),
    ("2-3-2", {"activation": "softmax"}, "output layer only"),
    ("2-3-2", {"activation": "tanh,tanh,tanh"}, "3 activations given for 2"),
    ("2-3-2", {"activation": "tanh", "loss": "bce"}, "use sigmoid or softmax"),
    ("2-3-1", {"activation": "sigmoid,softmax", "loss": "cross_entropy"}, "at least 2 output"),
    ("2-3-1", {"activation": "y+1"}, "not an expression in z"),
    ("2-3-1", {"activation": "__import__('os')"}, "not an expression in z"),
    ("missing.toml", {}, "does not exist"),
])
def test_bad_specs(spec, kw, fragment):
    with pytest.raises(SpecError, match=fragment):
        sb.network(spec, **kw)


@pytest.mark.parametrize("name,text,fragment", [
    ("empty.toml", "", "is empty"),
    ("bad.toml", "layers = [2, 3", "not valid TOML"),
    ("bad.json", "{layers", "not valid JSON"),
    ("key.toml", "layers = [2, 1]\ncolour = 'red'\n", "unknown key 'colour'"),
    ("type.toml", "layers = '2-3-1'\n", "wrong type"),
    ("float.json", '{"layers": [2, 1.5]}', "positive whole number"),
    ("neg.json", '{"layers": [2, -1]}', "positive whole number"),
    ("huge.json", '{"layers": [100000, 100000, 1]}', "limit"),
    ("nolayers.toml", "loss = 'mse'\n", "missing key 'layers'"),
    ("list.json", "[2, 3]", "table of keys"),
])
def test_bad_spec_files(tmp_path, name, text, fragment):
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(SpecError, match=fragment):
        sb.network(str(path))


def test_not_utf8(tmp_path):
    path = tmp_path / "bin.toml"
    path.write_bytes(b"\xff\xfe\x00layers")
    with pytest.raises(SpecError, match="not UTF-8"):
        sb.network(str(path))


def test_folder(tmp_path):
    folder = tmp_path / "dir.toml"
    folder.mkdir()
    with pytest.raises(SpecError, match="folder"):
        sb.network(str(folder))


def test_yaml_without_pyyaml_says_to_install_it(tmp_path, monkeypatch):
    import sys
    monkeypatch.setitem(sys.modules, "yaml", None)     # as if PyYAML were not installed
    path = tmp_path / "net.yml"
    path.write_text("layers: [2, 1]\n")
    with pytest.raises(SpecError, match="pip install pyyaml"):
        sb.network(str(path))
