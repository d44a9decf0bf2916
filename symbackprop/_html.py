"""A derivation as one self-contained web page: MathML, an inline SVG drawing that links to the sections.

Nothing is loaded from the network: the style is inline, the math is MathML (rendered by the
browser), the drawing is SVG from the same layout as the TikZ one.  Clicking a weight's edge
goes to that weight's steps; clicking a node goes to the row of its error signal δ (or of its
forward equation).  The walks are those of the other formats, written by ``HtmlFormat``.

>>> import symbackprop as sb
>>> page = render_html(sb.derive(sb.network("2-2-1")))
>>> page.startswith("<!DOCTYPE html>") and '<a href="#dE-w11-1">' in page and 'id="dE-w11-1"' in page
True
"""
from __future__ import annotations

import html
import re

from . import _names as names
from ._derivation import Derivation
from ._html_format import NETWORK_ID, HtmlFormat, plain_text
from ._render import walk
from ._render_recurrent import walk_rnn
from ._rnn import RNNDerivation
from ._svg import svg

STYLE = """
body { font-family: 'Latin Modern Roman', 'CMU Serif', 'Times New Roman', serif; margin: 0; color: #111;
       line-height: 1.45; }
main { max-width: 62rem; margin: 0 auto; padding: 1.5rem 2rem 4rem; }
math { font-family: 'Latin Modern Math', 'STIX Two Math', 'Cambria Math', math; font-size: 1.08em; }
h1 { font-size: 1.7rem; margin: 0 0 .2rem; font-weight: normal; }
.subtitle { margin: 0 0 1.5rem; color: #444; }
h2 { font-size: 1.3rem; font-weight: normal; border-bottom: 1px solid #ccc; margin: 2rem 0 .6rem; }
h3 { font-size: 1.1rem; font-weight: normal; margin: 1.2rem 0 .3rem; }
a.up { font-size: .8em; text-decoration: none; color: #888; margin-left: .4em; }
div.eqs { overflow-x: auto; margin: .4rem 0 .8rem 1rem; }
div.eqs table { border-collapse: collapse; }
div.eqs td { padding: .22rem .3rem; vertical-align: middle; }
div.eqs td.label { color: #666; font-size: .85em; white-space: nowrap; padding-right: 1rem; }
td.lhs { text-align: right; white-space: nowrap; }
div.eqs td.rhs { padding-left: 1.6em; text-indent: -1.2em; line-height: 2.3; }
math { text-indent: 0; }
section.parameter { border-left: 3px solid transparent; padding-left: .6rem; margin-left: -.9rem; }
section.parameter:target, tr:target { background: #fff4cc; border-left-color: #e0a800; }
figure { margin: 1rem 0; text-align: center; }
figure svg { max-width: 100%; height: auto; }
figcaption { color: #444; font-size: .95em; margin-top: .4rem; }
svg a:hover line, svg a:hover path { stroke: #c02020; stroke-width: 2.5; }
svg a:hover text { fill: #c02020; }
svg a:hover circle, svg a:hover rect { stroke: #c02020; stroke-width: 2.5; }
"""

#: the drawing's size on screen over its size on paper
ZOOM = 1.3
_NODE = re.compile(r'<g id="node-[^"]*" class="[^"]*" data-name="([^"]*)"')
_VECTOR = re.compile(r"([a-z]+)<([0-9]+)>\Z")


def _section(fmt: HtmlFormat, *prefixes: str) -> str:
    """The first section whose id starts with one of the prefixes (in their order), else the page's top."""
    for prefix in prefixes:
        found = next((s for s in fmt.sections if s.startswith(prefix)), None)
        if found is not None:
            return "#" + found
    return "#top"


