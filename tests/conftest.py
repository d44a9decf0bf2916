import os

import pytest
import sympy
from hypothesis import HealthCheck, settings

from symbackprop.extend import activations

# hypothesis profiles: "ci" (the default) and "long" (HYPOTHESIS_PROFILE=long) for local runs;
# "fuzz" (HYPOTHESIS_PROFILE=fuzz) for hour-long runs of the parser fuzzers
settings.register_profile("ci", max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("long", max_examples=3000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("fuzz", max_examples=100_000, deadline=None, suppress_health_check=list(HealthCheck))
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

CUSTOM = "z/(1+abs(z))"
#: every activation a hidden layer may have, custom included
HIDDEN = [name for name, a in activations().items() if not a.output_only] + [CUSTOM]


def valid_combinations():
    """(hidden activation, output activation, loss) for every registry entry and loss it allows."""
    combos = []
    for out in [*HIDDEN, "softmax"]:
        hidden = "sigmoid" if out == "softmax" else out
        combos += [(hidden, out, loss) for loss in ("mse", "mae")]
        if out in ("g", "sigmoid", "softmax"):
            combos += [(hidden, out, loss) for loss in ("cross_entropy", "bce", "kl")]
    return combos


@pytest.fixture
def cli_run():
    from click.testing import CliRunner

    from symbackprop.cli import cli

    def run(*args, **kw):
        return CliRunner().invoke(cli, list(args), **kw)
    return run


_LAMBDAS: dict = {}


def value_at(expr, env: dict) -> float:
    """expr at env (symbol → float), by lambdify with the symbols renamed to plain identifiers."""
    if expr.is_Number:
        return float(expr)
    found = _LAMBDAS.get(expr)
    if found is None:
        syms = sorted(expr.free_symbols, key=lambda s: s.name)
        plain = [sympy.Symbol(f"v{k}", real=True) for k in range(len(syms))]
        found = _LAMBDAS[expr] = (syms, sympy.lambdify(plain, expr.xreplace(dict(zip(syms, plain))), "numpy"))
    syms, f = found
    return float(f(*[env[s] for s in syms]))


def swept_values(model, sw, env: dict) -> dict:
    """env (the leaves' numbers) with every node's value and every named δ added, from the model's
    equations and the sweep's adjoints, in the sweep's own order."""
    for eq in model.equations:
        env[eq.node] = value_at(eq.expr, env)
    for eq in reversed(model.equations[:-1]):
        if eq.delta is not None:
            env[eq.delta] = value_at(sw.adjoint[eq.node], env)
    return env
