"""What SQLite's pragmas do not say, read from the `CREATE` statements kept in `sqlite_schema`.

Constraint names, generation expressions, `WITHOUT ROWID`, `STRICT` and the expressions of expression indexes are
recovered with a small tokenizer rather than regular expressions over raw SQL, so quoted identifiers, strings and
comments cannot confuse it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from crawlers.connectors.sqlite.names import fold

_VIRTUAL = re.compile(r"\s*CREATE\s+VIRTUAL\s+TABLE\b.*?\bUSING\s+([\w$]+)", re.IGNORECASE | re.DOTALL)

_TOKENS = re.compile(
    r"""
    (?P<space>\s+|--[^\n]*|/\*.*?(?:\*/|\Z))
    |(?P<string>'(?:[^']|'')*'?)
    |(?P<quoted>"(?:[^"]|"")*"?|`(?:[^`]|``)*`?|\[[^\]]*\]?)
    |(?P<word>[\w$]+)
    |(?P<symbol>.)
    """,
    re.VERBOSE | re.DOTALL,
)

_TABLE_CONSTRAINT_START = {"CONSTRAINT", "PRIMARY", "UNIQUE", "CHECK", "FOREIGN"}
# A `CONSTRAINT name` prefix names only the constraint that follows it.
_COLUMN_CONSTRAINT_KEYWORDS = {
    "PRIMARY", "UNIQUE", "REFERENCES", "NOT", "NULL", "CHECK", "DEFAULT", "COLLATE", "GENERATED",
}


@dataclass(frozen=True, slots=True)
class _Token:
    kind: str
    text: str
    start: int
    end: int

    @property
    def upper(self) -> str:
        return self.text.upper() if self.kind == "word" else ""

    def identifier(self) -> str:
        """The name a token spells, with SQLite's quoting ("x", [x], `x`, 'x') removed."""
        text = self.text
        if self.kind in ("quoted", "string") and len(text) >= 2:
            opener, body = text[0], text[1:-1]
            if opener == "[":
                return body
            return body.replace(opener * 2, opener)
        return text


def _tokenize(sql: str) -> list[_Token]:
    return [
        _Token(m.lastgroup or "symbol", m.group(), m.start(), m.end())
        for m in _TOKENS.finditer(sql)
        if m.lastgroup != "space"
    ]


def _matching(tokens: list[_Token], open_at: int) -> int:
    """Index of the `)` that closes the `(` at `open_at` (or the last token if the SQL is truncated)."""
    depth = 0
    for i in range(open_at, len(tokens)):
        if tokens[i].text == "(":
            depth += 1
        elif tokens[i].text == ")":
            depth -= 1
            if depth == 0:
                return i
    return len(tokens) - 1


def _split_top_level(tokens: list[_Token]) -> list[list[_Token]]:
    items: list[list[_Token]] = [[]]
    depth = 0
    for token in tokens:
        if token.text == "(":
            depth += 1
        elif token.text == ")":
            depth -= 1
        if token.text == "," and depth == 0:
            items.append([])
        else:
            items[-1].append(token)
    return [item for item in items if item]


def _name_list(tokens: list[_Token], open_at: int) -> tuple[tuple[str, ...], int]:
    """The case-folded column names of a parenthesised list starting at `open_at`, and the index after it."""
    close = _matching(tokens, open_at)
    names = tuple(fold(item[0].identifier()) for item in _split_top_level(tokens[open_at + 1 : close]))
    return names, close + 1


@dataclass(slots=True)
class _TableDDL:
    """What a CREATE TABLE statement says that the pragmas do not."""

    without_rowid: bool = False
    strict: bool = False
    pk_name: str | None = None
    generated: dict[str, str] = field(default_factory=dict)
    unique_names: dict[tuple[str, ...], str] = field(default_factory=dict)
    fk_names: dict[tuple[tuple[str, ...], str], str] = field(default_factory=dict)


