"""Safe YAML loading that keeps source positions.

`load_yaml` parses one YAML document into a small tree of `YMap` / `YSeq` / `YScalar` nodes, each
knowing its character range in the file, so every later diagnostic can point at what the analyst
wrote. We read PyYAML's safe *event* stream (libyaml when available) and compose the tree ourselves:
that is where duplicate keys, foreign tags, alias bombs and absurd nesting are caught, before
anything is built. No object is ever constructed from a tag.

`YScalar.expr_source()` re-scans the raw scalar in the file to map each character of its value back
to the file offset that produced it, through quoting, escapes, line folding and block indentation.
"""
from __future__ import annotations

import functools
import os
import re
from dataclasses import dataclass, field
from typing import Any, Callable

import yaml
from yaml.constructor import SafeConstructor
from yaml.reader import Reader
from yaml.resolver import Resolver
from yaml.scanner import Scanner

from .diagnostics import ERROR, CompileError, Diagnostic, ExprSource, SourceFile, slot_init

__all__ = [
    "YNode", "YMap", "YSeq", "YScalar", "load_yaml", "load_yaml_file",
    "MAX_FILE_BYTES", "MAX_ALIASES", "MAX_ALIAS_NODES", "MAX_DEPTH",
]

MAX_FILE_BYTES = 5 * 1024 * 1024   # larger files are rejected unread
MAX_ALIASES = 100                   # alias references per file
MAX_ALIAS_NODES = 10_000            # nodes that alias expansion may add, all aliases together
MAX_DEPTH = 100                     # nesting of lists/mappings; keeps every tree walk shallow

_T = "tag:yaml.org,2002:"
STR, INT, FLOAT, BOOL, NULL, TIMESTAMP = (_T + n for n in ("str", "int", "float", "bool", "null", "timestamp"))
MAP, SEQ = _T + "map", _T + "seq"
_MERGE, _VALUE = _T + "merge", _T + "value"
_SCALAR_TAGS = frozenset({STR, INT, FLOAT, BOOL, NULL, TIMESTAMP})  # explicit tags we accept

_BREAKS = "\r\n\x85\u2028\u2029"
_NON_SPACE = re.compile(r"\S+")
_RESOLVER = Resolver()
_CONSTRUCTOR = SafeConstructor()


# ------------------------------------------------------------------------------------------------
# Nodes


@dataclass(frozen=True, slots=True)
class YNode:
    """A YAML node and its half-open character range [start, end) in `file`.

    A node reached through an alias is the anchored node itself: its positions are the anchor's.
    """
    start: int
    end: int
    file: SourceFile = field(compare=False, repr=False)

    kind = "node"  # for messages: "mapping", "list", "string", "number", "boolean", "null"

    def to_python(self) -> Any:
        """Plain dicts, lists and scalar values."""
        raise NotImplementedError

    def line_col(self) -> tuple[int, int]:
        """1-based line and column where the node starts."""
        return self.file.line_col(self.start)

    def diagnostic(self, code: str, message: str, severity: str = ERROR) -> Diagnostic:
        """A diagnostic spanning this node."""
        return Diagnostic.at(self.file, self.start, self.end, code, message, severity)


@slot_init
@dataclass(frozen=True, slots=True)
class YScalar(YNode):
    """A scalar: `text` as YAML read it, `value` resolved the SafeLoader way, timestamps left as text.

    `style` is None (plain), "'", '"', '|' or '>'; `tag` the resolved tag, e.g. 'tag:yaml.org,2002:int'.
    """
    value: Any
    text: str
    style: "str | None"
    tag: str

    @property
    def kind(self) -> str:  # type: ignore[override]
        v = self.value
        if v is None:
            return "null"
        if isinstance(v, bool):
            return "boolean"
        return "number" if isinstance(v, (int, float)) else "string"

    def to_python(self) -> Any:
        return self.value

    def expr_source(self) -> ExprSource:
        """`text` with the file offset of every character, for diagnostics inside expressions."""
        def offsets() -> "tuple[int, ...]":
            mapped = _map_scalar(self)
            return tuple(mapped if mapped is not None else _align(self))
        return ExprSource(self.text, self.file, mapper=offsets)


