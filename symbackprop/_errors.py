"""The errors symbackprop raises for bad input: one base class, one subclass per kind.

Every one is a ``ValueError`` (the input's value is wrong) whose message names
what is wrong and how to fix it; the command line turns any of them into one
line on stderr and exit 2.

>>> try:
...     raise NotationError("'w1' is not a name: write e.g. w11[2]")
... except SymbackpropError as err:
...     print(type(err).__name__, isinstance(err, ValueError))
NotationError True
"""
from __future__ import annotations


class SymbackpropError(ValueError):
    """Bad input the user can fix; the message says how."""


class SpecError(SymbackpropError):
    """A spec that cannot describe a network; the message says how to fix it."""


class ParseError(SymbackpropError):
    """Text that is not an expression of the grammar; ``column`` counts from 1."""

    def __init__(self, message: str, column: int):
        super().__init__(f"{message} (at column {column})")
        self.column = column


class NotationError(SymbackpropError):
    """A name the user typed that is not a name of the notation."""


class ValuesError(SymbackpropError):
    """A values file that cannot be used; the message names the entry and the fix."""


class LimitError(SymbackpropError):
    """A request over one of the size limits; the message gives the limit."""


class OutputError(SymbackpropError, OSError):
    """An output file that cannot be written; the message says why (also an OSError)."""


class CompileError(SymbackpropError):
    """An expression NumPy cannot evaluate; the message names the function."""


def check_table(data: dict, keys: dict, required, where: str, has: str, example: str) -> None:
    """SpecError for a spec table with an unknown key (``has`` introduces the known ones), a required
    key missing, or a value of the wrong type (``keys``: key → type; True is not an int here)."""
    unknown = sorted(set(data) - set(keys))
    if unknown:
        raise SpecError(f"{where}: unknown key {unknown[0]!r}; {has} {', '.join(keys)}")
    for key in required:
        if key not in data:
            raise SpecError(f"{where}: missing key {key!r}; e.g. {example}")
    for key, value in data.items():
        kind = keys[key]
        if not isinstance(value, kind) or (isinstance(value, bool) and kind is int):
            raise SpecError(f"{where}: {key} has the wrong type ({type(value).__name__}); e.g. {example}")