def _parse_create_table(sql: str) -> _TableDDL:
    ddl = _TableDDL()
    tokens = _tokenize(sql)
    open_at = next((i for i, t in enumerate(tokens) if t.text == "(" or t.upper == "AS"), None)
    if open_at is None or tokens[open_at].upper == "AS":
        return ddl  # CREATE TABLE … AS SELECT declares no constraints
    close = _matching(tokens, open_at)
    for item in _split_top_level(tokens[open_at + 1 : close]):
        if item[0].upper in _TABLE_CONSTRAINT_START:
            _parse_table_constraint(item, ddl)
        else:
            _parse_column_definition(sql, item, ddl)
    tail = [t.upper for t in tokens[close + 1 :]]
    ddl.without_rowid = any(a == "WITHOUT" and b == "ROWID" for a, b in zip(tail, tail[1:]))
    ddl.strict = "STRICT" in tail
    return ddl


def _parse_table_constraint(item: list[_Token], ddl: _TableDDL) -> None:
    name = None
    i = 0
    if item[0].upper == "CONSTRAINT" and len(item) > 1:
        name, i = item[1].identifier(), 2
    if i >= len(item) or name is None:
        return  # unnamed constraints keep the names SQLite or the connector give them
    keyword = item[i].upper
    paren = next((j for j in range(i, len(item)) if item[j].text == "("), None)
    if paren is None:
        return
    columns, after = _name_list(item, paren)
    if keyword == "PRIMARY":
        ddl.pk_name = name
    elif keyword == "UNIQUE":
        ddl.unique_names.setdefault(columns, name)
    elif keyword == "FOREIGN":
        ref = next((j for j in range(after, len(item)) if item[j].upper == "REFERENCES"), None)
        if ref is not None and ref + 1 < len(item):
            ddl.fk_names.setdefault((columns, fold(item[ref + 1].identifier())), name)


def _parse_column_definition(sql: str, item: list[_Token], ddl: _TableDDL) -> None:
    column = fold(item[0].identifier())
    pending_name: str | None = None
    depth = 0
    i = 1
    while i < len(item):
        token = item[i]
        if token.text == "(":
            depth += 1
        elif token.text == ")":
            depth -= 1
        elif depth == 0 and token.kind == "word":
            keyword = token.upper
            if keyword == "CONSTRAINT" and i + 1 < len(item):
                pending_name = item[i + 1].identifier()
                i += 2
                continue
            if keyword == "PRIMARY" and pending_name:
                ddl.pk_name = pending_name
            elif keyword == "UNIQUE" and pending_name:
                ddl.unique_names.setdefault((column,), pending_name)
            elif keyword == "REFERENCES" and pending_name and i + 1 < len(item):
                ddl.fk_names.setdefault(((column,), fold(item[i + 1].identifier())), pending_name)
            elif keyword == "AS" and i + 1 < len(item) and item[i + 1].text == "(":
                close = _matching(item, i + 1)
                ddl.generated[column] = sql[item[i + 1].end : item[close].start].strip()
                i = close + 1
                continue
            if keyword in _COLUMN_CONSTRAINT_KEYWORDS:
                pending_name = None
        i += 1


def _parse_index_terms(sql: str) -> list[str]:
    """The indexed terms of a CREATE INDEX statement, as written, without COLLATE and ASC/DESC."""
    tokens = _tokenize(sql)
    on = next((i for i, t in enumerate(tokens) if t.upper == "ON"), None)
    if on is None:
        return []
    open_at = next((i for i in range(on, len(tokens)) if tokens[i].text == "("), None)
    if open_at is None:
        return []
    close = _matching(tokens, open_at)
    terms: list[str] = []
    for item in _split_top_level(tokens[open_at + 1 : close]):
        if item and item[-1].upper in ("ASC", "DESC"):
            item = item[:-1]
        if len(item) > 2 and item[-2].upper == "COLLATE":
            item = item[:-2]
        terms.append(sql[item[0].start : item[-1].end] if item else "")
    return terms
