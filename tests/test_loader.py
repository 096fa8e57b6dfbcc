"""YAML loading: values, positions, offset maps inside scalars, and every rejection."""
from __future__ import annotations

import os
import random
import time

import pytest
import yaml

from rules_engine import loader
from rules_engine.diagnostics import CompileError, Span
from rules_engine.loader import YMap, YScalar, YSeq, load_yaml, load_yaml_file

PARSERS = ["python"] + (["libyaml"] if getattr(yaml, "CSafeLoader", None) else [])


@pytest.fixture(params=PARSERS, autouse=True)
def parser(request, monkeypatch):
    """Run every test with PyYAML's pure-Python parser and with libyaml: both must agree."""
    cls = yaml.SafeLoader if request.param == "python" else yaml.CSafeLoader
    monkeypatch.setattr(loader, "_loader", lambda: cls)
    return request.param


def errors(text: str) -> list:
    with pytest.raises(CompileError) as info:
        load_yaml(text, "f.yaml")
    return info.value.diagnostics


def scalars(node):
    """Every scalar, keys included, in file order."""
    if isinstance(node, YMap):
        for k, v in node.items:
            yield k
            yield from scalars(v)
    elif isinstance(node, YSeq):
        for v in node.items:
            yield from scalars(v)
    else:
        yield node


def pos_of(text: str, needle: str, nth: int = 0) -> tuple[int, int]:
    """1-based line and column of the nth occurrence of needle in text."""
    at = -1
    for _ in range(nth + 1):
        at = text.index(needle, at + 1)
    line = text.count("\n", 0, at) + 1
    return line, at - (text.rfind("\n", 0, at) + 1) + 1


def expr_pos(node: YScalar, needle: str) -> tuple[int, int]:
    """Where a diagnostic on `needle` inside the scalar's value lands in the file."""
    src = node.expr_source()
    i = src.text.index(needle)
    d = src.diagnostic(Span(i, i + len(needle)), "E-X", "x")
    return d.line, d.col


# -- values -----------------------------------------------------------------------------------

def test_values_resolve_like_safe_loader_but_temporal_text_stays_text():
    root = load_yaml(
        "a: 1\nb: 1.5\nc: true\nd: ~\ne: text\nf: '1'\ng: 1_000\n"
        "date: 2026-11-22\nstamp: 2026-11-22T10:00:00Z\ntime: 10:30:00\nhm: 10:30\n", "f.yaml")
    assert root.to_python() == {
        "a": 1, "b": 1.5, "c": True, "d": None, "e": "text", "f": "1", "g": 1000,
        "date": "2026-11-22", "stamp": "2026-11-22T10:00:00Z", "time": "10:30:00", "hm": "10:30"}
    assert root.get("date").tag == "tag:yaml.org,2002:timestamp"
    assert root.get("f").style == "'" and root.get("a").style is None
    assert root.get("g").text == "1_000"


def test_explicit_standard_tags():
    root = load_yaml("a: !!str 12\nb: !!int '12'\nc: !!float 1\ne: !!str\n", "f.yaml")
    assert root.to_python() == {"a": "12", "b": 12, "c": 1.0, "e": ""}
    (d,) = errors("a: !!int twelve\n")
    assert (d.code, d.line, d.col) == ("E-YAML-TAG", 1, 4)


def test_map_helpers_and_to_python():
    root = load_yaml("b: [1, {x: y}]\na: {}\n1: one\n", "f.yaml")
    assert root.keys() == ("b", "a", 1)
    assert root.get("missing") is None and root.key_node("missing") is None
    assert root.get(1).value == "one" and root.get("1") is None  # keys are typed like values
    assert root.to_python() == {"b": [1, {"x": "y"}], "a": {}, 1: "one"}
    assert isinstance(root.get("b"), YSeq) and root.get("b").kind == "list"
    assert root.get("a").kind == "mapping" and root.get(1).kind == "string"


def test_empty_documents_give_none():
    for text in ("", "\n\n", "# only a comment\n", "---\n", "--- # c\n...\n"):
        assert load_yaml(text, "f.yaml") is None
    assert load_yaml("~\n", "f.yaml").value is None  # an explicit null is a value, not emptiness
    assert isinstance(load_yaml("- a\n", "f.yaml"), YSeq)  # the caller rejects a non-mapping top


