"""verify on LSTM and GRU cells: right answers typed from the textbook are accepted, the classic
gated-cell mistakes (typed as a student writes them) are named, bad names get one line.

The textbook (Goodfellow et al. ch. 10, d2l.ai §10.1–10.2), with σ the sigmoid and φ = tanh:
LSTM  c<t> = f<t>·c<t−1> + i<t>·g<t>,  h<t> = o<t>·tanh(c<t>), so
      δh<t> = Σ_k vjk·(yk<t> − tk<t>) + Σ_γ Σ_k wγjk·δγk<t+1>,
      δc<t> = δh<t>·o<t>·tanh'(c<t>) + f<t+1>·δc<t+1>,
      δi<t> = δc<t>·g<t>·σ'(si<t>), δf<t> = δc<t>·c<t−1>·σ'(sf<t>), δo<t> = δh<t>·tanh(c<t>)·σ'(so<t>),
      δg<t> = δc<t>·i<t>·tanh'(sg<t>);
GRU   h<t> = z<t>·h<t−1> + (1 − z<t>)·n<t>, n<t> = tanh(Σ un·x + Σ wn·(r<t>·h<t−1>)), so
      δh<t> = (outputs) + Σ wr·δr<t+1> + Σ wz·δz<t+1> + r<t+1>·Σ wn·δn<t+1> + z<t+1>·δh<t+1>,
      δn<t> = δh<t>·(1 − z<t>)·tanh'(sn<t>), δz<t> = δh<t>·(h<t−1> − n<t>)·σ'(sz<t>),
      δr<t> = Σ_k wn_jk·δn_k<t>·h<t−1>·σ'(sr<t>);
every weight's gradient the sum over t of what it multiplies times the δ (wn: r<t>·h<t−1>).
"""
from functools import lru_cache

import pytest

import symbackprop as sb
from symbackprop import ParseError
from symbackprop._gated_verify import RULES, VERIFIER, reading, verify_lines

LSTM = sb.rnn(1, 1, 1, 3, cell="lstm", bias=True)
LSTM2 = sb.rnn(1, 2, 1, 2, cell="lstm")
GRU = sb.rnn(1, 1, 1, 3, cell="gru", bias=True)
GRU_H = sb.rnn(2, 1, None, 2, cell="gru", output="hidden")


@lru_cache(maxsize=None)
def _derived(net):
    """The derivation verify compares against, and the kind's sampler of random points (``VERIFIER[2]``)."""
    d = sb.derive(net, weights=())
    return d, VERIFIER[2](d, 0)


def check(net, text):
    """verify of one line, by the public ``sb.verify`` (the kind carries its verifier)."""
    return sb.verify(net, text)


SUM_F = "h1<0>·δf1<1> + h1<1>·δf1<2> + h1<2>·δf1<3>"
DH_LSTM = "v11·(y1<1> − t1<1>) + wi11·δi1<2> + wf11·δf1<2> + wo11·δo1<2> + wg11·δg1<2>"
DH_GRU = "v11·(y1<1> − t1<1>) + wr11·δr1<2> + wz11·δz1<2> + wn11·r1<2>·δn1<2> + z1<2>·δh1<2>"