@slot_init
@dataclass(frozen=True, slots=True)
class YSeq(YNode):
    """A list."""
    items: "tuple[YNode, ...]"

    kind = "list"

    def to_python(self) -> list:
        return [item.to_python() for item in self.items]


def _key_id(value: Any) -> tuple:
    # Type-strict so that `true`, `1` and `1.0` stay distinct keys, as an analyst reads them.
    return (type(value), value)


@dataclass(frozen=True, slots=True)
class YMap(YNode):
    """A mapping with scalar keys, in file order (merged `<<` keys after the mapping's own)."""
    items: "tuple[tuple[YScalar, YNode], ...]"
    _index: dict = field(init=False, repr=False, compare=False)

    kind = "mapping"

    def __post_init__(self) -> None:  # _key_id written out: a mapping is built, and read, per rule
        object.__setattr__(self, "_index", {(type(k.value), k.value): (k, v) for k, v in self.items})

    def get(self, key: Any) -> "YNode | None":
        hit = self._index.get((type(key), key))
        return hit[1] if hit else None

    def key_node(self, key: Any) -> "YScalar | None":
        hit = self._index.get(_key_id(key))
        return hit[0] if hit else None

    def keys(self) -> tuple:
        return tuple(k.value for k, _ in self.items)

    def to_python(self) -> dict:
        return {k.value: v.to_python() for k, v in self.items}


_YMAP_SLOTS = tuple(getattr(YMap, name).__set__ for name in ("start", "end", "file", "items", "_index"))


def _new_ymap(start: int, end: int, file: SourceFile, items: tuple, index: dict) -> YMap:
    """YMap(start, end, file, items) given the index its __post_init__ would build from `items`:
    the composer has it already, from checking for duplicate keys (20,000 mappings at 10,000
    rules). The slots are set through their descriptors, as `slot_init` does."""
    node = object.__new__(YMap)
    set_start, set_end, set_file, set_items, set_index = _YMAP_SLOTS
    set_start(node, start)
    set_end(node, end)
    set_file(node, file)
    set_items(node, items)
    set_index(node, index)
    return node


# ------------------------------------------------------------------------------------------------
# Loading


def load_yaml(text: str, filename: str = "<string>") -> "YNode | None":
    """Parse one YAML document safely; None when it is empty. Raises CompileError listing problems."""
    if len(text) > MAX_FILE_BYTES // 4:  # only then can it exceed the limit in UTF-8 bytes
        size = len(text.encode("utf-8", "surrogatepass"))
        if size > MAX_FILE_BYTES:  # before SourceFile indexes every line of it
            raise CompileError([_too_big(SourceFile(filename, ""), size)])
    return _load(SourceFile(filename, text))


def load_yaml_file(path: "str | os.PathLike[str]") -> "YNode | None":
    """Read a UTF-8 file (a BOM is dropped) and `load_yaml` it. OSError propagates."""
    name = os.fspath(path)
    size = os.path.getsize(name)
    if size > MAX_FILE_BYTES:  # refuse before reading it into memory
        raise CompileError([_too_big(SourceFile(name, ""), size)])
    with open(name, "rb") as f:
        data = f.read()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        src = SourceFile(name, data.decode("utf-8-sig", "replace"))
        at = len(data[:e.start].decode("utf-8-sig", "replace"))
        raise CompileError([Diagnostic.at(src, at, at + 1, "E-YAML",
                                          f"the file is not valid UTF-8 (byte 0x{data[e.start]:02x})")]) from None
    return _load(SourceFile(name, text))


def _too_big(src: SourceFile, size: int) -> Diagnostic:
    return Diagnostic.at(src, 0, 0, "E-YAML-SIZE",
                         f"file is {size / 1048576:.1f} MB; the limit is {MAX_FILE_BYTES // 1048576} MB")


def _load(src: SourceFile) -> "YNode | None":
    text = src.text
    bad = [Diagnostic.at(src, m.start(), m.start() + 1, "E-YAML",
                         f"character U+{ord(m.group()):04X} is not allowed in YAML")
           for _, m in zip(range(20), Reader.NON_PRINTABLE.finditer(text))]
    if bad:
        raise CompileError(bad)
    # libyaml skips a BOM without counting it, PyYAML counts it: parse without, shift positions back.
    base = 1 if text.startswith("\ufeff") else 0
    composer = _Composer(src, base)
    root = composer.run(text[base:] if base else text, _loader())
    if composer.diags:
        raise CompileError(composer.diags)
    if isinstance(root, YScalar) and root.text == "" and root.style is None and root.tag == NULL:
        return None  # a bare '---'
    return root