def test_anchors_aliases_and_merge_keys_within_limits():
    text = ("base: &base {group: offer, priority: 10}\n"
            "tags: &tags [marketing, email]\n"
            "a: {<<: *base, priority: 50, tags: *tags}\n"
            "b:\n  <<: [*base, {channel: sms}]\n  group: service\n")
    root = load_yaml(text, "f.yaml")
    assert root.to_python()["a"] == {"priority": 50, "tags": ["marketing", "email"], "group": "offer"}
    assert root.to_python()["b"] == {"group": "service", "priority": 10, "channel": "sms"}
    # An aliased node is the anchored node: positions point at the definition.
    assert root.get("a").get("tags") is root.get("tags")
    assert root.get("a").get("group").line_col() == pos_of(text, "offer")
    assert load_yaml("a: '<<'\n", "f.yaml").to_python() == {"a": "<<"}
    assert load_yaml("'<<': 1\n", "f.yaml").to_python() == {"<<": 1}


# -- positions --------------------------------------------------------------------------------

def test_positions_of_nested_keys_and_values():
    text = "ruleset: r\nrules:\n  - id: first\n    then:\n      - action: winback_20\n        params: {code: X}\n"
    root = load_yaml(text, "f.yaml")
    rule = root.get("rules").items[0]
    assert rule.key_node("then").line_col() == (4, 5)
    action = rule.get("then").items[0]
    assert action.key_node("action").line_col() == (5, 9)
    assert action.get("action").line_col() == (5, 17)
    code = action.get("params").get("code")
    assert code.line_col() == pos_of(text, "X}") and text[code.start:code.end] == "X"
    d = action.get("params").diagnostic("E-UNKNOWN", "unknown key", "warning")
    assert (d.file, d.line, d.col, d.end_col, d.severity) == ("f.yaml", 6, 17, 26, "warning")
    assert root.get("rules").line_col() == (3, 3)
    assert text[root.start:root.end] == text.rstrip("\n")  # block collections end at their last item


def test_plain_one_line():
    text = "rules:\n  - when: customer.age >= 18 and customer.tierr = \"gold\"\n"
    when = load_yaml(text, "f.yaml").get("rules").items[0].get("when")
    assert expr_pos(when, "tierr") == pos_of(text, "tierr")
    assert when.style is None


def test_plain_multi_line_folds_and_keeps_columns():
    text = "when: customer.age >= 18   \n   and customer.tierr = 'gold'\n\n   or  vip\n"
    when = load_yaml(text, "f.yaml").get("when")
    assert when.text == "customer.age >= 18 and customer.tierr = 'gold'\nor  vip"
    assert expr_pos(when, "tierr") == (2, 17)
    assert expr_pos(when, "vip") == (4, 8)


def test_value_on_the_next_line():
    text = "when:\n    customer.age >= 18 and\n    customer.tierr = 1\n"
    when = load_yaml(text, "f.yaml").get("when")
    assert expr_pos(when, "tierr") == (3, 14)


def test_single_quoted_with_doubled_quote_and_folding():
    text = "greeting: '=\"Hi \" + name + ''!'' +\n    nme'\n"
    node = load_yaml(text, "f.yaml").get("greeting")
    assert node.text == "=\"Hi \" + name + '!' + nme"
    assert expr_pos(node, "nme") == (2, 5)
    src = node.expr_source()
    assert src.file_offset(src.text.index("'")) == text.index("''")  # '' maps to its first quote


def test_double_quoted_escapes():
    text = 'x: "a\\tb \\"q\\" \\u00e9\\x41 \\\\ tierr \\\n     more\\nend"\n'
    node = load_yaml(text, "f.yaml").get("x")
    assert node.text == 'a\tb "q" éA \\ tierr more\nend'
    assert expr_pos(node, "tierr") == pos_of(text, "tierr")
    assert expr_pos(node, "more") == (2, 6)
    src = node.expr_source()
    assert src.file_offset(node.text.index("é")) == text.index("\\u00e9")
    assert src.file_offset(node.text.index("\t")) == text.index("\\t")


@pytest.mark.parametrize("header, value", [
    ("|", "alpha\n  beta tierr\n\ngamma\n"),
    ("|-", "alpha\n  beta tierr\n\ngamma"),
    ("|+", "alpha\n  beta tierr\n\ngamma\n\n"),
    (">", "alpha\n  beta tierr\n\ngamma\n"),
    (">-", "alpha\n  beta tierr\n\ngamma"),
    (">+", "alpha\n  beta tierr\n\ngamma\n\n"),
    ("|2-", "alpha\n  beta tierr\n\ngamma"),  # the mapping is at column 4: indentation 4 + 2
    ("|1-", " alpha\n   beta tierr\n\n gamma"),
    ("-1 # comment", " alpha\n   beta tierr\n\n gamma"),
    ("> # comment", "alpha\n  beta tierr\n\ngamma\n"),
])
def test_block_scalars(header, value):
    header = header if header[0] in "|>" else "|" + header
    text = f"rules:\n  - when: {header}\n      alpha\n        beta tierr\n\n      gamma\n\n  - id: x\n"
    node = load_yaml(text, "f.yaml").get("rules").items[0].get("when")
    assert node.style == header[0]
    assert node.text == value
    assert expr_pos(node, "tierr") == pos_of(text, "tierr")
    assert expr_pos(node, "gamma") == (6, 7)


