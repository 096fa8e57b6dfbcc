"""Decisions: run a compiled ruleset on one context, following the six steps of the spec.

1. evaluate every enabled rule in its window (a run-time error fails only that rule);
2. matched rules propose candidate actions; 3. suppression removes candidates;
4. policy groups keep the `max` best of each group; 5. fallback defaults when nothing survives;
6. survivors ordered by priority, then rule order, one per action id.
"""
from __future__ import annotations

import datetime as dt
import itertools
import threading
import os
import uuid
from dataclasses import dataclass
from functools import partial
from operator import attrgetter
from types import MappingProxyType
from decimal import Decimal
from time import time as _time
from typing import Any

from . import nodes as n
from . import runtime as rt
from .checker import Checked
from .codegen import EvalState, ExprGen, Unit
from .context_json import decode_context, plain, typed_decoder
from .ruleset import ActionPlan, Plan, RulePlan, frozen
from .schema import converter
from .validator import _Bad

MATCHED, NOT_MATCHED, DISABLED, OUT_OF_WINDOW, ERROR, SKIPPED = (
    "matched", "not_matched", "disabled", "out_of_window", "error", "skipped")


@dataclass(frozen=True)
class Action:
    action: str
    params: dict
    rule: str
    priority: float
    group: str
    reason: str
    fallback: bool = False

    def to_dict(self) -> dict:
        return {"action": self.action, "params": dict(self.params), "rule": self.rule, "priority": self.priority,
                "group": self.group, "reason": self.reason, "fallback": self.fallback}

    @classmethod
    def _make(cls, action: str, params: dict, rule: str, priority: float, group: str, reason: str,
              fallback: bool = False) -> "Action":
        """The same Action as the constructor, built without the frozen dataclass's seven
        object.__setattr__ calls (a third of the cost of a decision's computed action)."""
        a = _new_object(cls)
        d = a.__dict__
        d["action"], d["params"], d["rule"], d["priority"] = action, params, rule, priority
        d["group"], d["reason"], d["fallback"] = group, reason, fallback
        return a


_new_object = object.__new__


@dataclass(frozen=True)
class Suppression:
    action: str
    rule: str      # the suppressing rule
    reason: str

    def to_dict(self) -> dict:
        return {"action": self.action, "rule": self.rule, "reason": self.reason}


def _reset_ids() -> None:
    global _ID_PREFIX, _ID_COUNTER
    _ID_PREFIX = uuid.uuid4().hex[:16]   # random per process (and per forked worker)
    _ID_COUNTER = itertools.count(1)


_reset_ids()
os.register_at_fork(after_in_child=_reset_ids)


def _new_decision_id() -> str:
    """Unique without a uuid per decision: a random per-process prefix and a counter (32 hex digits)."""
    return f"{_ID_PREFIX}{next(_ID_COUNTER):016x}"


