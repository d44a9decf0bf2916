"""The JSON printer of a recurrent derivation: SymPy's own text, with its order of a sum's terms
worked out from keys kept per printer.

A recurrent network's δj<t> is g'(sj<t>)·(Σ wjk·δk<t+1> + Σ vjk·(yk<t> − tk<t>)), and the
gradient of a v the sum over time of hj<t>·(yk<t> − tk<t>): sums of products whose factors are
sums and calls, not only names.  SymPy orders such a sum (``Expr.as_ordered_terms``) by sort
keys it works out anew for every factor of every term, the same few hundred factors thousands of
times over; here each factor's key is worked out once.

>>> from symbackprop._printing import plain
>>> from symbackprop._timed import sym
>>> y, t, v, w, d = sym("y", 1, t=2), sym("t", 1, t=2), sym("v", 1, 1), sym("w", 1, 1), sym("delta", 1, t=3)
>>> sum_ = v * (y - t) + w * d
>>> lex_terms(sum_, {}) == sum_.as_ordered_terms()
True
>>> plain(sum_, printer())
'w11*delta1<3> + v11*(y1<2> - t1<2>)'
"""
from __future__ import annotations

import sympy
from sympy.core.exprtools import decompose_power
from sympy.core.sorting import default_sort_key

from ._printing import _Plain


def _factor_key(factor, keys: dict):
    """A factor's sort key, or None when SymPy's ordering would treat it otherwise than as a
    generator to the first power (a number, a power, a non-commutative factor)."""
    found = keys.get(factor, False)
    if found is False:
        base, exp = decompose_power(factor) if factor.is_commutative and not factor.is_number else (None, 0)
        found = keys[factor] = default_sort_key(factor) if exp == 1 and base == factor else None
    return found


def _coefficient_key(coeff, keys: dict) -> tuple:
    """SymPy's key of a term's coefficient, (imaginary part first, then the real), worked out once:
    SymPy's complex() of a number goes through evalf."""
    found = keys.get(("coefficient", coeff))
    if found is None:
        c = complex(coeff)
        found = keys[("coefficient", coeff)] = ((bool(c.imag), c.imag), (c.real, c.imag))
    return found


def lex_terms(expr: sympy.Add, keys: dict) -> list | None:
    """The terms of the sum ``expr`` in the order ``expr.as_ordered_terms()`` gives, or None when
    some term is not a number times a product of distinct generators (then SymPy is asked).

    As SymPy: each term is a monomial in the sum's generators, sorted by their keys; the terms
    come in decreasing lexicographic order of their exponents, ties by coefficient.  ``keys``
    remembers every factor's key (one dict for many sums).
    """
    rows, generators = [], {}
    for term in expr.args:
        coeff, rest = term.as_coeff_Mul()
        if rest is sympy.S.One:           # a lone number: SymPy has a special case for 1 − x
            return None
        factors = rest.args if rest.is_Mul else (rest,)
        for f in factors:
            key = _factor_key(f, keys)
            if key is None:
                return None
            generators[f] = key
        rows.append((term, factors, _coefficient_key(coeff, keys)))
    ordered = sorted(generators, key=generators.__getitem__)
    if len({generators[g] for g in ordered}) < len(ordered):   # equal keys: SymPy's order is its set's
        return None
    place = {g: n for n, g in enumerate(ordered)}

    def key(row):
        monomial = [0] * len(ordered)
        for f in row[1]:
            monomial[place[f]] = -1          # SymPy sorts by the negated exponents
        return tuple(monomial), (), row[2]
    return [term for term, _, _ in sorted(rows, key=key)]


class _Recurrent(_Plain):
    """The plain printer, with each sum printed once (yk<t> − tk<t> is in every δ of step t) and
    sums ordered by ``lex_terms``."""

    def _print_Add(self, expr, order=None):
        memo = self.__dict__.setdefault("_sums", {})
        found = memo.get((expr, order))
        if found is None:
            found = memo[(expr, order)] = super()._print_Add(expr, order)
        return found

    def _as_ordered_terms(self, expr, order=None):
        if (order or self.order) is None:
            found = lex_terms(expr, self.__dict__.setdefault("_keys", {}))
            if found is not None:
                return found
        return super()._as_ordered_terms(expr, order)


def printer() -> _Recurrent:
    """A printer for ``plain``, to write every expression of one recurrent derivation with."""
    return _Recurrent()
