"""Checking a hand derivation on a layer stack over a batch: verify's reading of its names, its right answers.

A left side is ∂E/∂ of a parameter (``dE/dw11[1]``, ``dE/db1[2]``, ``dE/dgamma1[3]``, ``dE/dβ1[3]``),
of a node (``dE/dz1[2]<1>``, ``dE/da1[2]<1>``, a norm's ``dE/dxhat1[3]<2>``, ``dE/dsigma1[3]``,
``dE/dvar1[3]``, ``dE/dd1[3]<2>``, ``dE/dmu1[3]``; a layer norm's statistics ``mu[3]<2>`` …) or a δ
(``delta1[2]<1>``, ``δ1[2]<1>``); names as in ``_batch_names`` (γ, β, μ, σ, x̂ and ε may be written so,
and N is the batch size; LaTeX as derive writes it, ``\\hat{x}_{1}^{[3]\\langle 2 \\rangle}``).  The right
answer is what the sweep says: a parameter's gradient the sum over the samples, a δ one step of the
recursion, a norm's stages as the staged graph hands them on, a norm's input's gradient (and the δ
below it) in the compact form; dropout's ∂E/∂a[k−1] = m·∂E/∂a[k]/(1 − p).

The grammar reads no name with both a layer and a sample (``z1[2]<3>``), nor γ, β, μ, so the kind
reads its own lines (``check_chain`` here: each name is set aside before the grammar reads the rest)
and is verify's ``VERIFIER``.  A sum over the samples may be written ``Σ_s … <s> …`` (``sum_s``,
``Σ_{s=1}^{N}``); it is written out.  The named mistakes are in ``_batch_mistakes``.

>>> from symbackprop._batch import from_data
>>> from symbackprop._batch_derive import derive_batch
>>> net = from_data({"inputs": 1, "layer": [{"kind": "dropout", "rate": 0.5}, {"size": 1, "activation": "linear"}]},
...                 "spec")
>>> d = derive_batch(net, weights=())
>>> v = check_chain(d, reading(net), RULES, Sampler(d), "δ1[3]<1> = a1[3]<1> − t1<1>")
>>> bool(v), bool(check_chain(d, reading(net), RULES, Sampler(d), "dE/dw11[2] = Σ_s a1[2]<s>·δ1[3]<s>"))
(True, True)
>>> check_chain(d, reading(net), RULES, Sampler(d), "dE/dw11[2] = x1<1>·δ1[3]<1> + x1<2>·δ1[3]<2>").diagnosis
"a[k−1] (before dropout) in place of the dropout's a[k] = m·a[k−1]/(1 − p)"
"""
from __future__ import annotations

import re
from functools import lru_cache

import sympy

from . import _chain as chain
from ._batch import Norm
from ._batch_build import build, epsilon
from ._batch_forms import compact, groups
from ._batch_mistakes import mistakes
from ._batch_names import BName, read
from ._equation import ETA, Reading, functions_for, read_left, read_right
from ._errors import NotationError, ParseError
from ._indexed import _scope_end
from ._latex_reading import looks_like_latex, plain_text, undelimited
from ._grammar import MAX_LENGTH
from ._sampler import Sampler

PARAMETERS = ("w", "b", "gamma", "beta")
_NAME = (r"(?:delta|δ|gamma|γ|beta|β|mu|μ|var|sigma|σ|xhat|x̂|[wbxmzadt])(?:[0-9]+(?:,[0-9]+)*)?(?:\[[0-9]+\])?"
         r"(?:<[0-9]+>)?")
_WORD = re.compile(r"(?<![A-Za-z_'])(?:ε|" + _NAME + ")")
_PARTIAL = re.compile(r"(?:∂|(?<![A-Za-z0-9_\]>])d)\s*(E|" + _NAME + r")\s*/\s*(?:∂|d)\s*(" + _NAME + ")")
_SUM = re.compile(r"(?:Σ|\\sum|(?<![A-Za-z])sum)\s*_?\s*(\{)?\s*([a-z])\s*(?:=\s*1)?\s*(?(1)\})"
                  r"(?:\s*\^\s*\{?\s*(N|[0-9]+)\s*\}?)?")
_LETTER_SAMPLE = re.compile(r"<([a-z])>")


_LATEX = {"\\langle": "<", "\\rangle": ">", "\\gamma": "γ", "\\beta": "β", "\\mu": "μ", "\\sigma": "σ",
          "\\hat{x}": "x̂", "\\operatorname{var}": "var", "\\varepsilon": "ε", "\\epsilon": "ε"}