class Decision:
    """The outcome of one decision: actions to take, rules that matched, what was suppressed."""
    # `actions` is left unset by `_ranked_later`: __getattr__ fills it on first read, and a set
    # slot is read at C speed ever after. `_id` is None until the decision id is asked for.
    __slots__ = ("ruleset", "version", "ruleset_hash", "_when", "actions", "_ranking", "matched_rules", "_extra",
                 "_id", "outcome_key")

    def __init__(self, ruleset: str, version: str, ruleset_hash: str, when: "EvalState | float | dt.datetime",
                 actions: "list[Action]", matched_rules: "list[str]", suppressed: "list[Suppression] | None" = None,
                 explanation: "dict | None" = None, warnings: "list[str] | None" = None):
        self.ruleset = ruleset
        self.version = version
        self.ruleset_hash = ruleset_hash
        # The decision's clock, in the cheapest form at hand: the evaluation state that read it, the
        # wall-clock timestamp taken when no state was needed, or the caller's `as_of`.
        self._when = when
        if actions is not None:
            self.actions = actions
        self.matched_rules = matched_rules
        self._id = None
        # An object shared by the decisions of this ruleset with the very same actions (the same
        # objects), matched rules and suppressions, or None: a caller may cache what it derives
        # from those (the gRPC service keeps their serialized form), keyed by identity.
        self.outcome_key = None
        # Most decisions suppress nothing, explain nothing and warn about nothing: one slot for the
        # three keeps building such a decision cheap (a decision is made per request).
        self._extra = (suppressed or [], explanation, warnings or []) \
            if suppressed or explanation is not None or warnings else None

    @classmethod
    def _ranked_later(cls, ruleset: str, version: str, ruleset_hash: str, when, rank, idx: "list[int]",
                      matched_rules: "list[str]", warnings: "list[str] | None") -> "Decision":
        """A decision whose actions `rank(idx)` puts in order when they are first read: ordering
        hundreds of matched actions by priority is a good part of a large decision, and a caller
        that reads only `matched_rules` (coverage, "which rules fire") never needs it."""
        d = cls(ruleset, version, ruleset_hash, when, None, matched_rules, None, None, warnings)
        d._ranking = (rank, idx)
        return d

    def __getattr__(self, name: str):
        # only called for a slot that is not set yet (see __slots__)
        if name == "actions":
            rank, idx = self._ranking  # kept: another thread may be reading it at the same time
            actions = self.actions = rank(idx)
            return actions
        raise AttributeError(f"'Decision' object has no attribute {name!r}")

    @property
    def suppressed(self) -> "list[Suppression]":
        """Actions that suppression removed, with the rule that removed each."""
        return self._extra[0] if self._extra is not None else []

    @property
    def explanation(self) -> "dict | None":
        """Why each rule matched or not: only when the decision was asked to explain."""
        return self._extra[1] if self._extra is not None else None

    @property
    def warnings(self) -> "list[str]":
        """Run-time problems that failed a rule or a value (the decision went on without them)."""
        return self._extra[2] if self._extra is not None else []

    @property
    def as_of(self) -> dt.datetime:
        """The clock the decision used (the request's `as_of`, else the time it was made)."""
        when = self._when
        if when.__class__ is EvalState:
            return when.clock
        if when.__class__ is float:
            when = self._when = dt.datetime.fromtimestamp(when, dt.timezone.utc)
        return when

    @property
    def decision_id(self) -> str:
        """Unique per decision; made when first asked for."""
        i = self._id
        if i is None:
            i = self._id = _new_decision_id()
        return i

    def __repr__(self) -> str:
        return (f"Decision(ruleset={self.ruleset!r}, actions={[a.action for a in self.actions]!r}, "
                f"matched_rules={self.matched_rules!r})")

    def to_dict(self) -> dict:
        """JSON-ready, with the same fields as the gRPC DecideResponse."""
        d = {"decision_id": self.decision_id, "ruleset": self.ruleset, "version": self.version,
             "ruleset_hash": self.ruleset_hash, "as_of": self.as_of.isoformat().replace("+00:00", "Z"),
             "actions": [a.to_dict() for a in self.actions], "matched_rules": list(self.matched_rules),
             "suppressed": [s.to_dict() for s in self.suppressed]}
        if self.explanation is not None:
            d["explanation"] = self.explanation
        return d


_NO_PARAMS = MappingProxyType({})
OUTCOMES_MEMO_SIZE = 4096  # sets of matched rules whose outcome a ruleset remembers


@dataclass(slots=True)
class _Candidate:
    action: str
    params: dict
    rule: str
    priority: float
    group: str
    reason: str
    tags: frozenset
    order: tuple  # (rule index, action index): file order for ties
    rank: int = 0                     # position in the (priority, file order) ranking, static candidates only
    result: "Action | None" = None    # the shared Action of a static candidate

    def make_action(self) -> Action:
        return Action._make(self.action, self.params, self.rule, self.priority, self.group, self.reason)


_RANK = attrgetter("rank")
_ID = attrgetter("id")


def _ORDER(c: _Candidate):
    return (-c.priority, c.order)


class _CompiledRule:
    __slots__ = ("plan", "id", "index", "_when", "owner", "enabled", "start", "until", "priority", "actions",
                 "sup_actions", "sup_groups", "sup_tags", "reason", "proposes", "suppresses", "static")

    def __init__(self, i: int, rp: RulePlan, ns: dict):
        r = rp.rule
        self.plan = rp
        self.id = r.id
        self.index = i
        self._when = None   # the rule's own condition function, linked on first use
        self.owner = None
        self.enabled = r.enabled
        self.start, self.until = r.effective_from, r.effective_until
        self.priority = ns[f"Q{i}"] if isinstance(rp.priority, Checked) else float(rp.priority)
        self.actions = [_CompiledAction(ap, ns, f"P{i}_{j}", f"Q{i}_{j}", self.priority) for j, ap in enumerate(rp.actions)]
        self.sup_actions = frozen(r.suppress_actions)
        self.sup_groups = frozen(r.suppress_groups)
        self.sup_tags = frozen(r.suppress_tags)
        self.reason = r.reason
        self.proposes = bool(self.actions)
        self.suppresses = r.suppresses
        self.static = None  # set by Ruleset when every action of the rule is fully static

    @property
    def when(self):
        if self._when is None:
            self.owner._link_conditions()
        return self._when

    def in_window(self, clock: dt.datetime) -> bool:
        return (self.start is None or clock >= self.start) and (self.until is None or clock < self.until)