@functools.lru_cache(maxsize=None)
def _loader() -> type:
    """libyaml's safe loader if present and its marks count characters; else PyYAML's own."""
    fast = getattr(yaml, "CSafeLoader", None)
    if fast is not None:
        try:
            marks = [e.start_mark.index for e in yaml.parse("é: 😀\nb: c\n", Loader=fast)
                     if isinstance(e, yaml.ScalarEvent)]
            if marks == [0, 3, 5, 8]:
                return fast
        except Exception:  # a broken extension must not stop us: the pure-Python parser works
            pass
    return yaml.SafeLoader


class _Abort(Exception):
    """Stop composing: the diagnostics so far say why."""


class _Frame:
    __slots__ = ("is_map", "start", "flow", "anchor", "children", "size", "end")

    def __init__(self, is_map: bool, start: int, flow: bool, anchor: "str | None"):
        self.is_map, self.start, self.flow, self.anchor = is_map, start, flow, anchor
        self.children: list[YNode] = []
        self.size = 1       # nodes this collection stands for once aliases are expanded
        self.end = start


class _Composer:
    """Builds Y-nodes from parser events, checking what PyYAML's composer would let through."""

    def __init__(self, src: SourceFile, base: int):
        self.src, self.base = src, base
        self.diags: list[Diagnostic] = []
        self.stack: list[_Frame] = []
        self.anchors: dict[str, tuple[YNode, int]] = {}  # name -> (node, expanded size)
        self.open_anchors: set[str] = set()               # anchors of collections being built
        self.root: "YNode | None" = None
        self.documents = 0
        self.aliases = 0
        self.alias_nodes = 0
        self.resolved: dict = {}  # event.implicit -> {scalar text: (tag, value)}, see `scalar`
        self.str_tags: dict = {}  # event.implicit (not plain) -> whether every text resolves to a string
        self.handlers: dict[type, Callable] = {
            yaml.ScalarEvent: self.scalar, yaml.AliasEvent: self.alias,
            yaml.MappingStartEvent: self.start_collection, yaml.SequenceStartEvent: self.start_collection,
            yaml.MappingEndEvent: self.end_collection, yaml.SequenceEndEvent: self.end_collection,
            yaml.DocumentStartEvent: self.document,
        }

    def run(self, text: str, loader: type) -> "YNode | None":
        handlers = self.handlers
        parser = loader(text)
        get_event, end, scalar_event = parser.get_event, yaml.StreamEndEvent, yaml.ScalarEvent
        stack, src, base, str_tags = self.stack, self.src, self.base, self.str_tags
        implicit_value = self.implicit_value
        try:  # what yaml.parse does, without a generator and a check_event call per event
            while True:
                event = get_event()
                cls = event.__class__
                if cls is scalar_event and event.tag is None and event.anchor is None and stack:
                    # What `scalar` does for an untagged, unanchored item, without a call: 90,000 of
                    # them at 10,000 rules.
                    value = event.value
                    implicit = event.implicit
                    if not implicit[0] and str_tags.get(implicit):
                        tag = STR  # quoted: the resolver gives the default tag, whatever the text
                    else:
                        tag, value = implicit_value(value, implicit)
                    end_at = event.end_mark.index + base
                    top = stack[-1]
                    top.children.append(YScalar(event.start_mark.index + base, end_at, src, value, event.value,
                                                event.style or None, tag))
                    top.size += 1
                    top.end = end_at
                    continue
                if cls is end:
                    break
                handler = handlers.get(cls)
                if handler is not None:
                    handler(event)
        except _Abort:
            pass
        except yaml.MarkedYAMLError as e:
            mark = e.problem_mark or e.context_mark
            at = mark.index + self.base if mark else 0
            message = _readable(e)
            if self.src.text[at:at + 1] == "\t" and "cannot start any token" in (e.problem or ""):
                message = "tab character here: indent YAML with spaces"  # libyaml does not name the tab
            code = "E-YAML"
            if "maximum nesting depth" in (e.problem or ""):
                # the libyaml in newer PyYAML wheels (6.0.4 here) stops at 1,000 levels while it scans
                # ahead, before our own check at MAX_DEPTH sees the events: the same limit, reported alike
                code, message = "E-YAML-SIZE", f"lists and mappings nest more than {MAX_DEPTH} levels deep"
            self.error(at, at + 1, code, message)
        finally:
            parser.dispose()
        return self.root

    # -- helpers --------------------------------------------------------------------------------
    def implicit_value(self, text: str, implicit: tuple) -> tuple:
        """(tag, value) of an untagged scalar, remembered per file: the same keys, ids and numbers
        recur thousands of times in a large ruleset, and the resolver tries a regular expression
        or more on each."""
        memo = self.resolved.get(implicit)
        if memo is None:
            memo = self.resolved[implicit] = {}
        hit = memo.get(text)
        if hit is None:
            hit = memo[text] = self.resolve(text, implicit)
        return hit

    def resolve(self, text: str, implicit: tuple) -> tuple:
        """(tag, value) of an untagged scalar. Only a plain scalar's tag depends on its text: for
        the others the resolver gives its default tag, so once it has been a string, `run` takes
        it as one without asking (the 10,000 conditions of 10,000 rules are all distinct)."""
        tag, value = _implicit_value(_RESOLVER.resolve(yaml.ScalarNode, text, implicit), text)
        if not implicit[0]:
            self.str_tags[implicit] = tag == STR and value is text
        return tag, value

    def error(self, start: int, end: int, code: str, message: str) -> None:
        self.diags.append(Diagnostic.at(self.src, start, end, code, message))

    def pos(self, mark) -> int:
        return mark.index + self.base

    def line(self, offset: int) -> int:
        return self.src.line_col(offset)[0]

    def add(self, node: YNode, size: int, anchor: "str | None", end: int) -> None:
        if anchor is not None:
            if anchor in self.anchors:
                first = self.anchors[anchor][0]
                self.error(node.start, node.start + 1, "E-YAML",
                           f"anchor &{anchor} is already defined on line {self.line(first.start)}")
            self.anchors[anchor] = (node, size)
        if self.stack:
            top = self.stack[-1]
            top.children.append(node)
            top.size += size
            top.end = end
        else:
            self.root = node

    def bad_tag(self, start: int, tag: str, kind: str) -> None:
        # Underline the tag itself: the node may start at an anchor written before it.
        line_end = self.src.text.find("\n", start)
        at = self.src.text.find("!", start, None if line_end < 0 else line_end)
        at = start if at < 0 else at
        m = _NON_SPACE.match(self.src.text, at)
        if tag in _SCALAR_TAGS or tag in (MAP, SEQ):
            message = f"tag {_short_tag(tag)} cannot be used on a {kind}"
        else:
            message = f"tag {_short_tag(tag)} is not allowed: only plain values, lists and mappings are accepted"
        self.error(at, m.end() if m else at + 1, "E-YAML-TAG", message)

    # -- events ---------------------------------------------------------------------------------
    def document(self, event) -> None:
        self.documents += 1
        if self.documents > 1:
            at = self.pos(event.start_mark)
            self.error(at, at + 3, "E-YAML", "a ruleset file holds one YAML document, but a second one starts here")
            raise _Abort

    def scalar(self, event) -> None:
        base = self.base
        start, end = event.start_mark.index + base, event.end_mark.index + base
        text, tag = event.value, event.tag
        if tag is not None and tag != "!" and tag not in _SCALAR_TAGS:
            self.bad_tag(start, tag, "value")
            tag = None
        if tag is None or tag == "!":
            tag, value = self.implicit_value(text, event.implicit)
        else:
            value = _explicit_value(tag, text)
            if value is _INVALID:
                self.error(start, end, "E-YAML-TAG", f"{text!r} is not a valid {_short_tag(tag)}")
                tag, value = STR, text
        self.add(YScalar(start, end, self.src, value, text, event.style or None, tag), 1, event.anchor, end)

    def alias(self, event) -> None:
        start, end = self.pos(event.start_mark), self.pos(event.end_mark)
        name = event.anchor
        if name in self.open_anchors:
            self.error(start, end, "E-YAML-ALIAS", f"alias *{name} refers to a node that contains it")
        elif name not in self.anchors:
            self.error(start, end, "E-YAML", f"alias *{name} has no anchor &{name} before it")
        else:
            node, size = self.anchors[name]
            self.aliases += 1
            self.alias_nodes += size
            if self.aliases > MAX_ALIASES:
                self.error(start, end, "E-YAML-ALIAS", f"too many aliases: more than {MAX_ALIASES} in one file")
                raise _Abort
            if self.alias_nodes > MAX_ALIAS_NODES:
                self.error(start, end, "E-YAML-ALIAS",
                           f"aliases expand to more than {MAX_ALIAS_NODES:,} nodes (nested aliases multiply)")
                raise _Abort
            self.add(node, size, None, end)
            return
        self.add(YScalar(start, end, self.src, None, "", None, NULL), 1, None, end)  # placeholder

    def start_collection(self, event) -> None:
        start = self.pos(event.start_mark)
        if len(self.stack) >= MAX_DEPTH:
            self.error(start, start + 1, "E-YAML-SIZE", f"lists and mappings nest more than {MAX_DEPTH} levels deep")
            raise _Abort
        is_map = isinstance(event, yaml.MappingStartEvent)
        if event.tag not in (None, "!", MAP if is_map else SEQ):
            self.bad_tag(start, event.tag, "mapping" if is_map else "list")
        if event.anchor is not None:
            self.open_anchors.add(event.anchor)
        self.stack.append(_Frame(is_map, start, bool(event.flow_style), event.anchor))

    def end_collection(self, event) -> None:
        frame = self.stack.pop()
        # A block collection's end event sits at the next token, maybe lines later: end at the last item.
        end = self.pos(event.end_mark) if frame.flow else frame.end
        if frame.is_map:
            node: YNode = _new_ymap(frame.start, end, self.src, *self.map_items(frame.children))
        else:
            node = YSeq(frame.start, end, self.src, tuple(frame.children))
        if frame.anchor is not None:
            self.open_anchors.discard(frame.anchor)
        self.add(node, frame.size, frame.anchor, end)

    def map_items(self, children: list[YNode]) -> "tuple[tuple, dict]":
        """The mapping's items and its index (what YMap.__post_init__ builds: _key_id -> item)."""
        items, index, merges = [], {}, []
        first_merge = None  # the first '<<' key
        for key, value in zip(children[0::2], children[1::2]):
            if not isinstance(key, YScalar):
                self.error(key.start, key.end, "E-YAML", f"a mapping key must be a single value, not a {key.kind}")
                continue
            merge = key.tag == _MERGE and key.style is None
            if merge:
                first = first_merge
            else:
                kid = (type(key.value), key.value)  # _key_id
                first = index.get(kid)
                first = first and first[0]
            if first is not None:
                self.error(key.start, key.end, "E-DUPLICATE-KEY",
                           f"duplicate key '{key.text}': first defined on line {self.line(first.start)}")
                continue
            if merge:
                first_merge = key
                merges.append((key, value))
            else:
                item = index[kid] = (key, value)
                items.append(item)
        for merge_key, value in merges:  # '<<: *base' or '<<: [*a, *b]': own keys win, then earlier maps
            sources = value.items if isinstance(value, YSeq) else (value,)
            for source in sources:
                if not isinstance(source, YMap):
                    self.error(merge_key.start, merge_key.end, "E-YAML",
                               f"'<<' merges mappings into this one, but here it is given a {source.kind}")
                    continue
                for key, item in source.items:
                    kid = _key_id(key.value)
                    if kid not in index:
                        item = index[kid] = (key, item)
                        items.append(item)
        return tuple(items), index


