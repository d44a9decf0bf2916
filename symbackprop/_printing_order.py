"""What every printer of the package shares: sums of names and products of names (every weighted sum
z, every gradient a·δ) put in order and written by cheap keys, without SymPy's sort keys.

The printers themselves (plain, text, LaTeX) are in ``_printing.py``.
"""
from __future__ import annotations

import sympy
from sympy.printing.precedence import precedence
from sympy.printing.printer import Printer

from . import _names as names


def _term_key(term):
    """A cheap printing key for w·a, a·δ, w·δ and lone names; None for anything else."""
    key = names.name_key(term)
    if key is not None:
        return (1, (key,))
    if isinstance(term, sympy.Mul):
        keys = [names.name_key(f) for f in term.args]
        if None not in keys:
            return (0, tuple(sorted(keys)))
    return None


class CheapOrder:
    """Sums of products of names (every weighted sum) sorted by a cheap key, not sort_key."""

    max_terms = None      # display printers shorten longer sums to "first + … + last"
    ellipsis = "…"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._names_table: dict = {}     # name → (printing key, text), each worked out once (``_known``)

    def _as_ordered_terms(self, expr, order=None):
        keys = [_term_key(t) for t in expr.args]
        if None in keys:
            return super()._as_ordered_terms(expr, order)
        return [t for _, t in sorted(zip(keys, expr.args), key=lambda kt: kt[0])]

    def _print_Add(self, expr, order=None):
        return "".join(sign + text for sign, text in self.add_pieces(expr, order))

    def add_pieces(self, expr, order=None) -> list:
        """A sum as (sign, term) pieces, the first sign "": " + " or " − " before every other term (never
        "+ −"); past ``max_terms`` the first two, an ellipsis and the last two."""
        texts = self._names_sum(expr)
        terms = texts if texts is not None else self._as_ordered_terms(expr, order)
        if self.max_terms is not None and len(terms) > self.max_terms:
            terms = terms[:2] + [None] + terms[-2:]
        if texts is not None:               # names and products of names: no signs to mind
            return [("" if n == 0 else " + ", self.ellipsis if t is None else t) for n, t in enumerate(terms)]
        return [(" + ", self.ellipsis) if t is None else self._signed_term(t, n == 0, expr)
                for n, t in enumerate(terms)]

    def _names_sum(self, expr):
        """The printed terms of a sum of names and products of names (every weighted sum z), in a
        cheap order without SymPy's precedence and ordering machinery; None for any other sum."""
        keyed = self._keyed(t.args if t.is_Mul else (t,) for t in expr.args)
        return None if keyed is None else [text for _, text in keyed]

    def pairs_text(self, pairs):
        """A weighted sum written from its (coefficient, value) pairs (``_graph.Equation.terms``) as the sum
        itself prints, without taking the sum apart (100k terms in 784-128-10); None unless every term is
        a name or a product of names, each once, in a printer that writes every term."""
        if self.max_terms is not None:
            return None
        one = sympy.S.One
        keyed = self._keyed((w,) if a is one else (a,) if w is one else (w, a) for w, a in pairs)
        if keyed is None or any(s[0] == t[0] for s, t in zip(keyed, keyed[1:])):
            return None                        # a term twice: the sum holds it once, times 2
        return " + ".join(text for _, text in keyed)

    def _keyed(self, terms) -> list | None:
        """Each term (a tuple of its factors) as (printing key, text), in printing order: products first,
        their factors by key, then lone names; None when some factor is not a name."""
        keyed, table, learn, mul = [], self._names_table, self._known, self._mul_symbol
        for factors in terms:
            if len(factors) == 2:              # w·a, a·δ: the common case, without a sort
                (ka, ta), (kb, tb) = table.get(factors[0]) or learn(factors[0]), table.get(factors[1]) or \
                    learn(factors[1])
                if ka is None or kb is None:
                    return None
                keyed.append(((0, ka, kb), ta + mul + tb) if ka <= kb else ((0, kb, ka), tb + mul + ta))
                continue
            known = [learn(f) for f in factors]
            if any(key is None for key, _ in known):
                return None
            known.sort()
            keyed.append(((0 if len(known) > 1 else 1, *(key for key, _ in known)), mul.join(t for _, t in known)))
        keyed.sort(key=lambda ks: ks[0])       # the builders' order is the printing order: one pass
        return keyed

    def names_product(self, expr):
        """A product of two names as this printer writes it (every gradient δ·a), or None."""
        if type(expr) is not sympy.Mul or len(expr.args) != 2:
            return None
        a, b = expr.args
        table = self._names_table
        (ka, ta), (kb, tb) = table.get(a) or self._known(a), table.get(b) or self._known(b)
        if ka is None or kb is None:
            return None
        return ta + self._mul_symbol + tb if ka <= kb else tb + self._mul_symbol + ta

    def _known(self, name) -> tuple:
        """(printing key, text) of a name, or (None, None) for anything else; each name's worked out
        once per printer (a weight is in every sum it feeds)."""
        table = self._names_table
        found = table.get(name)
        if found is None:
            key = names.name_key(name)
            # a name prints itself (its _sympystr or _latex): asked directly, past the printer's dispatch,
            # unless a subclass prints some names its own way (the exercise sheets' numbers)
            direct = key is not None and type(self)._print is Printer._print
            own = getattr(name, self.printmethod, None) if direct else None
            found = table[name] = (key, None if key is None else own(self) if own else self._print(name))
        return found

    def _name_text(self, name) -> str:
        """A name as this printer writes it."""
        return self._known(name)[1]

    def _print_Mul(self, expr):
        # Products of names, with at most one sum and one function call (every z, δ and
        # gradient): in SymPy's own order (names, the sum, the call) without its costly sort keys.
        named, sums, calls = [], [], []
        for f in expr.args:
            key = names.name_key(f)
            if key is not None:
                named.append((key, f))
            elif isinstance(f, sympy.Add):
                sums.append(f)
            elif isinstance(f, sympy.Function) and not isinstance(f, sympy.exp):
                calls.append(f)
            else:
                return super()._print_Mul(expr)
        if len(sums) > 1 or len(calls) > 1:
            return super()._print_Mul(expr)
        ordered = [f for _, f in sorted(named, key=lambda kf: kf[0])]
        if not sums and not calls:          # the common case, a gradient a·δ: nothing to parenthesise
            return self._mul_symbol.join(self._name_text(f) for f in ordered)
        ordered += sums + calls
        prec = precedence(expr)
        return self._mul_symbol.join(self.parenthesize(f, prec, strict=False) for f in ordered)
