"""Compile a ruleset: load -> read -> check -> generate -> link, into a `Ruleset` ready to decide.

    root = load_yaml(text, filename)           # YAML with positions
    rdef, diags = read_ruleset(root, filename)  # shapes, keys, literal values
    plan = check_ruleset(rdef)                  # expressions parsed and type-checked
    program = generate(plan)                    # one generated Python module, linked once
    return Ruleset(rdef, plan, program)
"""
from __future__ import annotations

import gc
import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from . import nodes as n
from . import typesys as T
from .checker import Checked, Env, check
from .codegen import ExprGen, PathLocals, Unit, unparen_conjunct, unparen_test
from .diagnostics import CompileError, Diagnostic, ExprSource, suggest
from .loader import YScalar, load_yaml
from .model import RuleDef, RulesetDef, ThenDef, read_ruleset
from .parser import parse

if TYPE_CHECKING:
    from .decision import Ruleset


_EMPTY = frozenset()


def frozen(items) -> frozenset:
    """A frozenset, the shared empty one when empty (10,000 rules hold tens of thousands of them)."""
    return frozenset(items) if items else _EMPTY


class RulesetError(CompileError):
    """A ruleset does not compile; `.diagnostics` lists every problem with file, line, column, code."""


# -- check ------------------------------------------------------------------------------------------

@dataclass
class ActionPlan:
    """One action a rule (or the defaults) may propose, with everything resolved but the values."""
    action: str
    group: str
    priority: "float | Checked | None"
    tags: frozenset
    static_params: dict
    dynamic_params: "list[tuple[str, Checked]]"


@dataclass
class RulePlan:
    rule: RuleDef
    when: "Checked | None"
    priority: "float | Checked"
    actions: list[ActionPlan] = field(default_factory=list)


@dataclass
class Plan:
    rdef: RulesetDef
    segment_order: list[str]
    segments: dict[str, Checked]
    rules: list[RulePlan]
    defaults: list[ActionPlan]
    diagnostics: list[Diagnostic]


def _expr_source(node: YScalar, strip_eq: bool = False) -> ExprSource:
    src = node.expr_source()
    if strip_eq:
        i = src.text.index("=")
        src = src.tail(i + 1)
    return src


def _segment_refs(node: n.Node, names) -> set[str]:
    return {x.name for x in n.walk(node) if isinstance(x, n.Name) and x.name in names}


