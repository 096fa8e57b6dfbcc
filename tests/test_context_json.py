"""JSON contexts: the typed decoder (context_json.py) and `Ruleset.decide_json`.

The typed decoder checks a context against the schema while decoding it, and DECIDE then only
converts it. It must never change an answer: whatever it accepts converts to exactly what the
careful path (json.loads, then the validator) makes of the same bytes, and whatever it refuses
goes the careful path, with the careful path's error. These tests compare the two on every kind of
schema type, on the example rulesets' test contexts, and on thousands of mutations of them.
"""
from __future__ import annotations

import copy
import datetime as dt
import json
from decimal import Decimal
from pathlib import Path

import pytest
import yaml

import rules_engine
from rules_engine import ContextError, JSONContextError
from rules_engine.context_json import decode_context, typed_decoder
from rules_engine.schema import converter
from rules_engine.validator import _Bad

ROOT = Path(__file__).resolve().parent.parent
AS_OF = dt.datetime(2026, 11, 22, 10, 0, tzinfo=dt.timezone.utc)
RAW = "\u0000raw:"  # a string marker replaced by raw JSON text after dumping (1e400, NaN...)

WIDE = """\
ruleset: wide
context:
  customer:
    id: string
    tier: enum(gold, silver, basic)
    age: number
    score: number?
    birth_date: date
    last_login: datetime
    quiet_from: time?
    notice: duration?
    opt_in: boolean
    nickname: string?
    segments: list(string)
    scores: list(number)
    tags: list(string?)
    extra: any
    address:
      city: string
      zip: string?
    partner:
      name: string?
  purchases: "list({sku: string, amount: number, at: date?, note: any})"
rules:
  - id: big-spender
    when: sum(purchases.amount) > 100
    then: [{action: thanks, params: {total: '=sum(purchases.amount)', age: '=customer.age'}}]
  - id: quiet
    when: customer.quiet_from = null
    then: ask_quiet_hours
"""

GOOD = {
    "customer": {
        "id": "c-1", "tier": "gold", "age": 42, "score": 7.5, "birth_date": "1984-02-29",
        "last_login": "2026-11-21T08:00:00Z", "quiet_from": "22:00:00", "notice": "P30D", "opt_in": True,
        "nickname": None, "segments": ["a", "b"], "scores": [1, 2.5, 1200.0], "tags": ["x", None],
        "extra": {"k": [1, 2.25, None, "s"]},
        "address": {"city": "Lyon"}, "partner": {},
    },
    "purchases": [{"sku": "A", "amount": 10, "note": None}, {"sku": "B", "amount": 20.5, "at": "2026-01-02", "note": 1},
                  {"sku": "C", "amount": 99.99, "note": [0.5]}],
}


def dumps(ctx) -> bytes:
    text = json.dumps(ctx, separators=(",", ":"))
    # markers become raw JSON: "\u0000raw:1e400" -> 1e400
    while '"\\u0000raw:' in text:
        i = text.index('"\\u0000raw:')
        j = text.index('"', i + 1)
        text = text[:i] + text[i + len('"\\u0000raw:'):j] + text[j + 1:]
    return text.encode()


