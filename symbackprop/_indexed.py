"""The general form in a hand derivation: letter indices and sums, read as every instance.

``δi[2] = g'(zi[2])·Σ_j wij[2]·δj[3]`` stands for one equation per value of i with the
sum written out over j.  An index runs over the nodes of the layer it numbers (i of wij[k]
over layer k, j over layer k+1; δj[k], zj[k], aj[k], bj[k] over layer k; x over the
inputs, t over the outputs), or over the sum's own bounds (``Σ_{j=1}^{3}``, ``sum_j``).
A sum covers the product that follows it, up to the next + or − outside brackets.
The text is rewritten, never evaluated: each instance is then read and checked as usual.

>>> import symbackprop as sb
>>> from symbackprop._equation import dense_reading
>>> [t for _, t in instances("δi[2] = Σ_j wij[2]·δj[3]", dense_reading(sb.network("2-2-2")))]
['δ1[2] = (w11[2]·δ1[3] + w12[2]·δ2[3])', 'δ2[2] = (w21[2]·δ1[3] + w22[2]·δ2[3])']
"""
from __future__ import annotations

import itertools
import re

from ._errors import ParseError

LETTERS = "ijklmnpq"
MAX_INSTANCES = 64
# a name with at least one letter index: kind, indices (letters, numbers, commas), layer or step
# (after a letter only after the d of dE/dwij[1]; d itself names nothing: dk1ij1[1] is d, then k1ij1[1])
_NAME = re.compile(r"(?<![A-Za-ce-z_])(delta|δ|[a-ce-z])([0-9,]*[ijklmnpq][ijklmnpq0-9,]*)(\[[0-9]+\]|<[0-9]+>)?"
                   r"(?![A-Za-z_(])")
_SUM = re.compile(r"(?:Σ|(?<![A-Za-z])sum)\s*_?\s*(\{)?\s*([ijklmnpq])\s*(?:=\s*([0-9]+))?\s*(?(1)\})"
                  r"(?:\s*(?:\^\s*\{?\s*([0-9]+)\s*\}?|\.\.\s*([0-9]+)))?")


def _tokens(indices: str) -> list[str]:
    """'ij' → [i, j]; '1j' → [1, j]; '12,j' → [12, j]; 'i22' → [i, 2, 2] (without commas every index
    is one digit, DESIGN.md §1.1)."""
    if "," in indices:
        return indices.split(",")
    return re.findall(r"[0-9]|[a-z]", indices)


def _name(kind: str, tokens: list[str], tail: str) -> str:
    sep = "," if any(len(t) > 1 for t in tokens) else ""
    return kind + sep.join(tokens) + (tail or "")


def _layer(tail: str | None) -> int | None:
    return int(tail[1:-1]) if tail else None


def _uses(text: str):
    """(letter, kind, position, layer, name) for every letter index in ``text``."""
    for m in _NAME.finditer(text):
        kind = "delta" if m.group(1) == "δ" else m.group(1)
        for n, token in enumerate(_tokens(m.group(2))):
            if token in LETTERS:
                yield token, kind, n, _layer(m.group(3)), m.group(0)


def _ranges(text: str, reading, only=LETTERS) -> dict:
    """letter → how many values, from where each letter (of ``only``) is used; ParseError where they
    disagree."""
    found, seen = {}, {}
    for letter, kind, n, layer, name in _uses(text):
        if letter not in only:
            continue
        size = reading.size(kind, n, layer) if reading.size else None
        if size is None:
            raise ParseError(f"{name}: an index letter here has no range (write the layer as a number, "
                             f"e.g. δj[2])", 1)
        if letter in found and found[letter] != size:
            where = seen[letter]
            raise ParseError(f"{letter} runs over {found[letter]} values in {where} but {size} in {name}", 1)
        found[letter], seen[letter] = size, name
    return found


def _substitute(text: str, values: dict) -> str:
    """Every letter index in ``text`` with a value given, replaced by it."""
    def one(m):
        tokens = [str(values.get(t, t)) for t in _tokens(m.group(2))]
        return _name(m.group(1), tokens, m.group(3))
    return _NAME.sub(one, text)


def _scope_end(text: str, start: int) -> int:
    """Where the product after a Σ ends: the next + or − outside brackets, a closing bracket, or '='."""
    depth, i = 0, start
    while i < len(text) and text[i] == " ":
        i += 1
    if i < len(text) and text[i] in "+-−":
        i += 1
    while i < len(text):
        ch = text[i]
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            if depth == 0:
                return i
            depth -= 1
        elif depth == 0 and (ch in "+−=" or ch == "-" and text[i - 1] not in "*/^(·×e"):
            return i
        i += 1
    return i


def _expand_sums(text: str, reading) -> str:
    """Each Σ written out as a sum in brackets, innermost last (a sum inside a sum's scope is
    expanded per term)."""
    m = _SUM.search(text)
    if m is None:
        return text
    letter, low, high = m.group(2), int(m.group(3) or 1), m.group(4) or m.group(5)
    end = _scope_end(text, m.end())
    scope = text[m.end():end]
    if not scope.strip():
        raise ParseError(f"nothing to sum after {m.group(0).strip()}", m.start() + 1)
    size = _ranges(scope, reading).get(letter)
    top = int(high) if high else size
    if top is None:
        raise ParseError(f"{m.group(0).strip()}: {letter} is not used in what follows", m.start() + 1)
    if size is not None and top > size:
        raise ParseError(f"{m.group(0).strip()}: {letter} goes up to {top}, but the layer has {size}", m.start() + 1)
    terms = [_substitute(scope.strip(), {letter: v}) for v in range(low, top + 1)]
    return _expand_sums(text[:m.start()] + "(" + " + ".join(terms) + ")" + text[end:], reading)


def instances(text: str, reading) -> list[tuple[dict, str]] | None:
    """[(values of the free letters, the equation with them put in and the sums written out)];
    None when ``text`` has neither letter indices nor sums (an ordinary equation)."""
    if not _SUM.search(text) and not any(True for _ in _uses(text)):
        return None
    for m in _SUM.finditer(text):
        if m.group(2) in set(u[0] for u in _uses(text[:m.start()])):
            raise ParseError(f"{m.group(2)} is summed over here but also used outside the sum", m.start() + 1)
    bound = set()
    for m in _SUM.finditer(text):
        bound |= set(re.findall("[" + LETTERS + "]", m.group(2)))
    outside = _SUM.sub(" ", text)
    free = sorted({u[0] for u in _uses(outside)} - bound)
    ranges = _ranges(outside, reading, only=free)
    combos = list(itertools.product(*(range(1, ranges[f] + 1) for f in free)))
    if len(combos) > MAX_INSTANCES:
        raise ParseError(f"{len(combos)} instances of the free indices {', '.join(free)}; the limit is "
                         f"{MAX_INSTANCES}: fix one, e.g. write 1 for {free[0]}", 1)
    out = []
    for combo in combos:
        values = dict(zip(free, combo))
        out.append((values, _expand_sums(_substitute(text, values), reading)))
    return out