def check_ruleset(rdef: RulesetDef) -> Plan:
    diags: list[Diagnostic] = []

    def compile_expr(scalar: YScalar, env: Env, expect=None, what="expression", strip_eq=False) -> "Checked | None":
        src = _expr_source(scalar, strip_eq)
        try:
            node = parse(src)
        except CompileError as e:
            diags.extend(e.diagnostics)
            return None
        c = check(node, src, env, expect, what)
        diags.extend(c.diagnostics)
        return c

    # Segments: parse all, order by dependency, then check in that order so types flow.
    parsed: dict[str, tuple[ExprSource, n.Node]] = {}
    for name, scalar in rdef.segments.items():
        src = _expr_source(scalar)
        try:
            parsed[name] = (src, parse(src))
        except CompileError as e:
            diags.extend(e.diagnostics)
    deps = {k: _segment_refs(node, rdef.segments) for k, (_, node) in parsed.items()}
    order, cyclic = _topo(deps)
    for name in cyclic:
        cycle = " -> ".join(_cycle_path(deps, name))
        diags.append(rdef.segments[name].diagnostic("E-SEGMENT-CYCLE", f"segment '{name}' depends on itself: {cycle}"))
    env = Env(rdef.schema, {})
    segments: dict[str, Checked] = {}
    for name in order:
        src, node = parsed[name]
        c = check(node, src, env, T.BOOLEAN, f"segment '{name}'")
        diags.extend(c.diagnostics)
        segments[name] = c
        env.segments[name] = c.type if c.ok else T.BOOLEAN.as_nullable()
    for name in cyclic:
        env.segments[name] = T.BOOLEAN.as_nullable()

    catalog = rdef.actions
    known_groups = set(rdef.groups) | {a.group for a in (catalog or {}).values() if a.group}

    def action_plan(t: ThenDef, rule_priority) -> "ActionPlan | None":
        cat = None
        if catalog is not None:
            cat = catalog.get(t.action)
            if cat is None and t.action:
                best = suggest(t.action, catalog)
                hint = f" (did you mean '{best}'?)" if best else ""
                diags.append(t.node.diagnostic("E-UNKNOWN-ACTION", f"unknown action '{t.action}'{hint}: "
                                                                   "it is not in the actions catalog"))
        static = dict(cat.params) if cat else {}
        dynamic = []
        for key, value in t.params:
            if isinstance(value, YScalar):
                c = compile_expr(value, env, None, f"param '{key}'", strip_eq=True)
                if c is not None:
                    dynamic.append((key, c))
                static.pop(key, None)
            else:
                static[key] = value
        if isinstance(t.priority, YScalar):
            prio = compile_expr(t.priority, env, T.NUMBER, "priority", strip_eq=True)
        elif t.priority is not None:
            prio = t.priority
        elif rule_priority is not None:
            prio = rule_priority
        else:
            prio = cat.priority if cat and cat.priority is not None else 0.0
        group = t.group if t.group is not None else (cat.group if cat else "")
        if t.group and t.group not in known_groups:
            known_groups.add(t.group)
        return ActionPlan(t.action, group, prio, frozen(cat.tags if cat else ()), static, dynamic)

    rules: list[RulePlan] = []
    for rule in rdef.rules:
        when = compile_expr(rule.when, env, T.BOOLEAN, f"the 'when' of rule '{rule.id}'") if rule.when else None
        if isinstance(rule.priority, YScalar):
            prio = compile_expr(rule.priority, env, T.NUMBER, "priority", strip_eq=True)
        else:
            prio = rule.priority
        plan = RulePlan(rule, when, prio if prio is not None else 0.0)
        plan.actions = [a for a in (action_plan(t, prio) for t in rule.then) if a]
        if prio is None and plan.actions and not isinstance(plan.actions[0].priority, Checked):
            plan.priority = plan.actions[0].priority
        for a in rule.suppress_actions:
            if catalog is not None and a not in catalog:
                best = suggest(a, catalog)
                hint = f" (did you mean '{best}'?)" if best else ""
                diags.append(rule.node.get("suppress").diagnostic(
                    "E-UNKNOWN-ACTION", f"rule '{rule.id}' suppresses unknown action '{a}'{hint}"))
        rules.append(plan)
    defaults = [a for a in (action_plan(t, None) for t in rdef.defaults) if a]
    for rule in rdef.rules:
        for g in rule.suppress_groups:
            if g not in known_groups:
                diags.append(rule.node.get("suppress").diagnostic(
                    "W-UNKNOWN-GROUP", f"rule '{rule.id}' suppresses group '{g}', which no action uses", "warning"))
    return Plan(rdef, order, segments, rules, defaults, diags)


def _topo(deps: dict[str, set[str]]) -> tuple[list[str], list[str]]:
    """Dependency order, and the names that sit on or behind a cycle."""
    order, state = [], {}
    cyclic: list[str] = []
    for start in deps:
        if start in state:
            continue
        stack = [(start, iter(sorted(deps.get(start, ()))))]
        state[start] = "open"
        while stack:
            name, it = stack[-1]
            nxt = next(it, None)
            if nxt is None:
                stack.pop()
                state[name] = "done"
                order.append(name)
            elif nxt not in deps:
                continue
            elif state.get(nxt) == "open":
                if nxt not in cyclic:
                    cyclic.append(nxt)
            elif nxt not in state:
                state[nxt] = "open"
                stack.append((nxt, iter(sorted(deps.get(nxt, ())))))
    bad = set(cyclic)
    changed = True
    while changed:  # anything that depends on a cyclic segment cannot be ordered either
        changed = False
        for k, ds in deps.items():
            if k not in bad and ds & bad:
                bad.add(k)
                changed = True
    return [k for k in order if k not in bad], cyclic


