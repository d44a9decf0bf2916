"""LaTeX as people type it, rewritten into the plain grammar: \\frac, \\partial, _{}, ^{[k]} or ^{(k)},
superscripts before subscripts, \\left(, \\sum_{j}, ^{\\prime}, and $…$ or \\(…\\) around it all.

A small scanner of commands and brace groups: nothing is evaluated.

>>> latex_to_plain(r"\\frac{\\partial E}{\\partial w^{[2]}_{11}} = \\delta_1^{(3)} a_{1}^{[2]}")
'∂E/∂w11[2] = delta1[3] a1[2]'
"""
from __future__ import annotations

import re

from ._errors import ParseError

_COMMANDS = {
    "partial": "∂", "cdot": "*", "times": "*", "delta": "delta", "sigma": "σ", "eta": "eta",
    "tanh": "tanh", "exp": "exp", "log": "log", "ln": "log", "left": "", "right": "", "big": "",
    "Big": "", "bigl": "", "bigr": "", "Bigl": "", "Bigr": "", ",": " ", ";": " ", "!": "", " ": " ",
    "quad": " ", "qquad": " ", "cdotp": "*", "ast": "*", "small": "",
}
_ROMAN = {"relu": "relu", "lrelu": "leaky_relu", "leaky_relu": "leaky_relu", "softplus": "softplus",
          "softmax": "softmax", "sigmoid": "sigmoid", "exp": "exp", "log": "log"}


def _command(s: str, i: int):
    """The LaTeX command at s[i] (a backslash): a word or one character; ParseError at the end."""
    m = re.match(r"\\([A-Za-z]+|.)", s[i:], re.S)
    if m is None:
        raise ParseError("a lone backslash at the end of the LaTeX", i + 1)
    return m


def _group(s: str, i: int) -> tuple[str, int]:
    """The text of the brace group (or single character) at s[i:], and the index after it."""
    while i < len(s) and s[i] == " ":
        i += 1
    if i >= len(s):
        raise ParseError("a LaTeX group is missing at the end", i + 1)
    if s[i] != "{":
        if s[i] == "\\":
            m = _command(s, i)
            return s[i:i + m.end()], i + m.end()
        return s[i], i + 1
    depth = 0
    for j in range(i, len(s)):
        depth += (s[j] == "{") - (s[j] == "}")
        if depth == 0:
            return s[i + 1:j], j + 1
    raise ParseError("unbalanced braces in the LaTeX", i + 1)


def _sum(s: str, i: int, depth: int) -> tuple[str, int]:
    """A sum's marks after \\sum or Σ, kept in the plain form: Σ_{j=1}^{3}."""
    marks = ""
    for mark in "_^":
        if s[i:].lstrip().startswith(mark):
            group, i = _group(s, len(s) - len(s[i:].lstrip()) + 1)
            marks += f"{mark}{{{latex_to_plain(group, depth + 1).replace(' ', '')}}}"
    return f" Σ{marks} ", i


