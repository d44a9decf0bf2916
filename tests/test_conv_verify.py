"""verify on conv nets: right answers typed from the textbook formulas are accepted, the classic
mistakes (typed by hand) are named, bad names get one line and exit 2.

The formulas (positions counted from 1; stride s, padding p, kernel offsets u, v):
z_{c,i,j}[k+1] = Σ_d Σ_u Σ_v k_{c,d,u,v}[k]·a_{d, s(i−1)+u−p, s(j−1)+v−p}[k], so
∂E/∂k_{c,d,u,v}[k] = Σ_i Σ_j δ_{c,i,j}[k+1]·a_{d, s(i−1)+u−p, s(j−1)+v−p}[k] and
∂E/∂a_{d,x,y}[k] = Σ_c Σ_u Σ_v δ_{c,i,j}[k+1]·k_{c,d,u,v}[k] over i = (x+p−u)/s + 1 (and j) whole and inside.
"""
from __future__ import annotations

import pytest
from click.testing import CliRunner

import symbackprop as sb
from symbackprop.cli import cli, main


def _net(inputs, *layers):
    return sb.network({"inputs": list(inputs), "loss": "mse", "layer": list(layers)})


def _conv(channels, **more):
    return {"kind": "conv", "channels": channels, "kernel": 2, **more}


OUT = {"size": 1, "activation": "sigmoid"}
NET_A = _net((1, 4, 4), _conv(1), OUT)                                   # the seed's conv example
NET_CC = _net((1, 4, 4), _conv(2), _conv(2), OUT)                        # conv → conv, stride 1
NET_S = _net((1, 4, 4), _conv(2), _conv(2, stride=2, padding=1, bias=True), OUT)
NET_MAX = _net((1, 5, 5), _conv(1), {"kind": "maxpool", "size": 2}, OUT)
NET_AVG = _net((1, 5, 5), _conv(1), {"kind": "avgpool", "size": 2}, OUT)
NET_OVERLAP = _net((1, 4, 4), _conv(1), {"kind": "maxpool", "size": 2, "stride": 1}, OUT)


def kernel_gradient(c, d, u, v, *, out, size, k=1, stride=1, pad=0):
    """∂E/∂kcduv[k] = Σ_i Σ_j δcij[k+1]·a_{d, s(i−1)+u−p, s(j−1)+v−p}[k], over the inputs inside."""
    terms = []
    for i in range(1, out + 1):
        for j in range(1, out + 1):
            r, q = stride * (i - 1) + u - pad, stride * (j - 1) + v - pad
            if 1 <= r <= size and 1 <= q <= size:
                terms.append(f"δ{c}{i}{j}[{k + 1}]·" + (f"x{d}{r}{q}" if k == 1 else f"a{d}{r}{q}[{k}]"))
    return " + ".join(terms)