def _cycle_path(deps: dict[str, set[str]], start: str) -> list[str]:
    path, seen = [start], {start}
    cur = start
    while True:
        nxt = next((d for d in sorted(deps.get(cur, ())) if d == start or d not in seen and start in _reach(deps, d)), None)
        if nxt is None or nxt == start:
            return path + [start]
        path.append(nxt)
        seen.add(nxt)
        cur = nxt


def _reach(deps, a) -> set[str]:
    out, stack = set(), [a]
    while stack:
        x = stack.pop()
        for d in deps.get(x, ()):
            if d not in out:
                out.add(d)
                stack.append(d)
    return out


# -- generate and link ---------------------------------------------------------------------------

def generate(plan: Plan, name: str) -> "tuple[Unit, dict]":
    """One module for the whole ruleset: a function per segment, condition, param and priority."""
    unit = Unit(name)
    seg_index, seg_expr = _segment_calls(plan)

    def emit(fname: str, c: Checked, label: str, comment: str) -> None:
        _emit(unit, fname, c, label, comment, seg_expr)

    for s, i in seg_index.items():
        c = plan.segments[s]
        first = len(unit.sites)
        body = ExprGen(unit, c, seg_expr).generate(dynamic_root=False)
        unit.label_sites(first, f"segment:{s}")
        # a segment is evaluated at most once per decision: its value is cached in the state
        unit.add_source(f"# segment {ascii(s)}\ndef S{i}(_s, _v):\n    c = _s.cache\n    if c is None:\n"
                        f"        c = _s.cache = {{}}\n    elif {i} in c:\n"
                        f"        return c[{i}]\n    r = c[{i}] = {body}\n    return r\n")
    for i, rp in enumerate(plan.rules):
        # each rule's own `when` function (W) is generated on demand: see generate_conditions
        if isinstance(rp.priority, Checked):
            emit(f"Q{i}", rp.priority, rp.rule.id, f"rule {rp.rule.id}: priority")
        for j, ap in enumerate(rp.actions):
            for k, (key, c) in enumerate(ap.dynamic_params):
                emit(f"P{i}_{j}_{k}", c, rp.rule.id, f"rule {rp.rule.id}: {ap.action}.params.{key}")
            if isinstance(ap.priority, Checked) and ap.priority is not rp.priority:
                emit(f"Q{i}_{j}", ap.priority, rp.rule.id, f"rule {rp.rule.id}: {ap.action}.priority")
    for j, ap in enumerate(plan.defaults):
        for k, (key, c) in enumerate(ap.dynamic_params):
            emit(f"D{j}_{k}", c, "defaults", f"defaults: {ap.action}.params.{key}")
    _generate_fused(unit, plan, seg_expr)
    from .schema import to_feel
    from .validator import RUNTIME
    return unit, unit.link(dict(RUNTIME, _to_feel=to_feel))


def _segment_calls(plan: Plan):
    """Segment name -> index, and the code that calls a segment's (cached) function S{index}."""
    seg_index = {s: i for i, s in enumerate(plan.segment_order)}

    def seg_expr(s: str) -> str:
        return f"S{seg_index[s]}(_s, _v)" if s in seg_index else "None"
    return seg_index, seg_expr


def _emit(unit: Unit, fname: str, c: Checked, label: str, comment: str, seg_expr) -> None:
    """Add `def fname(_s, _v)` computing `c`; its warning sites are labelled with `label`."""
    first = len(unit.sites)
    body = ExprGen(unit, c, seg_expr).generate(dynamic_root=False)
    unit.label_sites(first, label)
    unit.add_function(fname, body, comment)


def generate_conditions(plan: Plan, unit: Unit, ns: dict) -> dict:
    """W{i}: each rule's `when` as a function of its own, for the rule-by-rule path (explanations,
    and the fallback should the fused function ever fail). Generated on first use, not at compile
    time: most rulesets never need them, and at 10,000 rules they would double the code to compile.
    Warning sites continue the ruleset's own numbering."""
    extra = Unit(f"{unit.name}:conditions", prefix="W", sites=unit.sites)
    seg_index, seg_expr = _segment_calls(plan)
    for i, rp in enumerate(plan.rules):
        if rp.when is not None:
            _emit(extra, f"W{i}", rp.when, rp.rule.id, f"rule {rp.rule.id}: when", seg_expr)
    from .schema import to_feel
    from .validator import RUNTIME
    return extra.link(dict(RUNTIME, _to_feel=to_feel, **{f"S{i}": ns[f"S{i}"] for i in seg_index.values()}))