RIGHT = [
    (LSTM, "dE/dwf11 = " + SUM_F),
    (LSTM, "∂E/∂ui11 = x1<1>·δi1<1> + x1<2>·δi1<2> + x1<3>·δi1<3>"),
    (LSTM, "dE/dbo1 = deltao1<1> + deltao1<2> + deltao1<3>"),
    (LSTM, "dE/dv11 = h1<1>·(y1<1> − t1<1>) + h1<2>·(y1<2> − t1<2>) + h1<3>·(y1<3> − t1<3>)"),
    (LSTM, "dE/dc1 = y1<1> − t1<1> + y1<2> − t1<2> + y1<3> − t1<3>"),            # the output bias
    (LSTM, "δh1<1> = " + DH_LSTM),
    (LSTM, "δh1<3> = v11·(y1<3> − t1<3>)"),
    (LSTM, "δc1<1> = f1<2>·δc1<2> + o1<1>·δh1<1>·tanh'(c1<1>)"),
    (LSTM, "dE/dc1<2> = δh1<2>·o1<2>·(1 − tanh(c1<2>)^2) + f1<3>·δc1<3>"),
    (LSTM, "δc1<3> = δh1<3>·o1<3>·phi'(c1<3>)"),                                       # no step 4
    (LSTM, "δi1<2> = δc1<2>·g1<2>·σ'(si1<2>)"),
    (LSTM, "δf1<1> = δc1<1>·c1<0>·f1<1>·(1 − f1<1>)"),
    (LSTM, "δo1<1> = δh1<1>·tanh(c1<1>)·sigmoid'(so1<1>)"),
    (LSTM, "δg1<2> = δc1<2>·i1<2>·(1 − g1<2>^2)"),
    (LSTM, "dE/dsf1<2> = δf1<2>"),
    (LSTM, "dE/df1<2> = c1<1>·δc1<2>"),
    (LSTM, "dE/dq1<2> = y1<2> − t1<2>"),
    (LSTM, "δf1<1> = δc1<1>·c1<0>·σ'(sf1<1>) = "
           "(f1<2>·δc1<2> + o1<1>·δh1<1>·tanh'(c1<1>))·c1<0>·σ'(sf1<1>)"),
    (LSTM, "δc1<1> = ∂E/∂h1<1>·∂h1<1>/∂c1<1> + ∂E/∂c1<2>·∂c1<2>/∂c1<1>"),
    (GRU, "δh1<1> = ∂E/∂h1<2>·∂h1<2>/∂h1<1> + v11·(y1<1> − t1<1>) + wr11·δr1<2> + wz11·δz1<2> + "
          "wn11·r1<2>·δn1<2>"),
    (LSTM2, "δh2<1> = v21·(y1<1> − t1<1>) + wi21·δi1<2> + wi22·δi2<2> + wf21·δf1<2> + wf22·δf2<2> + "
            "wo21·δo1<2> + wo22·δo2<2> + wg21·δg1<2> + wg22·δg2<2>"),
    (LSTM2, "δc2<1> = f2<2>·δc2<2> + o2<1>·δh2<1>·tanh'(c2<1>)"),
    (LSTM2, "dE/dwf12 = h1<0>·δf2<1> + h1<1>·δf2<2>"),
    (GRU, "δh1<1> = " + DH_GRU),
    (GRU, "δn1<2> = δh1<2>·(1 − z1<2>)·tanh'(sn1<2>)"),
    (GRU, "δz1<2> = δh1<2>·(h1<1> − n1<2>)·σ'(sz1<2>)"),
    (GRU, "δr1<2> = wn11·δn1<2>·h1<1>·σ'(sr1<2>)"),
    (GRU, "dE/dwz11 = h1<0>·δz1<1> + h1<1>·δz1<2> + h1<2>·δz1<3>"),
    (GRU, "dE/dwn11 = r1<1>·h1<0>·δn1<1> + r1<2>·h1<1>·δn1<2> + r1<3>·h1<2>·δn1<3>"),
    (GRU, "dE/dwn11 = rh1<1>·δn1<1> + rh1<2>·δn1<2> + rh1<3>·δn1<3>"),
    (GRU, "dE/dbn1 = δn1<1> + δn1<2> + δn1<3>"),
    (GRU, "dE/drh1<2> = wn11·δn1<2>"),
    (GRU_H, "δh1<2> = h1<2> − t1<2>"),
    (GRU_H, "δh1<1> = h1<1> − t1<1> + wr11·δr1<2> + wz11·δz1<2> + wn11·r1<2>·δn1<2> + z1<2>·δh1<2>"),
    (GRU_H, "dE/dun21 = x2<1>·δn1<1> + x2<2>·δn1<2>"),
]