_SUPERSCRIPT = re.compile(r"\^\((\[[0-9]+\])?(<[0-9A-Za-z]+>)\)")


def _plain(text: str) -> str:
    return text.strip().replace(" ", "").replace("x̂", "xhat")


def plain(text: str) -> str:
    """A line's text in the plain grammar: LaTeX rewritten (also the names derive writes, such as
    ``\\hat{x}_{1}^{[3]\\langle 2 \\rangle}``), plain text as it is."""
    if looks_like_latex(undelimited(text)):
        for command, glyph in _LATEX.items():
            text = re.sub(re.escape(command) + r"(?![A-Za-z])", glyph, text)
    text = re.sub(r"<\s*([0-9A-Za-z]+)\s*>", r"<\1>", plain_text(text))
    return _SUPERSCRIPT.sub(r"\1\2", text)


# ---------------------------------------------------------------- names
@lru_cache(maxsize=16)
def known(net) -> frozenset:
    """Every name of ``net``: parameters, leaves, nodes and δ's."""
    model = build(net)
    found = {eq.node.name for eq in model.equations[:-1]} | {eq.delta.name for eq in model.equations if eq.delta}
    leaves = {s.name for eq in model.equations for s in eq.expr.free_symbols}
    return frozenset(found | leaves | {p.name for p in model.parameters})


def symbol(text: str) -> BName:
    """The symbol of a typed name; NotationError saying how to write one."""
    return BName(*read(_plain(text)))


def resolver(net):
    """name → symbol for the names of ``net`` (and η, ε, N); None for a word that is no name."""
    def resolve(text: str, column: int):
        words = {"eta": ETA, "η": ETA, "epsilon": epsilon, "ε": epsilon, "N": sympy.Integer(net.samples)}
        if text in words:
            return words[text]
        try:
            s = symbol(text)
        except NotationError as err:
            if _WORD.fullmatch(text):
                raise ParseError(str(err), column) from None
            return None
        if s.name not in known(net):
            raise ParseError(f"{text} is not in the network {net.describe()}: see the derivation for its names",
                             column)
        return s
    return resolve


def reading(net) -> Reading:
    """verify's reading of ``∂E/∂w11[1] = …``, ``δ1[2]<1> = …`` (or ∂E/∂ of b, γ, β, z, a, x̂, σ, var, d, μ)."""
    def target(text):
        s = symbol(text)
        return s.letter, s.name, s.name in known(net)
    first = net.layer(2)
    example = ("dE/dw11[1] = x1<1>*delta1[2]<1> + …" if first.kind == "dense" else
               "dE/dgamma1[2] = xhat1[2]<1>*delta1[2]<1> + …" if first.kind != "dropout" else
               f"dE/da1[{net.depth}]<1> = …")
    return Reading(target, (*PARAMETERS, "z", "a", "xhat", "sigma", "var", "d", "mu"), resolver(net),
                   functions_for(net), example, "δj[k]<s>", "delta1[2]<1>",
                   "z, a or a norm's xhat, sigma, var, d, mu", net.describe(), lambda kind, n, layer: None)


# ---------------------------------------------------------------- right answers
def compact_of(d, a: BName) -> sympy.Expr | None:
    """The compact form of ∂E/∂a when ``a`` is an input of a norm layer (and its form was checked), else None."""
    net, k = d.network, (a.layer or 0) + 1
    if a.letter != "a" or not 3 <= k <= net.depth or not isinstance(net.layer(k), Norm) or \
            not all(f.holds for f in d.forms if f.layer == k):
        return None
    kind, (j,) = net.layer(k).kind, a.indices
    group = next(g for g in groups(kind, net.sizes[k - 1], net.samples) if (j, a.sample) in g)
    sigma = BName("sigma", (j,), k) if kind == "batchnorm" else BName("sigma", (), k, a.sample)
    return compact(kind, k, group, j, a.sample, sigma)


def expected(d, eq) -> sympy.Expr:
    """verify's right answer: a parameter's gradient (Σ over the samples), a δ (or ∂E/∂z) one step of
    the recursion, a stage as the sweep hands it on (a norm's input: the compact form), ∂E/∂ of an
    output from the loss."""
    s = symbol(eq.lhs_name)
    if s.letter in PARAMETERS:
        return d.gradients[s.name]
    a = BName("a", s.indices, s.layer, s.sample)
    if s.letter in ("z", "delta"):
        form = compact_of(d, a)
        if form is not None:                          # δ = f'(z)·∂E/∂a, ∂E/∂a in the compact form
            return d.sweep.model.by_node[a].derivative(BName("z", s.indices, s.layer, s.sample)) * form
        return d.deltas[BName("delta", s.indices, s.layer, s.sample).name]
    if compact_of(d, s) is not None:
        return compact_of(d, s)
    if s.name in d.stages:
        return d.stages[s.name]
    return sympy.diff(d.loss, d.symbols[s.name])