class _CompiledAction:
    __slots__ = ("action", "group", "priority", "tags", "static", "dynamic")

    def __init__(self, ap: ActionPlan, ns: dict, pprefix: str, qname: str, rule_priority):
        self.action = ap.action
        self.group = ap.group
        if isinstance(ap.priority, Checked):
            self.priority = ns.get(qname) or rule_priority
        else:
            self.priority = float(ap.priority or 0.0)
        self.tags = ap.tags
        self.static = dict(ap.static_params)
        self.dynamic = [(key, ns[f"{pprefix}_{k}"]) for k, (key, _) in enumerate(ap.dynamic_params)]


_LINK_LOCK = threading.Lock()


def _never(s, v) -> bool:
    return False


def _number(v) -> "float | None":
    if isinstance(v, (Decimal, int, float)) and not isinstance(v, bool):
        return float(v)
    return None


class Ruleset:
    """A compiled ruleset. `decide` validates the context and runs the generated code."""

    def __init__(self, plan: Plan, unit: Unit, ns: dict, content_hash: str, warnings):
        rdef = plan.rdef
        self.plan = plan
        self.name = rdef.name
        self.version = rdef.version
        self.description = rdef.description
        self.hash = content_hash
        self.source = rdef.file
        self.schema = rdef.schema
        self.warnings = warnings
        self.mode = rdef.mode
        self.groups = dict(rdef.groups)
        self._unit = unit
        self._ns = ns
        self._convert = converter(rdef.schema)
        self._validate = self._convert.raw
        self.rules = [_CompiledRule(i, rp, ns) for i, rp in enumerate(plan.rules)]
        for r in self.rules:
            r.owner = self
        self._proposers = [r for r in self.rules if r.proposes]
        self._suppressors = [r for r in self.rules if r.suppresses]
        # in `first` mode only rules that do nothing but suppress are evaluated besides the walk
        self._suppress_only = [r for r in self.rules if r.suppresses and not r.proposes]
        self._dynamic_priority = any(callable(r.priority) for r in self.rules)
        # `first` mode walks proposing rules by priority, ties by file order
        self._first_order = sorted(self._proposers, key=lambda r: (-r.priority, r.index)) \
            if not self._dynamic_priority else None
        self.defaults = [_CompiledAction(ap, ns, f"D{j}", "", 0.0) for j, ap in enumerate(plan.defaults)]
        self._explainers: dict[int, Any] = {}
        self._fused = ns.get("DECIDE")   # validate + match in one generated function
        self._decode_typed = typed_decoder(rdef.schema)
        self._precompute_candidates()
        self._decide_decoded = partial(self._general, decoded=True)  # (context, as_of, explain)
        if self._fused is not None and self._simple:
            self.decide = self._simple_decide()
            self._decide_decoded = self._simple_decide(decoded=True)

    def _link_conditions(self) -> None:
        """Generate and link every rule's own `when` function (the rule-by-rule path)."""
        from .ruleset import generate_conditions
        with _LINK_LOCK:
            if self.rules and self.rules[0]._when is not None:
                return
            fns = generate_conditions(self.plan, self._unit, self._ns)
            for r in self.rules:
                r._when = fns.get(f"W{r.index}") or _never

    def _precompute_candidates(self) -> None:
        """Candidates of actions with literal params and priority are built once, ranked once."""
        static = []
        for r in self.rules:
            if r.actions and not any(callable(a.priority) or a.dynamic for a in r.actions):
                r.static = [_Candidate(a.action, MappingProxyType(dict(a.static)) if a.static else _NO_PARAMS, r.id, a.priority, a.group,
                                       r.reason, a.tags, (r.index, j)) for j, a in enumerate(r.actions)]
                static.extend(r.static)
        for rank, c in enumerate(sorted(static, key=_ORDER)):
            c.rank = rank
            c.result = c.make_action()
        ids = [a.action for r in self.rules for a in r.actions]
        self._unique_actions = len(ids) == len(set(ids))
        # The common shape (no suppression, no groups, literal actions, one rule per action id) lets a
        # decision be assembled from precomputed ranks: matched rules -> ranks -> sorted -> actions.
        self._simple = (self._unique_actions and not self.groups and not self._suppressors
                        and all(r.static is not None for r in self.rules if r.actions))
        self._ids = [r.id for r in self.rules]
        self._rule_ranks = [tuple(c.rank for c in r.static) if r.static else () for r in self.rules]
        self._rank_action = [c.result for c in sorted(static, key=_RANK)]
        # Fallback actions with literal params are built once too.
        self._default_actions = [None if a.dynamic else Action._make(
            a.action, MappingProxyType(dict(a.static)) if a.static else _NO_PARAMS, "", a.priority, a.group, "", True)
            for a in self.defaults]
        # Decisions hand out these very objects: a caller may cache what it derives from them (the
        # gRPC service keeps each one's serialized protobuf), keyed by identity.
        self.shared_actions: "tuple[Action, ...]" = tuple(self._rank_action) + \
            tuple(a for a in self._default_actions if a is not None)
        self._one_action_each = all(len(r.actions) == 1 for r in self.rules if r.actions) and \
            all(not r.suppresses or r.actions for r in self.rules)
        self._rank1 = [r.static[0].rank if r.static else -1 for r in self.rules]
        # Steps 2 to 6 (proposals, suppression, group arbitration, fallback, ranking) remembered per
        # set of matched rules (see `_outcome`; False: that set's outcome depends on the context).
        # `_fixed_priorities[i]`: rule i and its actions have literal priorities; None when a
        # fallback action is not entirely literal.
        self._outcomes: dict = {}
        self._fixed_priorities = [not callable(r.priority) and not any(callable(a.priority) for a in r.actions)
                                  for r in self.rules] \
            if all(a is not None for a in self._default_actions) else None
        self._shared_ids = frozenset(map(id, self.shared_actions))

    def __repr__(self) -> str:
        return f"<Ruleset {self.name} {self.version or ''} ({len(self.rules)} rules)>"

    # -- public -----------------------------------------------------------------------------------
    def validate(self, context: Any) -> dict:
        """The context converted to run-time values; raises ContextError naming the bad field."""
        return self._convert(context, "")

    def decide(self, context: dict, as_of: "dt.datetime | None" = None, explain: bool = False) -> Decision:
        """Decide for one context. Raises ContextError when the context breaks the schema.

        Rulesets of the simple shape replace this method on the instance with `_simple_decide`."""
        return self._general(context, as_of, explain, False)

    def _general(self, context, as_of: "dt.datetime | None", explain: bool, decoded: bool) -> Decision:
        """`decide` for every shape; `decoded`: the context comes from the typed decoder
        (context_json.py), so DECIDE only converts it, and the careful paths get it as plain
        JSON values."""
        s = EvalState(None if as_of is None else _clock(as_of))
        if self._fused is not None and not explain:
            try:
                v, idx = self._fused(context, s, decoded)
            except _Bad as b:
                raise self._convert.error(b) from None
            except Exception:  # never expected: the per-rule path below isolates a failing rule
                return self._decide(EvalState(s.clock), self.validate(plain(context)), False)
            return self._after_match(context, s, v, idx)
        return self._decide(s, self.validate(plain(context)), explain)

    def decide_json(self, data: bytes, as_of: "dt.datetime | None" = None, explain: bool = False) -> Decision:
        """Decide for a context given as UTF-8 JSON bytes: the same decision as
        `decide(json.loads(data))`, without most of the cost of decoding and checking it.

        Raises JSONContextError when the bytes are not a JSON object, ContextError when the
        context breaks the schema."""
        context = self._decode_typed(data)
        if context is None:  # refused by the typed decoder: the careful path says why, or accepts
            return self.decide(decode_context(data), as_of, explain)
        return self._decide_decoded(context, as_of, explain)

    def _after_match(self, context: dict, s: EvalState, v: "dict | None", idx: "list[int]") -> Decision:
        """Steps 2 to 6 on the rules DECIDE matched."""
        outcomes = self._outcomes
        key = tuple(idx)
        known = outcomes.get(key)
        if known:
            actions, matched, suppressed, computed = known
            # fresh lists: a caller may change its decision's lists, never the memo's
            actions = list(actions)
            if computed:  # the params computed per context, evaluated as step 2 would
                if v is None:
                    v = self.validate(plain(context))
                params = {(r.index, j): self._params(a, s, v) for r, j, a in computed[0]}
                for pos, r, j, a in computed[1]:
                    actions[pos] = Action._make(a.action, params[r.index, j], r.id, a.priority, a.group, r.reason)
            warnings = self._warnings(s) if s.warnings else None
            d = Decision(self.name, self.version, self.hash, s, actions, list(matched),
                         list(suppressed) if suppressed else None, None, warnings)
            if not computed:
                d.outcome_key = known
            return d
        if v is None:  # DECIDE only checked the context (ruleset._lean)
            v = self.validate(plain(context))
        matched = list(map(self.rules.__getitem__, idx))
        d = self._decide(s, v, False, matched)
        if known is None:  # not seen yet: remember the outcome, or that it depends on the context
            if len(outcomes) >= OUTCOMES_MEMO_SIZE:
                outcomes.clear()
            outcomes[key] = self._outcome(d, idx, matched)
        return d

    def _outcome(self, d: Decision, idx, matched: "list[_CompiledRule]"):
        """What `_after_match` remembers of a decision for its set of matched rules, or False when
        the next decision on that set may differ in more than the computed params.

        With literal priorities everywhere (rules, their actions, the fallback actions), which
        actions survive and in what order does not depend on the context; only the params that are
        computed do. So the outcome is the decision's actions, matched rules and suppressions, plus
        every action whose params are computed: all of them in the order step 2 evaluates them
        (their warnings then come out the same), and where the surviving ones sit in the list."""
        fixed = self._fixed_priorities
        if fixed is None or not all(map(fixed.__getitem__, idx)):
            return False
        computed = [(r, j, a) for r in matched if r.proposes and r.static is None for j, a in enumerate(r.actions)]
        shared = self._shared_ids
        slots = []
        for pos, act in enumerate(d.actions):
            if id(act) in shared:
                continue
            found = [(r, j, a) for r, j, a in computed if r.id == act.rule and a.action == act.action]
            if len(found) != 1:
                return False
            slots.append((pos,) + found[0])
        return (tuple(d.actions), tuple(d.matched_rules), tuple(d.suppressed),
                (tuple(computed), tuple(slots)) if computed else None)

    def _simple_decide(self, decoded: bool = False):
        """`decide` for the simple shape (see _precompute_candidates): the matched rules map to
        precomputed, pre-ranked actions. A closure over what it reads, without attribute lookups.
        `decoded`: for contexts from the typed decoder (DECIDE then only converts them).

        When DECIDE never reads its evaluation state (no rule reads the clock, no segment is cached,
        nothing can warn: the code generator emits `_s` for each of these), no state is made and
        the decision keeps only a timestamp (or the caller's `as_of`) as its clock."""
        fused, error, after_match = self._fused, self._convert.error, self._after_match
        general, decide_each, validate = Ruleset.decide.__get__(self), self._decide, self.validate
        name, version, content_hash, has_defaults = self.name, self.version, self.hash, bool(self.defaults)
        rank1, rank_action, ids, warnings_of = self._rank1, self._rank_action, self._ids, self._warnings
        one_action_each, id_of = self._one_action_each, ids.__getitem__
        rank, ranked_later = self._ranker(), Decision._ranked_later
        stateless = not self._ns.get("DECIDE_READS_STATE", True)

        def decide(context: dict, as_of: "dt.datetime | None" = None, explain: bool = False) -> Decision:
            """Decide for one context. Raises ContextError when the context breaks the schema."""
            if explain:
                return general(plain(context) if decoded else context, as_of, True)
            if stateless:
                s, when = None, _time() if as_of is None else _clock(as_of)
            else:
                s = when = EvalState(None if as_of is None else _clock(as_of))
            try:
                v, idx = fused(context, s, decoded)
            except _Bad as b:
                raise error(b) from None
            except Exception:  # a missing field or a non-object: the careful validator says exactly what
                return decide_each(_state_at(when), validate(plain(context) if decoded else context), False)
            warnings = warnings_of(s) if s is not None and s.warnings else None
            if not idx:
                if has_defaults:
                    return after_match(context, s if s is not None else _state_at(when), v, idx)
                return Decision(name, version, content_hash, when, [], [], None, None, warnings)
            if len(idx) == 1 and one_action_each:  # always so in first mode
                i = idx[0]
                d = Decision(name, version, content_hash, when, [rank_action[rank1[i]]], [ids[i]], None, None,
                             warnings)
                d.outcome_key = rank_action[rank1[i]]  # this rule's own action: one key per rule
                return d
            return ranked_later(name, version, content_hash, when, rank, idx, list(map(id_of, idx)), warnings)
        return decide

    def _ranker(self):
        """matched rule indices -> their precomputed actions, best first (the simple shape)."""
        one_action_each, rule_ranks = self._one_action_each, self._rule_ranks
        rank_of, action_of = self._rank1.__getitem__, self._rank_action.__getitem__

        def rank(idx: "list[int]") -> "list[Action]":
            # map() over bound C methods: no Python frame per rule
            ranks = list(map(rank_of, idx)) if one_action_each else [k for i in idx for k in rule_ranks[i]]
            ranks.sort()
            return list(map(action_of, ranks))
        return rank

    def decide_many(self, contexts, as_of: "dt.datetime | None" = None, explain: bool = False) -> list[Decision]:
        """One decision per context, in order; the same results as calling `decide` one by one."""
        clock = _clock(as_of) if as_of is not None else dt.datetime.now(dt.timezone.utc)
        return [self.decide(c, clock, explain) for c in contexts]

    # -- the six steps ------------------------------------------------------------------------------
    def _decide(self, s: EvalState, v: dict, explain: bool, matched: "list[_CompiledRule] | None" = None) -> Decision:
        """Steps 1-6; `matched` comes from the fused path, else rules are evaluated one by one."""
        statuses: "dict[int, tuple[str, str]] | None" = {} if explain else None
        if matched is None:
            matched = self._matched(s, v, s.clock, statuses)
        # 2. proposals (precomputed for actions whose params and priority are literals)
        cands: list[_Candidate] = []
        all_static = True
        for r in matched:
            if r.proposes:
                if r.static is not None:
                    cands.extend(r.static)
                else:
                    all_static = False
                    cands.extend(self._propose(r, s, v))
        # 3. suppression beats proposals, whatever the priorities
        suppressed: list[Suppression] = []
        dropped: list[dict] = []
        sups = [r for r in matched if r.suppresses] if self._suppressors and cands else None
        if sups:
            kept = []
            for c in cands:
                by = next((r for r in sups if c.action in r.sup_actions or c.group in r.sup_groups
                           or (c.tags & r.sup_tags)), None)
                if by is None:
                    kept.append(c)
                else:
                    suppressed.append(Suppression(c.action, by.id, by.reason))
                    if explain:
                        dropped.append({"action": c.action, "rule": c.rule, "group": c.group,
                                        "reason": f"suppressed by rule '{by.id}'" + (f" ({by.reason})" if by.reason else "")})
            cands = kept
        # 4. group arbitration
        if self.groups and len(cands) > 1:  # every group keeps at least one: a lone candidate stays
            cands = self._arbitrate(cands, dropped if explain else None)
        # 6. one per action id, best first
        if all_static:
            cands.sort(key=_RANK)
        else:
            cands.sort(key=_ORDER)
        if self._unique_actions and not explain:
            actions = [c.result or c.make_action() for c in cands]
            cands = ()
        else:
            seen, actions = set(), []
        for c in cands:
            if c.action in seen:
                if explain:
                    dropped.append({"action": c.action, "rule": c.rule, "group": c.group,
                                    "reason": "the same action was proposed with a higher priority by another rule"})
                continue
            seen.add(c.action)
            actions.append(c.result or c.make_action())
        # 5. fallback
        if not actions and self.defaults:
            for a, shared in zip(self.defaults, self._default_actions):
                actions.append(shared or Action._make(a.action, self._params(a, s, v), "", a.priority, a.group, "", True))
        warnings = self._warnings(s) if s.warnings else None
        explanation = self._explanation(s, v, statuses, dropped, warnings or []) if explain else None
        return Decision(self.name, self.version, self.hash, s, actions, list(map(_ID, matched)), suppressed,
                        explanation, warnings)

    def _matched(self, s: EvalState, v: dict, clock, statuses) -> "list[_CompiledRule]":
        """Rule by rule, each isolated: the path for explanations and the safety net."""
        if self.mode == "first":
            winner = self._first(s, v, clock, statuses)
            sup_matched = [r for r in self._suppress_only if self._eval(r, s, v, clock, statuses)]
            return sorted(sup_matched + ([winner] if winner else []), key=lambda r: r.index)
        return [r for r in self.rules if self._eval(r, s, v, clock, statuses)]

    def _eval(self, r: _CompiledRule, s: EvalState, v: dict, clock, statuses) -> bool:
        if not r.enabled:
            if statuses is not None:
                statuses[r.index] = (DISABLED, "the rule is disabled (enabled: false)")
            return False
        if (r.start is not None or r.until is not None) and not r.in_window(clock):
            if statuses is not None:
                statuses[r.index] = (OUT_OF_WINDOW, f"the clock {clock.isoformat()} is outside the rule's effective window")
            return False
        n_warn = len(s.warnings)
        try:
            result = r.when(s, v)
        except Exception as e:  # a bug in one rule never fails the decision
            s.warn(-1, f"rule '{r.id}': {rt.describe_error(e)}")
            if statuses is not None:
                statuses[r.index] = (ERROR, rt.describe_error(e))
            return False
        if result is True:
            if statuses is not None:
                statuses[r.index] = (MATCHED, "")
            return True
        if statuses is not None:
            if len(s.warnings) > n_warn:
                statuses[r.index] = (ERROR, "; ".join(self._site_msg(k, m) for k, m in s.warnings[n_warn:]))
            else:
                statuses[r.index] = (NOT_MATCHED, "")
        elif len(s.warnings) > n_warn:
            pass  # recorded in the decision's warnings
        return False

    def _first(self, s, v, clock, statuses) -> "_CompiledRule | None":
        order = self._first_order
        if order is None:
            prios = {}
            for r in self._proposers:
                p = r.priority
                prios[r.index] = _number(self._safe(lambda: p(s, v), s, r)) if callable(p) else p
                prios[r.index] = prios[r.index] if prios[r.index] is not None else 0.0
            order = sorted(self._proposers, key=lambda r: (-prios[r.index], r.index))
        for i, r in enumerate(order):
            if self._eval(r, s, v, clock, statuses):
                if statuses is not None:
                    for later in order[i + 1:]:
                        statuses[later.index] = (SKIPPED, f"policy mode 'first': rule '{r.id}' already won")
                return r
        return None

    def _safe(self, fn, s, r):
        try:
            return fn()
        except Exception as e:
            s.warn(-1, f"rule '{r.id}': {rt.describe_error(e)}")
            return None

    def _params(self, a: _CompiledAction, s, v) -> dict:
        if not a.dynamic:
            return dict(a.static) if a.static else {}
        params = dict(a.static)
        for key, fn in a.dynamic:
            try:
                params[key] = rt.to_json(fn(s, v))
            except Exception as e:
                s.warn(-1, f"param '{key}' of action '{a.action}': {rt.describe_error(e)}")
                params[key] = None
        return params

    def _propose(self, r: _CompiledRule, s, v) -> list[_Candidate]:
        out = []
        rule_prio = None
        for j, a in enumerate(r.actions):
            p = a.priority
            if callable(p):
                if p is r.priority and rule_prio is not None:
                    value = rule_prio
                else:
                    value = _number(self._safe(lambda: p(s, v), s, r))
                    if value is None:
                        s.warn(-1, f"rule '{r.id}': the priority of '{a.action}' is not a number; using 0")
                        value = 0.0
                    if p is r.priority:
                        rule_prio = value
                p = value
            out.append(_Candidate(a.action, self._params(a, s, v), r.id, p, a.group, r.reason, a.tags, (r.index, j)))
        return out

    def _arbitrate(self, cands: list[_Candidate], dropped) -> list[_Candidate]:
        by_group: dict[str, list[_Candidate]] = {}
        for c in cands:
            if c.group in self.groups:
                by_group.setdefault(c.group, []).append(c)
        if not by_group:
            return cands
        losers = set()
        for g, members in by_group.items():
            # distinct action ids count once: the best proposal of each id competes
            members.sort(key=lambda c: (-c.priority, c.order))
            kept_ids: list[str] = []
            for c in members:
                if c.action in kept_ids:
                    continue
                if len(kept_ids) < self.groups[g]:
                    kept_ids.append(c.action)
                else:
                    losers.add(id(c))
                    if dropped is not None:
                        dropped.append({"action": c.action, "rule": c.rule, "group": g,
                                        "reason": f"group '{g}' keeps at most {self.groups[g]}: "
                                                  f"lost to higher-priority {', '.join(kept_ids)}"})
        return [c for c in cands if id(c) not in losers]

    # -- explanation --------------------------------------------------------------------------------
    def _site_msg(self, k: int, msg: str) -> str:
        sites = self._unit.sites
        return sites[k].describe(msg) if 0 <= k < len(sites) else msg

    def _warnings(self, s: EvalState) -> list[str]:
        return [self._site_msg(k, m) for k, m in s.warnings]

    def _explanation(self, s, v, statuses, dropped, warnings) -> dict:
        rules = []
        for r in self.rules:
            status, message = statuses.get(r.index, (SKIPPED, "not evaluated"))
            entry = {"rule": r.id, "status": status, "condition": "", "values": {}, "message": message}
            if r.plan.rule.description:
                entry["description"] = r.plan.rule.description
            if r.plan.rule.tags:
                entry["tags"] = list(r.plan.rule.tags)
            if status in (NOT_MATCHED, ERROR) and r.plan.when is not None:
                cond, values = self._why_not(r, s, v)
                entry["condition"], entry["values"] = cond, values
            rules.append(entry)
        return {"rules": rules, "dropped": dropped, "warnings": warnings}

    def _why_not(self, r: _CompiledRule, s: EvalState, v: dict):
        """The first sub-condition of `when` that was false or null, and the values it read."""
        ex = self._explainers.get(r.index)
        if ex is None:
            ex = self._explainers[r.index] = _Explainer(r.plan.when, self, r.id)
        return ex.explain(s, v)