_INVALID = object()


def _implicit_value(tag: str, text: str) -> tuple[str, Any]:
    """Resolved tag and value of an untagged scalar, the SafeLoader way with two exceptions."""
    if tag == STR:
        return tag, text
    if tag == NULL:
        return tag, None
    if tag == BOOL:
        return tag, SafeConstructor.bool_values[text.lower()]
    if tag in (INT, FLOAT):
        if ":" in text:  # YAML 1.1 base-60 (`10:30:00` -> 37800): analysts mean a time, keep the text
            return STR, text
        node = yaml.ScalarNode(tag, text)
        return tag, (_CONSTRUCTOR.construct_yaml_int(node) if tag == INT else _CONSTRUCTOR.construct_yaml_float(node))
    if tag == _VALUE:  # a lone '=' (YAML 1.1 "value" key): SafeLoader cannot even build it
        return STR, text
    return tag, text  # timestamps (we parse temporal values ourselves) and '<<'


def _explicit_value(tag: str, text: str) -> Any:
    """Value of a scalar with an accepted explicit tag, or _INVALID when the text does not fit."""
    if tag in (STR, TIMESTAMP):
        return text
    implicit = _RESOLVER.resolve(yaml.ScalarNode, text, (True, False))
    if implicit != tag and not (tag == FLOAT and implicit == INT):
        return _INVALID
    if tag == NULL:
        return None
    if tag == BOOL:
        return SafeConstructor.bool_values[text.lower()]
    node = yaml.ScalarNode(tag, text)
    return _CONSTRUCTOR.construct_yaml_int(node) if tag == INT else _CONSTRUCTOR.construct_yaml_float(node)


