"""One test per registry entry: derivatives by SymPy, numeric forms, identities."""
import pytest
import sympy

from symbackprop._losses import HUBER
from symbackprop.extend import activations, losses

ACTIVATIONS, LOSSES = activations(), losses()          # the registries, read-only
Z = sympy.Symbol("z", real=True)                       # the symbol activations are written in
A, T = sympy.Symbol("a", positive=True), sympy.Symbol("t", real=True)      # and loss terms

NAMED = [a for a in ACTIVATIONS.values() if a.definition is not None]
#: the named functions losses print (huber), made as the activations are
LOSS_FUNCTIONS = [HUBER]


def _same(f, g):
    return sympy.simplify(sympy.expand(f - g)) == 0 or all(
        abs(complex(sympy.N((f - g).subs(Z, v)))) < 1e-12 for v in (-3.1, -0.4, 0.7, 2.9))


@pytest.mark.parametrize("act", NAMED + LOSS_FUNCTIONS, ids=lambda a: a.name)
def test_function_derivative_is_diff_of_definition(act):
    u = sympy.Symbol("u", real=True)
    got = sympy.diff(act.apply(u ** 2), u)
    want = sympy.diff(act.definition.subs(Z, u ** 2), u)
    # the Function's chain rule, with f' replaced by its definition, is the definition's derivative
    if not act.inline:
        got = got.replace(act.functions[1], lambda arg: act.derivative.subs(Z, arg))
    assert _same(got.subs(u, Z), want.subs(u, Z))


@pytest.mark.parametrize("act", [a for a in NAMED if a.numeric is not None or a.numeric_prime is not None],
                         ids=lambda a: a.name)
def test_numeric_forms_equal_definitions(act):
    if act.numeric is not None:
        assert _same(act.numeric, act.definition)
    if act.numeric_prime is not None:
        assert _same(act.numeric_prime, act.derivative)


@pytest.mark.parametrize("act", [a for a in NAMED if a.derivative_in_output], ids=lambda a: a.name)
def test_derivative_in_terms_of_output(act):
    assert _same(act.derivative_in_output(act.definition), act.derivative)


def test_relu_derivative_is_zero_at_zero():
    for name in ("relu", "leaky_relu"):
        assert ACTIVATIONS[name].derivative.subs(Z, 0) == (0 if name == "relu" else sympy.Rational(1, 100))
        assert ACTIVATIONS[name].derivative.subs(Z, 1) == 1


def test_softmax_partial_matches_sympy_diff():
    z1, z2, z3 = sympy.symbols("z1:4", real=True)
    zs = [z1, z2, z3]
    total = sum(sympy.exp(z) for z in zs)
    a = [sympy.exp(z) / total for z in zs]
    for o in range(3):
        for j in range(3):
            formula = a[o] * ((1 if o == j else 0) - a[j])   # the form _derivation uses
            assert sympy.simplify(sympy.diff(a[o], zs[j]) - formula) == 0


COUPLED = [a for a in ACTIVATIONS.values() if a.coupled is not None]


@pytest.mark.parametrize("act", COUPLED, ids=lambda a: a.name)
def test_a_coupled_activations_local_derivative_is_diff_of_its_value(act):
    """∂ao/∂zj as the registry writes it in the outputs equals sympy.diff of ao(z1, z2, z3)."""
    zs = list(sympy.symbols("z1:4", real=True))
    values = [act.coupled.value(zs, j) for j in range(3)]
    for o in range(3):
        for j in range(3):
            local = act.coupled.local(values[o], values[j], o == j)
            assert sympy.simplify(sympy.diff(values[o], zs[j]) - local) == 0, (act.name, o, j)


# each coupled activation as the textbook has it, and softmax(z)j, the probability its δ shortcut uses
COUPLED_TEXTBOOK = {
    "softmax": lambda zs, j: sympy.exp(zs[j]) / sum(sympy.exp(z) for z in zs),
    "log_softmax": lambda zs, j: sympy.log(sympy.exp(zs[j]) / sum(sympy.exp(z) for z in zs)),
}


@pytest.mark.parametrize("act", COUPLED, ids=lambda a: a.name)
def test_a_coupled_activation_is_the_textbook_one_and_its_numpy_code_is_stable(act):
    import numpy as np
    zs = list(sympy.symbols("z1:4", real=True))
    point = {zs[0]: 0.3, zs[1]: -1.2, zs[2]: 2.0}
    for j in range(3):
        want = COUPLED_TEXTBOOK[act.name](zs, j)
        assert abs(float((act.coupled.value(zs, j) - want).subs(point))) < 1e-14
        softmax_j = COUPLED_TEXTBOOK["softmax"](zs, j)
        assert abs(float((act.coupled.probability(act.coupled.value(zs, j)) - softmax_j).subs(point))) < 1e-14
    z = np.array([[0.3, -1.2, 2.0], [800.0, 0.0, -800.0]])     # the second row overflows e^z unshifted
    s = z - z.max(axis=1, keepdims=True)
    got = act.coupled.evaluate(s, np.exp(s), np.exp(s).sum(axis=1, keepdims=True))
    row = [float(COUPLED_TEXTBOOK[act.name](zs, j).subs(point)) for j in range(3)]
    assert np.allclose(got[0], row, rtol=1e-14) and np.isfinite(got).all()


@pytest.mark.parametrize("loss,want", [
    ("mse", (A - T) ** 2 / 2),
    ("cross_entropy", -T * sympy.log(A)),
    ("mae", sympy.Abs(A - T)),
    ("kl", T * sympy.log(T) - T * sympy.log(A)),
    ("bce", -T * sympy.log(A) - (1 - T) * sympy.log(1 - A)),
])
def test_loss_terms(loss, want):
    assert sympy.expand(LOSSES[loss].term(A, T) - want) == 0