def _live(rp: RulePlan) -> bool:
    return rp.rule.enabled and rp.when is not None


def _window(unit: Unit, rp: RulePlan) -> str:
    r = rp.rule
    parts = []
    if r.effective_from is not None:
        parts.append(f"clock >= {unit.const(r.effective_from)}")
    if r.effective_until is not None:
        parts.append(f"clock < {unit.const(r.effective_until)}")
    return " and ".join(parts)


def _conditions(unit: Unit, rp: RulePlan, conjuncts, seg_expr, locals_: PathLocals) -> str:
    """Python that is true exactly when every conjunct is true (the rule matches)."""
    gen = ExprGen(unit, rp.when, seg_expr, path_locals=locals_)
    gen.dynamic_root = False
    first = len(unit.sites)
    parts = [gen.cond(c) for c in conjuncts]
    unit.label_sites(first, rp.rule.id)
    window = _window(unit, rp)
    if window:
        parts.insert(0, f"({window})")
    if len(parts) == 1:
        return unparen_test(parts[0])
    return " and ".join([unparen_conjunct(p) for p in parts]) if parts else "True"


def _function(name: str, locals_: PathLocals, body: list[str], doc: str, params: str = "_s, _v") -> str:
    code = "".join(body)
    clock = "    clock = _s._clock or _s.clock\n" if "clock " in code else ""  # only rules with an effective window read it
    return f"def {name}({params}):\n    # {doc}\n" + locals_.prologue() + clock + code


def _generate_fused(unit: Unit, plan: Plan, seg_expr) -> None:
    """DECIDE(context, state) -> (validated context or None, indices of the matched rules in file order).

    One function validates the context and matches the rules, so every checked input value is
    already in a local when the conditions read it. In `first` mode it walks the proposing rules
    by priority (FIRST) after the suppress-only rules. Dynamic priorities in `first` mode leave
    DECIDE out: the general path orders rules per decision.

    When nothing after matching needs the converted context (see `_lean`), DECIDE only checks it
    and returns None in its place: no dicts of converted values are built, and a number compared
    only with binary-exact constants is not converted to Decimal (PathLocals.float_safe).
    """
    from .validator import inline_validator
    live = [(i, rp) for i, rp in enumerate(plan.rules) if _live(rp)]
    g, lines, tlines = inline_validator(plan.rdef.schema, "_x", "X")
    loc = PathLocals()
    loc.names.update(g.paths)
    scanned = None  # the code that may read the converted context, when not all of `body`
    if plan.rdef.mode != "first":
        body = _match_body(unit, "MATCH", live, seg_expr, loc)
    else:
        proposers = [(i, rp) for i, rp in live if rp.actions]
        if any(isinstance(rp.priority, Checked) for _, rp in proposers):
            return
        order = sorted(proposers, key=lambda x: (-float(x[1].priority), x[0]))
        suppress_only = [(i, rp) for i, rp in live if not rp.actions]
        if suppress_only:
            body = _match_body(unit, "SUPS", suppress_only, seg_expr, loc)
            if order:
                # the priority walk: a flat run of ifs inside a one-pass loop, left at the first match
                body.append("    for _ in (None,):\n")
                body += [f"        if {_conditions(unit, rp, [rp.when.node], seg_expr, loc)}:\n"
                         f"            ap({i})  # {ascii(rp.rule.id)}\n            break\n" for i, rp in order]
                body.append("    m.sort()\n")  # the winner joins the suppress rules in file order
        else:
            # nothing but the priority walk: the first match returns its index, a constant (its
            # `return _v` is no read of the converted context: the conditions alone are scanned)
            tests = [(_conditions(unit, rp, [rp.when.node], seg_expr, loc), i, rp) for i, rp in order]
            body = [f"    if {test}:\n        return _v, ({i},)  # {ascii(rp.rule.id)}\n" for test, i, rp in tests]
            body.append("    m = ()\n")
            scanned = "".join(test for test, _, _ in tests)
    code = "".join(body)
    if scanned is None:
        scanned = code
    types = dict(_field_types(plan.rdef.schema, ()))
    lean = _lean(plan) and not _reads_root(scanned + loc.prologue()) and \
        not any(types[p].kind == T.OBJECT_K and loc.reads.get(name) for p, name in g.paths.items())
    if lean:
        raw = frozenset(p for p, name in g.paths.items() if types[p].kind == T.NUMBER_K and loc.float_safe(name))
        g, lines, tlines = inline_validator(plan.rdef.schema, "_x", "X", raw_numbers=raw, rebuild=False)
        assert loc.names.items() >= g.paths.items()  # the same locals, whatever the variant
    unit.add_source("".join(g.chunks))
    unit.consts.update(g.consts)
    # `_t`: the context comes from the schema's typed JSON decoder (context_json.py), which has
    # checked every type already: only the conversions are left
    head = ["def DECIDE(_x, _s, _t=False):\n    # check the context against the schema, then match the rules\n",
            "    if _t:\n" + "".join(f"    {line}\n" for line in tlines) + ("" if tlines else "        pass\n") + "    else:\n"
            + "".join(f"    {line}\n" for line in lines), "    _v = None\n" if lean else "    _v = _x\n"]
    code += "    return _v, m\n"
    clock = "    clock = _s._clock or _s.clock\n" if "clock " in code else ""
    body = "".join(head[1:]) + loc.prologue() + clock + code
    unit.add_source(head[0] + body)
    # Whether DECIDE reads its evaluation state at all (the clock, the segment cache, a warning
    # site): when it does not, `decide` makes none. A field named `_s` only gives a false "yes".
    unit.add_source(f"DECIDE_READS_STATE = {bool(_STATE_NAME.search(body))}\n")


