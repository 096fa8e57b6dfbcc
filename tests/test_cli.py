"""The real `rules` command, run in subprocesses: check, test, eval; output formats and exit codes.

Exit codes (interfaces.md): 0 success, 1 the rulesets or tests have problems, 2 usage error or
unreadable input.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
RULES_SCRIPT = Path(sys.executable).parent / "rules"


def rules(*args, cwd=None, stdin: "str | None" = None, script: bool = False) -> subprocess.CompletedProcess:
    cmd = [str(RULES_SCRIPT)] if script else [sys.executable, "-m", "rules_engine.cli"]
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
    return subprocess.run(cmd + [str(a) for a in args], cwd=cwd or REPO, input=stdin, capture_output=True,
                          text=True, timeout=120, env=env)


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


SHOP = """
ruleset: shop.offers
version: "7"
context:
  customer:
    age: number
    tier: enum(gold, silver)
    nps: number?
  channel: enum(web, email)
actions:
  gold_offer: {group: offer, priority: 50, tags: [marketing]}
  welcome:    {group: offer, priority: 10, tags: [marketing]}
  survey:     {priority: 5}
rules:
  - id: gold
    when: customer.tier = "gold" and customer.age >= 18
    then:
      - action: gold_offer
        params: {code: GOLD, greeting: '="Age " + string(customer.age)'}
    reason: offer.gold
  - id: welcome
    when: customer.age >= 18
    then: welcome
  - id: young
    when: customer.age < 21
    suppress: {tags: [marketing]}
    reason: eligibility.young
  - id: ask-nps
    when: customer.nps = null and channel = "web"
    then: survey
  - id: winter
    effective: {from: 2026-12-01T00:00:00Z}
    when: true
    then: survey
policy:
  groups: {offer: {max: 1}}
"""

SHOP_TESTS = """
ruleset: shop.offers
as_of: 2026-11-22T10:00:00Z
cases:
  - name: gold adult gets the gold offer
    context: {customer: {age: 30, tier: gold, nps: 9}, channel: email}
    expect:
      actions: [gold_offer]
      params: {gold_offer: {code: GOLD, greeting: Age 30}}
  - name: silver adult gets the welcome
    context: {customer: {age: 30, tier: silver, nps: 9}, channel: email}
    expect:
      actions: [welcome]
  - name: the young get no marketing
    context: {customer: {age: 19, tier: gold}, channel: web}
    expect:
      actions: [survey]
      suppressed: {gold_offer: eligibility.young, welcome: eligibility.young}
      rules: [young, ask-nps]
"""


@pytest.fixture
def shop(tmp_path) -> Path:
    """A rulesets folder with one good ruleset and its passing tests."""
    root = tmp_path / "rulesets"
    write(root / "shop" / "offers.yaml", SHOP)
    write(root / "shop" / "offers.test.yaml", SHOP_TESTS)
    return root


# -- rules check ---------------------------------------------------------------------------------------

def test_check_is_silent_on_the_example_rulesets():
    r = rules("check", "rulesets/")
    assert (r.returncode, r.stdout, r.stderr) == (0, "", "")


def test_check_defaults_to_rulesets_and_the_console_script_works():
    assert RULES_SCRIPT.exists(), "the `rules` console script is installed next to the interpreter"
    r = rules("check", script=True)
    assert (r.returncode, r.stdout, r.stderr) == (0, "", "")


def test_check_good_tmp_ruleset_is_silent(shop):
    r = rules("check", shop)
    assert (r.returncode, r.stdout, r.stderr) == (0, "", "")


BAD = """
ruleset: bad.one
context:
  customer:
    tier: enum(gold, silver)
rules:
  - id: typo
    when: >-
      customer.tier = "gold"
      and customer.teir = "gold"
    then: offer
  - id: quiet
    when: true
    suppress: {groups: [ofers]}