@pytest.mark.parametrize("net, text", RIGHT)
def test_right_answers_are_accepted(net, text):
    v = check(net, text)
    assert v, str(v)


# the classic mistakes, written out as a student writes them
WRONG = [
    (LSTM, "δc1<1> = o1<1>·δh1<1>·tanh'(c1<1>)", "the cell path through time left out"),
    (LSTM, "δc1<2> = δh1<2>·o1<2>·tanh'(c1<2>)", "the cell path through time left out"),
    (LSTM, "δf1<1> = o1<1>·δh1<1>·tanh'(c1<1>)·c1<0>·σ'(sf1<1>)", "the cell path through time left out"),
    (LSTM, "dE/dwf11 = h1<0>·c1<0>·o1<1>·δh1<1>·tanh'(c1<1>)·σ'(sf1<1>) + h1<1>·c1<1>·o1<2>·δh1<2>·"
           "tanh'(c1<2>)·σ'(sf1<2>) + h1<2>·c1<2>·o1<3>·δh1<3>·tanh'(c1<3>)·σ'(sf1<3>)",
     "the cell path through time left out"),
    (LSTM, "δc1<1> = ∂E/∂h1<1>·∂h1<1>/∂c1<1>", "the cell path through time left out"),
    (LSTM, "δc1<1> = δc1<2> + o1<1>·δh1<1>·tanh'(c1<1>)", "the forget gate missing from the cell path"),
    (LSTM, "δi1<1> = (δc1<2> + o1<1>·δh1<1>·tanh'(c1<1>))·g1<1>·σ'(si1<1>)",
     "the forget gate missing from the cell path"),
    (LSTM, "δc1<1> = f1<2>·δc1<2> + o1<1>·δh1<1>", "tanh'(c<t>) forgotten in the output path"),
    (LSTM, "δc1<3> = δh1<3>·o1<3>", "tanh'(c<t>) forgotten in the output path"),
    (LSTM, "δf1<2> = δc1<2>·c1<1>", "a gate's σ' missing"),
    (LSTM, "δo1<1> = δh1<1>·tanh(c1<1>)", "a gate's σ' missing"),
    (LSTM, "dE/dwf11 = h1<0>·δc1<1>·c1<0> + h1<1>·δc1<2>·c1<1> + h1<2>·δc1<3>·c1<2>", "a gate's σ' missing"),
    (LSTM, "δg1<1> = δc1<1>·i1<1>", "the candidate's tanh' missing"),
    (LSTM, "δf1<1> = δc1<1>·c1<1>·σ'(sf1<1>)", "c<t> in place of c<t−1>"),
    (LSTM, "δh1<2> = v11·(y1<2> − t1<2>)", "the recurrent term left out"),
    (LSTM, "dE/dwf11 = h1<2>·δf1<3>", "a missing sum over time (only step 3)"),
    (LSTM, "dE/dbi1 = δi1<1>", "a missing sum over time (only step 1)"),
    (LSTM, "dE/dwf11 = h1<1>·δf1<1> + h1<2>·δf1<2> + h1<3>·δf1<3>", "h<t> in place of h<t−1>"),
    (LSTM, "dE/dwf11 = −(" + SUM_F + ")", "the wrong sign"),
    (LSTM, "δh1<1> = v11·(t1<1> − y1<1>) − wi11·δi1<2> − wf11·δf1<2> − wo11·δo1<2> − wg11·δg1<2>",
     "the wrong sign"),
    (LSTM, "dE/dv11 = 2·h1<1>·(y1<1> − t1<1>) + 2·h1<2>·(y1<2> − t1<2>) + 2·h1<3>·(y1<3> − t1<3>)",
     "a missing ½ factor, or an extra 2"),
    (LSTM2, "δc2<1> = o2<1>·δh2<1>·tanh'(c2<1>)", "the cell path through time left out"),
    (LSTM2, "δc1<1> = δc1<2> + o1<1>·δh1<1>·tanh'(c1<1>)", "the forget gate missing from the cell path"),
    (GRU, "δh1<1> = v11·(y1<1> − t1<1>) + wr11·δr1<2> + wz11·δz1<2> + wn11·r1<2>·δn1<2>",
     "the direct path through time left out"),
    (GRU, "δh1<1> = v11·(y1<1> − t1<1>) + wr11·δr1<2> + wz11·δz1<2> + wn11·r1<2>·δn1<2> + δh1<2>",
     "the update gate missing from the direct path"),
    (GRU, "δh1<1> = v11·(y1<1> − t1<1>) + wr11·δr1<2> + wz11·δz1<2> + wn11·δn1<2> + z1<2>·δh1<2>",
     "the reset gate missing on the path through n"),
    (GRU, "δh1<2> = v11·(y1<2> − t1<2>)", "the recurrent term left out"),
    (GRU, "δn1<2> = δh1<2>·tanh'(sn1<2>)", "(1 − z<t>) left out of δn<t>"),
    (GRU, "δn1<2> = δh1<2>·z1<2>·tanh'(sn1<2>)", "z<t> and 1 − z<t> swapped"),
    (GRU, "δz1<2> = δh1<2>·(h1<1> − n1<2>)", "a gate's σ' missing"),
    (GRU, "δr1<2> = wn11·δn1<2>·h1<1>", "a gate's σ' missing"),
    (GRU, "δn1<1> = δh1<1>·(1 − z1<1>)", "the candidate's tanh' missing"),
    (GRU, "δz1<2> = δh1<2>·(h1<2> − n1<2>)·σ'(sz1<2>)", "h<t> in place of h<t−1>"),
    (GRU, "δz1<2> = δh1<2>·(n1<2> − h1<1>)·σ'(sz1<2>)", "the wrong sign"),
    (GRU, "dE/dwn11 = h1<0>·δn1<1> + h1<1>·δn1<2> + h1<2>·δn1<3>", "the reset gate left out of wn's gradient"),
    (GRU, "dE/dwz11 = h1<1>·δz1<1> + h1<2>·δz1<2> + h1<3>·δz1<3>", "h<t> in place of h<t−1>"),
    (GRU, "dE/dbz1 = δz1<2>", "a missing sum over time (only step 2)"),
    (GRU, "dE/dwz11 = h1<0>·δh1<1>·(h1<0> − n1<1>) + h1<1>·δh1<2>·(h1<1> − n1<2>) + "
          "h1<2>·δh1<3>·(h1<2> − n1<3>)", "a gate's σ' missing"),
    (GRU_H, "δh1<1> = h1<1> − t1<1> + wr11·δr1<2> + wz11·δz1<2> + wn11·r1<2>·δn1<2>",
     "the direct path through time left out"),
]