def test_folded_block_maps_folded_space_to_the_line_break():
    text = "when: >-\n  customer.age >= 18 and\n  customer.tierr = \"gold\"\n"
    node = load_yaml(text, "f.yaml").get("when")
    assert node.text == 'customer.age >= 18 and customer.tierr = "gold"'
    src = node.expr_source()
    assert src.file_offset(node.text.index(" customer.tierr")) == text.index("\n  customer.tierr")
    assert expr_pos(node, "tierr") == (3, 12)
    assert src.file_offset(len(node.text)) == text.rindex('"') + 1  # the end entry


def test_anchored_and_tagged_scalars_skip_their_properties():
    text = "a: &w !!str\n  x + tierr\nb: !!str &v 'y + tierr'\nc: [&z foo tierr, *w]\n"
    root = load_yaml(text, "f.yaml")
    assert expr_pos(root.get("a"), "tierr") == pos_of(text, "tierr", 0)
    assert expr_pos(root.get("b"), "tierr") == pos_of(text, "tierr", 1)
    assert expr_pos(root.get("c").items[0], "tierr") == pos_of(text, "tierr", 2)


def test_crlf_and_bom():
    text = "\ufeffa: 1\r\nwhen: >\r\n  x and\r\n  tierr\r\nb: 'p\r\n  tierr'\r\n"
    root = load_yaml(text, "f.yaml")
    assert root.to_python() == {"a": 1, "when": "x and tierr\n", "b": "p tierr"}
    assert root.key_node("a").start == 1  # offsets index the text as given, BOM included
    assert expr_pos(root.get("when"), "tierr") == (4, 3)
    assert expr_pos(root.get("b"), "tierr") == (6, 3)


def test_non_ascii_positions():
    text = "naïve: '😀 😀'\nwhen: prix_€ > 1 and tierr\n"
    root = load_yaml(text, "f.yaml")
    assert root.get("naïve").value == "😀 😀"
    assert expr_pos(root.get("when"), "tierr") == pos_of(text, "tierr")


# -- the offset-map property ------------------------------------------------------------------

ALPHABET = "abcxyz019 .,:;-_#'\"\\/!&*|>%@`?[]{}()=+é€😀\t"


def random_strings(rng: random.Random, n: int):
    for _ in range(n):
        words = ["".join(rng.choice(ALPHABET) for _ in range(rng.randint(1, 8))) for _ in range(rng.randint(1, 12))]
        s = ""
        for w in words:
            s += w + rng.choice([" ", " ", "  ", "\n", "\n\n", " \n "])
        yield s if rng.random() < 0.5 else s.strip()


def dumped_documents(seed: int):
    """YAML written by PyYAML's emitter: every style, folding, escapes, indentation indicators."""
    rng = random.Random(seed)
    for s in random_strings(rng, 150):
        style = rng.choice([None, "'", '"', "|", ">"])
        doc = {"outer": {"key": s, "list": [s, {"deep": s}]}}
        yield doc, yaml.safe_dump(doc, default_style=style, width=rng.choice([12, 30, 80]),
                                  allow_unicode=rng.random() < 0.5, indent=rng.choice([2, 4]))