def edge_href(fmt: HtmlFormat, name: str) -> str:
    """Where a drawn parameter links: its section; an RNN's matrix (U, W, V) or vector (b, c): its
    first entry's section; a parameter whose steps are not shown: the gradients section."""
    if name in fmt.parameters:
        return "#" + fmt.parameters[name]
    if len(name) == 1:
        first = next((pid for n, pid in fmt.parameters.items() if n[0] == name.lower()), None)
        if first is not None:
            return "#" + first
    return _section(fmt, "sec-gradients")


def node_href(fmt: HtmlFormat, name: str) -> str:
    """Where a drawn node links: the row of its δ, else the row that defines it, else its section."""
    vector = _VECTOR.match(name)
    if vector:                                  # an RNN's x<t>, h<t>, y<t>: node 1 of the step
        kind, t = vector.groups()
        rows = {"h": [f"delta1<{t}>", f"h1<{t}>"], "x": [f"s1<{t}>"], "y": [f"y1<{t}>"]}.get(kind, [])
        sections = ("sec-output-errors",) if kind == "y" else ("sec-error-signals",) if kind == "h" else ()
    else:
        p = names.parse(name)
        rows = [] if p.kind == "x" else [names.plain(names.Parts("delta", p.indices, p.layer)), name]
        sections = ("sec-forward-pass",) if p.kind == "x" else ("sec-error-signals",)
    row = next((r for r in rows if r in fmt.rows), None)
    return "#" + fmt.rows[row] if row is not None else _section(fmt, *sections, "sec-forward-pass")


def linked_drawing(net, fmt: HtmlFormat) -> str:
    """The network's SVG with every weight's edge and every named node a link into the page."""
    out = []
    for line in svg(net, link=lambda name: edge_href(fmt, name)).splitlines():
        if line.startswith("<svg"):         # drawn larger than on paper; the viewBox keeps it sharp
            line = re.sub(r' (width|height)="([0-9.]+)"', lambda s: f' {s[1]}="{float(s[2]) * ZOOM:.0f}"', line, count=2)
        m = _NODE.match(line)
        if m:
            line = f'<a href="{html.escape(node_href(fmt, html.unescape(m.group(1))))}">{line}</a>'
        out.append(line)
    return "\n".join(out)


def page(net, fmt: HtmlFormat, body: str, caption: str) -> str:
    """The complete page: the walk's header, the drawing with its caption, the walk's sections."""
    header, _, sections = body.partition("</header>\n")
    title = plain_text(header.split("</h1>")[0])
    figure = (f'<section id="{NETWORK_ID}">\n<h2>The network</h2>\n<figure>\n{linked_drawing(net, fmt)}\n'
              f"<figcaption>{caption}</figcaption>\n</figure>\n</section>\n")
    return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f"<title>{html.escape(title)}</title>\n<style>{STYLE}</style>\n</head>\n"
            f'<body id="top">\n<main>\n{header}</header>\n{figure}{sections}</main>\n</body>\n</html>\n')


_CLICK = "Click a weight or a node to go to its equations."


def render_html(d: Derivation) -> str:
    """A dense derivation as a web page."""
    fmt = HtmlFormat()
    body = walk(d, fmt)
    w, m = fmt.expr(names.generic("w", "ij", "k")), fmt.inline_math
    caption = (f"Node {m('j')} of layer {m('k')} is drawn as j[k]; {m(w)} joins node {m('i')} of layer {m('k')} "
               f"to node {m('j')} of layer {m('k+1')}. {_CLICK}")
    return page(d.network, fmt, body, caption)


def render_rnn_html(d: RNNDerivation) -> str:
    """A recurrent derivation as a web page, with the unrolled drawing."""
    fmt = HtmlFormat()
    body = walk_rnn(d, fmt)
    m = fmt.inline_math
    caption = (f"Each column is one time step; the same {m('U')}, {m('W')}, {m('V')} act at every step. "
               "Click a matrix to go to its first weight's steps, a state to its error signal.")
    return page(d.network, fmt, body, caption)


Derivation.writers["html"] = render_html
RNNDerivation.writers["html"] = render_rnn_html
