"""An exercise's question and solution sheets, as sections written by a format's document writer.

The walk decides what each sheet says; the format (LaTeX or text) how it looks. A solution
works every value out as a worked example does: the formula, the formula with the numbers
put in, the number (``z = w·x + … = 0.15·0.05 + … = 0.0275``).

>>> from symbackprop._spec import from_spec
>>> from symbackprop._exercise import make_exercise
>>> ex = make_exercise(from_spec("1-1", activation="linear"), seed=1)
>>> print(solution_sheet(ex, "text").splitlines()[0])
Solution to exercise 1: backpropagation for the 1-1 network
"""
from __future__ import annotations

import re

import sympy

from . import _printing as printing
from ._activations import Z
from ._conv_patterns import prose
from ._document import TEXT_WIDTH, _article, dense_titles, rnn_titles
from ._exercise import UPDATED, Exercise, weight_groups
from ._formats import TextFormat
from ._formats_tex import LatexFormat
from ._graph import E
from ._kinds import kind_of
from ._printing import plain

#: significant digits of every worked-out value (the given ones have two decimals)
DIGITS = 4
#: a parameter after one step changes in its later digits: shown with more
STEP_DIGITS = 6


def question_sheet(ex: Exercise, fmt: str = "latex") -> str:
    """The question: the network, the given numbers (or the gradients to derive), the tasks.
    ``fmt`` "latex" gives a complete article, "text" plain text."""
    return _sheet(ex, fmt, solution=False)


def solution_sheet(ex: Exercise, fmt: str = "latex") -> str:
    """The solution: every forward value, E, every δ, every gradient (and update), worked out; for a
    symbolic exercise the answers and their derivation, chain rule and all."""
    return _sheet(ex, fmt, solution=True)


def given_paragraphs(ex: Exercise) -> list:
    """The given numbers as the question sheet lists them, one paragraph per group, math in $…$
    (for a web page that typesets LaTeX, e.g. with MathJax)."""
    return [text for _, text in _Walk(ex, LatexFormat(), _LatexNumbers).given()[1]]


# ---------------------------------------------------------------- numbers in formulas
class _Numbers:
    """A printer that prints each name with a value as that number: a negative one in parentheses,
    except as the lone argument of a function (σ(−0.3), not σ((−0.3)))."""

    def __init__(self, number):
        super().__init__()
        self.number, self._bare = number, False

    def _print(self, expr, **kwargs):
        text = self.number(expr.name) if isinstance(expr, sympy.Symbol) else None
        if text is not None:
            return text if self._bare or not text.startswith(("-", "−")) else self.bracket(text)
        if isinstance(expr, sympy.Function) and len(expr.args) == 1 and isinstance(expr.args[0], sympy.Symbol):
            self._bare = True
            try:
                return super()._print(expr, **kwargs)
            finally:
                self._bare = False
        return super()._print(expr, **kwargs)


class _LatexNumbers(_Numbers, printing._Latex):
    article = True

    @staticmethod
    def figure(v: float, digits: int | None = None) -> str:
        """A number: given (``digits`` None) with its two decimals, else to ``digits`` significant digits."""
        v += 0.0                       # −0.0 (a product with a zero factor) is 0
        text = f"{v:.2f}" if digits is None else f"{v:.{digits}g}"
        mantissa, e, exponent = text.partition("e")
        return f"{mantissa} \\cdot 10^{{{int(exponent)}}}" if e else text

    @staticmethod
    def primed(written: str) -> str:
        return f"{{{written}}}'"

    def bracket(self, text):
        return f"\\left({text}\\right)"

    def math(self, expr):
        """As ``printing.latex``: the pieces a long line may break between."""
        if isinstance(expr, sympy.Add):
            pieces = self.add_pieces(expr)
            return printing.math("".join(sign + text for sign, text in pieces), pieces, expr)
        tex = self.doprint(expr)
        return printing.math(tex, self.mul_pieces(expr, tex) if isinstance(expr, sympy.Mul) else (), expr)


class _TextNumbers(_Numbers, printing._Text):
    article = False

    @staticmethod
    def figure(v: float, digits: int | None = None) -> str:
        v += 0.0
        return (f"{v:.2f}" if digits is None else f"{v:.{digits}g}").replace("-", "−")

    @staticmethod
    def primed(written: str) -> str:
        return f"{written}'"

    def bracket(self, text):
        return f"({text})"

    def math(self, expr):
        return printing.math(self.doprint(expr), source=expr)


#: each format, and how numbers are written in it
FORMATS = {"latex": (lambda: LatexFormat(TEXT_WIDTH), _LatexNumbers), "text": (TextFormat, _TextNumbers)}


