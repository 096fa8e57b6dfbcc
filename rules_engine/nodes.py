"""Syntax tree of the expression language: immutable nodes, each with the span it came from."""
from __future__ import annotations

from dataclasses import dataclass, fields
from decimal import Decimal
from typing import Iterator

from .diagnostics import Span, slot_init


_CHILD_FIELDS: dict[type, tuple[str, ...]] = {}


@dataclass(frozen=True, eq=False, slots=True)
class Node:
    span: Span

    def children(self) -> "Iterator[Node]":
        names = _CHILD_FIELDS.get(type(self))
        if names is None:  # the fields other than the span, computed once per node class
            names = _CHILD_FIELDS[type(self)] = tuple(f.name for f in fields(self) if f.name != "span")
        for name in names:
            v = getattr(self, name)
            if isinstance(v, Node):
                yield v
            elif isinstance(v, tuple):
                for x in v:
                    if isinstance(x, Node):
                        yield x
                    elif isinstance(x, tuple):
                        yield from (y for y in x if isinstance(y, Node))


@dataclass(frozen=True, eq=False, slots=True)
class Number(Node):
    value: Decimal


@dataclass(frozen=True, eq=False, slots=True)
class String(Node):
    value: str


@dataclass(frozen=True, eq=False, slots=True)
class Boolean(Node):
    value: bool


@dataclass(frozen=True, eq=False, slots=True)
class Null(Node):
    pass


@dataclass(frozen=True, eq=False, slots=True)
class Temporal(Node):
    """`@"2026-11-22"`: a date, date-time, time or duration literal, by the shape of its text."""
    text: str


@dataclass(frozen=True, eq=False, slots=True)
class Name(Node):
    name: str


@dataclass(frozen=True, eq=False, slots=True)
class Path(Node):
    """`base.name`: a field of a context, a property of a temporal value, or a projection over a list."""
    base: Node
    name: str


@dataclass(frozen=True, eq=False, slots=True)
class Filter(Node):
    """`base[cond]` (a boolean filter, `item` in scope) or `base[n]` (1-based index)."""
    base: Node
    cond: Node


@dataclass(frozen=True, eq=False, slots=True)
class Call(Node):
    name: str
    name_span: Span
    args: tuple[Node, ...]


@dataclass(frozen=True, eq=False, slots=True)
class Negate(Node):
    operand: Node


@dataclass(frozen=True, eq=False, slots=True)
class Arith(Node):
    op: str  # + - * / **
    left: Node
    right: Node


@dataclass(frozen=True, eq=False, slots=True)
class Compare(Node):
    op: str  # = != < <= > >=
    left: Node
    right: Node


@dataclass(frozen=True, eq=False, slots=True)
class And(Node):
    items: tuple[Node, ...]


@dataclass(frozen=True, eq=False, slots=True)
class Or(Node):
    items: tuple[Node, ...]


@dataclass(frozen=True, eq=False, slots=True)
class Between(Node):
    value: Node
    low: Node
    high: Node


@dataclass(frozen=True, eq=False, slots=True)
class UnaryTest(Node):
    """`< 10`, `= "gold"`: a comparison with the tested value on its left (only after `in`)."""
    op: str
    operand: Node


@dataclass(frozen=True, eq=False, slots=True)
class Tests(Node):
    """`(t1, t2, ...)` after `in`: the value passes when any test passes."""
    items: tuple[Node, ...]


@dataclass(frozen=True, eq=False, slots=True)
class In(Node):
    value: Node
    test: Node


@dataclass(frozen=True, eq=False, slots=True)
class ListLit(Node):
    items: tuple[Node, ...]


@dataclass(frozen=True, eq=False, slots=True)
class ContextLit(Node):
    entries: tuple[tuple[str, Node], ...]


@dataclass(frozen=True, eq=False, slots=True)
class RangeLit(Node):
    start: Node
    end: Node
    start_incl: bool
    end_incl: bool


@dataclass(frozen=True, eq=False, slots=True)
class If(Node):
    cond: Node
    then: Node
    else_: Node


@dataclass(frozen=True, eq=False, slots=True)
class Iteration(Node):
    """One `name in list` of a `for`, `some` or `every`."""
    var: str
    source: Node


@dataclass(frozen=True, eq=False, slots=True)
class For(Node):
    iterations: tuple[Iteration, ...]
    body: Node


@dataclass(frozen=True, eq=False, slots=True)
class Quantified(Node):
    kind: str  # some | every
    iterations: tuple[Iteration, ...]
    cond: Node


for _cls in [c for c in list(globals().values()) if isinstance(c, type) and issubclass(c, Node)]:
    slot_init(_cls)


def walk(node: Node) -> "Iterator[Node]":
    """Every node of the tree, parents before children, without recursion."""
    stack = [node]
    while stack:
        n = stack.pop()
        yield n
        stack.extend(reversed(list(n.children())))


def source_text(node: Node, text: str) -> str:
    return text[node.span.start:node.span.end]


def methods_by_class(owner: type, prefix: str) -> dict:
    """Node class -> `owner`'s method `prefix + class name` (the visitors of a tree walker): one
    dictionary lookup per node instead of a method name built and looked up."""
    return {cls: getattr(owner, prefix + cls.__name__) for cls in list(globals().values())
            if isinstance(cls, type) and issubclass(cls, Node) and hasattr(owner, prefix + cls.__name__)}