# `(?<![\w.])_s\b`, with the literal first: the regex engine then skips ahead to each `_s` instead
# of trying the lookbehind at every position of a megabyte of code (~20 ms at 10,000 rules).
_STATE_NAME = re.compile(r"_s\b(?<![\w.]_s)")


def _field_types(t: T.Type, path: tuple):
    """(path, type) of every declared field below an object type."""
    for name, ft in t.fields or ():
        yield path + (name,), ft
        if ft.kind == T.OBJECT_K:
            yield from _field_types(ft, path + (name,))


def _lean(plan: Plan) -> bool:
    """After matching, nothing reads the converted context: the decision is assembled from the
    rules' literal actions (Ruleset._simple). A ruleset that is not lean may still get a None from
    DECIDE only at the cost of validating again, so this errs on the side of False."""
    if plan.defaults or plan.segments or plan.rdef.groups:
        return False
    seen = set()
    for rp in plan.rules:
        if rp.rule.suppresses or isinstance(rp.priority, Checked):
            return False
        for ap in rp.actions:
            if ap.dynamic_params or isinstance(ap.priority, Checked) or ap.group or ap.action in seen:
                return False
            seen.add(ap.action)
    return True


_ROOT = re.compile(r"_v\b(?<!\w_v)")  # `\b_v\b`, literal first (see _STATE_NAME)


def _reads_root(code: str) -> bool:
    """Generated code that reads the context `_v` itself. The substring test first: most code has
    no `_v` at all."""
    return "_v" in code and _ROOT.search(code) is not None


MIN_INDEXED_RULES = 4    # fewer rules on a field than this: plain ifs are cheaper than a lookup
MAX_INLINE_BUCKETS = 8   # up to this many values: an if/elif chain in place; more: a dict of functions


