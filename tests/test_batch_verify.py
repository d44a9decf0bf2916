"""verify on layer stacks over a batch: right answers typed from the textbook formulas are accepted, the
classic mistakes (typed as a student writes them) are named, bad names get one line with the column.

The formulas (batch norm over the N samples of node j, layer norm over the n nodes of sample s;
Ioffe & Szegedy): ∂E/∂x̂ = γ·δ, ∂E/∂σ = Σ ∂E/∂x̂·(−d/σ²), ∂E/∂var = Σ ∂E/∂x̂·d·(−½)(var + ε)^(−3/2),
∂E/∂d = ∂E/∂x̂/σ + ∂E/∂var·2d/N, ∂E/∂μ = −Σ ∂E/∂d, ∂E/∂x = ∂E/∂d + ∂E/∂μ/N, or compactly
∂E/∂x<s> = γ/(N·σ)·(N·δ<s> − Σ_r δ<r> − x̂<s>·Σ_r δ<r>·x̂<r>); ∂E/∂γ = Σ_s δ<s>·x̂<s>, ∂E/∂β = Σ_s δ<s>;
inverted dropout a[k] = m·a[k−1]/(1 − p), so ∂E/∂a[k−1] = m·∂E/∂a[k]/(1 − p).
"""
from __future__ import annotations

from functools import lru_cache

import pytest

import symbackprop as sb
from symbackprop import ParseError
from symbackprop._batch_verify import RULES, VERIFIER, reading, verify_lines

BN = sb.network({"inputs": 2, "batch": 3, "loss": "bce",
                 "layer": [{"size": 2, "activation": "tanh", "bias": True}, {"kind": "batchnorm", "activation": "relu"},
                           {"kind": "dropout", "rate": 0.25}, {"size": 1, "activation": "sigmoid"}]})
LN = sb.network({"inputs": 2, "batch": 2, "loss": "mse",
                 "layer": [{"size": 3, "activation": "linear"}, {"kind": "layernorm", "activation": "tanh"},
                           {"size": 2, "activation": "linear"}]})


@lru_cache(maxsize=None)
def _derived(net):
    """The derivation verify compares against, and the kind's sampler of random points (``VERIFIER[2]``)."""
    d = sb.derive(net, weights=())
    return d, VERIFIER[2](d, 0)


def verify(net, text: str):
    """One equation (or chain) checked by the public ``sb.verify``."""
    return sb.verify(net, text)


def compact(j, k, s, gamma=True, total=True, moment=True, scale="N"):
    """Batch norm's compact input gradient, typed out; the flags leave a part out."""
    parts = [f"N·δ{j}[{k}]<{s}>"] + ([f"Σ_r δ{j}[{k}]<r>"] if total else []) + \
        ([f"x̂{j}[{k}]<{s}>·Σ_r δ{j}[{k}]<r>·x̂{j}[{k}]<r>"] if moment else [])
    head = (f"γ{j}[{k}]" if gamma else "1") + (f"/({scale}·σ{j}[{k}])" if scale else f"/σ{j}[{k}]")
    return f"{head}·(" + " − ".join(parts) + ")"


def ln_compact(s, total=True, moment=True):
    g = [f"γ{i}[3]·δ{i}[3]<{s}>" for i in (1, 2, 3)]
    parts = [f"3·{g[0]}"] + ([f"({' + '.join(g)})"] if total else []) + \
        ([f"x̂1[3]<{s}>·(" + " + ".join(f"{t}·x̂{i}[3]<{s}>" for i, t in zip((1, 2, 3), g)) + ")"] if moment else [])
    return f"1/(3·σ[3]<{s}>)·(" + " − ".join(parts) + ")"


