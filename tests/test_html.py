"""derive --format html: one self-contained page, MathML math, an SVG drawing that links to the sections."""
import re
import shutil
import subprocess
from functools import lru_cache
from html.parser import HTMLParser
from pathlib import Path

import pytest

import symbackprop as sb
from symbackprop import _names as names
from symbackprop._html_format import HtmlFormat, chunks
from symbackprop._mathml import mathml
from symbackprop._timed import sym

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
SPECS = ["2-3-1", str(EXAMPLES / "softmax-4-5-3.toml"), str(EXAMPLES / "rnn-1-1-1.toml")]
VOID = {"meta", "wbr", "br", "img", "input", "link", "hr", "area", "base", "col", "embed", "source", "track"}


@lru_cache(maxsize=None)
def page(spec: str) -> str:
    return sb.derive(sb.network(spec)).to_html()


class _Balance(HTMLParser):
    """Every start tag closed by its own end tag, in order; void and self-closed tags need none."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack, self.errors, self.tags = [], [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes <{self.stack[-1] if self.stack else None}>")
        else:
            self.stack.pop()


def parsed(text: str) -> _Balance:
    parser = _Balance()
    parser.feed(text)
    parser.close()
    return parser


@pytest.mark.parametrize("spec", SPECS)
def test_the_page_parses_with_balanced_tags(spec):
    text = page(spec)
    assert text.startswith("<!DOCTYPE html>")
    p = parsed(text)
    assert p.errors == [] and p.stack == []
    tags = [t for t, _ in p.tags]
    assert tags.count("math") > 20 and tags.count("svg") == 1
    assert {"mfrac", "msubsup", "msub"} <= set(tags)


@pytest.mark.parametrize("spec", SPECS)
def test_the_page_loads_nothing(spec):
    text = page(spec)
    for tag, attrs in parsed(text).tags:
        assert tag not in ("script", "link", "img", "iframe", "object", "embed"), tag
        for key in ("src", "href"):
            assert not attrs.get(key, "#").lower().startswith(("http:", "https:", "//")), (tag, attrs)
        for key in ("href", "xlink:href"):
            assert attrs.get(key, "#").startswith("#"), (tag, attrs)
    # the only addresses: the SVG namespace (MathML needs none in HTML)
    assert set(re.findall(r"https?://[^\"'\s)]*", text)) == {"http://www.w3.org/2000/svg"}
    assert "@import" not in text and re.findall(r"url\(([^)]*)\)", text) == ["#sb-arrow"] * text.count("url(")


@pytest.mark.parametrize("spec", SPECS)
def test_every_link_has_its_target(spec):
    text = page(spec)
    ids = re.findall(r'\sid="([^"]*)"', text)
    assert len(ids) == len(set(ids)), "ids are unique"
    targets = set(re.findall(r'href="#([^"]*)"', text))
    assert targets and targets <= set(ids), targets - set(ids)


def test_names_print_as_in_latex():
    # written from the notation (DESIGN.md §1.1): w_{11}^{[2]}, \delta_{1}^{[3]}, x_{1}, w_{12,3}^{[1]}, h_{1}^{⟨2⟩}
    bracket = "<mrow><mo>[</mo><mn>{}</mn><mo>]</mo></mrow>"
    assert mathml(names.weight(1, 1, 2)) == "<msubsup><mi>w</mi><mn>11</mn>" + bracket.format(2) + "</msubsup>"
    assert mathml(names.delta(1, 3)) == "<msubsup><mi>δ</mi><mn>1</mn>" + bracket.format(3) + "</msubsup>"
    assert mathml(names.asym(1, 1)) == "<msub><mi>x</mi><mn>1</mn></msub>"
    assert mathml(names.weight(12, 3, 1)) == ("<msubsup><mi>w</mi><mrow><mn>12</mn><mo>,</mo><mn>3</mn></mrow>"
                                              + bracket.format(1) + "</msubsup>")
    assert mathml(sym("h", 1, t=2)) == "<msubsup><mi>h</mi><mn>1</mn><mrow><mo>⟨</mo><mn>2</mn><mo>⟩</mo></mrow></msubsup>"
    w111 = "<msubsup><mi>w</mi><mn>11</mn>" + bracket.format(1) + "</msubsup>"
    assert mathml(names.weight(1, 1, 1) ** 2) == f"<msup><mrow><mo>(</mo>{w111}<mo>)</mo></mrow><mn>2</mn></msup>"
    assert mathml(names.generic("delta", "j", "k+1")) == (
        "<msubsup><mi>δ</mi><mi>j</mi><mrow><mo>[</mo><mi>k</mi><mo>+</mo><mn>1</mn><mo>]</mo></mrow></msubsup>")


def test_functions_print_as_in_latex():
    z = names.zsym(1, 2)
    zml = mathml(z)
    parens = "<mrow><mo>(</mo>" + zml + "<mo>)</mo></mrow>"
    g = sb.network("2-2").activations[0]
    assert mathml(g.prime(z)) == "<mrow><mi>g</mi><mo>′</mo>" + parens + "</mrow>"
    sigmoid = sb.network("2-2", activation="sigmoid").activations[0]
    assert mathml(sigmoid.apply(z)) == "<mrow><mi>σ</mi>" + parens + "</mrow>"
    tanh = sb.network("2-2", activation="tanh").activations[0]
    assert mathml(tanh.prime(z)) == "<mrow><mi>tanh</mi><mo>′</mo>" + parens + "</mrow>"
    assert "<mo>−</mo>" in mathml(names.asym(1, 3) - names.target(1)) and "<mo>-</mo>" not in mathml(-z)


def test_the_seed_page_holds_its_equations():
    text = page("2-3-1")
    w112 = "<msubsup><mi>w</mi><mn>11</mn><mrow><mo>[</mo><mn>2</mn><mo>]</mo></mrow></msubsup>"
    section = re.search(r'<section class="parameter" id="dE-w11-2">(.*?)</section>', text, re.S).group(1)
    assert w112 in section and "δ form" in section and "chain rule" in section
    # the δ form δ1[3]·a1[2], written in pieces that may wrap: joined again
    joined = re.sub(r"</math><wbr><math[^>]*>", "", section).replace('<mo form="infix">', "<mo>")
    assert "δ form</td>" in joined and mathml(names.delta(1, 3)) + "<mo>·</mo>" + mathml(names.asym(1, 2)) in joined


def test_the_drawing_links_weights_and_nodes_to_their_sections():
    text = page("2-3-1")
    assert re.search(r'<a href="#dE-w11-2"><g id="edge-w11-2"', text)
    assert re.search(r'<a href="#dE-w23-1"><g id="edge-w23-1"', text)
    # a node: the row of its error signal δ1[3], a row of the error-signal section
    assert re.search(r'<a href="#eq-delta1-3"><g id="node-n3_1"', text)
    assert re.search(r'<tr id="eq-delta1-3">', text)
    assert re.search(r'<a href="#sec-forward-pass"><g id="node-n1_1"', text)      # an input: no δ
    assert text.count('href="#network"') == 9                                  # back from each weight


def test_an_rnn_page_links_its_matrices_and_states():
    text = page(SPECS[2])
    for matrix, first in (("U", "u11"), ("W", "w11"), ("V", "v11"), ("b", "b1"), ("c", "c1")):
        assert re.search(rf'<a href="#dE-{first}"><g id="edge-{matrix}-2"', text), matrix
    assert re.search(r'<a href="#eq-delta1-2"><g id="node-h2"', text)
    assert "<mo>⟨</mo>" in text and "<munderover><mo>∑</mo>" in text


def test_weights_not_shown_link_to_the_gradients():
    d = sb.derive(sb.network("2-2-2"), weights=["w11[1]"])
    text = d.to_html()
    assert re.search(r'<a href="#dE-w11-1"><g id="edge-w11-1"', text)
    assert re.search(r'<a href="#sec-gradients-step-by-step"><g id="edge-w22-2"', text)


def test_long_sides_wrap_only_outside_parentheses():
    fmt = HtmlFormat()
    a, t, z = names.asym(1, 3), names.target(1), names.zsym(1, 3)
    g = sb.network("2-2").activations[0]
    pieces = chunks(fmt.product([a - t, g.prime(z), names.asym(1, 2)]))
    assert len(pieces) == 3
    assert all(p.count("<mo>(</mo>") == p.count("<mo>)</mo>") for p in pieces)
    assert pieces[1].startswith('<mo form="infix">·</mo>')


@pytest.mark.parametrize("spec", SPECS)
def test_no_plus_minus(spec):
    text = re.sub(r"</math><wbr><math[^>]*>", "", page(spec)).replace('<mo form="infix">', "<mo>")
    assert not re.search(r"<mo>\+</mo>(<mrow>)*<mo>−</mo>", text)


def test_a_negated_term_is_subtracted():
    fmt = HtmlFormat()
    a, t = names.asym(1, 2), names.target(1)
    assert fmt.plus([fmt.expr(a), fmt.expr(-t)]) == mathml(a) + "<mo>−</mo>" + mathml(t)


def test_long_sums_are_cut():
    s = sum(names.weight(i, 1, 1) * names.asym(i, 1) for i in range(1, 21))
    out = mathml(s)
    assert out.count("<mo>⋯</mo>") == 1 and out.count("<mi>w</mi>") == 4


def test_cli_writes_the_page(cli_run, tmp_path):
    result = cli_run("derive", "2-3-1", "--format", "html")
    assert result.exit_code == 0, result.output
    assert result.output.startswith("<!DOCTYPE html>") and result.output.rstrip().endswith("</html>")
    out = tmp_path / "page.html"
    result = cli_run("derive", SPECS[2], "--format", "html", "-o", str(out))
    assert result.exit_code == 0 and out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


@pytest.mark.parametrize("args", [["derive", "2-x-1"], ["derive", "no-such-file.toml"],
                                  ["derive", "2-3-1", "--weight", "w99[1]"]])
def test_bad_input_is_the_same_error_as_ever(cli_run, args):
    html, text = cli_run(*args, "--format", "html"), cli_run(*args, "--format", "text")
    assert html.exit_code == text.exit_code == 2
    assert html.output == text.output and "Traceback" not in html.output


def test_standalone_is_for_latex_only(cli_run):
    result = cli_run("derive", "2-3-1", "--format", "html", "--standalone")
    assert result.exit_code == 2 and "--standalone goes with --format latex" in result.output


@pytest.mark.skipif(shutil.which("chromium") is None, reason="needs headless Chromium (Debian: apt-get install chromium)")
@pytest.mark.parametrize("spec", [SPECS[0], SPECS[2]])
def test_headless_chromium_renders_the_page(spec, tmp_path):
    source, shot = tmp_path / "page.html", tmp_path / "page.png"
    source.write_text(page(spec), encoding="utf-8")
    subprocess.run(["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                    f"--screenshot={shot}", "--window-size=1200,1600", source.as_uri()],
                   capture_output=True, timeout=120, check=False)
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert int.from_bytes(data[16:20], "big") == 1200 and int.from_bytes(data[20:24], "big") == 1600
    assert len(data) > 30_000        # text, math and a drawing: far more than a blank page's PNG