RULES = (expected, mistakes)        # the batch stack's right answers and named mistakes


# ---------------------------------------------------------------- reading a line
def _sums(text: str, N: int, column: int) -> str:
    """Each Σ_s over the samples written out (its scope's <s> as <1> … <N>), innermost last."""
    m = _SUM.search(text)
    if m is None:
        free = _LETTER_SAMPLE.search(text)
        if free:
            raise ParseError(f"<{free.group(1)}> outside a sum: write the sample as a number, e.g. <1>, or sum "
                             f"over it, Σ_{free.group(1)}", column + free.start())
        return text
    letter, top = m.group(2), m.group(3)
    end = _scope_end(text, m.end())
    scope = text[m.end():end].strip()
    if not scope:
        raise ParseError(f"nothing to sum after {m.group(0).strip()}", column + m.start())
    if f"<{letter}>" not in scope:
        raise ParseError(f"{m.group(0).strip()}: a sum here runs over the samples, written <{letter}>; write a "
                         "sum over nodes out", column + m.start())
    n = N if top in (None, "N") else int(top)
    if n > N:
        raise ParseError(f"{m.group(0).strip()}: {letter} goes up to {n}, but the batch has {N} samples",
                         column + m.start())
    terms = [scope.replace(f"<{letter}>", f"<{s}>") for s in range(1, n + 1)]
    return _sums(text[:m.start()] + "(" + " + ".join(terms) + ")" + text[end:], N, column)


def _step(d, reading_, expected_of, part: str, column: int) -> sympy.Expr:
    """One step's expression: each ∂num/∂den by its value, each name by its symbol."""
    found = {}

    def hold(value, length: int) -> str:
        key = str(len(found))
        name = "_" * max(1, length - len(key)) + key
        found[name] = value
        return name

    def partial(m):
        value = chain._local(d, reading_, expected_of, m.group(1), _plain(m.group(2)), column + m.start())
        return hold(value, len(m.group(0)))

    def word(m):
        if m.group(0) == "ε":
            return hold(epsilon, 1)
        if not re.search(r"[0-9\[<]", m.group(0)):
            return m.group(0)                      # a letter alone (a, d, t): no name
        return hold(reading_.resolve(m.group(0), column + m.start()), len(m.group(0)))

    text = _sums(plain(part), d.network.samples, column)
    text = _WORD.sub(word, _PARTIAL.sub(partial, text))
    return read_right(text, reading_, column - 1, lambda w, c: found[w] if w in found else reading_.resolve(w, c))


def read_steps(d, reading_, expected_of, text: str) -> tuple:
    """(kind, name, [(column, step text, expression)]) of a chain; ParseError with the column."""
    if len(text) > MAX_LENGTH:
        raise ParseError(f"the equation is {len(text):,} characters long; the limit is {MAX_LENGTH:,}", MAX_LENGTH)
    parts = chain.split_steps(undelimited(text))
    if len(parts) < 2:
        raise ParseError(f"no '=': write e.g. {reading_.example}", len(text) + 1)
    left = parts[0][1]
    try:
        kind, name = read_left(plain(left).replace("x̂", "xhat"), reading_)
    except ParseError as err:
        raise ParseError(str(err).rsplit(" (at column", 1)[0], len(left) - len(left.lstrip()) + 1) from None
    steps = [(column + len(part) - len(part.lstrip()), part.strip(), _step(d, reading_, expected_of, part, column))
             for column, part in parts[1:]]
    return kind, name, steps


def check_chain(d, reading_, rules, sampler, text: str):
    """One Verdict for a line ``lhs = step 1 = step 2 = …``, each step held against the left side."""
    kind, name, steps = read_steps(d, reading_, rules[0], text)
    return chain.decide_steps(d, rules, sampler, text, kind, name, steps,
                              chain._foreign(d.network, [r for _, _, r in steps]))


def verify_lines(d, reading_, rules, sampler, lines) -> tuple[list, bool, bool]:
    """Every line checked, reported as verify reports a network's: (lines, all right, any read)."""
    return chain.verify_lines(d, reading_, rules, sampler, lines, check=check_chain)


VERIFIER = (check_chain, verify_lines, Sampler)     # the kind's verifier (_kinds.Kind.verifier)
