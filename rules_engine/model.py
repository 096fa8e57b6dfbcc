"""The ruleset model: read a positioned YAML tree into definitions, reporting every shape problem.

This stage checks keys, required entries and literal values; expressions stay unparsed here
(as YAML scalars that know their file positions) for the checker to handle.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

from . import runtime as rt
from . import typesys as T
from .diagnostics import Diagnostic, suggest
from .loader import YMap, YNode, YScalar, YSeq
from .schema import FIELD_NAME, SchemaError, parse_type

ID_RE = re.compile(r"^[a-z0-9_.\-]+$")
TOP_KEYS = {"ruleset": True, "version": False, "description": False, "context": True, "segments": False,
            "actions": False, "rules": True, "defaults": False, "policy": False}
RULE_KEYS = {"id", "description", "when", "then", "suppress", "reason", "priority", "enabled", "effective", "tags"}
THEN_KEYS = {"action", "params", "priority", "group"}
ACTION_KEYS = {"group", "priority", "tags", "params", "description"}
SUPPRESS_KEYS = {"actions", "groups", "tags"}
POLICY_KEYS = {"groups", "mode"}


@dataclass
class ThenDef:
    action: str
    node: YNode
    params: "list[tuple[str, YScalar | Any]]"   # literal values, or YScalar for '=expr' strings
    params_node: "YNode | None" = None
    priority: "float | YScalar | None" = None
    group: "str | None" = None


@dataclass
class RuleDef:
    id: str
    index: int
    node: YMap
    when: "YScalar | None"
    then: list[ThenDef] = field(default_factory=list)
    suppress_actions: tuple[str, ...] = ()
    suppress_groups: tuple[str, ...] = ()
    suppress_tags: tuple[str, ...] = ()
    reason: str = ""
    priority: "float | YScalar | None" = None
    enabled: bool = True
    effective_from: "dt.datetime | None" = None
    effective_until: "dt.datetime | None" = None
    tags: tuple[str, ...] = ()
    description: str = ""

    @property
    def suppresses(self) -> bool:
        return bool(self.suppress_actions or self.suppress_groups or self.suppress_tags)


@dataclass
class ActionDef:
    id: str
    group: str = ""
    priority: "float | None" = None
    tags: tuple[str, ...] = ()
    params: "list[tuple[str, Any]]" = field(default_factory=list)


@dataclass
class RulesetDef:
    name: str
    file: str
    version: str = ""
    description: str = ""
    schema: T.Type = field(default_factory=lambda: T.object_of([]))
    segments: "dict[str, YScalar]" = field(default_factory=dict)
    actions: "dict[str, ActionDef] | None" = None
    rules: list[RuleDef] = field(default_factory=list)
    defaults: list[ThenDef] = field(default_factory=list)
    groups: dict[str, int] = field(default_factory=dict)
    mode: str = "all"

    def drop_yaml_nodes(self) -> None:
        """Forget the YAML maps the checks needed for their diagnostics: a compiled ruleset keeps
        only the scalars its expressions came from (a third of the memory of a large ruleset)."""
        for t in self.defaults:
            t.node = t.params_node = None
        for r in self.rules:
            r.node = None
            for t in r.then:
                t.node = t.params_node = None


class _Reader:
    def __init__(self):
        self.diags: list[Diagnostic] = []

    def err(self, node: YNode, code: str, msg: str) -> None:
        self.diags.append(node.diagnostic(code, msg))

    def mapping(self, node: "YNode | None", what: str) -> "YMap | None":
        if isinstance(node, YMap):
            return node
        if node is not None:
            self.err(node, "E-BAD-VALUE", f"{what} must be a mapping")
        return None

    def seq(self, node: "YNode | None", what: str) -> "YSeq | None":
        if isinstance(node, YSeq):
            return node
        if node is not None:
            self.err(node, "E-BAD-VALUE", f"{what} must be a list")
        return None

    def keys(self, m: YMap, allowed, where: str) -> None:
        for k, _ in m.items:
            if k.text not in allowed:
                best = suggest(k.text, allowed)
                hint = f" (did you mean '{best}'?)" if best else f"; expected one of: {', '.join(sorted(allowed))}"
                self.err(k, "E-UNKNOWN-KEY", f"unknown key '{k.text}' in {where}{hint}")

    def string(self, node: "YNode | None", what: str, pattern: "re.Pattern | None" = None) -> "str | None":
        if node is None:
            return None
        if not isinstance(node, YScalar) or node.value is None or isinstance(node.value, bool):
            self.err(node, "E-BAD-VALUE", f"{what} must be a string")
            return None
        s = node.text
        if pattern is not None and not pattern.match(s):
            self.err(node, "E-BAD-VALUE", f"{what} '{s}' may only use lower-case letters, digits, '_', '.', '-'")
        return s

    def strings(self, node: "YNode | None", what: str) -> tuple[str, ...]:
        if node is None:
            return ()
        if isinstance(node, YScalar) and isinstance(node.value, str):
            return (node.text,)
        s = self.seq(node, what)
        return tuple(x for x in (self.string(i, f"each of {what}") for i in (s.items if s else ())) if x)

    def number(self, node: YNode, what: str) -> "float | None":
        if isinstance(node, YScalar) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
            return float(node.value)
        self.err(node, "E-BAD-VALUE", f"{what} must be a number")
        return None

    def priority(self, node: "YNode | None", what: str):
        if node is None:
            return None
        if isinstance(node, YScalar) and isinstance(node.value, str) and node.text.lstrip().startswith("="):
            return node
        return self.number(node, f"{what} (a number, or an expression starting with '=')")

    def datetime(self, node: YNode, what: str) -> "dt.datetime | None":
        if isinstance(node, YScalar) and node.value is not None:
            try:
                v = rt.parse_datetime(node.text) if "T" in node.text else None
                if v is None:
                    d = rt.parse_date(node.text)
                    v = dt.datetime(d.year, d.month, d.day, tzinfo=dt.timezone.utc)
                if v.tzinfo is None:
                    raise rt.FeelError("no offset")
                return v
            except rt.FeelError:
                pass
        self.err(node, "E-BAD-VALUE", f"{what} must be a date-time with an offset, e.g. 2026-11-27T00:00:00Z")
        return None


def read_ruleset(root: YNode, filename: str) -> "tuple[RulesetDef | None, list[Diagnostic]]":
    """Build a RulesetDef from the YAML tree; every problem found is returned as a diagnostic."""
    r = _Reader()
    m = r.mapping(root, "a ruleset file")
    if m is None:
        return None, r.diags
    r.keys(m, TOP_KEYS, "the ruleset")
    for key, required in TOP_KEYS.items():
        if required and m.get(key) is None:
            r.diags.append(Diagnostic.at(m.file, m.start, m.start + 1, "E-MISSING-KEY",
                                         f"the ruleset needs a '{key}' key"))
    rs = RulesetDef(name=r.string(m.get("ruleset"), "ruleset name", ID_RE) or "", file=filename)
    rs.version = str(m.get("version").text) if isinstance(m.get("version"), YScalar) else ""
    rs.description = m.get("description").text if isinstance(m.get("description"), YScalar) else ""
    rs.schema = _read_schema(r, m.get("context"))
    seg = r.mapping(m.get("segments"), "segments")
    for k, v in seg.items if seg else ():
        if not FIELD_NAME.match(k.text):
            r.err(k, "E-BAD-VALUE", f"segment name '{k.text}' must be a name ([A-Za-z_][A-Za-z0-9_]*)")
        elif rs.schema.field(k.text) is not None:
            r.err(k, "E-DUPLICATE-ID", f"segment '{k.text}' has the same name as a context field")
        elif isinstance(v, YScalar) and v.value is not None:
            rs.segments[k.text] = v
        else:
            r.err(v, "E-BAD-VALUE", f"segment '{k.text}' must be an expression")
    acts = m.get("actions")
    if acts is not None:
        rs.actions = {}
        am = r.mapping(acts, "actions")
        for k, v in am.items if am else ():
            rs.actions[k.text] = _read_action(r, k, v)
    rules = r.seq(m.get("rules"), "rules")
    seen: dict[str, YNode] = {}
    for i, node in enumerate(rules.items if rules else ()):
        rule = _read_rule(r, node, i)
        if rule is None:
            continue
        if rule.id in seen:
            first = seen[rule.id]
            line = first.file.line_col(first.start)[0]
            r.err(rule.node.get("id"), "E-DUPLICATE-ID", f"duplicate rule id '{rule.id}' (first used on line {line})")
        seen.setdefault(rule.id, rule.node.get("id"))
        rs.rules.append(rule)
    if rules is not None and not rules.items:
        r.err(rules, "E-BAD-VALUE", "rules must list at least one rule")
    defaults = m.get("defaults")
    if defaults is not None:
        ds = r.seq(defaults, "defaults")
        rs.defaults = [t for t in (_read_then(r, d) for d in (ds.items if ds else ())) if t]
    pol = r.mapping(m.get("policy"), "policy")
    if pol:
        r.keys(pol, POLICY_KEYS, "policy")
        mode = pol.get("mode")
        if mode is not None:
            rs.mode = r.string(mode, "policy.mode") or "all"
            if rs.mode not in ("all", "first"):
                r.err(mode, "E-BAD-VALUE", f"policy.mode must be 'all' or 'first', not '{rs.mode}'")
        gm = r.mapping(pol.get("groups"), "policy.groups")
        for k, v in gm.items if gm else ():
            g = r.mapping(v, f"policy.groups.{k.text}")
            if g is None:
                continue
            r.keys(g, {"max"}, f"policy.groups.{k.text}")
            mx = g.get("max")
            if mx is None:
                r.err(g, "E-MISSING-KEY", f"policy.groups.{k.text} needs 'max'")
            elif not (isinstance(mx, YScalar) and isinstance(mx.value, int) and not isinstance(mx.value, bool)
                      and mx.value >= 1):
                r.err(mx, "E-BAD-VALUE", "max must be a whole number of at least 1")
            else:
                rs.groups[k.text] = mx.value
    return rs, r.diags


def _read_schema(r: _Reader, node: "YNode | None") -> T.Type:
    if node is None:
        return T.object_of([])
    m = r.mapping(node, "context")
    if m is None:
        return T.object_of([])

    def read(m: YMap, prefix: str) -> T.Type:
        fields = []
        for k, v in m.items:
            name = k.text
            if not FIELD_NAME.match(name):
                r.err(k, "E-BAD-VALUE", f"field name '{name}' must be a name ([A-Za-z_][A-Za-z0-9_]*)")
                continue
            if isinstance(v, YMap):
                fields.append((name, read(v, f"{prefix}{name}.")))
                continue
            try:
                fields.append((name, parse_type(v.to_python() if v is not None else None)))
            except SchemaError as e:
                r.err(v if v is not None else k, "E-BAD-TYPE", f"{prefix}{name}: {e}")
                fields.append((name, T.ANY))  # still a known field: no cascade of 'unknown field' errors
        return T.object_of(fields)
    return read(m, "")


def _read_action(r: _Reader, key: YScalar, node: YNode) -> ActionDef:
    a = ActionDef(key.text)
    if not ID_RE.match(key.text):
        r.err(key, "E-BAD-VALUE", f"action id '{key.text}' may only use lower-case letters, digits, '_', '.', '-'")
    m = r.mapping(node, f"action '{key.text}'") if node is not None and not (isinstance(node, YScalar) and node.value is None) else None
    if m is None:
        return a
    r.keys(m, ACTION_KEYS, f"action '{key.text}'")
    a.group = r.string(m.get("group"), "group") or ""
    if m.get("priority") is not None:
        a.priority = r.number(m.get("priority"), "priority")
    a.tags = r.strings(m.get("tags"), "tags")
    pm = r.mapping(m.get("params"), "params")
    a.params = [(k.text, v.to_python()) for k, v in (pm.items if pm else ())]
    return a


def _read_then(r: _Reader, node: YNode) -> "ThenDef | None":
    if isinstance(node, YScalar) and isinstance(node.value, str):  # the short form: `then: winback_20`
        return ThenDef(r.string(node, "action id", ID_RE) or "", node, [])
    m = r.mapping(node, "an action in 'then'")
    if m is None:
        return None
    r.keys(m, THEN_KEYS, "an action")
    act = m.get("action")
    if act is None:
        r.err(m, "E-MISSING-KEY", "an action needs an 'action' id")
        return None
    t = ThenDef(r.string(act, "action id", ID_RE) or "", act, [])
    pm = r.mapping(m.get("params"), "params")
    t.params_node = pm
    for k, v in pm.items if pm else ():
        if isinstance(v, YScalar) and isinstance(v.value, str) and v.style in (None, "plain", "'", '"') \
                and v.text.startswith("="):
            t.params.append((k.text, v))
        elif isinstance(v, YScalar) and isinstance(v.value, str) and v.text.startswith("\\="):
            t.params.append((k.text, v.text[1:]))
        else:
            t.params.append((k.text, v.to_python()))
    t.priority = r.priority(m.get("priority"), "priority")
    t.group = r.string(m.get("group"), "group")
    return t


def _read_rule(r: _Reader, node: YNode, index: int) -> "RuleDef | None":
    m = r.mapping(node, "a rule")
    if m is None:
        return None
    r.keys(m, RULE_KEYS, "a rule")
    rid = r.string(m.get("id"), "rule id", ID_RE)
    if m.get("id") is None:
        r.err(m, "E-MISSING-KEY", f"rule #{index + 1} needs an 'id'")
        rid = f"#{index + 1}"
    when = m.get("when")
    if when is None:
        r.err(m, "E-MISSING-KEY", f"rule '{rid}' needs a 'when' condition")
    elif not isinstance(when, YScalar) or when.value is None:
        r.err(when, "E-BAD-VALUE", f"the 'when' of rule '{rid}' must be an expression")
        when = None
    elif isinstance(when.value, bool):
        pass  # `when: true` is a valid constant condition
    rule = RuleDef(rid or "", index, m, when if isinstance(when, YScalar) else None)
    then = m.get("then")
    if then is not None:
        items = then.items if isinstance(then, YSeq) else (then,)
        rule.then = [t for t in (_read_then(r, x) for x in items) if t]
    sup = r.mapping(m.get("suppress"), "suppress")
    if sup:
        r.keys(sup, SUPPRESS_KEYS, "suppress")
        rule.suppress_actions = r.strings(sup.get("actions"), "suppress.actions")
        rule.suppress_groups = r.strings(sup.get("groups"), "suppress.groups")
        rule.suppress_tags = r.strings(sup.get("tags"), "suppress.tags")
        if not rule.suppresses:
            r.err(sup, "E-BAD-VALUE", "suppress needs 'actions', 'groups' or 'tags'")
    if not rule.then and not rule.suppresses and (then is None and sup is None):
        r.err(m, "E-MISSING-KEY", f"rule '{rid}' needs 'then', 'suppress' or both")
    rule.reason = r.string(m.get("reason"), "reason") or ""
    rule.priority = r.priority(m.get("priority"), "priority")
    en = m.get("enabled")
    if en is not None:
        if isinstance(en, YScalar) and isinstance(en.value, bool):
            rule.enabled = en.value
        else:
            r.err(en, "E-BAD-VALUE", "enabled must be true or false")
    eff = r.mapping(m.get("effective"), "effective")
    if eff:
        r.keys(eff, {"from", "until"}, "effective")
        if eff.get("from") is not None:
            rule.effective_from = r.datetime(eff.get("from"), "effective.from")
        if eff.get("until") is not None:
            rule.effective_until = r.datetime(eff.get("until"), "effective.until")
        if rule.effective_from and rule.effective_until and rule.effective_from >= rule.effective_until:
            r.err(eff, "E-BAD-VALUE", "effective.from must be before effective.until")
    rule.tags = r.strings(m.get("tags"), "tags")
    if isinstance(m.get("description"), YScalar):
        rule.description = m.get("description").text
    return rule