class _Explainer:
    """Compiled lazily, on the first explained decision: each conjunct of a `when` and each field it reads."""

    def __init__(self, checked: Checked, ruleset: Ruleset, rule_id: str):
        node = checked.node
        conjuncts = list(node.items) if isinstance(node, n.And) else [node]
        unit = Unit(f"{ruleset.name}:explain:{rule_id}")
        seg_index = {name: i for i, name in enumerate(ruleset.plan.segment_order)}
        # segments are reached through the ruleset's own generated functions
        gen = ExprGen(unit, checked, lambda name: f"_seg_{seg_index[name]}(_s, _v)")
        self.parts = []
        for k, c in enumerate(conjuncts):
            unit.add_function(f"C{k}", gen.g(c))
            reads = []
            # `customer.tier` reads customer.tier, not the whole `customer` object it is a path of
            bases = {id(x.base) for x in n.walk(c) if isinstance(x, n.Path)}
            for sub in n.walk(c):
                if isinstance(sub, (n.Name, n.Path)) and id(sub) not in bases and _is_field_path(sub, checked) and \
                        not any(sub is x for x, _ in reads):
                    text = checked.source.text[sub.span.start:sub.span.end]
                    if text not in [t for _, t in reads]:
                        reads.append((sub, text))
            names = []
            for m, (sub, text) in enumerate(reads):
                unit.add_function(f"V{k}_{m}", gen.g(sub))
                names.append(text)
            self.parts.append((checked.source.text[c.span.start:c.span.end], names))
        ns = unit.link({f"_seg_{i}": ruleset._ns[f"S{i}"] for i in seg_index.values()})
        self.fns = [(ns[f"C{k}"], [(t, ns[f"V{k}_{m}"]) for m, t in enumerate(names)])
                    for k, (_, names) in enumerate(self.parts)]

    def explain(self, s: EvalState, v: dict):
        if s.cache is None:
            s.cache = {}  # shared with the probes: each segment is still evaluated once
        for (text, _), (fn, reads) in zip(self.parts, self.fns):
            probe = EvalState(s.clock)
            probe.cache = s.cache
            try:
                result = fn(probe, v)
            except Exception:
                result = None
            if result is not True:
                values = {}
                for name, vf in reads:
                    try:
                        values[name] = rt.to_json(vf(probe, v))
                    except Exception:
                        values[name] = None
                return " ".join(text.split()), values
        return "", {}


