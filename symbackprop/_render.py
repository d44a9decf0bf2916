"""Renderers: one walk over a Derivation, written out by a format (text, LaTeX, Markdown).

The walk decides what is said and in which order; a format only decides how a
partial, a product or an equation looks.  No math is done here: every value
comes from the derivation's steps.

>>> from symbackprop._spec import from_spec
>>> from symbackprop._derivation import derive
>>> print(render_text(derive(from_spec("1-1"))).splitlines()[0])
Backpropagation for the 1-1 network
"""
from __future__ import annotations

import sympy

from ._document import TEXT_WIDTH, dense_titles, fragment, standalone_document
from ._formats import TextFormat, _Format, written
from ._formats_tex import LatexFormat, MarkdownFormat
from ._derivation import E, Derivation, WeightStep
from ._render_forms import general, matrix
from . import _names as names
from ._printing import plain

# ---------------------------------------------------------------- the walk
def _shown_nodes(d: Derivation, keys):
    """All of them, or, when the listing is summarised, the first and last node of each layer."""
    if not _summarised(d):
        return list(keys), False
    shown, last = [], {}
    for key in keys:
        if key == "R":                  # the penalty term: one node, always shown
            shown.append(key)
            continue
        p = names.parse(key)
        last[(p.kind, p.layer)] = key
        if p.indices[0] == 1:
            shown.append(key)
    for key in last.values():
        if key not in shown:
            shown.append(key)
    order = list(keys)
    return sorted(shown, key=order.index), True


def _summarised(d: Derivation) -> bool:
    return len(d.steps) < d.network.n_parameters


def _forward(d: Derivation, fmt: _Format):
    keys, cut = _shown_nodes(d, d.forward)
    rows = [(None, [fmt.expr(d.symbols[k]), fmt.expr(d.forward[k])]) for k in keys]
    z, a = fmt.inline_math("z"), fmt.inline_math("a")
    items = [] if fmt.brief else [("para", f"The inputs are the first layer's activations; each layer's weighted "
                                           f"sums {z} feed its activations {a}.")]
    items.append(("eqs", rows))
    if cut:
        items.append(("para", "(shown for the first and last node of each layer; the others are alike)"))
    defs = []
    for act in dict.fromkeys(d.network.activations):
        if act.definition is not None and not act.inline:
            f, fp = act.functions
            z = sympy.Symbol("z")
            definition = act.definition.subs(act.definition.free_symbols.pop(), z)
            if plain(f(z)) != plain(definition):        # tanh(z) = tanh(z) says nothing
                defs.append((None, [fmt.expr(f(z)), fmt.expr(definition)]))
            defs.append((None, [fmt.expr(fp(z)), fmt.expr(act.derivative.subs(act.derivative.free_symbols.pop(), z))
                                if act.derivative.free_symbols else fmt.expr(act.derivative)]))
    if defs:
        items += [("para", "where"), ("eqs", defs)]
    kinks = [a.kink for a in dict.fromkeys(d.network.activations) if a.kink]
    if kinks:
        items.append(("para", "Where an activation has no derivative, the one taken is " + "; ".join(kinks) + "."))
    if any(a.name == "g" for a in d.network.activations):
        g, gp = fmt.inline_math("g"), fmt.inline_math("g'")
        items.append(("para", f"{g} is a generic activation and {gp} its derivative."))
    return ("Forward pass", items)


def _loss(d: Derivation, fmt: _Format):
    items = [("eqs", [(None, [fmt.expr(E), fmt.expr(d.loss)])])]
    if d.network.loss.kink:
        items.append(("para", f"The derivative of each term is {d.network.loss.kink}."))
    return ("Loss (" + d.network.loss.description + ")", items)


def _note(d: Derivation, fmt: _Format, step) -> str | None:
    """Why an output δ simplified, in words."""
    reasons = [r for r, _ in step.simplified]
    who = fmt.inline_math(fmt.expr(step.delta))
    if "sum_targets_one" in reasons:
        return f"For {who}, the last step holds because the targets sum to 1 (one-hot targets)."
    if "substitute" in reasons:
        act = d.network.activation(d.network.depth).name
        return (f"For {who}: {act}'(z) = {act}(z)(1 - {act}(z)) = a(1 - a) at the output, "
                "which cancels the denominator of the loss's derivative.")
    return None


def _deltas(d: Derivation, fmt: _Format):
    word = fmt.greek("delta")
    defined = fmt.definition(names.generic("delta", "j", "k"), names.generic("z", "j", "k"))
    j, k = fmt.inline_math("j"), fmt.inline_math("k")
    items = [("para", f"The error signal of node {j} in layer {k} is {defined}; "
                      f"each hidden {word} is made from the {word}'s of the layer above.")]
    rows = []
    keys, cut = _shown_nodes(d, [s.delta.name for s in d.delta_steps])
    for step in d.delta_steps:
        if step.delta.name not in keys:
            continue
        chain = fmt.total([fmt.mul.join(fmt.partial(p.of, p.by) for p in path) for path in step.chain])
        sides = [fmt.expr(step.delta), fmt.partial(E, step.chain[0][-1].by), chain,
                 fmt.total([fmt.product([p.value for p in path]) for path in step.chain])]
        if len(step.chain) > 1:
            sides.append(fmt.product(step.factors))
        sides += [fmt.expr(expr) for _, expr in step.simplified]
        rows.append((None, sides))
        note = _note(d, fmt, step)
        if note:
            items += [("eqs", rows), ("para", note)]
            rows = []
    if rows:
        items.append(("eqs", rows))
    if cut:
        items.append(("para", "(shown for the first and last node of each layer; the others are alike)"))
    heading = "Error signals " + fmt.inline_math(f"{fmt.letter('delta')} = {fmt.inline_partial('E', 'z')}")
    return (heading, items)


