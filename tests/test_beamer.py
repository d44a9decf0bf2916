"""Issue 13: beamer slides; each path of the chain rule lit up on its own overlay."""
import re

import pytest

import symbackprop as sb

from .test_document import _compile


def _frames(deck):
    return re.findall(r"\\begin\{frame\}(.*?)\\end\{frame\}", deck, re.S)


def _overlays(frame):
    return {int(n) for n in re.findall(r"<(\d+)>", frame)}


def _lit_weights(frame, overlay, style="hl"):
    """The weights whose edges are drawn in ``style`` on the overlay: read off the node pairs."""
    block = re.search(r"\\only<%d>\{%%\n(.*?)\n  \}" % overlay, frame, re.S)
    pairs = re.findall(r"\\draw\[->,%s\] \(n(\d+)_(\d+)\) -- \(n(\d+)_(\d+)\)" % style, block.group(1)) if block else []
    return {f"w{i}{j}[{k}]" for k, i, k2, j in pairs if int(k2) == int(k) + 1}


def _paths(layers, i, j):
    """Independently of the derivation: every path from x_i through w_ij[1] to an output, as weights."""
    paths = [[f"w{i}{j}[1]"]]
    for k in range(2, len(layers)):
        paths = [p + [f"w{p_node}{m}[{k}]"] for p in paths
                 for p_node in [int(p[-1][2])] for m in range(1, layers[k] + 1)]
    return [set(p) for p in paths]


def test_2_2_2_w11_1_has_one_overlay_per_path_and_one_for_the_delta_form():
    deck = sb.derive(sb.network("2-2-2"), weights=["w11[1]"]).to_beamer()
    frames = [f for f in _frames(deck) if "\\partial w_{11}^{[1]}$: the chain rule" in f]
    assert len(frames) == 1
    frame = frames[0]
    assert _overlays(frame) == {1, 2, 3}
    expected = _paths([2, 2, 2], 1, 1)
    assert len(expected) == 2
    lit = [_lit_weights(frame, n) for n in (1, 2)]
    assert sorted(map(sorted, lit)) == sorted(map(sorted, expected))
    # the boxed product of overlay n is path n's: its last-but-two factor is the weight it went through
    for n, weights in zip((1, 2), lit):
        upper = [w for w in weights if w.endswith("[2]")][0]
        box = re.search(r"\\pathbox\{%d\}\{hl\}\{\\left\(a_\{(\d)\}\^\{\[3\]\} - t_\{\d\}\\right\)(.*?x_\{1\})\}" % n, frame)
        assert box and f"w_{{{upper[1:3]}}}^{{[2]}}" in box.group(2) and box.group(1) == upper[2]
    # the last overlay: the δ form, the weight's own edge
    assert _lit_weights(frame, 3, "dl") == {"w11[1]"}
    assert "\\uncover<3>" in frame and "\\delta_{1}^{[2]} \\cdot x_{1}" in frame


def test_2_3_1_frames_follow_the_derivation():
    d = sb.derive(sb.network("2-3-1"))
    deck = d.to_beamer()
    frames = _frames(deck)
    titles = [f for f in frames if "the chain rule, path by path" in f]
    assert len(titles) == len(d.steps) == 9
    # in a 2-3-1 net every weight lies on exactly one path to the single output: one overlay, then the δ form
    for frame in titles:
        assert _overlays(frame) == {1, 2}
    assert "\\titlepage" in frames[0] and "The network" in frames[1] and "The forward pass" in frames[2]


def test_rnn_frames_have_one_overlay_per_step():
    d = sb.derive(sb.rnn(1, 1, 1, 3, activation="tanh"))
    deck = d.to_beamer()
    frames = [f for f in _frames(deck) if "a sum over time" in f]
    assert len(frames) == len(d.selected) == 3
    for frame, name in zip(frames, d.selected):
        assert _overlays(frame) == {1, 2, 3, 4}
        letter = {"u": "U", "w": "W", "v": "V"}[name[0]]
        for t in (1, 2, 3):
            block = re.search(r"\\only<%d>\{%%\n(.*?)\n  \}" % t, frame, re.S).group(1)
            source = {"U": f"x{t}", "W": f"h{t - 1}", "V": f"h{t}"}[letter]
            target = {"U": f"h{t}", "W": f"h{t}", "V": f"y{t}"}[letter]
            assert f"\\draw[->,hl] ({source}) -- ({target});" in block


def test_a_long_rnn_leaves_out_the_steps_the_drawing_leaves_out():
    # T = 9: the drawing has steps 1, 2, 3, an ellipsis and 9, so each weight has 4 step overlays and
    # its sum over time, with the ellipsis between the terms of steps 3 and 9
    d = sb.derive(sb.rnn(1, 1, 1, 9, activation="tanh"), weights=["w11"])
    frame, = [f for f in _frames(d.to_beamer()) if "a sum over time" in f]
    assert _overlays(frame) == {1, 2, 3, 4, 5}
    rows = frame.split("\\begin{align*}")[1]
    assert "\\sum_{t=1}^{9}" in rows
    assert rows.index("s_{1}^{\\langle 3 \\rangle}") < rows.index("\\cdots") < rows.index("s_{1}^{\\langle 9 \\rangle}")


@pytest.mark.parametrize("name,derivation", [
    ("deck-2-2-2", lambda: sb.derive(sb.network("2-2-2"), weights=["w11[1]"])),
    ("deck-rnn", lambda: sb.derive(sb.rnn(1, 1, 1, 3, activation="tanh"))),
])
def test_decks_compile(tmp_path, name, derivation):
    log = _compile(tmp_path, name, derivation().to_beamer())
    overfull = [float(w) for w in re.findall(r"Overfull \\[hv]box \(([0-9.]+)pt too (?:wide|high)\)", log)]
    assert not [w for w in overfull if w > 1.0], overfull


def test_the_command_line_writes_slides_and_svg(cli_run):
    import xml.etree.ElementTree as ET
    deck = cli_run("derive", "2-2-2", "--weight", "w11[1]", "--format", "beamer")
    assert deck.exit_code == 0 and deck.output.startswith("\\documentclass") and "{beamer}" in deck.output
    drawing = cli_run("draw", "2-3-1", "--format", "svg")
    assert drawing.exit_code == 0
    root = ET.fromstring(drawing.output)
    assert root.tag.endswith("svg") and len([e for e in root.iter() if e.get("data-name", "").startswith("w")]) == 9
    both = cli_run("draw", "2-3-1", "--format", "svg", "--standalone")
    assert both.exit_code == 2 and "--standalone goes with --format tikz" in both.output