def _short_tag(tag: str) -> str:
    return "!!" + tag[len(_T):] if tag.startswith(_T) else tag


# PyYAML and libyaml name the same problems differently; say them once, in an analyst's words.
_TOKENS = {
    "<block end>": "the end of the indented block", "<block mapping start>": "a new indented mapping",
    "<block sequence start>": "a new indented list", "<block entry>": "a '-' list item",
    "<flow sequence start>": "'['", "<flow sequence end>": "']'", "<flow mapping start>": "'{'",
    "<flow mapping end>": "'}'", "<flow entry>": "','", "<key>": "a key", "<value>": "':'",
    "<scalar>": "a value", "<alias>": "an alias", "<anchor>": "an anchor", "<tag>": "a tag",
    "<stream start>": "the start of the file", "<stream end>": "the end of the file",
    "<document start>": "'---'", "<document end>": "'...'", "<directive>": "a directive",
    "?": "a mapping key", "-": "a '-' list item",
}
_TOKEN_RE = re.compile(r"'?(<[a-z ]+>|[?-])'?(?=$|,| or)")
_REWRITES = [
    (re.compile(r"mapping values are not allowed (here|in this context)"),
     "mapping values are not allowed here (put a value that contains ': ' in quotes)"),
    (re.compile(r"found character '\\t' that cannot start any token|found a tab character.*"),
     "tab character here: indent YAML with spaces"),
    (re.compile(r"found character '(.*)' that cannot start any token"),
     r"a value cannot start with '\1' (put it in quotes)"),
    (re.compile(r"found character that cannot start any token"),
     "a value cannot start with this character (put it in quotes)"),
    (re.compile(r"found unknown escape character '(.*)'"),
     r"unknown escape '\\\1' in a double-quoted string (write '\\\\' for a backslash, or use single quotes)"),
    (re.compile(r"found unknown escape character$"),
     r"unknown escape in a double-quoted string (write '\\\\' for a backslash, or use single quotes)"),
    (re.compile(r"found unexpected (end of stream|document indicator)"), "this quoted string is never closed"),
    (re.compile(r"did not find expected node content"), "expected a value here"),
    (re.compile(r"did not find expected key"), "expected a key here: check the indentation"),
    (re.compile(r"did not find expected '-' indicator"), "expected a '-' list item here: check the indentation"),
    (re.compile(r"expected the end of the indented block, but found .*"), r"\g<0>: check the indentation"),
]
_CONTEXTS = {
    "block mapping": "mapping", "block collection": "list", "flow sequence": "[...] list",
    "flow mapping": "{...} mapping", "quoted scalar": "quoted string", "double-quoted scalar": "quoted string",
    "single-quoted scalar": "quoted string", "simple key": "key", "plain scalar": "value",
    "block scalar": "block text", "block node": "value", "flow node": "value", "node": "value",
}