def _match_body(unit: Unit, name: str, rules, seg_expr, loc: PathLocals) -> list[str]:
    """Statements that collect in `m` the indices (file order) of the matching rules among `rules`.

    Rules with an index key are grouped by the value their key conjunct requires. With few values
    the groups sit under an if/elif chain on the field; with many, a dict maps each value to a
    bucket function, so a decision runs only the bucket its context selects.
    """
    from .optimizer import plan_rule
    planned = [(i, rp, plan_rule(i, rp.when)) for i, rp in rules]
    counts: dict = {}
    for _, _, ir in planned:
        if ir.key is not None:
            k = (ir.key.path, ir.key.contains)
            counts[k] = counts.get(k, 0) + 1
    unindexed, indexes = [], {}
    for i, rp, ir in planned:  # noqa: B007
        if ir.key is None or counts[(ir.key.path, ir.key.contains)] < MIN_INDEXED_RULES:
            unindexed.append((i, rp, ([ir.key_node] if ir.key_node is not None else []) + ir.rest))
            continue
        idx = indexes.setdefault((ir.key.path, ir.key.contains), {})
        for value in ir.key.values:
            idx.setdefault(value, []).append((i, rp, ir.rest))
    unindexed, ranges = _threshold_runs(unindexed)

    def rule_lines(members, indent: str, loc_: PathLocals) -> list[str]:
        return [f"{indent}if {_conditions(unit, rp, rest, seg_expr, loc_)}:\n{indent}    ap({i})  # {ascii(rp.rule.id)}\n"
                for i, rp, rest in members]

    body = ["    m = []\n    ap = m.append\n"]
    body += rule_lines(unindexed, "    ", loc)
    for (path, above), run in ranges.items():
        # weakest bound first: the first bound that fails fails all the rest of the run
        body.append(f"    for _ in (None,):  # rules on {'.'.join(path)} {'above' if above else 'below'} a bound\n")
        for th, i, rp, conj, rest in run:
            gen = ExprGen(unit, rp.when, seg_expr, path_locals=loc)
            gen.dynamic_root = False
            first = len(unit.sites)
            test = gen.cond(conj)
            unit.label_sites(first, rp.rule.id)
            body.append(f"        if not {test}:\n            break\n")
            body += rule_lines([(i, rp, rest)], "        ", loc)
    for k, ((path, contains), buckets) in enumerate(indexes.items()):
        field = loc.local(path, "_v" + "".join(f"[{p!r}]" for p in path))
        label = ".".join(path)
        if len(buckets) <= MAX_INLINE_BUCKETS:
            for j, (value, members) in enumerate(buckets.items()):
                const = unit.const(value)
                if contains:
                    body.append(f"    if {const} in {field}:  # {label} contains {ascii(str(value))}\n")
                else:
                    body.append(f"    {'if' if j == 0 else 'elif'} {field} == {const}:  # {label} = {ascii(str(value))}\n")
                body += rule_lines(members, "        ", loc)
            continue
        # Bucket functions read the caller's locals (checked values), passed as arguments: no
        # lookups through the context, so DECIDE may stay lean (see _generate_fused).
        table, bodies, before = [], [], dict(loc.reads)
        for value, members in buckets.items():
            bodies.append((f"{name}_B{k}_{len(table)}", f"{label} {'contains' if contains else '='} "
                                                         f"{ascii(str(value))}", rule_lines(members, "    ", loc)))
            table.append(f"{unit.const(value)}: {bodies[-1][0]}")
        used = [x for x, count in loc.reads.items() if count > before.get(x, 0)]
        if any(_reads_root("".join(b)) for _, _, b in bodies):
            used.append("_v")
        # the evaluation state only where a bucket reads it, so DECIDE may make none (see _generate_fused)
        reads_state = any(_STATE_NAME.search(code) or "clock " in code for code in ("".join(b) for _, _, b in bodies))
        args = ", ".join((["_s"] if reads_state else []) + ["ap"] + used)
        for bname, doc, bbody in bodies:
            unit.add_source(_function(bname, PathLocals(), bbody, doc, args))
        unit.add_source(f"{name}_IDX{k} = {{{', '.join(table)}}}\n")
        if contains:
            body.append(f"    for e in set({field}):\n        b = {name}_IDX{k}.get(e)\n"
                        f"        if b is not None:\n            b({args})\n")
        else:
            body.append(f"    b = {name}_IDX{k}.get({field})\n    if b is not None:\n        b({args})\n")
    if indexes or ranges:
        body.append("    m.sort()\n")
    return body


MIN_RUN_RULES = 8  # fewer rules bounded on one field than this: plain ifs are as cheap as a run