"""


@pytest.fixture
def bad(tmp_path) -> Path:
    return write(tmp_path / "bad" / "bad.yaml", BAD)


def test_check_text_format(bad, tmp_path):
    r = rules("check", "bad", cwd=tmp_path)
    assert r.returncode == 1
    assert r.stdout == (
        "bad/bad.yaml:9:11: error[E-UNKNOWN-FIELD]: unknown field 'customer.teir' (did you mean 'customer.tier'?)\n"
        '    9 |       and customer.teir = "gold"\n'
        "      |           ^^^^^^^^^^^^^\n"
        "bad/bad.yaml:13:15: warning[W-UNKNOWN-GROUP]: rule 'quiet' suppresses group 'ofers', which no action uses\n"
        "   13 |     suppress: {groups: [ofers]}\n"
        "      |               ^^^^^^^^^^^^^^^^^\n")
    assert r.stderr == "1 error(s), 1 warning(s) in 1 ruleset file(s)\n"


def test_check_json_format(bad, tmp_path):
    r = rules("check", "bad", "--format", "json", cwd=tmp_path)
    assert r.returncode == 1
    assert json.loads(r.stdout) == [
        {"file": "bad/bad.yaml", "line": 9, "column": 11, "end_column": 24, "severity": "error",
         "code": "E-UNKNOWN-FIELD", "message": "unknown field 'customer.teir' (did you mean 'customer.tier'?)"},
        {"file": "bad/bad.yaml", "line": 13, "column": 15, "end_column": 32, "severity": "warning",
         "code": "W-UNKNOWN-GROUP", "message": "rule 'quiet' suppresses group 'ofers', which no action uses"},
    ]


def test_check_github_format(bad, tmp_path):
    r = rules("check", "bad", "--format", "github", cwd=tmp_path)
    assert r.returncode == 1
    assert r.stdout.splitlines() == [
        "::error file=bad/bad.yaml,line=9,col=11,endColumn=24,title=E-UNKNOWN-FIELD::"
        "unknown field 'customer.teir' (did you mean 'customer.tier'?)",
        "::warning file=bad/bad.yaml,line=13,col=15,endColumn=32,title=W-UNKNOWN-GROUP::"
        "rule 'quiet' suppresses group 'ofers', which no action uses",
    ]


def test_check_json_is_silent_on_success(shop):
    r = rules("check", shop, "--format", "json")
    assert (r.returncode, r.stdout) == (0, "")


def test_warnings_pass_unless_strict(tmp_path):
    write(tmp_path / "w" / "warn.yaml", """
        ruleset: warn
        context: {x: number}
        rules:
          - id: quiet
            when: x > 1
            suppress: {groups: [nothing]}
    """)
    r = rules("check", "w", cwd=tmp_path)
    assert r.returncode == 0
    assert r.stdout.startswith("w/warn.yaml:6:15: warning[W-UNKNOWN-GROUP]: ")
    assert r.stderr == "0 error(s), 1 warning(s) in 1 ruleset file(s)\n"
    r = rules("check", "w", "--strict", cwd=tmp_path)
    assert r.returncode == 1
    assert r.stdout.startswith("w/warn.yaml:6:15: warning[W-UNKNOWN-GROUP]: ")
    r = rules("check", "w", "--strict", "--format", "github", cwd=tmp_path)
    assert r.returncode == 1 and r.stdout.startswith("::warning file=w/warn.yaml,line=6,col=15,")


def test_check_missing_path_is_a_usage_error(tmp_path):
    r = rules("check", "no/such/dir", cwd=tmp_path)
    assert r.returncode == 2
    assert r.stdout == ""
    assert "no such file or directory: no/such/dir" in r.stderr


def test_check_unknown_option_is_a_usage_error():
    r = rules("check", "--format", "xml")
    assert r.returncode == 2
    assert "invalid choice" in r.stderr


def test_one_rulesets_errors_never_hide_anothers(tmp_path, shop):
    write(tmp_path / "mixed" / "a.yaml", "ruleset: a\ncontext: {x: number}\nrules:\n  - id: r\n    when: y\n    then: z\n")
    write(tmp_path / "mixed" / "sub" / "b.yaml", "ruleset: b\ncontext: {x: numbr}\nrules:\n  - id: r\n    when: true\n    then: z\n")
    write(tmp_path / "mixed" / "c.yaml", "ruleset: c\ncontext: {x: number}\nrules:\n  - id: r\n    when: x > 1\n    then: z\n")
    write(tmp_path / "mixed" / "d.yaml", "ruleset: a\ncontext: {x: number}\nrules:\n  - id: r\n    when: x > 1\n    then: z\n")
    r = rules("check", "mixed", "--format", "json", cwd=tmp_path)
    assert r.returncode == 1
    got = [(d["file"], d["line"], d["column"], d["code"]) for d in json.loads(r.stdout)]
    assert got == [
        ("mixed/a.yaml", 5, 11, "E-UNKNOWN-FIELD"),
        ("mixed/sub/b.yaml", 2, 14, "E-BAD-TYPE"),
    ]


def test_ruleset_names_are_unique_in_a_directory(tmp_path):
    good = "ruleset: same\ncontext: {x: number}\nrules:\n  - id: r\n    when: x > 1\n    then: z\n"
    write(tmp_path / "dup" / "a.yaml", good)
    write(tmp_path / "dup" / "b" / "c.yaml", good)
    r = rules("check", "dup", cwd=tmp_path)
    assert r.returncode == 1
    assert r.stdout == "dup/b/c.yaml:1:1: error[E-DUPLICATE-ID]: ruleset name 'same' is already used by dup/a.yaml\n"


def test_check_several_paths_and_a_single_file(tmp_path, shop, bad):
    r = rules("check", shop, bad, "--format", "json")
    assert r.returncode == 1
    assert [d["code"] for d in json.loads(r.stdout)] == ["E-UNKNOWN-FIELD", "W-UNKNOWN-GROUP"]


def test_check_never_prints_a_traceback(tmp_path):
    (tmp_path / "junk").mkdir()
    for i, text in enumerate(["", "- a\n", "{{{{", "ruleset: t\n\x00", "a: &a [*a]\n", "ruleset: [\n"]):
        (tmp_path / "junk" / f"f{i}.yaml").write_text(text, encoding="utf-8")
    (tmp_path / "junk" / "latin1.yaml").write_bytes(b"ruleset: caf\xe9\n")
    r = rules("check", "junk", cwd=tmp_path)
    assert r.returncode == 1
    assert "Traceback" not in r.stdout + r.stderr
    files = {line.split(":")[0] for line in r.stdout.splitlines() if line.startswith("junk/")}
    assert files == {f"junk/f{i}.yaml" for i in range(6)} | {"junk/latin1.yaml"}


# -- rules test ---------------------------------------------------------------------------------------

def test_test_passes_on_the_examples_with_full_coverage():
    r = rules("test", "rulesets/", "--min-coverage", "100")
    assert r.returncode == 0, r.stdout + r.stderr
    last = r.stdout.splitlines()[-1]
    passed, failed = last.split(", ")
    assert passed.endswith(" passed") and int(passed.split()[0]) >= 30
    assert failed == "0 failed"


def test_test_all_passing(shop):
    r = rules("test", shop)
    assert r.returncode == 0
    assert r.stdout == "3 passed, 0 failed\n"


FAILING_TESTS = SHOP_TESTS + """
  - name: wrong order and params
    context: {customer: {age: 30, tier: gold}, channel: web}
    expect:
      actions: [survey, gold_offer]
      params: {gold_offer: {code: SILVER}}
  - name: expects a suppression that does not happen
    context: {customer: {age: 30, tier: gold, nps: 1}, channel: web}
    expect:
      suppressed: {gold_offer: eligibility.young}
      excludes: [gold_offer]
      rules: [young]