def strict(a, b) -> bool:
    """Equal, and of the same classes all the way down (1 == Decimal(1) is not enough)."""
    if a.__class__ is not b.__class__:
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(strict(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(strict(x, y) for x, y in zip(a, b))
    if isinstance(a, dt.datetime):
        return a == b and a.utcoffset() == b.utcoffset()
    return a == b or (a != a and b != b)


def careful(validate, data: bytes):
    """What the careful path makes of the bytes: the converted context, or the error it raises."""
    try:
        return validate(decode_context(data))
    except (JSONContextError, ContextError) as e:
        return e


def checked(validate, decode, data: bytes):
    """What the typed decoder and the conversions make of them; None when the decoder refuses."""
    ctx = decode(data)
    if ctx is None:
        return None
    try:
        return validate.checked(ctx)
    except _Bad as b:
        return validate.error(b)


@pytest.fixture(scope="module")
def wide():
    rs = rules_engine.compile_ruleset_text(WIDE, filename="wide.yaml")
    return rs, converter(rs.schema), typed_decoder(rs.schema)


def mutations(ctx):
    """(label, mutated context) pairs: every leaf replaced by awkward values, fields removed and
    added, list elements of the wrong kind."""
    replacements = [1200.0, 0.1, 19.990, -0.0, 10 ** 30, RAW + "1e400", RAW + "1E2", RAW + "NaN", "19.99", "",
                    True, None, [], {}, "2026-02-30", "gold", "zzz", 7]

    def walk(node, path):
        if isinstance(node, dict):
            for k in list(node):
                yield path + (k,)
                yield from walk(node[k], path + (k,))
        elif isinstance(node, list):
            for i, x in enumerate(node):
                yield path + (i,)
                yield from walk(x, path + (i,))

    def at(root, path):
        for p in path[:-1]:
            root = root[p]
        return root

    for path in list(walk(ctx, ())):
        for r in replacements:
            c = copy.deepcopy(ctx)
            at(c, path)[path[-1]] = r
            yield f"{path}={r!r}", c
        c = copy.deepcopy(ctx)
        parent = at(c, path)
        if isinstance(parent, dict):
            del parent[path[-1]]
            yield f"{path} removed", c
            c = copy.deepcopy(ctx)
            at(c, path)["zz_unknown"] = {"deep": [1.5]}
            yield f"{path[:-1]} + unknown field", c


def test_every_kind_converts_the_same_on_both_paths(wide):
    rs, validate, decode = wide
    data = dumps(GOOD)
    via_checked = checked(validate, decode, data)
    assert via_checked is not None, "the typed decoder refused a canonical context"
    assert strict(via_checked, careful(validate, data))
    # the conversions happened: exact numbers, parsed dates, FEEL values for `any`
    c = via_checked["customer"]
    assert c["score"] == Decimal("7.5") and c["scores"] == [1, Decimal("2.5"), 1200]
    assert type(c["scores"][2]) is int and c["birth_date"] == dt.date(1984, 2, 29)
    assert c["extra"] == {"k": [Decimal(1), Decimal("2.25"), None, "s"]}
    assert c["address"] == {"city": "Lyon", "zip": None} and c["partner"] == {"name": None}


def test_mutations_convert_the_same_or_fail_the_same(wide):
    rs, validate, decode = wide
    fast = refused = 0
    for label, ctx in mutations(GOOD):
        data = dumps(ctx)
        expected = careful(validate, data)
        got = checked(validate, decode, data)
        if got is None:
            refused += 1
            continue
        fast += 1
        if isinstance(expected, Exception):
            assert isinstance(got, Exception), f"{label}: accepted by the typed decoder, refused by the validator ({expected})"
            assert (type(got), str(got)) == (type(expected), str(expected)), label
        else:
            assert not isinstance(got, Exception), f"{label}: {got}"
            assert strict(got, expected), label
    # both paths were exercised: the decoder takes most, and refuses what it cannot vouch for
    assert fast > 300 and refused > 300, (fast, refused)


@pytest.mark.parametrize("raw, reason", [
    (b'{"customer": 1}', "a wrong type"),
    (b'[1, 2]', "not an object"),
    (b'{"a": 1', "truncated"),
    (b'\xef\xbb\xbf{}', "a byte order mark"),
    (b'{"s": "\\ud800"}', "a lone surrogate"),
    (b'\xff', "not UTF-8"),
    (b'', "empty"),
])
def test_the_typed_decoder_refuses_rather_than_guesses(wide, raw, reason):
    rs, validate, decode = wide
    assert decode(raw) is None, reason


def test_the_generic_decoder_words_errors_with_positions():
    with pytest.raises(JSONContextError, match=r"malformed JSON: Expecting ',' delimiter at line 1 column 9"):
        decode_context(b'{"a": 1 "b": 2}')
    with pytest.raises(JSONContextError, match="not UTF-8 at byte 6"):
        decode_context(b'{"a": \xff}')
    with pytest.raises(JSONContextError, match="NaN is not valid JSON"):
        decode_context(b'{"a": NaN}')
    with pytest.raises(JSONContextError, match="must be a JSON object, got array"):
        decode_context(b'[1]')
    with pytest.raises(JSONContextError, match="nested too deeply"):
        decode_context(b'[' * 100_000 + b']' * 100_000)
    # what msgspec refuses but JSON allows is still decoded as json.loads does
    assert decode_context(b'{"a": 1e400, "s": "\\ud800", "a2": 1, "a2": 2}') == \
        {"a": float("inf"), "s": "\ud800", "a2": 2}


def _example_cases():
    out = []
    for test_file in sorted((ROOT / "rulesets").glob("*/*.test.yaml")):
        doc = yaml.safe_load(test_file.read_text())
        out.append((test_file.with_name(test_file.name.replace(".test.yaml", ".yaml")), doc))
    return out


def _contexts(doc):
    for case in doc.get("cases") or doc.get("tests") or []:
        ctx = case.get("context")
        if isinstance(ctx, dict):
            yield json.loads(json.dumps(ctx, default=str))


def outcome(fn):
    try:
        d = fn()
    except (JSONContextError, ContextError) as e:
        return type(e).__name__, str(e)
    out = d.to_dict()
    out.pop("decision_id")
    return out, d.warnings


@pytest.mark.parametrize("ruleset_file, doc", _example_cases(), ids=lambda v: v.parent.name if isinstance(v, Path) else "")
def test_decide_json_decides_as_decide_on_the_examples_and_their_mutations(ruleset_file, doc):
    rs = rules_engine.compile_ruleset(ruleset_file)
    contexts = list(_contexts(doc))
    assert contexts
    n = 0
    for ctx in contexts:
        assert rs._decode_typed(dumps(ctx)) is not None, "an example context was refused by the typed decoder"
        for label, variant in [("as is", ctx)] + list(mutations(ctx))[::7]:
            data = dumps(variant)
            for explain in (False, True):
                want = outcome(lambda: rs.decide(decode_context(data), as_of=AS_OF, explain=explain))
                got = outcome(lambda: rs.decide_json(data, as_of=AS_OF, explain=explain))
                assert got == want, f"{ruleset_file.name} {label} explain={explain}"
            n += 1
    assert n > 100


SHAPES = {
    "lean": "",  # literal actions only: DECIDE checks, converts nothing it need not, returns no context
    "first": "policy: {mode: first}\n",
    "defaults": "defaults: [{action: fallback}]\n",
}
SMALL = """\
ruleset: small
{extra}context:
  customer: {{age: number, tier: "enum(a, b)", tags: list(string), since: date?, score: number?}}
  orders: "list({{amount: number, at: datetime?}})"
rules:
  - id: adult-a
    when: customer.age >= 18 and customer.tier = "a"
    then: x
  - id: big-order
    when: count(orders[item.amount > 100]) > 0
    then: y
  - id: recent
    when: some o in orders satisfies o.at > now() - duration("P30D")
    then: z
"""
SMALL_GOOD = {"customer": {"age": 40, "tier": "a", "tags": ["t"], "since": "2020-01-01", "score": 0.5},
              "orders": [{"amount": 150.5, "at": "2026-11-20T10:00:00Z"}, {"amount": 10}]}


@pytest.mark.parametrize("shape", SHAPES)
def test_decide_json_decides_as_decide_in_every_ruleset_shape(shape):
    rs = rules_engine.compile_ruleset_text(SMALL.format(extra=SHAPES[shape]), filename="small.yaml")
    assert rs._decode_typed(dumps(SMALL_GOOD)) is not None
    for label, ctx in [("as is", SMALL_GOOD)] + list(mutations(SMALL_GOOD)):
        data = dumps(ctx)
        for explain in (False, True):
            want = outcome(lambda: rs.decide(decode_context(data), as_of=AS_OF, explain=explain))
            got = outcome(lambda: rs.decide_json(data, as_of=AS_OF, explain=explain))
            assert got == want, f"{shape} {label} explain={explain}"


@pytest.mark.parametrize("raw", [
    # duplicate keys: the last one counts, on both paths
    b'{"customer": {"age": 1, "tier": "b", "tags": []}, "customer": {"age": 40, "tier": "a", "tags": ["t"]},'
    b' "orders": []}',
    b'{"customer": {"age": 40, "age": "forty", "tier": "a", "tags": []}, "orders": []}',
    b'{"customer": {"age": "forty", "age": 40, "tier": "a", "tags": []}, "orders": []}',
    # escapes, whitespace, unknown fields of every kind, exponents
    b' {"customer" : {"age": 4e1, "tier": "\\u0061", "tags": ["\\u00e9"], "x": {"y": [1, {"z": null}]}},\n'
    b' "orders": [{"amount": 1.5E2, "at": "2026-11-20T10:00:00+01:00", "n": [true]}]} ',
    b'{"customer": {"age": 40, "tier": "a", "tags": [], "since": null, "score": -0.0}, "orders": []}',
    b'{"customer": {"age": 18.0, "tier": "a", "tags": []}, "orders": [{"amount": 100.00000000000001}]}',
])
def test_raw_json_decides_the_same_on_both_paths(raw):
    rs = rules_engine.compile_ruleset_text(SMALL.format(extra=""), filename="small.yaml")
    want = outcome(lambda: rs.decide(json.loads(raw), as_of=AS_OF))
    assert outcome(lambda: rs.decide_json(raw, as_of=AS_OF)) == want
