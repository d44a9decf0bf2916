r"""How wide LaTeX math sets, estimated from the printed string: the one estimate every LaTeX writer
breaks lines by (the notes, the fragment, the slides).

TeX's own widths of Computer Modern at 10pt and its spaces between atoms (thin, medium
around + − ·, thick around =), sub- and superscripts stacked, fractions as their wider
part, taller delimiters round fractions and scripts: within a few percent of what
pdflatex sets for the formulas the formats print.

>>> round(width("w_{11}^{[2]} \\cdot x_{1}"))
34
"""
from __future__ import annotations

import re

_ITALIC = dict(zip("abcdefghijklmnopqrstuvwxyz", (5.29, 4.29, 4.33, 5.2, 4.66, 5.97, 5.13, 5.76, 3.45, 4.69, 5.52, 3.18, 8.78,
                                                  6.0, 4.85, 5.03, 4.82, 4.79, 4.69, 3.61, 5.72, 5.21, 7.43, 5.72, 5.26, 5.09)))
_ROMAN = dict(zip("abcdefghijklmnopqrstuvwxyz", (5.0, 5.56, 4.44, 5.56, 4.44, 3.06, 5.0, 5.56, 2.78, 3.06, 5.28, 2.78, 8.33,
                                                 5.56, 5.0, 5.56, 5.28, 3.92, 3.94, 3.89, 5.56, 5.28, 7.22, 5.28, 5.28, 4.44)))
#: (TeX atom class, width in pt of 10pt type) of the commands and characters the formats print
_ATOMS = {"delta": ("ord", 4.82), "eta": ("ord", 5.32), "sigma": ("ord", 6.07), "lambda": ("ord", 5.83),
          "partial": ("ord", 5.86), "langle": ("ord", 3.89), "rangle": ("ord", 3.89), "top": ("ord", 7.78),
          "cdots": ("inner", 13.33), "quad": ("ord", 10.0), "qquad": ("ord", 20.0), ";": ("ord", 2.78),
          ",": ("ord", 1.67), "+": ("bin", 7.78), "-": ("bin", 7.78), "cdot": ("bin", 2.78), "times": ("bin", 7.78),
          "odot": ("bin", 7.78), "=": ("rel", 7.78), "le": ("rel", 7.78), "leftarrow": ("rel", 10.0),
          "sum": ("big", 14.44), "prod": ("big", 12.78), "(": ("open", 3.89), "[": ("open", 2.78),
          ")": ("close", 3.89), "]": ("close", 2.78), ",c": ("punct", 2.78)}
_UPPER = {"E": 7.96, "W": 10.83, "L": 6.81, "U": 7.92, "V": 8.06, "T": 7.23, "R": 7.67}
_SIZE = (1.0, 1.0, 0.8, 0.65)           # display, text, script and scriptscript style
#: TeX's spaces between atoms (in mu, none in scripts): thin 3, medium 4 (around bin), thick 5 (around rel)
_THIN = {("ord", "op"), ("op", "ord"), ("op", "op"), ("close", "op"), ("ord", "inner"), ("inner", "ord"),
         ("op", "inner"), ("inner", "op"), ("inner", "inner"), ("close", "inner"), ("big", "ord"), ("big", "inner"),
         ("ord", "big"), ("close", "big"), ("punct", "ord"), ("punct", "inner")}


def _group(s: str, i: int) -> int:
    """The index just past the brace group that opens at s[i]."""
    depth = 0
    for n in range(i, len(s)):
        depth += (s[n] == "{") - (s[n] == "}")
        if depth == 0:
            return n + 1
    return len(s)


def _arg(s: str, i: int) -> tuple[str, int]:
    """The argument starting at s[i] (a brace group, a command or one character) and the index after it."""
    while s[i:i + 1] == " ":
        i += 1
    if s[i:i + 1] == "{":
        end = _group(s, i)
        return s[i + 1:end - 1], end
    m = re.match(r"\\([A-Za-z]+|.)|.", s[i:])
    return (m.group(0), i + len(m.group(0))) if m else ("", i)