def latex_to_plain(s: str, depth: int = 0) -> str:
    """Rewrite LaTeX math into the plain grammar: \\frac, \\partial, _{}, ^{[k]}, \\left(, …"""
    if depth > 50:
        raise ParseError("LaTeX nested too deep", 1)
    out, i = [], 0
    while i < len(s):
        c = s[i]
        if c == "\\":
            m = _command(s, i)
            cmd = m.group(1)
            i += m.end()
            if cmd == "frac":
                num, i = _group(s, i)
                den, i = _group(s, i)
                num, den = latex_to_plain(num, depth + 1).strip(), latex_to_plain(den, depth + 1).strip()
                if all(_PARTIAL_PART.fullmatch(side.replace(" ", "")) for side in (num, den)):
                    out.append(f"{num.replace(' ', '')}/{den.replace(' ', '')}")      # ∂E/∂w11[2], ∂a1[3]/∂z1[3]
                else:
                    out.append(f"(({num})/({den}))")
            elif cmd == "sqrt":
                inner, i = _group(s, i)
                out.append(f"sqrt({latex_to_plain(inner, depth + 1)})")
            elif cmd in ("phantom", "tag"):            # layout only: \phantom{=}, \tag*{label}
                if s[i:i + 1] == "*":
                    i += 1
                _, i = _group(s, i)
            elif cmd in ("mathrm", "text", "operatorname", "mathit", "textrm"):
                inner, i = _group(s, i)
                word = inner.strip().lower()
                out.append(_ROMAN.get(word, inner.strip()))
            elif cmd == "sum":                          # \sum_{j=1}^{3} → Σ_{j=1}^{3}, as the plain form
                mark, i = _sum(s, i, depth)
                out.append(mark)
            elif cmd == "prime":
                out.append("'")
            elif cmd in _COMMANDS:
                out.append(_COMMANDS[cmd])
            elif cmd == "\\":
                out.append(" ")
            else:
                raise ParseError(f"unknown LaTeX command \\{cmd}", i - len(cmd))
        elif c == "Σ":
            mark, i = _sum(s, i + 1, depth)
            out.append(mark)
        elif c == "_":
            sub, i = _group(s, i + 1)
            sub = latex_to_plain(sub, depth + 1).replace(" ", "")
            # a gate's letter before the index, as derive writes a gated cell's names: s_{f,1} → sf1
            out.append(re.sub(r"\A([a-z]),(?=[0-9])", r"\1", sub))
        elif c == "^":
            sup, i = _group(s, i + 1)
            sup = sup.strip()
            if re.fullmatch(r"[\[(]\s*[0-9]+\s*[\])]", sup):    # a layer: w_{11}^{[2]}, w_{11}^{(2)}
                out.append("[" + sup.strip("[]() ") + "]")
            elif re.fullmatch(r"\\prime|'|′", sup):             # g^{\prime}
                out.append("'")
            elif re.fullmatch(r"\\langle\s*[0-9]+\s*\\rangle", sup):    # a time step: h_{1}^{\langle 2 \rangle}
                out.append("<" + re.sub(r"[^0-9]", "", sup) + ">")
            elif out and out[-1].endswith("e") and (len(out[-1]) == 1 or not out[-1][-2].isalpha()):
                out[-1] = out[-1][:-1] + f"exp({latex_to_plain(sup, depth + 1)})"   # e^{u}
            else:
                out.append(f"^({latex_to_plain(sup, depth + 1)})")
        elif c == "{":
            inner, i = _group(s, i)
            out.append(f"({latex_to_plain(inner, depth + 1)})")
        elif c == "&":
            i += 1
        else:
            out.append(c)
            i += 1
    # a superscript written before the subscript: \delta^{[3]}_1 → delta1[3]
    return _SUP_FIRST.sub(r"\1\3\2", "".join(out)).replace("′", "'")


#: a plain name, any kind (a gated cell's carry a gate letter: sf1<2>, wf12, deltac1<2>, rh1<2>)
NAME = r"(?:(?:delta|δ)[a-z]?|rh|[A-Za-z][a-z]?)[0-9]+(?:,[0-9]+)*(?:\[[0-9]+\]|<[0-9]+>)?"
_PARTIAL_PART = re.compile(r"(?:∂|d)(?:E|" + NAME + ")")
_SUP_FIRST = re.compile(r"(?<![A-Za-z0-9\]>])([A-Za-zδσ]+)(\[[0-9]+\]|<[0-9]+>)([0-9]+(?:,[0-9]+)*)")


def looks_like_latex(text: str) -> bool:
    return "\\" in text or "_{" in text or "^{" in text


def undelimited(text: str) -> str:
    """Math delimiters ($…$, $$…$$, \\(…\\), \\[…\\]) around the whole text blanked out (columns kept)."""
    stripped = text.strip()
    for start, end in (("$$", "$$"), ("$", "$"), ("\\(", "\\)"), ("\\[", "\\]")):
        if len(stripped) > len(start) + len(end) and stripped.startswith(start) and stripped.endswith(end):
            lead = len(text) - len(text.lstrip())
            return " " * (lead + len(start)) + stripped[len(start):-len(end)]
    return text


def plain_text(text: str) -> str:
    """LaTeX (with or without delimiters) rewritten into the plain grammar; plain text as it is."""
    text = undelimited(text)
    plain = latex_to_plain(text) if looks_like_latex(text) else text
    return plain.replace("\\", " ")