def _weight_block(step: WeightStep, fmt: _Format):
    p = step.parameter
    lhs = fmt.partial(E, p)
    chain = fmt.total([fmt.mul.join(fmt.partial(f.of, f.by) for f in path) for path in step.chain])
    seen, factor_rows = set(), []
    shown = step.chain if len(step.chain) <= fmt.max_paths else step.chain[:2] + step.chain[-1:]
    for path in shown:
        for f in path:
            if (f.of, f.by) not in seen:
                seen.add((f.of, f.by))
                factor_rows.append((None, [fmt.partial(f.of, f.by), fmt.expr(f.value)]))
    product = fmt.total([fmt.product([f.value for f in path]) for path in step.chain])
    rows = [("chain rule", [lhs, chain])]
    rows += [("factors" if n == 0 else "", sides) for n, (_, sides) in enumerate(factor_rows)]
    rows.append(("product", [lhs, product]))
    if step.expanded is not None:
        rows.append(("expanded", [lhs, fmt.expr(step.expanded)]))
    seed = fmt.total([fmt.product(term) for term in step.seed_form])
    result = fmt.total([fmt.product(term) for term in step.result])
    rows.append((fmt.greek("delta") + " form", [lhs, seed] + ([result] if result != seed else [])))
    items = [("eqs", rows)]
    if step.uses > 1:
        items.append(("para", f"(the parameter is used in {step.uses} places, so its gradient is the sum over its uses)"))
    elif step.through_delta:
        items.append(("para", "(the paths to the outputs are many, so the chain runs through the error signals of the layer above)"))
    return items


def _gradients(d: Derivation, fmt: _Format):
    net = d.network
    items = []
    for step in d.steps:
        items.append(("head", step.parameter))
        items.extend(_weight_block(step, fmt))
    skipped = net.n_parameters - len(d.steps)
    if skipped and not net.plain:           # skips, ties or a penalty: the general form below has each case
        items.append(("para", f"The other {skipped:,} parameters follow the general form below."))
    elif skipped:
        general = f"{fmt.partial(E, names.generic('w', 'ij', 'k'))} = " + fmt.product(
            [names.generic("delta", "j", "k+1"), names.generic("a", "i", "k")])
        items.append(("para", f"The other {skipped:,} parameters follow the same form: {fmt.inline_math(general)}."))
    return ("Gradients, step by step", items)


def _results(d: Derivation, fmt: _Format):
    rows = []
    for step in d.steps:
        rows.append((None, [fmt.partial(E, step.parameter), fmt.total([fmt.product(t) for t in step.result])]))
    return ("Results", [("eqs", rows)])


def _update(d: Derivation, fmt: _Format):
    rules = [names.generic("w", "ij", "k")] + ([names.generic("b", "j", "k")] if d.network.bias else [])
    return ("Update", [("update", rules), ("para", f"where {fmt.inline_math(fmt.eta)} is the learning rate. Every "
                       "weight is updated at once, after every error signal has been computed, from the weights' "
                       "values before the update.")])


def _proof(d: Derivation, fmt: _Format):
    ok = sum(1 for v in d.proof.values() if v)
    def delta_first(factor):
        return not getattr(factor, "name", "").startswith("delta")

    rows = [(("proved by " + how) if how else "NOT PROVED", [fmt.partial(E, d.symbols[name]), fmt.product(
        sorted(d.gradients[name].as_ordered_factors(), key=delta_first))]) for name, how in d.proof.items()]
    word = fmt.greek("delta")
    return ("Proof", [("para", f"Each {word} form, with every intermediate substituted, minus sympy.diff of the "
                               f"fully nested E, is zero ({ok} of {len(d.proof)} parameters)."),
                      ("eqs", rows)])


def walk(d: Derivation, fmt: _Format) -> str:
    """The whole derivation, written by ``fmt``."""
    net = d.network
    title, subtitle = dense_titles(net, fmt)
    sections = [_forward(d, fmt), _loss(d, fmt), _deltas(d, fmt), _gradients(d, fmt)]
    if len(d.steps) > 1:
        sections.append(_results(d, fmt))
    sections += [general(d, fmt), matrix(d, fmt), _update(d, fmt)]
    if d.proof is not None:
        sections.append(_proof(d, fmt))
    return fmt.document(title, subtitle, sections)


def render_text(d: Derivation, ascii_only: bool = False) -> str:
    fmt = TextFormat(ascii_only)
    return written(walk(d, fmt), fmt)


def render_latex(d: Derivation, standalone: bool = False) -> str:
    """The LaTeX fragment (lines fit a plain article), or with ``standalone`` a complete document."""
    fmt = LatexFormat(TEXT_WIDTH if standalone else None)
    body = walk(d, fmt)
    return written(standalone_document(d, body, fmt) if standalone else fragment(body), fmt)


def render_markdown(d: Derivation) -> str:
    fmt = MarkdownFormat()
    return written(walk(d, fmt), fmt)


Derivation.writers.update(text=render_text, latex=render_latex, markdown=render_markdown)