class _Walk:
    """What one sheet says, in one format."""

    def __init__(self, ex: Exercise, fmt, numbers):
        self.ex, self.fmt, self.d = ex, fmt, ex.derivation
        known = {**ex.constants, **ex.intermediates, **({"eta": ex.lr} if ex.lr is not None else {})}
        self.text_of = {**{k: numbers.figure(v) for k, v in ex.values.items()},
                        **{k: numbers.figure(v, DIGITS) for k, v in known.items()}}
        self.printer = numbers(self.text_of.get)

    def inline(self, name: str) -> str:
        return self.fmt.inline_math(f"{self.fmt.expr(self.d.symbols[name])} = {self.text_of[name]}")

    def worked(self, lhs: str, expr, value: str):
        """lhs = formula = formula with the numbers = value, as one side that breaks where it must (the
        numbers left out for a lone name)."""
        pieces = [("", self.fmt.expr(expr))]
        if not isinstance(expr, sympy.Symbol):
            pieces.append((" = ", self.printer.math(expr)))
        return (None, [lhs, self.fmt.joined(pieces + [(" = ", value)])])

    def given(self):
        ex = self.ex
        groups = {"inputs": [], "targets": [], "initial state": [], "dropout masks": []}
        for name in ex.values:
            what = "initial state" if name.endswith("<0>") else "dropout masks" if re.match(r"m[0-9]", name) else \
                {"x": "inputs", "t": "targets"}.get(name[0], "")
            groups.get(what, []).append(name)
        items = [("para", "Every number is rounded to two decimals.")]
        lines = [(what.capitalize(), names) for what, names in groups.items() if names]
        parameters = [p for p in ex.values if p not in sum(groups.values(), [])]
        lines += [(f"Weights {self.matrix(key)}", ns) for key, ns in weight_groups(parameters).items()]
        biases = [p for p in parameters if p.startswith(("b", "c"))]
        lines += [("Biases", biases)] if biases else []
        items += [("para", f"{what}: " + ", ".join(self.inline(n) for n in names)) for what, names in lines]
        return ("Given", items)

    def matrix(self, key: str) -> str:
        """A weight matrix's name from its group's key: W[1] for w[1], U for u, U_f for uf (a gate's), γ[3] for
        gamma[3] (a norm layer's scale, a vector)."""
        letter, _, layer = key.partition("[")
        if letter == "gamma":
            return self.fmt.inline_math(self.fmt.indexed("gamma", layer[:-1]))
        if len(letter) == 2:                         # a gated cell's: the matrix letter, then the gate's
            letter = f"{letter[0].upper()}_{letter[1]}"
        return self.fmt.inline_math(self.fmt.indexed(letter.upper(), layer[:-1]) if layer else
                                    letter if "_" in letter else letter.upper())

    def tasks(self):
        fmt, ex = self.fmt, self.ex
        p = fmt.inline_math(fmt.inline_partial("E", "p"))
        which = "weight and bias" if any(n.startswith(("b", "c")) for n in ex.asked) else "weight"
        items = [("para", f"Work out, keeping {DIGITS} significant digits:"),
                 ("para", f"1. the forward pass: the value of every node, and the loss {fmt.inline_math('E')};"),
                 ("para", f"2. the error signals: every {fmt.inline_math(fmt.letter('delta'))};"),
                 ("para", f"3. the gradient {p} of every {which}" + (";" if ex.lr is not None else "."))]
        if ex.lr is not None:
            eta = fmt.inline_math(f"{fmt.eta} = {self.text_of['eta']}")
            rule = fmt.inline_math(f"p' = p {fmt.minus} {fmt.eta}{fmt.mul}{fmt.inline_partial('E', 'p')}")
            items.append(("para", f"4. one step of gradient descent with {eta}: every parameter after the step, "
                                  f"{rule}, each from the values before the step."))
        return ("Tasks", items)

    def forward(self):
        d, fmt = self.d, self.fmt
        rows = [self.worked(fmt.expr(d.symbols[k]), v, self.text_of[k]) for k, v in d.forward.items()]
        items = [("eqs", rows)]
        defs, a, in_output = [], sympy.Symbol("a"), False
        for act in dict.fromkeys(self.ex.network.activations):
            if act.definition is not None and not act.inline:
                f, fp = act.functions
                in_output |= act.derivative_in_output is not None
                if plain(act.definition) != plain(f(Z)):              # tanh(z) = tanh(z) says nothing
                    defs.append((None, [fmt.expr(f(Z)), fmt.expr(act.definition)]))
                slope = act.derivative_in_output(a) if act.derivative_in_output else act.derivative
                defs.append((None, [fmt.expr(fp(Z)), fmt.expr(slope)]))
        if defs:
            items += [("para", "where"), ("eqs", defs)]
        if in_output:
            items.append(("para", f"({fmt.inline_math('a')} is the activation at {fmt.inline_math('z')}: the "
                                  "derivative from the forward pass's own value.)"))
        return ("Forward pass", items)

    def backward(self):
        d, fmt, ex = self.d, self.fmt, self.ex
        out = [("Loss", [("eqs", [self.worked(fmt.expr(E), d.loss, self.printer.figure(ex.loss, DIGITS))])]),
               ("Error signals", [("eqs", [self.worked(fmt.expr(d.symbols[k]), v, self.text_of[k])
                                           for k, v in d.deltas.items()])])]
        rows = [self.worked(fmt.partial(E, d.symbols[p]), d.gradients[p], self.printer.figure(ex.answers[p], DIGITS))
                for p in ex.asked]
        out.append(("Gradients", [("eqs", rows)]))
        if ex.lr is not None:
            out.append(("One step of gradient descent", [("para", self.step_note()), ("eqs", self.steps())]))
        return out

    def step_note(self) -> str:
        fmt = self.fmt
        return (f"Each parameter {fmt.inline_math('p')} becomes {fmt.inline_math(self.printer.primed('p'))}, from the "
                f"values before the step ({fmt.inline_math(f'{fmt.eta} = ' + self.text_of['eta'])}):")

    def steps(self) -> list:
        fmt, ex, rows = self.fmt, self.ex, []
        for p in ex.asked:
            w, g = fmt.expr(self.d.symbols[p]), ex.answers[p]
            grad = self.printer.figure(g, DIGITS)
            rule = f"{w} {fmt.minus} {fmt.eta}{fmt.mul}{fmt.partial(E, self.d.symbols[p])}"
            numbers = f"{self.text_of[p]} {fmt.minus} {self.text_of['eta']}{fmt.mul}" + (
                self.printer.bracket(grad) if g < 0 else grad)
            after = self.printer.figure(ex.answers[p + UPDATED], STEP_DIGITS)
            rows.append((None, [self.printer.primed(w), fmt.joined([("", rule), (" = ", numbers), (" = ", after)])]))
        return rows

    def derive_task(self):
        fmt, d = self.fmt, self.d
        asked = ", ".join(fmt.inline_math(fmt.inline_partial("E", fmt.expr(d.symbols[p]))) for p in self.ex.asked)
        return ("Derive", [("para", f"By the chain rule, in the network's notation, derive {asked}."),
                           ("para", "Write each first as the chain rule's product of partial derivatives, then in "
                                    f"terms of the error signals {fmt.inline_math(fmt.letter('delta'))}.")])

    def answers(self):
        fmt, d = self.fmt, self.d
        rows = [(None, [fmt.partial(E, d.symbols[p]), fmt.expr(self.ex.answers[p])]) for p in self.ex.asked]
        return ("Answers", [("eqs", rows), ("para", "The derivation follows, step by step.")])