def _readable(e: yaml.MarkedYAMLError) -> str:
    """PyYAML's problem text with token names and jargon replaced."""
    problem = e.problem or e.context or "invalid YAML"
    problem = _TOKEN_RE.sub(lambda m: _TOKENS.get(m.group(1), m.group(0)), problem)
    for pattern, replacement in _REWRITES:
        if pattern.search(problem):
            problem = pattern.sub(replacement, problem)
            break
    mark = e.context_mark
    if e.context and mark is not None and (e.problem_mark is None or mark.line != e.problem_mark.line):
        what = re.sub(r"^while (parsing|scanning) (an? )?", "", e.context)
        problem += f" (in the {_CONTEXTS.get(what, what)} that starts at line {mark.line + 1}, column {mark.column + 1})"
    return problem


# ------------------------------------------------------------------------------------------------
# Offset maps: which file character produced each character of a scalar's value


class _Mismatch(Exception):
    """The re-scan disagrees with the parser: fall back to an approximate map."""


def _break_at(src: str, i: int) -> tuple[str, int]:
    """The line break at src[i] as YAML reads it (CRLF, CR and NEL become LF) and its length."""
    ch = src[i] if i < len(src) else ""
    if ch == "\r":
        return "\n", 2 if src.startswith("\n", i + 1) else 1
    if ch == "\n" or ch == "\x85":
        return "\n", 1
    if ch == "\u2028" or ch == "\u2029":
        return ch, 1
    return "", 0