RIGHT = [
    (NET_A, "dE/dk1111[1] = " + kernel_gradient(1, 1, 1, 1, out=3, size=4)),
    (NET_A, "∂E/∂k1112[1] = " + kernel_gradient(1, 1, 1, 2, out=3, size=4)),
    (NET_A, "dE/dk1122[1] = δ111[2]·x122 + δ112[2]·x123 + δ113[2]·x124 + δ121[2]·x132 + δ122[2]·x133 + "
            "δ123[2]·x134 + δ131[2]·x142 + δ132[2]·x143 + δ133[2]·x144"),
    (NET_A, "dE/dk1111[1] = Σ_i Σ_j ∂E/∂z1ij[2]·∂z1ij[2]/∂k1111[1]"),
    (NET_A, "dE/dw61[2] = δ1[3]·a123[2]"),                  # a123[2] is the 6th entry in C order
    (NET_A, "dE/da123[2] = w61[2]·δ1[3]"),
    (NET_A, "δ1[3] = (a1[3] − t1)·sigmoid'(z1[3])"),
    (NET_A, "delta1[3] = (a1[3] - t1)*a1[3]*(1 - a1[3])"),
    (NET_A, "δ111[2] = g'(z111[2])·w11[2]·δ1[3]"),
    (NET_A, "dE/dz133[2] = g'(z133[2])·w91[2]·δ1[3]"),
    (NET_A, r"\frac{\partial E}{\partial w_{61}^{[2]}} = \delta_{1}^{[3]} a_{123}^{[2]}"),
    # the full convolution of δ with the kernel rotated by 180°: i = x − u + 1, j = y − v + 1
    (NET_CC, "dE/da122[2] = δ122[3]·k1111[2] + δ121[3]·k1112[2] + δ112[3]·k1121[2] + δ111[3]·k1122[2] + "
             "δ222[3]·k2111[2] + δ221[3]·k2112[2] + δ212[3]·k2121[2] + δ211[3]·k2122[2]"),
    (NET_CC, "dE/da122[2] = Σ_i (δi22[3]·ki111[2] + δi21[3]·ki112[2] + δi12[3]·ki121[2] + δi11[3]·ki122[2])"),
    (NET_CC, "dE/da111[2] = δ111[3]·k1111[2] + δ211[3]·k2111[2]"),
    (NET_CC, "δ111[2] = g'(z111[2])·(δ111[3]·k1111[2] + δ211[3]·k2111[2])"),
    (NET_CC, "dE/dk2122[2] = " + kernel_gradient(2, 1, 2, 2, out=2, size=3, k=2)),
    # stride 2, padding 1: output i reads input 2(i−1)+u−1;
    # input x = 1, 2, 3 is reached from (u=2, i=1), (u=1, i=2), (u=2, i=2)
    (NET_S, "dE/dk1111[2] = δ122[3]·a122[2]"),
    (NET_S, "dE/dk1122[2] = δ111[3]·a111[2] + δ112[3]·a113[2] + δ121[3]·a131[2] + δ122[3]·a133[2]"),
    (NET_S, "dE/dk2112[2] = " + kernel_gradient(2, 1, 1, 2, out=2, size=3, k=2, stride=2, pad=1)),
    (NET_S, "dE/da111[2] = δ111[3]·k1122[2] + δ211[3]·k2122[2]"),
    (NET_S, "dE/da123[2] = δ122[3]·k1112[2] + δ222[3]·k2112[2]"),
    (NET_S, "dE/db1[3] = δ111[3] + δ112[3] + δ121[3] + δ122[3]"),
    (NET_S, "dE/db2[3] = Σ_i Σ_j δ2ij[3]"),
    (NET_S, "dE/dw21[3] = δ1[4]·a112[3]"),                   # flattened channel, row, column
    (NET_S, "dE/dw51[3] = δ1[4]·a211[3]"),
    (NET_S, "dE/da211[3] = w51[3]·δ1[4]"),
    # max pool 2: a134[2] is in the window of a122[3], the 4th flattened entry
    (NET_MAX, "dE/da134[2] = ismax(a134[2])·w41[3]·δ1[4]"),
    (NET_MAX, "dE/da134[2] = ismax(a134[2], a122[3])·∂E/∂a122[3]"),
    (NET_MAX, "dE/da134[2] = ∂E/∂a122[3]·ismax(a134[2]) = w41[3]·δ1[4]·ismax(a134[2])"),
    (NET_MAX, "δ134[2] = g'(z134[2])·ismax(a134[2])·w41[3]·δ1[4]"),
    (NET_MAX, "dE/da122[3] = w41[3]·δ1[4]"),
    (NET_MAX, r"\frac{\partial E}{\partial a_{134}^{[2]}} = \operatorname{ismax}(a_{134}^{[2]}, a_{122}^{[3]})"
              r" \, w_{41}^{[3]} \delta_1^{[4]}"),
    (NET_OVERLAP, "dE/da122[2] = ismax(a122[2], a111[3])·w11[3]·δ1[4] + ismax(a122[2], a112[3])·w21[3]·δ1[4] + "
                  "ismax(a122[2], a121[3])·w31[3]·δ1[4] + ismax(a122[2], a122[3])·w41[3]·δ1[4]"),
    (NET_AVG, "dE/da134[2] = w41[3]·δ1[4]/4"),
    (NET_AVG, "dE/da134[2] = (1/4)·∂E/∂a122[3]"),
    (NET_AVG, "δ134[2] = g'(z134[2])·w41[3]·δ1[4]/4"),
]


@pytest.mark.parametrize("net, text", RIGHT)
def test_right_answers_are_accepted(net, text):
    v = sb.verify(net, text)
    assert v, str(v)


def _flat_missing_g(out=3):
    """Σ_i Σ_j w_{m,1}[2]·δ1[3]·x1ij with m = 3(i−1) + j: ∂E/∂a in place of δ (no g')."""
    cells = [(i, j) for i in range(1, out + 1) for j in range(1, out + 1)]
    return " + ".join(f"w{out * (i - 1) + j}1[2]·δ1[3]·x1{i}{j}" for i, j in cells)