@pytest.mark.parametrize("net, text, mistake", WRONG)
def test_classic_mistakes_are_named(net, text, mistake):
    v = check(net, text)
    assert not v
    assert v.diagnosis and mistake in v.diagnosis, (v.diagnosis, str(v))


def test_a_wrong_step_of_a_chain_is_named():
    v = check(LSTM, "δf1<1> = δc1<1>·c1<0>·σ'(sf1<1>) = o1<1>·δh1<1>·tanh'(c1<1>)·c1<0>·σ'(sf1<1>)")
    assert not v and v.steps[0] and not v.steps[1]
    assert "cell path" in v.steps[1].diagnosis


def test_a_foreign_activation_is_hinted():
    v = check(LSTM, "δg1<1> = δc1<1>·i1<1>·relu'(sg1<1>)")
    assert not v and "you wrote relu'" in v.diagnosis


@pytest.mark.parametrize("net, text, message", [
    (LSTM, "dE/dwq11 = 1", "left side"),
    (GRU, "δc1<1> = δh1<1>", "not in the GRU"),
    (LSTM, "dE/dh1<0> = δh1<0>", "not in the LSTM"),
    (LSTM, "dE/dwf11 = h1<3>·δf1<4>", "δf1<4> is not in the LSTM"),
    (LSTM, "δc1<1> = f1<2>·deltac1<2> + o1<1>·δh1<1>·tanh'(c2<1>)", "c2<1> is not in the LSTM"),
    (GRU_H, "δh1<1> = v11·δh1<2>", "v11 is not in the GRU"),
    (LSTM, "δi1<1> = δc1<1>·gi1<1>", "gi1<1>"),
    (LSTM, "dE/dwf11 = Σ_t h1<t−1>·δf1<t>", "no Σ or letter indices: write the sum out, e.g. dE/dwf11 = "),
    (GRU, r"dE/dwz11 = \sum_t h1<t-1> \delta_{z,1}^{\langle t \rangle}", "no Σ or letter indices"),
])
def test_bad_names_are_one_line(net, text, message):
    with pytest.raises(ParseError, match=message) as err:
        check(net, text)
    assert "\n" not in str(err.value)


