"""Diagnostics: errors and warnings as values with positions and stable codes.

Positions always point into the text the author edits. An expression embedded in a YAML file
carries an `ExprSource` whose offset map sends each character of the expression back to its offset
in the file, so a diagnostic inside a folded block scalar still lands on the right line and column.
"""
from __future__ import annotations

import bisect
from dataclasses import MISSING, dataclass, field, fields
from typing import Callable

ERROR, WARNING = "error", "warning"
MAX_DIAGNOSTICS = 100


def slot_init(cls: type) -> type:
    """Give a frozen dataclass with slots an __init__ that stores each field through its slot.

    The dataclass's own __init__ calls object.__setattr__ per field to get past the frozen
    __setattr__; the slot's descriptor does the same store without the generic lookup, about
    twice as fast. Spans and syntax nodes are built by the hundred thousand per ruleset."""
    fs = fields(cls)
    if any(not f.init or f.default is not MISSING or f.default_factory is not MISSING for f in fs) \
            or hasattr(cls, "__post_init__") or "__dict__" in dir(cls):
        raise TypeError(f"{cls.__name__}: only slots dataclasses of plain required fields")
    names = [f.name for f in fs]
    ns = {f"_set_{name}": getattr(cls, name).__set__ for name in names}
    body = "".join(f"\n    _set_{name}(self, {name})" for name in names) or "\n    pass"
    exec(f"def __init__(self, {', '.join(names)}):{body}", ns)
    ns["__init__"].__qualname__ = f"{cls.__qualname__}.__init__"
    cls.__init__ = ns["__init__"]
    return cls


@slot_init
@dataclass(frozen=True, slots=True)
class Span:
    """Half-open character range [start, end) in an expression's own text."""
    start: int
    end: int


class SourceFile:
    """A file (or a string standing for one) with fast offset -> line/column lookup."""

    def __init__(self, name: str, text: str):
        self.name = name
        self.text = text
        self._starts: "list[int] | None" = None

    @property
    def _line_starts(self) -> list[int]:
        """Offsets where lines start, found on first use (most files compile without a diagnostic)."""
        if self._starts is None:
            starts, find = [0], self.text.find
            i = find("\n")
            while i >= 0:
                starts.append(i + 1)
                i = find("\n", i + 1)
            self._starts = starts
        return self._starts

    def line_col(self, offset: int) -> tuple[int, int]:
        """1-based line and column of a character offset."""
        offset = max(0, min(offset, len(self.text)))
        line = bisect.bisect_right(self._line_starts, offset) - 1
        return line + 1, offset - self._line_starts[line] + 1

    def line_text(self, line: int) -> str:
        start = self._line_starts[line - 1]
        end = self.text.find("\n", start)
        return self.text[start:] if end < 0 else self.text[start:end]


@dataclass(frozen=True)
class ExprSource:
    """An expression's text and where it came from.

    `offsets[i]` is the offset in `file` of character i of `text` (one extra entry for the end).
    A stand-alone expression is its own file and needs no map. The map of an expression inside a
    YAML file is computed only when a position is asked for (`mapper`): most expressions never
    produce a diagnostic or a warning, and re-scanning every scalar would slow large rulesets.
    """
    text: str
    file: SourceFile
    offsets: "tuple[int, ...] | None" = None
    mapper: "Callable[[], tuple[int, ...]] | None" = field(default=None, compare=False, repr=False)

    @staticmethod
    def standalone(text: str, name: str = "<expr>") -> "ExprSource":
        return ExprSource(text, SourceFile(name, text))

    def all_offsets(self) -> "tuple[int, ...]":
        if self.offsets is None:
            offsets = self.mapper() if self.mapper is not None else tuple(range(len(self.text) + 1))
            object.__setattr__(self, "offsets", offsets)  # a cache: the value is fixed by the source
        return self.offsets

    def tail(self, start: int) -> "ExprSource":
        """The expression from character `start` on (e.g. after the '=' of a computed param)."""
        return ExprSource(self.text[start:], self.file, mapper=lambda: self.all_offsets()[start:])

    def file_offset(self, i: int) -> int:
        if self.offsets is None and self.mapper is None:
            return i
        offsets = self.all_offsets()
        i = max(0, min(i, len(offsets) - 1))
        return offsets[i]

    def diagnostic(self, span: Span, code: str, message: str, severity: str = ERROR) -> "Diagnostic":
        start = self.file_offset(span.start)
        end = self.file_offset(max(span.start, span.end - 1)) + 1 if span.end > span.start else start + 1
        return Diagnostic.at(self.file, start, end, code, message, severity)


