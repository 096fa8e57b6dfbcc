"""Plan how a ruleset is evaluated fast: index rules on their equality and membership tests.

A rule whose `when` is `A and B and ...` with one conjunct such as `customer.tier = "gold"`,
`customer.country in ["DE", "FR"]` or `list contains(customer.tags, "vip")` can only match when
that field has one of those values. Such rules are put in buckets keyed by value, so a decision
evaluates only the rules of the buckets its context selects, plus the rules that have no such
conjunct. The indexed conjunct is known to be true inside its bucket and is not evaluated again.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from . import nodes as n
from . import typesys as T
from .checker import Checked


@dataclass(frozen=True)
class IndexKey:
    """A conjunct that selects a bucket: `path` equals one of `values` (or, `contains`, holds one)."""
    path: tuple[str, ...]
    values: frozenset
    contains: bool = False   # the path is a list that must contain one of the values
    domain: int = 0          # how many values the field can take (an enum's size), 0 if unbounded


@dataclass
class IndexedRule:
    index: int
    key: "IndexKey | None"
    rest: list[n.Node] = field(default_factory=list)   # the other conjuncts
    key_node: "n.Node | None" = None                   # the conjunct the key came from


def _input_path(node: n.Node, c: Checked) -> "tuple[str, ...] | None":
    """A path into the validated input whose every step is a declared, non-null field."""
    if isinstance(node, n.Name):
        ref = c.refs.get(id(node))
        if ref is not None and ref.kind == "input" and not ref.type.nullable:
            return (ref.name,)
        return None
    if isinstance(node, n.Path):
        base_t = c.types.get(id(node.base))
        t = c.types.get(id(node))
        if base_t is not None and base_t.kind == T.OBJECT_K and base_t.fields is not None \
                and t is not None and not t.nullable:
            base = _input_path(node.base, c)
            return base + (node.name,) if base is not None else None
    return None


def _literal(node: n.Node):
    if isinstance(node, n.String):
        return node.value
    if isinstance(node, n.Number):
        return node.value
    return None


def _key_of(node: n.Node, c: Checked) -> "IndexKey | None":
    if isinstance(node, n.Compare) and node.op == "=":
        for a, b in ((node.left, node.right), (node.right, node.left)):
            path, lit = _input_path(a, c), _literal(b)
            t = c.types.get(id(a))
            if path and lit is not None and t is not None and t.kind in (T.STRING_K, T.NUMBER_K) \
                    and isinstance(lit, str) == (t.kind == T.STRING_K):
                return IndexKey(path, frozenset([lit]), domain=len(t.values or ()))
    if isinstance(node, n.In):
        path = _input_path(node.value, c)
        t = c.types.get(id(node.value))
        if path and t is not None and t.kind in (T.STRING_K, T.NUMBER_K):
            tests = node.test.items if isinstance(node.test, n.Tests) else (node.test,)
            if len(tests) == 1 and isinstance(tests[0], n.ListLit):
                tests = tests[0].items
            values = []
            for test in tests:
                if isinstance(test, n.UnaryTest) and test.op == "=":
                    test = test.operand
                lit = _literal(test)
                if lit is None or isinstance(lit, str) != (t.kind == T.STRING_K):
                    return None
                values.append(lit)
            if values:
                return IndexKey(path, frozenset(values), domain=len(t.values or ()))
        # "vip" in customer.tags: membership of a literal in a list field
        lit = _literal(node.value)
        lst = node.test
        lpath = _input_path(lst, c) if not isinstance(lst, n.Tests) else None
        lt = c.types.get(id(lst))
        if lit is not None and lpath and lt is not None and lt.kind == T.LIST_K and lt.elem is not None \
                and lt.elem.kind == (T.STRING_K if isinstance(lit, str) else T.NUMBER_K) and not lt.elem.nullable:
            return IndexKey(lpath, frozenset([lit]), contains=True)
    if isinstance(node, n.Call) and node.name == "list contains" and len(node.args) == 2:
        lpath, lit = _input_path(node.args[0], c), _literal(node.args[1])
        lt = c.types.get(id(node.args[0]))
        if lpath and lit is not None and lt is not None and lt.kind == T.LIST_K and lt.elem is not None \
                and lt.elem.kind == (T.STRING_K if isinstance(lit, str) else T.NUMBER_K) and not lt.elem.nullable:
            return IndexKey(lpath, frozenset([lit]), contains=True)
    return None


def _selectivity(key: IndexKey) -> float:
    """Estimated share of contexts that reach the bucket (smaller is better)."""
    if key.contains:
        return 0.3 * len(key.values)
    return len(key.values) / key.domain if key.domain else 0.1 * len(key.values)


def plan_rule(index: int, checked: Checked) -> IndexedRule:
    """Choose the most selective indexable conjunct of a rule's `when`, if any."""
    node = checked.node
    conjuncts = list(node.items) if isinstance(node, n.And) else [node]
    best, best_sel = None, 1.0
    for k, conj in enumerate(conjuncts):
        key = _key_of(conj, checked)
        if key is not None:
            sel = _selectivity(key)
            if sel < best_sel:
                best, best_sel = (k, key), sel
    if best is None:
        return IndexedRule(index, None, conjuncts)
    k, key = best
    return IndexedRule(index, key, conjuncts[:k] + conjuncts[k + 1:], conjuncts[k])


@dataclass(frozen=True)
class Threshold:
    """A conjunct `path > value` (or >=, <, <=) on a non-null number: the rule can match only on one
    side of `value`. Rules sorted by it from the weakest bound to the strongest form a run in which
    the first failed bound fails every later one (see ruleset._match_body)."""
    path: tuple[str, ...]
    above: bool      # the field must be above the value (> or >=); else below (< or <=)
    value: object    # int or Decimal
    strict: bool     # > or <

    def order(self):
        """Sort key, weakest bound first: ascending (above) or descending (below) values, and at
        one value the inclusive bound (holds for more) before the strict one."""
        return (self.value if self.above else -self.value, self.strict)


_FLIPPED = {"<": ">", "<=": ">=", ">": "<", ">=": "<="}


def threshold_of(node: n.Node, c: Checked) -> "Threshold | None":
    if isinstance(node, n.Compare) and node.op in _FLIPPED:
        for a, b, op in ((node.left, node.right, node.op), (node.right, node.left, _FLIPPED[node.op])):
            path = _input_path(a, c)
            t = c.types.get(id(a))
            if path and isinstance(b, n.Number) and t is not None and t.kind == T.NUMBER_K:
                return Threshold(path, op in (">", ">="), b.value, op in (">", "<"))
    return None