def _atoms(s: str, level: int):
    """(class, width) of each atom of LaTeX math s at a style level (0 display … 3 scriptscript)."""
    k, small, i = _SIZE[level], min(3, max(2, level + 1)), 0
    while i < len(s):
        c = s[i]
        if c in " &}":
            i += 1
        elif c == "{":
            arg, i = _arg(s, i)
            yield "ord", width(arg, level)
        elif c in "^_'":                       # a script: the caller stacks a sub- and superscript
            arg, i = ("\\prime", i + 1) if c == "'" else _arg(s, i + 1)
            yield "script", (2.75 * _SIZE[small] if c == "'" else width(arg, small)) + 0.5
        elif c == "\\":
            word, i = _arg(s, i)
            word = word[1:]
            if word == "frac":
                a, i = _arg(s, i)
                b, i = _arg(s, i)
                yield "ord", max(width(a, min(3, level + 1)), width(b, min(3, level + 1))) + 2.4 * k
            elif word in ("left", "bigl"):     # a delimited group: one inner atom, taller delimiters round tall things
                end = _closing(s, i, word)
                inner, i = s[i + 1:end], end + len("\\right" if word == "left" else "\\bigr") + 1
                tall = 7.9 if "\\frac" in inner and level == 0 else (5.95 if "_" in inner else 4.58) if "^" in inner else 3.89
                yield "inner", width(inner, level) + 2 * (4.58 if word == "bigl" else tall) * k
            elif word in ("text", "mathrm", "operatorname"):
                arg, i = _arg(s, i)
                yield ("op" if word == "operatorname" else "ord"), k * sum(_ROMAN.get(ch.lower(), 5.0 if ch != " " else 3.33)
                                                                             for ch in re.sub(r"\\[a-z]+ ?|\$", "", arg))
            elif word in ("log", "tanh", "exp", "sin", "cos", "ln", "max", "min"):
                yield "op", k * sum(_ROMAN[ch] for ch in word)
            elif word == "phantom":
                arg, i = _arg(s, i)
                yield "ord", width(arg, level)
            elif word not in ("displaystyle", "small", "limits"):
                kind, w = _ATOMS.get(word, ("ord", 7.0))
                yield kind, w * (k if kind != "big" or level == 0 else 0.73 * k)
        else:
            i += 1
            kind, w = _ATOMS.get(",c" if c == "," else c, ("ord", 5.0))
            if c.isalpha():
                w = _ITALIC[c] if c.islower() else _UPPER.get(c, 7.9)
            yield kind, w * k


def _closing(s: str, i: int, word: str) -> int:
    """The index of the \\right (\\bigr) that closes the \\left (\\bigl) just before s[i]."""
    close, depth = "right" if word == "left" else "bigr", 1
    for m in re.finditer(r"\\(%s|%s)(?![A-Za-z])" % (word, close), s[i:]):
        depth += 1 if m.group(1) == word else -1
        if depth == 0:
            return i + m.start()
    return len(s)


def width(tex: str, level: int = 0) -> float:
    """About how wide LaTeX math sets, in points of 10pt type, in display style (``level`` 1 text,
    2 script, 3 scriptscript)."""
    total, prev, mu = 0.0, None, (0.556 * _SIZE[level] if level < 2 else 0.0)
    last_script = None
    for kind, w in _atoms(tex, level):
        if kind == "script":
            if prev == "big" and level == 0:        # limits go under and over a display sum
                continue
            total += w - (min(w, last_script) if last_script is not None else 0)   # sub and sup stack
            last_script = w if last_script is None else max(w, last_script)
            continue
        last_script = None
        if kind == "bin" and prev in (None, "bin", "rel", "open", "punct", "big", "op"):
            kind = "ord"                             # a sign, not an operation
        if "bin" in (kind, prev):
            total += 4 * mu
        elif "rel" in (kind, prev):
            total += 5 * mu
        elif (prev, kind) in _THIN:
            total += 3 * mu
        total += w
        prev = kind
    return total - (4 * mu if prev == "bin" else 5 * mu if prev == "rel" else 0)