WRONG = [
    (NET_A, "dE/dk1111[1] = δ111[2]·x111", "a missing sum over positions"),
    (NET_A, "dE/dk1112[1] = δ123[2]·x124", "a missing sum over positions"),
    (NET_A, "dE/dk1111[1] = " + kernel_gradient(1, 1, 2, 2, out=3, size=4), "the kernel flipped"),
    (NET_A, "dE/dk1111[1] = " + _flat_missing_g(), "a missing g'"),
    (NET_A, "δ111[2] = w11[2]·δ1[3]", "a missing g'"),
    (NET_A, "δ1[3] = (t1 − a1[3])·sigmoid'(z1[3])", "the wrong sign"),
    (NET_CC, "dE/da122[2] = δ122[3]·k1122[2] + δ121[3]·k1121[2] + δ112[3]·k1112[2] + δ111[3]·k1111[2] + "
             "δ222[3]·k2122[2] + δ221[3]·k2121[2] + δ212[3]·k2112[2] + δ211[3]·k2111[2]",
     "the kernel not flipped"),
    (NET_CC, "dE/da111[2] = δ111[3]·k1122[2] + δ211[3]·k2122[2]", "the kernel not flipped"),   # flipped twice
    (NET_CC, "dE/da111[2] = δ111[3]·k1111[2] + δ112[3]·k1112[2] + δ121[3]·k1121[2] + δ122[3]·k1122[2] + "
             "δ211[3]·k2111[2] + δ212[3]·k2112[2] + δ221[3]·k2121[2] + δ222[3]·k2122[2]",
     "the kernel not flipped"),
    (NET_CC, "dE/da122[2] = δ122[3]·k1111[2] + δ121[3]·k1112[2] + δ112[3]·k1121[2] + δ111[3]·k1122[2]",
     "a missing sum over channels"),
    (NET_CC, "δ111[2] = g'(z111[2])·δ111[3]·k1111[2]", "a missing sum over channels"),
    (NET_CC, "δ111[2] = δ111[3]·k1111[2] + δ211[3]·k2111[2]", "a missing g'"),
    (NET_S, "dE/dk1122[2] = δ111[3]·a111[2] + δ112[3]·a112[2] + δ121[3]·a121[2] + δ122[3]·a122[2]",
     "stride ignored"),
    (NET_S, "dE/da111[2] = δ122[3]·k1111[2] + δ121[3]·k1112[2] + δ112[3]·k1121[2] + δ111[3]·k1122[2] + "
            "δ222[3]·k2111[2] + δ221[3]·k2112[2] + δ212[3]·k2121[2] + δ211[3]·k2122[2]", "stride ignored"),
    (NET_S, "dE/dk1122[2] = δ111[3]·a122[2]", "padding ignored"),
    # with a 2×2 kernel and padding 1, k1111's flipped offsets read the inputs padding 0 would: both named
    (NET_S, "dE/dk1111[2] = δ111[3]·a111[2] + δ112[3]·a113[2] + δ121[3]·a131[2] + δ122[3]·a133[2]",
     "the kernel flipped"),
    (NET_S, "dE/dk1111[2] = δ111[3]·a111[2] + δ112[3]·a113[2] + δ121[3]·a131[2] + δ122[3]·a133[2]",
     "padding ignored"),
    (NET_S, "dE/dk1122[2] = δ122[3]·a133[2]", "a missing sum over positions"),
    (NET_S, "dE/db1[3] = δ111[3]", "a missing sum over positions"),
    (NET_S, "dE/da111[2] = δ111[3]·k1111[2] + δ211[3]·k2111[2]", "the kernel not flipped"),
    (NET_S, "dE/da111[2] = δ111[3]·k1122[2]", "a missing sum over channels"),
    (NET_S, "dE/dw21[3] = δ1[4]·a211[3]", "the maps flattened channels last"),
    (NET_MAX, "dE/da134[2] = w41[3]·δ1[4]", "max-pool gradient spread to every entry"),
    (NET_MAX, "δ134[2] = g'(z134[2])·w41[3]·δ1[4]", "max-pool gradient spread to every entry"),
    (NET_MAX, "δ134[2] = ismax(a134[2])·w41[3]·δ1[4]", "a missing g'"),
    (NET_OVERLAP, "dE/da122[2] = (w11[3] + w21[3] + w31[3] + w41[3])·δ1[4]",
     "max-pool gradient spread to every entry"),
    (NET_AVG, "dE/da134[2] = w41[3]·δ1[4]", "average pool without the 1/n"),
    (NET_AVG, "δ134[2] = g'(z134[2])·w41[3]·δ1[4]", "average pool without the 1/n"),
]


