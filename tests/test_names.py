import pytest

from symbackprop import _names as names


@pytest.mark.parametrize("text,kind,indices,layer", [
    ("w11[2]", "w", (1, 1), 2), ("w12,3[1]", "w", (12, 3), 1), ("w1,2[1]", "w", (1, 2), 1),
    ("delta1[3]", "delta", (1,), 3), ("δ12[3]", "delta", (12,), 3), ("x10", "x", (10,), None),
    ("t1", "t", (1,), None), ("b2[3]", "b", (2,), 3), ("a1[2]", "a", (1,), 2),
])
def test_parse(text, kind, indices, layer):
    assert names.parse(text) == names.Parts(kind, indices, layer)


@pytest.mark.parametrize("text,fragment", [
    ("w123[1]", "comma"), ("w1[1]", "2 node"), ("x1[2]", "takes no layer"), ("z1", "needs a layer"),
    ("q1[2]", "not a name"), ("w0,1[1]", "from 1"),
])
def test_parse_errors_say_how(text, fragment):
    with pytest.raises(names.NameError_, match=fragment):
        names.parse(text)


def test_two_digit_names_take_a_comma():
    assert names.weight(12, 3, 1).name == "w12,3[1]"
    assert names.latex_name("w12,3[1]") == "w_{12,3}^{[1]}"
    assert names.weight(1, 2, 1).name == "w12[1]"


def test_fast_product_equals_sympy_mul():
    for a, b in [(names.asym(3, 2), names.delta(12, 3)), (names.weight(1, 2, 1), names.asym(1, 1)),
                 (names.symbol("x", 10), names.delta(2, 2))]:
        p = names.product(a, b)
        assert p == a * b and hash(p) == hash(a * b) and p.args == (a * b).args