@pytest.mark.parametrize("act", [a for a in NAMED + LOSS_FUNCTIONS if a.numpy_template], ids=lambda a: a.name)
def test_numpy_template_equals_definition(act):
    import numpy as np
    z = np.array([-1000.0, -30.0, -2.5, 0.0, 0.3, 4.0, 30.0, 1000.0])
    f = sympy.lambdify(Z, act.apply(Z), modules="numpy")
    exact = np.array([float(act.definition.subs(Z, sympy.Float(v)).evalf(30)) for v in z])
    if act.name == "gelu":     # 1 + erf(z/√2) cancels for z ≪ 0 at any fixed precision: z·erfc(−z/√2)/2
        import mpmath
        exact = np.array([float(mpmath.mpf(v) * mpmath.erfc(-mpmath.mpf(v) / mpmath.sqrt(2)) / 2) for v in z])
    with np.errstate(all="raise", under="ignore"):
        got = f(z)
    # GELU's Φ comes from the C library's erfc, good to about 1e-13 relative far in the tail (z = −30)
    assert np.allclose(got, exact, rtol=1e-12 if act.name == "gelu" else 1e-14, atol=1e-300)


@pytest.mark.parametrize("act", [a for a in NAMED + LOSS_FUNCTIONS if a.numpy_prime_template], ids=lambda a: a.name)
def test_numpy_prime_template_equals_derivative(act):
    import numpy as np
    z = np.array([-40.0, -3.5, -1.0, -0.2, 0.0, 0.7, 2.0, 40.0])
    f = sympy.lambdify(Z, act.prime(Z), modules="numpy")
    exact = np.array([float(act.derivative.subs(Z, sympy.Float(v)).evalf(30)) for v in z])
    assert np.allclose(f(z), exact, rtol=1e-12, atol=1e-300)


@pytest.mark.parametrize("name, kinks, want", [
    ("relu", [0], [0]), ("hardtanh", [-1, 1], [0, 0]), ("hard_sigmoid", [-3, 3], [0, 0]),
    ("leaky_relu", [0], [sympy.Rational(1, 100)]),
])
def test_the_derivative_chosen_at_a_kink_is_stated_and_shared_by_the_reference(name, kinks, want):
    import numpy as np

    from symbackprop._tables import ACTIVATIONS as BY_HAND
    act = ACTIVATIONS[name]
    assert [act.derivative.subs(Z, k) for k in kinks] == want
    assert np.array_equal(BY_HAND[name][1](np.array(kinks, dtype=float)), np.array(want, dtype=float))
    assert act.kink.startswith(f"{name}'(")


def test_the_derivative_chosen_where_a_loss_has_none():
    import numpy as np

    from symbackprop._tables import LOSSES as BY_HAND
    mae = LOSSES["mae"].term(A, T)
    assert sympy.diff(mae, A).subs({A: 1, T: 1}) == 0 and BY_HAND["mae"][1](np.array(1.0), np.array(1.0)) == 0
    assert LOSSES["mae"].kink


# the losses whose terms call named functions, each written here as the textbook has it
_U = sympy.Symbol("u", real=True)
TEXTBOOK = {
    "huber": sympy.Piecewise(((A - T) ** 2 / 2, sympy.Abs(A - T) <= 1), (sympy.Abs(A - T) - sympy.S.Half, True)),
    "hinge": sympy.Max(0, 1 - T * A),
    "nll": -T * A,                         # a = log p: −t·log p
}


@pytest.mark.parametrize("loss", sorted(TEXTBOOK))
def test_named_loss_terms_equal_the_textbook(loss):
    import numpy as np
    term, want = LOSSES[loss].term(A, T), TEXTBOOK[loss]
    a, t = np.meshgrid([0.05, 0.4, 0.999, 1.0, 1.7, 3.0], [-1.0, -0.5, 0.0, 1.0, 2.5])
    off_kinks = (np.abs(a - t) != 1) & (a * t != 1)           # where the textbook's derivative is defined
    for got, exact, keep in ((term, want, np.full(a.shape, True)),
                             (sympy.diff(term, A), sympy.diff(want, A), off_kinks)):
        f = sympy.lambdify((A, T), got, modules="numpy")
        values = [float(exact.subs({A: x, T: y})) for x, y in zip(a[keep], t[keep])]
        assert np.allclose(np.broadcast_to(f(a, t), a.shape)[keep], values, rtol=1e-14, atol=1e-15)


@pytest.mark.parametrize("loss,at,want", [
    ("hinge", {A: 1, T: 1}, 0),                  # t·a = 1: relu'(0) = 0
    ("huber", {A: 2, T: 1}, 1),                  # |a − t| = 1: both branches give slope ±1
    ("huber", {A: 0, T: 1}, -1),
])
def test_the_derivative_chosen_at_a_loss_kink_is_stated_and_shared_by_the_reference(loss, at, want):
    import numpy as np

    from symbackprop._tables import LOSSES as BY_HAND
    f = sympy.lambdify((A, T), sympy.diff(LOSSES[loss].term(A, T), A), modules="numpy")
    assert float(f(float(at[A]), float(at[T]))) == want
    assert float(BY_HAND[loss][1](np.array(float(at[A])), np.array(float(at[T])))) == want
    assert LOSSES[loss].kink and LOSSES[loss].kink.isascii()