def _described(net, fmt) -> tuple[str, str]:
    """The title of a network of another kind (LSTM/GRU, a batch stack): its own description."""
    return prose(fmt, f"Backpropagation for the {net.describe()}"), "every given number to two decimals"


def _sheet(ex: Exercise, fmt_name: str, solution: bool) -> str:
    make, numbers = FORMATS[fmt_name]
    fmt = make()
    walk = _Walk(ex, fmt, numbers)
    if ex.symbolic:
        sections = [walk.answers()] if solution else [walk.derive_task()]
    else:
        sections = [walk.given()] + ([walk.forward(), *walk.backward()] if solution else [walk.tasks()])
    net, kind = ex.network, kind_of(ex.network)
    titles = {"rnn": rnn_titles, "dense": dense_titles}.get(kind.name, _described)
    topic, subtitle = titles(net, fmt)
    title = f"{'Solution to exercise' if solution else 'Exercise'} {ex.seed}: {topic[0].lower()}{topic[1:]}"
    body = fmt.document(title, subtitle, sections)
    if ex.symbolic and solution:
        body += "\n" + (ex.derivation.to_latex() if numbers.article else ex.derivation.to_text())
    if not numbers.article:
        return body
    drawing = "\\subsection*{The network}\n\\begin{center}\n" + kind.draw(net) + "\\end{center}\n\n"
    return _article(title, subtitle, drawing, body)