def _is_field_path(node, checked: Checked) -> bool:
    while isinstance(node, n.Path):
        node = node.base
    if isinstance(node, n.Name):
        ref = checked.refs.get(id(node))
        return ref is not None and ref.kind in ("input", "segment")
    return False


def _state_at(when: "EvalState | float | dt.datetime") -> EvalState:
    """A fresh evaluation state on the clock a decision already took (see `_simple_decide`)."""
    if when.__class__ is EvalState:
        return EvalState(when.clock)
    if when.__class__ is float:
        s = EvalState()
        s.ts = when
        return s
    return EvalState(when)


def _clock(as_of) -> "dt.datetime | None":
    """The decision clock as an aware datetime; None means "now" (taken when the decision starts)."""
    if as_of.__class__ is dt.datetime and as_of.tzinfo is not None:  # the service's, every time
        return as_of
    if as_of is None:
        return None
    if isinstance(as_of, str):
        as_of = rt.parse_datetime(as_of)
    if isinstance(as_of, dt.date) and not isinstance(as_of, dt.datetime):
        as_of = dt.datetime(as_of.year, as_of.month, as_of.day, tzinfo=dt.timezone.utc)
    if as_of.tzinfo is None:
        as_of = as_of.replace(tzinfo=dt.timezone.utc)
    return as_of