def handwritten_documents(seed: int):
    """Multi-line plain and block scalars at random indentation, with blank lines and odd headers."""
    rng = random.Random(seed)
    words = ["customer.age", ">=", "18", "and", "tier", "=", '"gold"', "a#b", "é😀", "x:y", "-1"]

    def text_line() -> str:
        return " ".join(rng.choice(words) for _ in range(rng.randint(1, 4))) + rng.choice(["", "", "  "])

    for _ in range(100):
        nl = rng.choice(["\n", "\r\n"])
        header = rng.choice(["|", ">", "|-", ">-", "|+", ">+", "|1", ">2-", "|+3", "|-1", "| # note", ">- #"])
        digits = [int(c) for c in header if c.isdigit()]
        indent = 2 + (digits[0] if digits else rng.randint(1, 4))
        lines = []
        for n in range(rng.randint(1, 6)):
            more = "" if n == 0 and not digits else rng.choice(["", "", " ", "   "])
            lines.append(" " * indent + more + text_line())
            if rng.random() < 0.3:
                lines.append(" " * rng.randint(0, indent))  # a blank line, maybe with some spaces
        lines += [""] * rng.randint(0, 2)
        after = rng.choice(["", "  next: 1" + nl])
        yield None, f"k:{nl}  when: {header}{nl}" + nl.join(lines) + nl + after
        cont = " " * rng.randint(3, 6)
        plain = ["x " + text_line().strip() for _ in range(rng.randint(1, 4))]  # not starting with a quote
        body = "".join(rng.choice([nl, nl + nl, " " + nl + " " + nl]) + cont + p for p in plain[1:])
        yield None, f"k:{nl}  when:" + rng.choice([" ", nl + cont]) + plain[0] + body + nl + after


@pytest.mark.parametrize("documents", [dumped_documents, handwritten_documents])
def test_offset_map_property(documents):
    checked = 0
    for seed in range(3):
        for expected, doc in documents(seed):
            try:
                root = load_yaml(doc, "gen.yaml")
            except CompileError:
                assert expected is None  # only a hand-made layout may be invalid YAML
                continue
            # PyYAML's emitter sometimes garbles its own folding (`\\` at a fold): compare with its loader.
            assert expected is None or root.to_python() == yaml.safe_load(doc)
            for node in scalars(root):
                offsets = loader._map_scalar(node)
                assert offsets is not None, (doc, node)  # the exact re-scan, not the fallback
                src = node.expr_source()
                assert src.text == node.text and len(src.all_offsets()) == len(node.text) + 1
                assert all(a < b for a, b in zip(src.all_offsets(), src.all_offsets()[1:])), (doc, node)
                for i, ch in enumerate(node.text):
                    at = doc[src.all_offsets()[i]]
                    if ch.isalnum() and ch.isascii():
                        assert at == ch, (doc, node, i)  # ordinary characters are where they were
                    elif at != ch:  # anything else was produced by an escape or by folding a break
                        assert (at == "\\" and node.style == '"') or (at in "\r\n" and ch in " \n"), (doc, node, i)
                checked += 1
    assert checked > 500


@pytest.mark.skipif(len(PARSERS) < 2, reason="libyaml is not installed")
def test_libyaml_and_pyyaml_build_identical_trees(parser, monkeypatch):
    if parser != "python":
        pytest.skip("compares both parsers itself")
    for documents in (dumped_documents, handwritten_documents):
        for _, doc in documents(7):
            trees = []
            for cls in (yaml.SafeLoader, yaml.CSafeLoader):
                monkeypatch.setattr(loader, "_loader", lambda cls=cls: cls)
                try:
                    trees.append(load_yaml(doc, "gen.yaml"))
                except CompileError as e:
                    trees.append([(d.line, d.col, d.code) for d in e.diagnostics])
            assert trees[0] == trees[1], doc  # values, styles, tags and every start/end offset


def test_fallback_map_is_close_when_the_rescan_cannot_follow():
    src_text = "a: xyz\n"
    node = YScalar(3, 6, load_yaml(src_text, "f.yaml").file, "xyz", "xyz", '"', loader.STR)  # wrong style
    assert loader._map_scalar(node) is None
    assert node.expr_source().all_offsets() == (3, 4, 5, 6)


# -- rejections -------------------------------------------------------------------------------

def test_syntax_error_position_and_message():
    (d,) = errors("ruleset: r\nrules:\n  - when: a: b\n")
    assert (d.code, d.line, d.col) == ("E-YAML", 3, 12)
    assert "mapping values are not allowed here" in d.message
    (d,) = errors("a:\n  - x\n b: 2\n")
    assert (d.code, d.line, d.col) == ("E-YAML", 3, 2) and "indentation" in d.message
    (d,) = errors("a: 'never closed\nb: 2\n")
    assert d.code == "E-YAML" and "never closed" in d.message and "line 1, column 4" in d.message
    (d,) = errors("a: 1\n---\nb: 2\n")
    assert (d.code, d.line, d.col) == ("E-YAML", 2, 1)
    (d,) = errors("a: 'x\x07'\n")
    assert (d.code, d.line, d.col) == ("E-YAML", 1, 6) and "U+0007" in d.message