@dataclass(frozen=True, order=True)
class Diagnostic:
    """One problem: where (file, 1-based line and column, end column on that line), what, how bad."""
    file: str
    line: int
    col: int
    code: str = field(compare=False)
    message: str = field(compare=False)
    severity: str = field(default=ERROR, compare=False)
    end_col: int = field(default=0, compare=False)
    source_line: str = field(default="", compare=False, repr=False)

    @staticmethod
    def at(src: SourceFile, start: int, end: int, code: str, message: str, severity: str = ERROR) -> "Diagnostic":
        line, col = src.line_col(start)
        end_line, end_col = src.line_col(max(start, end))
        text = src.line_text(line) if src.text else ""
        if end_line != line or end_col <= col:
            end_col = max(col + 1, len(text) + 1) if end_line != line else col + 1
        return Diagnostic(src.name, line, col, code, message, severity, end_col, text)

    @property
    def is_error(self) -> bool:
        return self.severity == ERROR

    def render(self) -> str:
        """`file:line:col: severity[CODE]: message`, then the source line with a caret underline."""
        head = f"{self.file}:{self.line}:{self.col}: {self.severity}[{self.code}]: {self.message}"
        if not self.source_line:
            return head
        text = self.source_line.expandtabs(1)
        gutter = f"{self.line:>5} | "
        if len(text) > 200:  # keep one-line 1 MB expressions readable: show a window around the caret
            lo = max(0, self.col - 80)
            text, col, end_col = text[lo:lo + 160], self.col - lo, min(self.end_col - lo, 161)
        else:
            col, end_col = self.col, self.end_col
        width = max(1, min(end_col, len(text) + 1) - col)
        return f"{head}\n{gutter}{text}\n{' ' * (len(gutter) - 2)}| {' ' * (col - 1)}{'^' * width}"

    def to_dict(self) -> dict:
        return {"file": self.file, "line": self.line, "column": self.col, "end_column": self.end_col,
                "severity": self.severity, "code": self.code, "message": self.message}


def sort_and_cap(diags: "list[Diagnostic]", cap: int = MAX_DIAGNOSTICS) -> "list[Diagnostic]":
    """Sorted by file and position, duplicates dropped, at most `cap` (plus one note saying so)."""
    out, seen = [], set()
    for d in sorted(diags):
        key = (d.file, d.line, d.col, d.code, d.message)
        if key not in seen:
            seen.add(key)
            out.append(d)
    if len(out) > cap:
        last = out[cap - 1]
        out = out[:cap] + [Diagnostic(last.file, last.line, last.col, "E-TOO-MANY",
                                      f"too many problems: {len(out) - cap} more not shown", ERROR)]
    return out


def suggest(name: str, candidates) -> "str | None":
    """The closest candidate to a misspelt name, or None when nothing is close."""
    import difflib
    cands = list(candidates)
    best = difflib.get_close_matches(name, cands, n=1, cutoff=0.6)
    if best:
        return best[0]
    lowered = {c.lower(): c for c in cands}
    return lowered.get(name.lower())


class CompileError(Exception):
    """Raised when an expression or ruleset does not compile; `.diagnostics` lists every problem."""

    def __init__(self, diagnostics: "list[Diagnostic]"):
        self.diagnostics = sort_and_cap(diagnostics)
        super().__init__("\n".join(d.render() for d in self.diagnostics) or "compile error")

    @property
    def errors(self) -> "list[Diagnostic]":
        return [d for d in self.diagnostics if d.is_error]
