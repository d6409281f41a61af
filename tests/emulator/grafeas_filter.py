"""The filter expressions Container Analysis accepts for occurrences, as far as mlrelease and
gcloud send them (AIP-160): `kind="VULNERABILITY"`, `resourceUrl="https://..."`,
`has_prefix(resourceUrl, "https://...")`, joined by AND and OR, with parentheses. As in AIP-160,
OR binds tighter than AND. Anything else is refused, as the API refuses an invalid filter."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

Predicate = Callable[[Mapping[str, str]], bool]

# Filter field -> the Occurrence's JSON field it compares.
FIELDS = {"kind": "kind", "resourceUrl": "resourceUri"}
_TOKEN = re.compile(r'\s*(?:(?P<punct>[(),=])|(?P<string>"(?:[^"\\]|\\.)*")|(?P<word>[\w.:/-]+))')


class InvalidFilter(ValueError):
    """The expression is not one the API accepts."""


def parse(text: str) -> Predicate:
    """A predicate over an occurrence's fields (`kind`, `resourceUri`) for the filter `text`;
    an empty filter matches every occurrence."""
    tokens = _tokens(text)
    if not tokens:
        return lambda occurrence: True
    parser = _Parser(tokens)
    predicate = parser.expression()
    if parser.position != len(tokens):
        raise InvalidFilter(f"unexpected {tokens[parser.position][1]!r}")
    return predicate


def _tokens(text: str) -> list[tuple[str, str]]:
    tokens, position = [], 0
    while position < len(text):
        if text[position:].isspace():
            break
        match = _TOKEN.match(text, position)
        if match is None:
            raise InvalidFilter(f"cannot read the filter from {text[position:][:20]!r}")
        kind = match.lastgroup or ""
        value = match.group(kind)
        if kind == "string":
            value = re.sub(r"\\(.)", r"\1", value[1:-1])
        tokens.append((kind, value))
        position = match.end()
    return tokens


class _Parser:
    def __init__(self, tokens: list[tuple[str, str]]) -> None:
        self.tokens = tokens
        self.position = 0

    def expression(self) -> Predicate:
        parts = [self.factor()]
        while self._take("word", "AND"):
            parts.append(self.factor())
        return lambda occurrence: all(part(occurrence) for part in parts)

    def factor(self) -> Predicate:
        parts = [self.term()]
        while self._take("word", "OR"):
            parts.append(self.term())
        return lambda occurrence: any(part(occurrence) for part in parts)

    def term(self) -> Predicate:
        if self._take("punct", "("):
            inner = self.expression()
            self._expect("punct", ")")
            return inner
        name = self._expect("word")
        if name == "has_prefix":
            self._expect("punct", "(")
            field = self._field(self._expect("word"))
            self._expect("punct", ",")
            prefix = self._value()
            self._expect("punct", ")")
            return lambda occurrence: str(occurrence.get(field, "")).startswith(prefix)
        field = self._field(name)
        self._expect("punct", "=")
        wanted = self._value()
        return lambda occurrence: str(occurrence.get(field, "")) == wanted

    def _field(self, name: str) -> str:
        if name not in FIELDS:
            raise InvalidFilter(f"unknown field {name!r}")
        return FIELDS[name]

    def _value(self) -> str:
        kind, value = self._next()
        if kind not in ("string", "word"):
            raise InvalidFilter(f"expected a value, got {value!r}")
        return value

    def _take(self, kind: str, value: str) -> bool:
        if self.position < len(self.tokens) and self.tokens[self.position] == (kind, value):
            self.position += 1
            return True
        return False

    def _expect(self, kind: str, value: str | None = None) -> str:
        found_kind, found = self._next()
        if found_kind != kind or (value is not None and found != value):
            raise InvalidFilter(f"expected {value or kind!r}, got {found!r}")
        return found

    def _next(self) -> tuple[str, str]:
        if self.position >= len(self.tokens):
            raise InvalidFilter("the filter ends too early")
        token = self.tokens[self.position]
        self.position += 1
        return token