@pytest.mark.parametrize("net, text, mistake", WRONG)
def test_each_classic_mistake_is_named(net, text, mistake):
    v = sb.verify(net, text)
    assert not v and v.diagnosis and (v.diagnosis.startswith(mistake) or f", or {mistake}" in v.diagnosis), str(v)


def test_stride_ignored_is_only_offered_when_the_stride_is_not_1():
    # on NET_CC (stride 1) the same kind of slip is some other mistake, never "stride ignored"
    v = sb.verify(NET_CC, "dE/dk1122[2] = δ111[3]·a111[2]")
    assert not v and "stride" not in (v.diagnosis or "")


def test_a_chain_reports_the_wrong_step_with_its_mistake():
    v = sb.verify(NET_MAX, "dE/da134[2] = ∂E/∂a122[3]·ismax(a134[2]) = w41[3]·δ1[4]")
    assert not v and v.steps[0] and not v.steps[1]
    assert v.steps[1].diagnosis.startswith("max-pool gradient spread to every entry")


BAD = [
    (NET_A, "dE/dk111[1] = 1", "k takes 4 indices"),
    (NET_A, "dE/dk1111[2] = 1", "no k…[2]"),
    (NET_A, "dE/dk1311[1] = 1", "not in the network"),
    (NET_A, "dE/dk1111[1] = δ111[5]·x111", "no delta…[5]"),
    (NET_A, "dE/dk1111[1] = δ1,1[2]·x111", "delta takes 3 indices"),
    (NET_A, "dE/dk1111[1] = ismax(x111)·δ111[2]", "not max-pooled"),
    (NET_MAX, "δ111[3] = 1", "no delta…[3]"),
    (NET_MAX, "dE/da112[2] = ismax(a112[2], a112[3])", "not in that window"),
    (NET_OVERLAP, "dE/da122[2] = ismax(a122[2])·w11[3]·δ1[4]", "ismax(a122[2], a111[3])"),
]


@pytest.mark.parametrize("net, text, words", BAD)
def test_bad_names_are_refused_saying_how_to_write_them(net, text, words):
    with pytest.raises(sb.ParseError, match=words.replace("[", r"\[").replace("(", r"\(").replace(")", r"\)")):
        sb.verify(net, text)


def test_a_refused_ismax_is_reported_at_its_column():
    with pytest.raises(sb.ParseError) as err:
        sb.verify(NET_A, "dE/dk1111[1] = ismax(x111)·δ111[2]")
    assert err.value.column == len("dE/dk1111[1] = ") + 1


SPECS = {NET_A: 'inputs = [1, 4, 4]\nloss = "mse"\n[[layer]]\nkind = "conv"\nchannels = 1\nkernel = 2\n'
                '[[layer]]\nsize = 1\nactivation = "sigmoid"\n',
         NET_MAX: 'inputs = [1, 5, 5]\n[[layer]]\nkind = "conv"\nchannels = 1\nkernel = 2\n'
                  '[[layer]]\nkind = "maxpool"\nsize = 2\n[[layer]]\nsize = 1\nactivation = "sigmoid"\n'}


def _spec(tmp_path, net):
    path = tmp_path / "conv.toml"
    path.write_text(SPECS[net])
    return str(path)


def test_the_command_line_says_right_or_names_the_mistake(tmp_path):
    spec = _spec(tmp_path, NET_A)
    right = CliRunner().invoke(cli, ["verify", spec, "dE/dw61[2] = δ1[3]·a123[2]"])
    assert right.exit_code == 0 and right.output.startswith("✓"), right.output
    wrong = CliRunner().invoke(cli, ["verify", spec, "dE/dk1111[1] = δ111[2]·x111", "δ111[2] = w11[2]·δ1[3]"])
    assert wrong.exit_code == 1
    assert "a missing sum over positions" in wrong.output and "a missing g'(z111[2]) factor" in wrong.output
    spec = _spec(tmp_path, NET_MAX)
    pooled = CliRunner().invoke(cli, ["verify", spec, "dE/da134[2] = w41[3]·δ1[4]"])
    assert pooled.exit_code == 1 and "max-pool gradient spread to every entry" in pooled.output


@pytest.mark.parametrize("net, text, words", [b for b in BAD if b[0] in SPECS])
def test_bad_names_on_the_command_line_are_one_line_exit_2(tmp_path, capfd, net, text, words):
    spec = _spec(tmp_path, net)
    assert CliRunner().invoke(cli, ["verify", spec, text]).exit_code == 2
    with pytest.raises(SystemExit) as stop:
        main(["verify", spec, text])
    out, err = capfd.readouterr()
    assert stop.value.code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("symbackprop: error: ") and words in err
    assert "Traceback" not in err