def _fold(src: str, i: int, limit: int, chars: list, offs: list, escaped: bool = False) -> int:
    """Fold the line break at i plus following blank lines and indentation; return the next index.

    One break becomes a space, n > 1 breaks become n - 1 newlines (an escaped break vanishes).
    Produced characters map to the break that produced them.
    """
    first, n = _break_at(src, i)
    first_at = i
    i += n
    breaks = []
    while i < limit:
        if src[i] in " \t":
            i += 1
            continue
        b, n = _break_at(src, i)
        if not n:
            break
        breaks.append((b, i))
        i += n
    if not escaped:
        if first != "\n":
            chars.append(first)
            offs.append(first_at)
        elif not breaks:
            chars.append(" ")
            offs.append(first_at)
    for b, at in breaks:
        chars.append(b)
        offs.append(at)
    return i


def _flow_text(src: str, i: int, limit: int, quote: str, chars: list, offs: list) -> int:
    """Scan plain (quote '') or quoted text from i; return the index of the closing quote or limit."""
    replacements, codes = Scanner.ESCAPE_REPLACEMENTS, Scanner.ESCAPE_CODES
    while i < limit:
        ch = src[i]
        if ch == quote:
            if quote == "'" and src.startswith("''", i):
                chars.append("'")
                offs.append(i)
                i += 2
                continue
            return i
        if ch == "\\" and quote == '"':
            nxt = src[i + 1] if i + 1 < limit else ""
            if nxt in replacements:
                chars.append(replacements[nxt])
                offs.append(i)
                i += 2
            elif nxt in codes:
                digits = src[i + 2:i + 2 + codes[nxt]]
                chars.append(chr(int(digits, 16)))
                offs.append(i)
                i += 2 + codes[nxt]
            elif nxt and nxt in _BREAKS:
                i = _fold(src, i + 1, limit, chars, offs, escaped=True)
            else:
                raise _Mismatch
        elif ch in " \t" or ch in _BREAKS:
            j = i
            while j < limit and src[j] in " \t":
                j += 1
            if j < limit and src[j] in _BREAKS:  # trailing white space before a break is dropped
                i = _fold(src, j, limit, chars, offs)
            else:
                chars.extend(src[i:j])
                offs.extend(range(i, j))
                i = j
        else:
            chars.append(ch)
            offs.append(i)
            i += 1
    if quote:
        raise _Mismatch
    return limit


def _block_breaks(src: str, i: int, indent: int, chars: list, offs: list, skip_all: bool = False) -> tuple[int, int]:
    """Skip blank lines and up to `indent` spaces of indentation (all when skip_all); return (i, column)."""
    n = len(src)
    col = 0
    while True:
        while i < n and src[i] == " " and (skip_all or col < indent):
            i += 1
            col += 1
        b, k = _break_at(src, i)
        if not k:
            return i, col
        chars.append(b)
        offs.append(i)
        i += k
        col = 0