def test_lines_are_reported_as_verify_reports_them():
    d, sampler = _derived(LSTM)
    out, right, read = verify_lines(d, reading(LSTM), RULES, sampler,
                                    [("line 1", "dE/dwf11 = " + SUM_F),
                                     ("line 2", "δc1<1> = o1<1>·δh1<1>·tanh'(c1<1>)"),
                                     ("line 3", "δx = 1")])
    assert read and not right
    assert out[0].startswith("✓") and out[1].startswith("✗") and "cell path" in out[1]
    assert out[2].startswith("line 3")


@pytest.mark.parametrize("net", [LSTM, GRU])
def test_the_public_verify(net):
    gate = net.gates[1]
    assert sb.verify(net, f"dE/dw{gate}11 = h1<0>·δ{gate}1<1> + h1<1>·δ{gate}1<2> + h1<2>·δ{gate}1<3>")
    assert sb.verify(net, "dE/dwi11 = h1<0>·δi1<1> + h1<1>·δi1<2> + h1<2>·δi1<3>" if net is LSTM else
                     "dE/dwn11 = rh1<1>·δn1<1> + rh1<2>·δn1<2> + rh1<3>·δn1<3>")
    wrong = "δc1<1> = o1<1>·δh1<1>·tanh'(c1<1>)" if net is LSTM else \
        "δh1<1> = v11·(y1<1> − t1<1>) + wr11·δr1<2> + wz11·δz1<2> + wn11·r1<2>·δn1<2>"
    assert "path through time left out" in sb.verify(net, wrong).diagnosis


def test_latex_names_and_partials_in_chain_steps_are_read():
    """The names as derive's LaTeX writes them (a gate's letter before the index), and ∂ of gated names."""
    net = sb.rnn(1, 1, 1, 2, cell="lstm", output="hidden")
    cell = r"\delta_{c,1}^{\langle 1 \rangle} = "
    right = cell + r"f_{1}^{\langle 2 \rangle} \cdot \delta_{c,1}^{\langle 2 \rangle} + o_{1}^{\langle 1 \rangle} " \
                   r"\delta_{h,1}^{\langle 1 \rangle} \tanh'(c_{1}^{\langle 1 \rangle})"
    assert sb.verify(net, right)
    wrong = sb.verify(net, cell + r"o_{1}^{\langle 1 \rangle} \delta_{h,1}^{\langle 1 \rangle} "
                                  r"\tanh'(c_{1}^{\langle 1 \rangle})")
    assert not wrong and "cell path" in wrong.diagnosis
    chain = sb.verify(net, "dE/dwf11 = ∂E/∂sf1<1>·∂sf1<1>/∂wf11 + ∂E/∂sf1<2>·∂sf1<2>/∂wf11 "
                           "= h1<0>*deltaf1<1> + h1<1>*deltaf1<2>")
    assert chain and len(chain.steps) == 2 and all(chain.steps)