def test_duplicate_keys_are_all_reported():
    diags = errors("a: 1\nb:\n  c: 1\n  'c': 2\na: 3\n")
    assert [(d.code, d.line, d.col) for d in diags] == [("E-DUPLICATE-KEY", 4, 3), ("E-DUPLICATE-KEY", 5, 1)]
    assert "'c'" in diags[0].message and "line 3" in diags[0].message
    assert "'a'" in diags[1].message and "line 1" in diags[1].message
    (d,) = errors("x: {a: 1, a: 2}\n")
    assert (d.code, d.col) == ("E-DUPLICATE-KEY", 11)


def test_foreign_tags_are_rejected_without_running_anything(monkeypatch):
    def boom(*_):
        raise AssertionError("constructed an object from a tag")
    monkeypatch.setattr(os, "system", boom)
    diags = errors("a: !!python/object/apply:os.system ['echo pwned']\n"
                   "b: !custom x\nc: !!binary aGk=\nd: !!set {x}\ne: &e !!python/name:os.system\n")
    assert [(d.code, d.line, d.col) for d in diags] == [
        ("E-YAML-TAG", 1, 4), ("E-YAML-TAG", 2, 4), ("E-YAML-TAG", 3, 4), ("E-YAML-TAG", 4, 4), ("E-YAML-TAG", 5, 7)]
    assert "!!python/object/apply:os.system" in diags[0].message
    (d,) = errors("a: !!str {x: 1}\n")
    assert (d.code, d.col) == ("E-YAML-TAG", 4) and "cannot be used on a mapping" in d.message


def billion_laughs(levels: int = 9) -> str:
    text = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
    for prev, name in zip("abcdefghi", "bcdefghij"[:levels - 1]):
        text += f"{name}: &{name} [" + ",".join([f"*{prev}"] * 9) + "]\n"
    return text


def test_billion_laughs_fails_fast():
    started = time.monotonic()
    diags = errors(billion_laughs())
    assert time.monotonic() - started < 5
    assert [d.code for d in diags] == ["E-YAML-ALIAS"]
    assert diags[0].line == 5  # the first alias that pushes the expansion over the cap


def test_alias_count_cap_and_recursion():
    ok = "a: &a x\nl: [" + ", ".join(["*a"] * loader.MAX_ALIASES) + "]\n"
    assert len(load_yaml(ok, "f.yaml").get("l").items) == loader.MAX_ALIASES
    (d,) = errors(ok.replace("]", ", *a]"))
    assert d.code == "E-YAML-ALIAS" and "100" in d.message
    (d,) = errors("a: &a [1, *a]\n")
    assert (d.code, d.line, d.col) == ("E-YAML-ALIAS", 1, 11)
    (d,) = errors("a: *nowhere\n")
    assert d.code == "E-YAML" and "nowhere" in d.message
    (d,) = errors("a: &x 1\nb: &x 2\n")
    assert d.code == "E-YAML" and "line 1" in d.message


def test_size_and_depth_limits(tmp_path):
    big = "a: " + "x" * loader.MAX_FILE_BYTES + "\n"
    (d,) = errors(big)
    assert (d.code, d.line, d.col) == ("E-YAML-SIZE", 1, 1)
    path = tmp_path / "big.yaml"
    path.write_text(big)
    with pytest.raises(CompileError) as info:
        load_yaml_file(path)
    assert info.value.diagnostics[0].code == "E-YAML-SIZE"
    (d,) = errors("a: " + "[" * 10_000)
    assert d.code == "E-YAML-SIZE"
    assert load_yaml("a: " + "[" * 50 + "]" * 50, "f.yaml") is not None


def test_mapping_keys_must_be_scalars():
    (d,) = errors("? [a, b]\n: 1\n")
    assert (d.code, d.line, d.col) == ("E-YAML", 1, 3)
    (d,) = errors("a: &m {x: 1}\nb:\n  <<: [*m, 2]\n")
    assert (d.code, d.line, d.col) == ("E-YAML", 3, 3)


def test_load_yaml_file(tmp_path):
    path = tmp_path / "r.yaml"
    path.write_bytes("\ufeffruleset: r\nwhen: x > tierr\n".encode("utf-8"))
    root = load_yaml_file(path)
    assert root.file.name == str(path) and root.key_node("ruleset").start == 0  # BOM dropped
    assert expr_pos(root.get("when"), "tierr") == (2, 11)
    path.write_bytes(b"a: 1\nb: \xff\n")
    with pytest.raises(CompileError) as info:
        load_yaml_file(path)
    d = info.value.diagnostics[0]
    assert (d.code, d.line, d.col) == ("E-YAML", 2, 4)