def _block_text(src: str, body: int, indent: int, folded: bool, chomp: "bool | None", auto: bool) -> tuple[str, list]:
    """A block scalar's value and offsets for one indentation, the way PyYAML's scanner reads it."""
    n = len(src)
    chars: list[str] = []
    offs: list[int] = []
    lead_c: list[str] = []
    lead_o: list[int] = []
    i, col = _block_breaks(src, body, indent, lead_c, lead_o, skip_all=auto)
    last_break: "tuple[str, int] | None" = None
    while col == indent and i < n:
        chars.extend(lead_c)
        offs.extend(lead_o)
        leading_non_space = src[i] not in " \t"
        j = i
        while j < n and src[j] not in _BREAKS:
            j += 1
        chars.extend(src[i:j])
        offs.extend(range(i, j))
        lb, k = _break_at(src, j)
        last_break = (lb, j) if k else None
        lead_c, lead_o = [], []
        i, col = _block_breaks(src, j + k, indent, lead_c, lead_o)
        if not (col == indent and i < n):
            break
        if folded and lb == "\n" and leading_non_space and src[i] not in " \t":
            if not lead_c:  # one break between text lines folds to a space
                chars.append(" ")
                offs.append(j)
        else:
            chars.append(lb)
            offs.append(j)
    if chomp is not False and last_break:
        chars.append(last_break[0])
        offs.append(last_break[1])
    if chomp is True:
        chars.extend(lead_c)
        offs.extend(lead_o)
    return "".join(chars), offs


def _block_scalar(src: str, i: int, value: str) -> list:
    """Offsets of a '|' or '>' scalar whose indicator is at i."""
    n = len(src)
    folded = src[i] == ">"
    i += 1
    chomp: "bool | None" = None
    auto = True
    for _ in range(2):  # chomping and indentation indicators, in either order
        c = src[i] if i < n else ""
        if c and c in "+-":
            chomp = c == "+"
            i += 1
        elif c and c in "123456789":
            auto = False
            i += 1
    while i < n and src[i] in " \t":
        i += 1
    if i < n and src[i] == "#":
        while i < n and src[i] not in _BREAKS:
            i += 1
    body = i + _break_at(src, i)[1]
    # The block's indentation depends on the enclosing collection, which we do not track: the
    # candidates are few (at most the first line's indentation, or one more for an empty block),
    # and only the right one reproduces the parser's value. Auto-detection picks the first line's.
    j, col, widest = body, 0, 0
    while j < n and (src[j] == " " or src[j] in _BREAKS):
        if src[j] == " ":
            col += 1
            widest = max(widest, col)
            j += 1
        else:
            col = 0
            j += _break_at(src, j)[1]
    for indent in dict.fromkeys([max(widest, 1), widest + 1, *range(widest - 1, 0, -1)]):
        text, offs = _block_text(src, body, indent, folded, chomp, auto)
        if text == value:
            offs.append(offs[-1] + 1 if offs else body)
            return offs
    raise _Mismatch


_PROPERTY = re.compile(r"(?:!<[^>]*>|[!&][^\s,\[\]{}]*)(?:[ \t]+|[ \t]*(?:#[^\r\n]*)?(?:\r\n?|\n)[ \t]*)*")


def _map_scalar(node: YScalar) -> "list[int] | None":
    """Exact offsets of node.text (plus one for its end), or None if the re-scan disagrees."""
    src, text = node.file.text, node.text
    i = node.start
    while i < node.end and src[i] in "!&":  # anchors and tags written before the value
        i = _PROPERTY.match(src, i).end()
    if text == "" and node.style is None:
        return [min(i, node.end)]
    chars: list[str] = []
    offs: list[int] = []
    try:
        if node.style is None:
            end = _flow_text(src, i, node.end, "", chars, offs)
        elif node.style in ("'", '"'):
            if src[i:i + 1] != node.style:
                return None
            end = _flow_text(src, i + 1, len(src), node.style, chars, offs)
        elif node.style in ("|", ">"):
            return _block_scalar(src, i, text)
        else:
            return None
    except (_Mismatch, ValueError, IndexError):
        return None
    if "".join(chars) != text:
        return None
    offs.append(end)
    return offs


def _align(node: YScalar) -> list:
    """An approximate map when the exact re-scan fails: match characters in order, near each other."""
    src, text = node.file.text, node.text
    offs, j = [], node.start
    last = max(node.start, min(node.end, len(src)) - 1)
    for ch in text:
        k = src.find(ch, j, j + 200)
        if k >= 0:
            offs.append(k)
            j = k + 1
        else:
            offs.append(min(j, last))
    offs.append(max(node.end, offs[-1] + 1 if offs else node.start))
    return offs