"""


def test_test_prints_failing_cases_with_readable_diffs(shop):
    write(shop / "shop" / "offers.test.yaml", FAILING_TESTS)
    r = rules("test", shop)
    assert r.returncode == 1
    f = shop / "shop" / "offers.test.yaml"
    assert r.stdout == (
        f"FAIL {f}:20: wrong order and params\n"
        '     actions: expected ["survey", "gold_offer"]\n'
        '              got      ["gold_offer", "survey"]  (same actions, different order)\n'
        '     params: gold_offer.code expected "SILVER", got "GOLD"\n'
        f"FAIL {f}:25: expects a suppression that does not happen\n"
        "     excludes: action gold_offer is present (proposed by rule 'gold')\n"
        "     rules: expected rule 'young' to match; matched: [\"gold\", \"welcome\"]\n"
        "     suppressed: expected gold_offer to be suppressed; suppressed: []\n"
        "3 passed, 2 failed\n")


def test_test_missing_and_unexpected_actions_are_named(shop):
    write(shop / "shop" / "offers.test.yaml", """
        ruleset: shop.offers
        as_of: 2026-11-22T10:00:00Z
        cases:
          - name: diff
            context: {customer: {age: 30, tier: gold, nps: 3}, channel: email}
            expect:
              actions: [welcome, survey]
    """)
    r = rules("test", shop)
    assert r.returncode == 1
    assert '     actions: expected ["welcome", "survey"]\n' in r.stdout
    assert '              got      ["gold_offer"]  (missing welcome, survey; unexpected gold_offer)\n' in r.stdout
    assert r.stdout.endswith("0 passed, 1 failed\n")


def test_test_coverage_table_and_min_coverage(shop):
    r = rules("test", shop, "--coverage")
    assert r.returncode == 0
    assert r.stdout == (
        "\ncoverage (cases in which each rule matched):\n"
        "  shop.offers: 4/5 rules\n"
        "    ok  gold (2)\n"
        "    ok  welcome (3)\n"
        "    ok  young (1)\n"
        "    ok  ask-nps (1)\n"
        "    NEVER winter\n"
        "3 passed, 0 failed\n")
    r = rules("test", shop, "--min-coverage", "80")
    assert r.returncode == 0 and r.stdout == "3 passed, 0 failed\n"
    r = rules("test", shop, "--min-coverage", "100")
    assert r.returncode == 1
    assert r.stdout.splitlines()[-2:] == [
        "3 passed, 0 failed",
        "rule coverage 80.0% is below --min-coverage 100%; never matched: shop.offers:winter"]


def test_test_junit_xml(shop, tmp_path):
    write(shop / "shop" / "offers.test.yaml", FAILING_TESTS)
    out = tmp_path / "reports" / "junit.xml"
    out.parent.mkdir()
    r = rules("test", shop, "--junit", out)
    assert r.returncode == 1
    root = ET.parse(out).getroot()
    assert root.tag == "testsuites"
    assert (root.get("tests"), root.get("failures"), root.get("errors")) == ("5", "2", "0")
    (suite,) = root.findall("testsuite")
    cases = suite.findall("testcase")
    assert [c.get("name") for c in cases] == [
        "gold adult gets the gold offer", "silver adult gets the welcome", "the young get no marketing",
        "wrong order and params", "expects a suppression that does not happen"]
    failures = [c.find("failure") for c in cases]
    assert [f is not None for f in failures] == [False, False, False, True, True]
    assert failures[3].get("message") == 'actions: expected ["survey", "gold_offer"]'
    assert 'params: gold_offer.code expected "SILVER", got "GOLD"' in failures[3].text


def test_test_file_problems_are_reported_and_fail(shop):
    write(shop / "shop" / "offers.test.yaml", """
        ruleset: shop.offer
        cases: []
    """)
    write(shop / "other.test.yaml", """
        ruleset: shop.offers
        as_of: 2026-11-22T10:00:00Z
        cases:
          - name: bad key
            context: {customer: {age: 1, tier: gold}, channel: web}
            expct: {actions: []}
          - name: bad context
            context: {customer: {age: old, tier: gold}, channel: web}
            expect: {actions: []}
    """)
    r = rules("test", shop)
    assert r.returncode == 1
    assert "Traceback" not in r.stdout + r.stderr
    assert f"{shop / 'other.test.yaml'}:6:5: error[E-UNKNOWN-KEY]: unknown key 'expct' in a case (did you mean 'expect'?)" \
        in r.stdout
    assert f"{shop / 'shop' / 'offers.test.yaml'}:1:10: error[E-UNKNOWN-RULESET]: no ruleset named 'shop.offer' was " \
           "loaded (did you mean 'shop.offers'?)" in r.stdout
    assert f"FAIL {shop / 'other.test.yaml'}:7: bad context\n" \
           "     the context breaks the schema: customer.age: expected number, got string 'old'\n" in r.stdout
    assert r.stdout.endswith("0 passed, 3 failed\n")


def test_test_missing_path_is_a_usage_error(tmp_path):
    r = rules("test", tmp_path / "nope")
    assert r.returncode == 2
    assert "no such file or directory" in r.stderr


# -- rules eval ------------------------------------------------------------------------------------------

GOLD_CTX = {"customer": {"age": 30, "tier": "gold"}, "channel": "web"}


def decision(r: subprocess.CompletedProcess) -> dict:
    assert r.returncode == 0, r.stderr
    assert r.stderr == ""
    return json.loads(r.stdout)


def test_eval_json_context_from_a_file_by_ruleset_name(shop, tmp_path):
    ctx = tmp_path / "ctx.json"
    ctx.write_text(json.dumps(GOLD_CTX))
    d = decision(rules("eval", "shop.offers", "--rulesets", shop, "--context", ctx, "--as-of", "2026-11-22T10:00:00Z"))
    assert set(d) == {"decision_id", "ruleset", "version", "ruleset_hash", "as_of", "actions", "matched_rules",
                      "suppressed"}
    assert (d["ruleset"], d["version"], d["as_of"]) == ("shop.offers", "7", "2026-11-22T10:00:00Z")
    assert len(d["ruleset_hash"]) == 64
    assert d["actions"] == [
        {"action": "gold_offer", "params": {"code": "GOLD", "greeting": "Age 30"}, "rule": "gold", "priority": 50.0,
         "group": "offer", "reason": "offer.gold", "fallback": False},
        {"action": "survey", "params": {}, "rule": "ask-nps", "priority": 5.0, "group": "", "reason": "",
         "fallback": False},
    ]
    assert d["matched_rules"] == ["gold", "welcome", "ask-nps"]
    assert d["suppressed"] == []


def test_eval_yaml_context_from_a_file_by_path(shop, tmp_path):
    ctx = write(tmp_path / "ctx.yaml", """
        # a YAML context, as in test files
        customer:
          age: 19
          tier: gold
          nps: 8
        channel: email
    """)
    d = decision(rules("eval", shop / "shop" / "offers.yaml", "--context", ctx, "--as-of", "2026-11-22T10:00:00+01:00"))
    assert d["as_of"] == "2026-11-22T10:00:00+01:00"
    assert d["actions"] == []
    assert d["matched_rules"] == ["gold", "welcome", "young"]
    assert d["suppressed"] == [{"action": "gold_offer", "rule": "young", "reason": "eligibility.young"},
                               {"action": "welcome", "rule": "young", "reason": "eligibility.young"}]


def test_eval_context_from_stdin_json_and_yaml(shop):
    path = shop / "shop" / "offers.yaml"
    d = decision(rules("eval", path, "--context", "-", "--as-of", "2026-11-22T10:00:00Z", stdin=json.dumps(GOLD_CTX)))
    assert [a["action"] for a in d["actions"]] == ["gold_offer", "survey"]
    yaml_ctx = "customer: {age: 40, tier: silver, nps: 10}\nchannel: web\n"
    d = decision(rules("eval", path, "--context", "-", "--as-of", "2026-11-22T10:00:00Z", stdin=yaml_ctx))
    assert [a["action"] for a in d["actions"]] == ["welcome"]


def test_eval_as_of_drives_effective_windows_and_defaults_to_now(shop):
    path = shop / "shop" / "offers.yaml"
    ctx = json.dumps({"customer": {"age": 40, "tier": "silver", "nps": 10}, "channel": "email"})
    before = decision(rules("eval", path, "--context", "-", "--as-of", "2026-11-30T23:59:59Z", stdin=ctx))
    after = decision(rules("eval", path, "--context", "-", "--as-of", "2026-12-01T00:00:00Z", stdin=ctx))
    assert [a["action"] for a in before["actions"]] == ["welcome"]
    assert [a["action"] for a in after["actions"]] == ["welcome", "survey"]
    now = decision(rules("eval", path, "--context", "-", stdin=ctx))
    assert now["as_of"].endswith("Z") and now["as_of"] >= "2026"


def test_eval_explain(shop):
    d = decision(rules("eval", shop / "shop" / "offers.yaml", "--context", "-", "--as-of", "2026-11-22T10:00:00Z",
                       "--explain", stdin=json.dumps({"customer": {"age": 30, "tier": "silver", "nps": 5},
                                                      "channel": "web"})))
    ex = d["explanation"]
    assert set(ex) == {"rules", "dropped", "warnings"}
    status = {r["rule"]: r["status"] for r in ex["rules"]}
    assert status == {"gold": "not_matched", "welcome": "matched", "young": "not_matched",
                      "ask-nps": "not_matched", "winter": "out_of_window"}
    gold = next(r for r in ex["rules"] if r["rule"] == "gold")
    assert (gold["condition"], gold["values"]) == ('customer.tier = "gold"', {"customer.tier": "silver"})
    ask = next(r for r in ex["rules"] if r["rule"] == "ask-nps")
    assert (ask["condition"], ask["values"]) == ("customer.nps = null", {"customer.nps": 5})


def test_eval_invalid_context_names_the_field(shop):
    r = rules("eval", shop / "shop" / "offers.yaml", "--context", "-",
              stdin=json.dumps({"customer": {"age": 30, "tier": "platinum"}, "channel": "web"}))
    assert r.returncode == 1
    assert r.stdout == ""
    assert r.stderr == ("rules eval: invalid context: customer.tier: expected enum(gold, silver), "
                        "got string 'platinum'\n")
    r = rules("eval", shop / "shop" / "offers.yaml", "--context", "-", stdin=json.dumps({"channel": "web"}))
    assert r.returncode == 1
    assert "invalid context: customer: expected" in r.stderr


def test_eval_unreadable_input_exits_2(shop, tmp_path):
    path = shop / "shop" / "offers.yaml"
    r = rules("eval", path, "--context", tmp_path / "missing.json")
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr.startswith(f"rules eval: cannot read context {tmp_path / 'missing.json'}")
    r = rules("eval", path, "--context", "-", stdin="{not json: [")
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr.startswith("rules eval: the context is neither JSON nor YAML")
    assert "Traceback" not in r.stderr
    (tmp_path / "bin.json").write_bytes(b"\xff\xfe\x00garbage")
    r = rules("eval", path, "--context", tmp_path / "bin.json")
    assert r.returncode == 2 and "Traceback" not in r.stderr


def test_eval_usage_errors_exit_2(shop, tmp_path):
    path = shop / "shop" / "offers.yaml"
    ctx = json.dumps(GOLD_CTX)
    r = rules("eval", path, "--context", "-", "--as-of", "2026-11-22T10:00:00", stdin=ctx)
    assert r.returncode == 2
    assert "--as-of must be an ISO 8601 date-time with an offset" in r.stderr
    r = rules("eval", path, "--context", "-", "--as-of", "next tuesday", stdin=ctx)
    assert r.returncode == 2
    r = rules("eval", "shop.ofers", "--rulesets", shop, "--context", "-", stdin=ctx)
    assert r.returncode == 2
    assert r.stderr.endswith(f"rules eval: no ruleset named 'shop.ofers' in {shop} (did you mean 'shop.offers'?)\n")
    r = rules("eval", "shop.offers", "--rulesets", tmp_path / "nowhere", "--context", "-", stdin=ctx)
    assert r.returncode == 2
    r = rules("eval", path)
    assert r.returncode == 2 and "--context" in r.stderr


def test_eval_a_ruleset_that_does_not_compile_exits_1(bad, tmp_path):
    r = rules("eval", bad, "--context", "-", stdin="{}")
    assert r.returncode == 1
    assert r.stdout == ""
    assert f"{bad}:9:11: error[E-UNKNOWN-FIELD]" in r.stderr


def test_eval_the_example_rulesets_by_name():
    ctx = {
        "customer": {"id": "c1", "first_name": "Ana", "birth_date": "1985-04-02", "deceased": False,
                     "unsubscribed": False, "email_opt_in": True, "lifetime_value": 1200, "nps": 7,
                     "open_complaint": False},
        "interaction": {"channel": "web", "event": "checkout",
                        "basket": [{"sku": "CAM-100", "category": "camera", "price": 649.00}]},
        "contacts": [],
        "purchases": [{"sku": "TSHIRT-1", "category": "clothing", "amount": 19.99, "date": "2026-09-30"}],
    }
    d = decision(rules("eval", "retail.treatment", "--context", "-", "--as-of", "2026-10-15T10:00:00Z",
                       stdin=json.dumps(ctx)))
    assert [a["action"] for a in d["actions"]] == ["camera_bundle"]
    assert d["actions"][0]["params"] == {"bundle": "memory-card-and-case", "discount": 0.15}