RIGHT = [
    (BN, "dE/dw11[1] = x1<1>·δ1[2]<1> + x1<2>·δ1[2]<2> + x1<3>·δ1[2]<3>"),
    (BN, "dE/dw21[1] = Σ_s x2<s>·δ1[2]<s>"),
    (BN, "∂E/∂b2[2] = Σ_s δ2[2]<s>"),
    (BN, "dE/dγ1[3] = Σ_s x̂1[3]<s>·δ1[3]<s>"),
    (BN, "dE/dbeta2[3] = δ2[3]<1> + δ2[3]<2> + δ2[3]<3>"),
    (BN, "dE/dxhat1[3]<2> = γ1[3]·δ1[3]<2>"),
    (BN, "dE/dsigma1[3] = Σ_s ∂E/∂xhat1[3]<s>·(−d1[3]<s>/σ1[3]^2)"),
    (BN, "dE/dvar1[3] = Σ_s γ1[3]·δ1[3]<s>·d1[3]<s>·(−1/2)·(var1[3] + ε)^(−3/2)"),
    (BN, "dE/dvar1[3] = ∂E/∂sigma1[3]/(2·sqrt(var1[3] + epsilon))"),
    (BN, "dE/dd2[3]<3> = ∂E/∂xhat2[3]<3>/σ2[3] + ∂E/∂var2[3]·2·d2[3]<3>/3"),
    (BN, "dE/dmu1[3] = −Σ_s ∂E/∂d1[3]<s>"),
    (BN, "dE/dmu1[3] = Σ_s ∂E/∂xhat1[3]<s>·(−1/σ1[3]) + ∂E/∂var1[3]·Σ_s (−2·d1[3]<s>)/N"),
    (BN, "dE/da1[2]<1> = ∂E/∂xhat1[3]<1>/σ1[3] + ∂E/∂var1[3]·2·d1[3]<1>/N + ∂E/∂mu1[3]/N"),
    (BN, "dE/da2[2]<3> = " + compact(2, 3, 3)),
    (BN, "δ1[2]<1> = (1 − a1[2]<1>^2)·∂E/∂a1[2]<1>"),
    (BN, "δ1[2]<2> = tanh'(z1[2]<2>)·" + compact(1, 3, 2)),
    (BN, "dE/dz1[3]<1> = relu'(z1[3]<1>)·∂E/∂a1[3]<1>"),
    (BN, "dE/da2[3]<1> = m2[4]<1>·∂E/∂a2[4]<1>/(1 − 0.25)"),
    (BN, "δ2[3]<1> = relu'(z2[3]<1>)·m2[4]<1>·w21[4]·δ1[5]<1>/0.75"),
    (BN, "dE/dw21[4] = Σ_s a2[4]<s>·δ1[5]<s>"),
    (BN, "dE/dw21[4] = Σ_s m2[4]<s>·a2[3]<s>·δ1[5]<s>/0.75"),
    (BN, "δ1[5]<2> = a1[5]<2> − t1<2>"),
    (BN, "dE/dw11[1] = Σ_s ∂E/∂z1[2]<s>·∂z1[2]<s>/∂w11[1] = Σ_s δ1[2]<s>·x1<s>"),
    (BN, r"$\frac{\partial E}{\partial \gamma_{1}^{[3]}} = \sum_{s} \hat{x}_{1}^{[3]\langle s \rangle} "
         r"\delta_{1}^{[3]\langle s \rangle}$"),
    (LN, "dE/dgamma2[3] = Σ_s x̂2[3]<s>·δ2[3]<s>"),
    (LN, "dE/da1[2]<1> = " + ln_compact(1)),
    (LN, "dE/dμ[3]<2> = −(∂E/∂d1[3]<2> + ∂E/∂d2[3]<2> + ∂E/∂d3[3]<2>)"),
    (LN, "dE/dsigma[3]<1> = −(∂E/∂xhat1[3]<1>·d1[3]<1> + ∂E/∂xhat2[3]<1>·d2[3]<1> + ∂E/∂xhat3[3]<1>·d3[3]<1>)"
         "/σ[3]<1>^2"),
    (LN, "dE/da2[3]<2> = w21[3]·δ1[4]<2> + w22[3]·δ2[4]<2>"),
]


@pytest.mark.parametrize("net, text", RIGHT)
def test_right_answers_verify(net, text):
    v = verify(net, text)
    assert v, (text, v.diagnosis, str(v))