def _threshold_runs(rules):
    """Split rules into those without a usable bound and runs of rules bounded on one number field
    from the same side (see optimizer.Threshold), each run sorted weakest bound first."""
    from .optimizer import threshold_of
    runs: dict = {}
    for i, rp, conjuncts in rules:
        for k, conj in enumerate(conjuncts):
            th = threshold_of(conj, rp.when)
            if th is not None:
                runs.setdefault((th.path, th.above), []).append((th, i, rp, conj, conjuncts[:k] + conjuncts[k + 1:]))
                break
    kept = {key: run for key, run in runs.items() if len(run) >= MIN_RUN_RULES}
    in_runs = {i for run in kept.values() for _, i, _, _, _ in run}
    for run in kept.values():
        run.sort(key=lambda x: (x[0].order(), x[1]))
    return [r for r in rules if r[0] not in in_runs], kept


# -- entry points ---------------------------------------------------------------------------------

def compile_ruleset_text(text: str, filename: str = "<ruleset>"):
    """Compile ruleset YAML text; raises RulesetError listing every problem."""
    # Compiling allocates millions of objects that live on, and each allocation burst would start
    # another full collection of all of them (a quarter of the time at 10,000 rules). None of
    # these objects form garbage cycles worth collecting meanwhile.
    enabled = gc.isenabled()
    gc.disable()
    try:
        return _compile_text(text, filename)
    finally:
        if enabled:
            gc.enable()
            if len(text) > COLLECT_AFTER_CHARS:
                _age_new_objects()


def _compile_text(text: str, filename: str):
    from .decision import Ruleset
    try:
        root = load_yaml(text, filename)
    except CompileError as e:
        raise RulesetError(e.diagnostics) from None
    rdef, diags = read_ruleset(root, filename)
    if rdef is None:
        raise RulesetError(diags or [Diagnostic(filename, 1, 1, "E-BAD-VALUE", "not a ruleset")])
    # expressions are checked even when the file has shape errors: all problems are reported together
    plan = check_ruleset(rdef)
    diags += plan.diagnostics
    if any(d.is_error for d in diags):
        raise RulesetError(diags)
    rdef.drop_yaml_nodes()
    unit, namespace = generate(plan, rdef.name)
    ruleset = Ruleset(plan, unit, namespace, hashlib.sha256(text.encode("utf-8")).hexdigest(),
                      [d for d in diags if not d.is_error])
    if len(text) > TRIM_AFTER_CHARS:
        _trim_heap()
    return ruleset


TRIM_AFTER_CHARS = 1_000_000    # about 5,000 rules of the benchmark's size
COLLECT_AFTER_CHARS = 50_000    # about 250 rules


def _age_new_objects() -> None:
    """Move the objects a compile created out of the young generations, without visiting them.

    Left there, the first collection after compiling (some allocation in the first decision) would
    visit all of them: ~0.5 s at 10,000 rules, to find a few dozen cycles. `gc.freeze()` moves every
    tracked object to the permanent generation in O(1) and `gc.unfreeze()` moves them on to the
    oldest one, where full collections (CPython's own schedule) still find their cycles later,
    such as a replaced ruleset's. Only when the application froze objects itself (a pre-fork
    server) do we leave its permanent generation alone and pay for a young collection instead.
    """
    if gc.get_freeze_count() == 0:
        gc.freeze()
        gc.unfreeze()
    else:
        gc.collect(1)


def _trim_heap() -> None:
    """Hand the C heap's free pages back to the operating system (glibc; elsewhere a no-op).

    Compiling frees much more than it keeps (the YAML tree, generated source text, compiler
    structures). glibc keeps freed memory mapped, so after a 10,000-rule compile the process would
    hold ~90 MB of free heap as resident memory; malloc_trim returns it in a few milliseconds.
    """
    try:
        import ctypes
        ctypes.CDLL(None).malloc_trim(0)
    except (OSError, AttributeError):  # not glibc
        pass


def compile_ruleset(path) -> "Ruleset":
    """Compile a ruleset file; raises RulesetError (or OSError when it cannot be read)."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        raise RulesetError([Diagnostic(str(p), 1, 1, "E-YAML", f"file is not UTF-8 text: {e.reason}")]) from None
    return compile_ruleset_text(text, filename=str(path))