WRONG = [
    (BN, "dE/da2[2]<3> = " + compact(2, 3, 3, total=False), "the Σ δ term left out"),
    (BN, "dE/da2[2]<3> = " + compact(2, 3, 3, moment=False), "the x̂·Σ δ·x̂ term left out"),
    (BN, "dE/da2[2]<3> = " + compact(2, 3, 3, scale=""), "the compact form without its 1/N"),
    (BN, "dE/da2[2]<3> = " + compact(2, 3, 3, gamma=False), "γ left out"),
    (BN, "dE/dxhat1[3]<2> = δ1[3]<2>", "γ left out"),
    (BN, r"\frac{\partial E}{\partial \hat{x}_{1}^{[3]\langle 2 \rangle}} = \delta_{1}^{[3]\langle 2 \rangle}",
     "γ left out"),
    (BN, "dE/da1[2]<1> = ∂E/∂xhat1[3]<1>/σ1[3] + ∂E/∂var1[3]·2·d1[3]<1>/N + ∂E/∂mu1[3]",
     "1/N left out of the mean's path"),
    (BN, "dE/dd2[3]<3> = ∂E/∂xhat2[3]<3>/σ2[3] + ∂E/∂var2[3]·2·d2[3]<3>/(N − 1)", "N − 1 in place of N"),
    (BN, "dE/dd2[3]<3> = ∂E/∂xhat2[3]<3>/σ2[3] + ∂E/∂var2[3]·2·d2[3]<3>", "1/N left out of the variance's path"),
    (BN, "dE/dd2[3]<3> = ∂E/∂xhat2[3]<3>/σ2[3]", "the x̂·Σ δ·x̂ term left out (the path through the variance"),
    (BN, "dE/dw11[1] = x1<1>·δ1[2]<1>", "the sum over the samples left out (only sample 1's term)"),
    (BN, "dE/dgamma1[3] = x̂1[3]<2>·δ1[3]<2>", "the sum over the samples left out (only sample 2's term)"),
    (BN, "dE/dbeta1[3] = Σ_s δ1[3]<s>/3", "the mean over the samples (1/3), but E is their sum"),
    (BN, "dE/da2[3]<1> = ∂E/∂a2[4]<1>/0.75", "the mask left out of δ"),
    (BN, "δ2[3]<1> = relu'(z2[3]<1>)·w21[4]·δ1[5]<1>/0.75", "the mask left out of δ"),
    (BN, "dE/da2[3]<1> = m2[4]<1>·∂E/∂a2[4]<1>", "the 1/(1 − p) scale left out"),
    (BN, "δ2[3]<1> = relu'(z2[3]<1>)·m2[4]<1>·w21[4]·δ1[5]<1>", "the 1/(1 − p) scale left out"),
    (BN, "dE/da2[3]<1> = m2[4]<1>·∂E/∂a2[4]<1>/0.25", "1/p in place of 1/(1 − p)"),
    (BN, "dE/dw21[4] = Σ_s a2[3]<s>·δ1[5]<s>", "a[k−1] (before dropout) in place of the dropout's a[k]"),
    (BN, "δ1[5]<2> = t1<2> − a1[5]<2>", "the wrong sign"),
    (BN, "δ2[3]<1> = m2[4]<1>·w21[4]·δ1[5]<1>/0.75", "a missing relu'(z2[3]<1>) factor"),
    (BN, "δ1[2]<2> = " + compact(1, 3, 2), "a missing tanh'(z1[2]<2>) factor"),
    (BN, "dE/dsigma1[3] = 2·Σ_s ∂E/∂xhat1[3]<s>·(−d1[3]<s>/σ1[3]^2)", "a missing ½ factor, or an extra 2"),
    (LN, "dE/da1[2]<1> = " + ln_compact(1, total=False), "the Σ δ term left out"),
    (LN, "dE/da1[2]<2> = " + ln_compact(2, moment=False), "the x̂·Σ δ·x̂ term left out"),
    (LN, "dE/da1[2]<1> = ∂E/∂d1[3]<1> + ∂E/∂μ[3]<1>", "1/n left out of the mean's path"),
    (LN, "dE/da2[3]<2> = w21[3]·δ1[4]<2>", "a missing sum over the next layer's nodes (only node 1)"),
]


@pytest.mark.parametrize("net, text, name", WRONG)
def test_mistakes_are_named(net, text, name):
    v = verify(net, text)
    assert not v
    assert v.diagnosis and v.diagnosis.startswith(name), (text, v.diagnosis)


def test_the_means_path_through_the_variance_is_no_numeric_mistake():
    """∂var/∂μ = −2·Σ d/N and Σ d = 0: ∂E/∂μ without that term is the same number, and verify says so."""
    assert verify(BN, "dE/dmu1[3] = Σ_s ∂E/∂xhat1[3]<s>·(−1/σ1[3])")


@pytest.mark.parametrize("text, words", [
    ("dE/dw11[1] = w11[9]", "w11[9] is not in the network"),
    ("dE/dw11[1] = x1<s>·δ1[2]<s>", "<s> outside a sum"),
    ("dE/dw11[1] = Σ_j x1<1>", "a sum here runs over the samples"),
    ("dE/dw11[1] = Σ_{s=1}^{4} x1<s>·δ1[2]<s>", "s goes up to 4, but the batch has 3 samples"),
    ("dE/dw11[1] = Σ_s", "nothing to sum after Σ_s"),
    ("δ1[2]<s> = 0", "is not a name of this network"),
    ("dE/dq1[2] = 0", "is not a name of this network"),
    ("dE/dmu1[2] = 0", "mu1[2] is not in the"),
    ("dE/dw11[1] x1<1>", "no '='"),
])
def test_unreadable_lines_say_where(text, words):
    with pytest.raises(ParseError) as err:
        verify(BN, text)
    assert words in str(err.value) and "\n" not in str(err.value)


def test_a_file_of_lines_is_reported_line_by_line():
    d, sampler = _derived(BN)
    lines = [("hw.txt:1", "dE/dxhat1[3]<2> = γ1[3]·δ1[3]<2>"),
             ("hw.txt:2", "dE/dw11[1] = Σ_s ∂E/∂z1[2]<s>·∂z1[2]<s>/∂w11[1]"),
             ("hw.txt:3", "= x1<1>·δ1[2]<1>"),
             ("hw.txt:4", "dE/dw11[1] = w11[9]")]
    out, right, read = verify_lines(d, reading(BN), RULES, sampler, lines)
    assert read and not right
    assert out[0].startswith("✓ dE/dxhat1[3]<2>")
    assert out[1].startswith("✗ hw.txt:2") and "the sum over the samples left out" in out[3]
    assert out[-1].startswith("hw.txt:4:") and "w11[9] is not in the network" in out[-1]


def test_the_public_api_reads_the_kinds_lines():
    assert sb.verify(BN, "dE/dw21[1] = Σ_s x2<s>·δ1[2]<s>")
    assert sb.verify(BN, "dE/dxhat1[3]<2> = δ1[3]<2>").diagnosis.startswith("γ left out")
