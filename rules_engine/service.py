"""The gRPC servicer of rules_engine.v1.DecisionService: a thin translation layer.

It turns protobuf requests into library calls (`Ruleset.decide`) and library results and errors
into protobuf responses and gRPC status codes. It decides nothing itself:

- contexts arrive as `google.protobuf.Struct` (`context`) or as JSON bytes (`context_json`); both
  become the same plain dict (Struct numbers that are integral become ints, as JSON integers do),
  so both give identical decisions;
- status codes: NOT_FOUND for an unknown ruleset; INVALID_ARGUMENT for a context that breaks the
  schema (message with the field path and the expected type, plus `google.rpc.BadRequest`
  details), malformed JSON or a malformed request; DEADLINE_EXCEEDED when the caller's deadline
  has passed; RESOURCE_EXHAUSTED for a request over the size limit is enforced by the transport
  (`grpc.max_receive_message_length`, see `rules_engine.server`); UNAVAILABLE for calls that
  arrive while the server drains (they did not run). Bad input never yields UNKNOWN; a bug in
  the library yields INTERNAL with an incident id, and one error log line.
- DecideBatch answers one DecideResult per request, in order; a bad item carries its own
  `google.rpc.Status` (the same status the unary call would have returned) and never fails the
  batch.

Handlers take and return serialized bytes (identity (de)serializers) so that a request that
does not even parse is answered INVALID_ARGUMENT instead of the transport's generic error.

Log lines never contain context values at info level (only field paths and expected types).
"""
from __future__ import annotations

import datetime as _dt
import logging
import threading
import time
import traceback
import uuid

import grpc
from google.protobuf import any_pb2
from google.protobuf.message import DecodeError
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

import rules_engine
from rules_engine.context_json import decode_context
from rules_engine.v1 import decision_pb2 as pb

__all__ = ["DecisionServicer", "SERVICE_NAME", "context_from_struct", "context_from_json",
           "method_handlers"]

SERVICE_NAME = pb.DESCRIPTOR.services_by_name["DecisionService"].full_name  # rules_engine.v1.DecisionService

log = logging.getLogger("rules_engine.service")

_UTC = _dt.timezone.utc
_MAX_SAFE_INT = 2 ** 53
_RULE_STATUS = {
    "matched": pb.RuleTrace.MATCHED,
    "not_matched": pb.RuleTrace.NOT_MATCHED,
    "disabled": pb.RuleTrace.DISABLED,
    "out_of_window": pb.RuleTrace.OUT_OF_WINDOW,
    "error": pb.RuleTrace.ERROR,
    "skipped": pb.RuleTrace.SKIPPED,
}
_SHUTTING_DOWN = "the server is shutting down; the call did not run, retry it on another connection"
# In a batch, look at the deadline every this many items (time_remaining() is not free).
_DEADLINE_CHECK_EVERY = 16


class Reject(Exception):
    """A request the service answers with a non-OK status (carried as a google.rpc.Status)."""

    def __init__(self, code: int, message: str, *, field: str = "", description: str = "",
                 log_fields: dict | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field
        self.description = description or message
        self.log_fields = log_fields or {}

    def to_status(self) -> status_pb2.Status:
        st = status_pb2.Status(code=self.code, message=self.message)
        if self.field:
            br = error_details_pb2.BadRequest(field_violations=[
                error_details_pb2.BadRequest.FieldViolation(field=self.field,
                                                            description=self.description)])
            detail = any_pb2.Any()
            detail.Pack(br)
            st.details.append(detail)
        return st


class _DeadlineExceeded(Exception):
    pass


# ------------------------------------------------------------------ context decoding

class _BadContext(ValueError):
    def __init__(self, path: str, message: str):
        super().__init__(message)
        self.path = path


def _number(x: float, path):
    if x.is_integer():
        # JSON integers arrive as ints; a Struct carries every number as a double. Integral
        # doubles in the exactly representable range become ints so both encodings agree.
        return int(x) if -_MAX_SAFE_INT <= x <= _MAX_SAFE_INT else x
    if x - x != 0:  # NaN or +-Infinity: not JSON
        raise _BadContext(path(), "numbers must be finite (NaN and Infinity are not JSON)")
    return x


def _value(v, path):
    kind = v.WhichOneof("kind")
    if kind == "string_value":
        return v.string_value
    if kind == "number_value":
        return _number(v.number_value, path)
    if kind == "bool_value":
        return v.bool_value
    if kind == "struct_value":
        return _struct(v.struct_value, path)
    if kind == "list_value":
        return [_value(x, lambda i=i: f"{path()}[{i}]") for i, x in enumerate(v.list_value.values)]
    return None  # null_value, or no kind set (protobuf's default): JSON null


def _struct(s, path) -> dict:
    out = {}
    for k, v in s.fields.items():
        kind = v.WhichOneof("kind")
        # the common scalar kinds inline (this walk is the Struct encoding's main server cost)
        if kind == "string_value":
            out[k] = v.string_value
        elif kind == "number_value":
            x = v.number_value
            if x.is_integer() and -_MAX_SAFE_INT <= x <= _MAX_SAFE_INT:
                out[k] = int(x)
            else:
                out[k] = _number(x, lambda k=k: _join(path(), k))
        elif kind == "bool_value":
            out[k] = v.bool_value
        else:
            out[k] = _value(v, lambda k=k: _join(path(), k))
    return out


def _join(prefix: str, key: str) -> str:
    return f"{prefix}.{key}" if prefix else key


def context_from_struct(s) -> dict:
    """google.protobuf.Struct -> dict, as the JSON decoder would have produced it."""
    return _struct(s, lambda: "")


def context_from_json(data: bytes) -> dict:
    """UTF-8 JSON bytes of an object -> dict. Raises _BadContext with a position on bad input."""
    try:
        return decode_context(data)
    except rules_engine.JSONContextError as e:
        raise _BadContext("", str(e)) from None


def _json_reject(e: Exception) -> Reject:
    return Reject(code_pb2.INVALID_ARGUMENT, f"context_json: {e}", field="context_json",
                  description=str(e), log_fields={"field": "context_json"})


def _decode_context(req, which: str) -> dict:
    """The Struct context (or none) as a dict; JSON contexts go to Ruleset.decide_json whole."""
    if which == "context":
        try:
            return context_from_struct(req.context)
        except RecursionError:
            raise Reject(code_pb2.INVALID_ARGUMENT, "context: nested too deeply", field="context",
                         log_fields={"field": "context"}) from None
        except _BadContext as e:
            field = _join("context", e.path)
            raise Reject(code_pb2.INVALID_ARGUMENT, f"{field}: {e}", field=field,
                         description=str(e), log_fields={"field": field}) from None
    return {}  # no context: the ruleset's schema decides whether that is acceptable


# ------------------------------------------------------------------ response encoding

_EPOCH = _dt.datetime(1970, 1, 1, tzinfo=_UTC)
_ONE_SECOND = _dt.timedelta(seconds=1)


def _seconds_nanos(when: _dt.datetime) -> "tuple[int, int]":
    """A datetime (naive: UTC) as a Timestamp's seconds and nanos, exactly (integer arithmetic,
    3x cheaper than Timestamp.FromDatetime)."""
    last = _last_clock
    if when is last[2]:  # the request's own as_of, converted just before (see _as_of)
        return last[0], last[1] // 1000 * 1000
    if when.tzinfo is None:
        when = when.replace(tzinfo=_UTC)
    secs, rest = divmod(when - _EPOCH, _ONE_SECOND)
    return secs, rest.microseconds * 1000


def _set_ts(ts, when: _dt.datetime) -> None:
    """Fill the Timestamp `ts` from a datetime."""
    ts.seconds, nanos = _seconds_nanos(when)
    if nanos:
        ts.nanos = nanos


# (seconds, nanos, datetime) of the last request clock converted. Callers that pin the clock send
# the same as_of again and again (every item of a batch, as a rule): it is converted once, and the
# response recognises the very datetime object it came from. One tuple, replaced whole: threads
# may race to replace it, never see it half-written.
_last_clock: tuple = (None, None, None)


def _as_of(ts) -> _dt.datetime:
    """The request's Timestamp as an aware datetime (microseconds, as the engine's clock keeps)."""
    global _last_clock
    seconds, nanos = ts.seconds, ts.nanos
    last = _last_clock
    if seconds == last[0] and nanos == last[1]:
        return last[2]
    if not 0 <= nanos < 1_000_000_000:
        raise ValueError(f"nanos out of range: {nanos}")
    when = _EPOCH + _dt.timedelta(seconds=seconds, microseconds=nanos // 1000)
    _last_clock = (seconds, nanos, when)
    return when


def _set_action(pa, a) -> None:
    """Fill the empty pb.Action `pa` from the library's Action `a`."""
    pa.action, pa.rule, pa.priority = a.action, a.rule or "", a.priority or 0.0
    pa.group, pa.reason, pa.fallback = a.group or "", a.reason or "", a.fallback
    if a.params:
        pa.params.update(a.params)


def _action_bytes(a) -> bytes:
    pa = pb.Action()
    _set_action(pa, a)
    return pa.SerializeToString()


_NO_BLOBS: dict = {}


def _fill_response(resp, d, req, blobs: dict = _NO_BLOBS) -> None:
    """Decision -> the DecideResponse `resp`, field by field (explained decisions; see
    _RulesetWire for the others). `blobs` holds the serialized form of the ruleset's shared
    actions (_RulesetWire.blobs)."""
    resp.decision_id = d.decision_id
    resp.request_id = req.request_id
    resp.ruleset = d.ruleset
    resp.version = d.version or ""
    resp.ruleset_hash = d.ruleset_hash or ""
    resp.matched_rules.extend(d.matched_rules)
    _set_ts(resp.as_of, d.as_of)
    if d.actions:
        add = resp.actions.add
        for a in d.actions:
            blob = blobs.get(id(a))
            if blob is not None:
                add().MergeFromString(blob)
            else:
                _set_action(add(), a)
    if d.suppressed:
        add = resp.suppressed.add
        for x in d.suppressed:
            add(action=x.action, rule=x.rule or "", reason=x.reason or "")
    if d.explanation is not None:
        _explanation(resp.explanation, d.explanation)


# ------------------------------------------------------------------ responses as bytes
#
# A decision's response is mostly the same bytes again and again: the ruleset's name, version and
# hash, the serialized form of its shared actions, the ids of its rules. They are encoded once per
# ruleset, and a response is the concatenation of those fields with the few that change (decision
# id, request id, clock), in field-number order: the very bytes DecideResponse.SerializeToString()
# gives (a test holds them equal on every example decision). Building the message field by field
# cost three times as much, and a batch no longer builds one message per item at all.

def _varint(n: int) -> bytes:
    out = bytearray()
    while n > 0x7F:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def _field(tag: int, payload: bytes) -> bytes:
    """A length-delimited field whose tag (field number << 3 | 2) fits one byte."""
    return _field_head(tag, len(payload)) + payload


def _field_head(tag: int, n: int) -> bytes:
    """The tag and length of a length-delimited field of `n` bytes."""
    if n < 0x80:
        return bytes((tag, n))
    if n < 0x4000:
        return bytes((tag, n & 0x7F | 0x80, n >> 7))
    return bytes((tag,)) + _varint(n)


def _string_field(tag: int, text: str) -> bytes:
    if not text:
        return b""
    data = text.encode()
    n = len(data)
    return bytes((tag, n)) + data if n < 0x80 else _field_head(tag, n) + data


OUTCOME_BYTES_SIZE = 4096  # encoded outcomes a ruleset's wire keeps


class _RulesetWire:
    """The constant parts of a ruleset's responses, encoded once."""

    def __init__(self, ruleset):
        self.ruleset = ruleset
        self.head = (_string_field(0x1A, ruleset.name) + _string_field(0x22, ruleset.version or "")
                     + _string_field(0x2A, ruleset.hash or ""))
        # id(action) -> serialized pb.Action, and the same as a DecideResponse.actions field
        self.blobs = {id(a): _action_bytes(a) for a in getattr(ruleset, "shared_actions", ())}
        self.actions = {k: _field(0x3A, b) for k, b in self.blobs.items()}
        self.rules = {r.id: _string_field(0x42, r.id) for r in getattr(ruleset, "rules", ())}
        # id(Decision.outcome_key) -> (the key, the encoded actions, matched rules, suppressions)
        self.outcomes: dict = {}

    def response(self, d, request_id: str) -> bytes:
        """The serialized DecideResponse of decision `d` (not for explained decisions)."""
        decision_id = d.decision_id
        parts = [b"\x0a\x20" + decision_id.encode() if len(decision_id) == 32
                 else _string_field(0x0A, decision_id),
                 _string_field(0x12, request_id), self.head, _timestamp_field(d.as_of)]
        key = d.outcome_key
        if key is None:
            parts.append(self._outcome_fields(d))
        else:  # decisions with the same outcome share the bytes of their last fields
            known = self.outcomes.get(id(key))
            if known is None or known[0] is not key:
                if len(self.outcomes) >= OUTCOME_BYTES_SIZE:
                    self.outcomes.clear()
                known = self.outcomes[id(key)] = (key, self._outcome_fields(d))  # the key kept alive with its id
            parts.append(known[1])
        return b"".join(parts)

    def _outcome_fields(self, d) -> bytes:
        """DecideResponse.actions, .matched_rules and .suppressed of decision `d`."""
        parts = []
        add = parts.append
        actions = d.actions
        if actions:
            fields = self.actions
            for a in actions:
                f = fields.get(id(a))
                add(f if f is not None else _field(0x3A, _action_bytes(a)))
        rules = self.rules
        for r in d.matched_rules:
            f = rules.get(r)
            add(f if f is not None else _string_field(0x42, r))
        if d._extra is not None:
            for x in d.suppressed:
                add(_field(0x4A, pb.Suppression(action=x.action, rule=x.rule or "",
                                                reason=x.reason or "").SerializeToString()))
        return b"".join(parts)


# the last clock encoded (datetime, field bytes): a batch's items share their as_of (see _as_of)
_last_ts: tuple = (_EPOCH, b"\x32\x00")


def _timestamp_field(when: _dt.datetime) -> bytes:
    """DecideResponse.as_of (field 6, a google.protobuf.Timestamp) for an aware datetime."""
    global _last_ts
    last = _last_ts
    if when is last[0] or (when == last[0] and when.tzinfo is not None):
        return last[1]
    secs, nanos = _seconds_nanos(when)
    payload = (b"\x08" + _varint(secs & 0xFFFFFFFFFFFFFFFF) if secs else b"") + \
        (b"\x10" + _varint(nanos) if nanos else b"")
    out = _field(0x32, payload)
    _last_ts = (when, out)
    return out


def _result_head(response: bytes) -> bytes:
    """What precedes `response` in its DecideBatchResponse.results entry."""
    n = len(response)
    head = _RESULT_HEADS.get(n)
    if head is None:
        inner = _field_head(0x0A, n)
        head = _field_head(0x0A, len(inner) + n) + inner
        if len(_RESULT_HEADS) < 4096:
            _RESULT_HEADS[n] = head
    return head


_RESULT_HEADS: "dict[int, bytes]" = {}  # response length -> the head of its result entry (bounded)


def _error_result_field(status: status_pb2.Status) -> bytes:
    """DecideBatchResponse.results entry holding a DecideResult.error."""
    return _field(0x0A, _field(0x12, status.SerializeToString()))


def _explanation(pe, expl: dict) -> None:
    pe.SetInParent()
    for r in expl.get("rules") or ():
        pr = pe.rules.add(rule=r.get("rule") or "",
                          status=_RULE_STATUS.get(r.get("status"), pb.RuleTrace.STATUS_UNSPECIFIED),
                          condition=r.get("condition") or "", message=r.get("message") or "")
        values = r.get("values")
        if values:
            pr.values.update(values)
    for x in expl.get("dropped") or ():
        pe.dropped.add(action=x.get("action") or "", rule=x.get("rule") or "",
                       group=x.get("group") or "", reason=x.get("reason") or "")
    pe.warnings.extend(expl.get("warnings") or ())


def _dt_to_ts(ts, when):
    if when is not None:
        _set_ts(ts, when)


# ------------------------------------------------------------------ the servicer

class DecisionServicer:
    """Serves DecisionService from `catalog.snapshot` (see rules_engine.server.RulesetCatalog).

    The catalog's snapshot is an immutable object replaced as a whole on reload; every request
    reads it once, so it decides on the Ruleset objects that were current when it started.

    It also keeps the books the graceful shutdown needs: calls in progress, calls answered OK,
    and, once `refuse_new_calls()` was called, answers new calls UNAVAILABLE (retryable: the
    call did not run) while the calls in progress finish.
    """

    def __init__(self, catalog):
        self.catalog = catalog
        self._lock = threading.Lock()
        self._active = 0
        self._refusing = False
        self._refused = 0
        self._last_done = 0.0
        # calls answered OK, per method: the `stopped` log line reports them
        self._ok = {"Decide": 0, "DecideBatch": 0, "ListRulesets": 0}
        # (the snapshot's rulesets dict, {name: _RulesetWire}): replaced with the snapshot
        self._wires: tuple = (None, {})

    # -- call accounting (two uncontended lock round trips per call, well under a microsecond)
    def _enter(self) -> bool:
        with self._lock:
            self._active += 1
            if not self._refusing:
                return True
            self._active -= 1
            self._refused += 1
            return False

    def _leave(self, method: str | None) -> None:
        with self._lock:
            self._active -= 1
            if method is not None:
                self._ok[method] += 1
                self._last_done = time.monotonic()

    def refuse_new_calls(self) -> None:
        """From now on, new calls get UNAVAILABLE; the calls in progress go on."""
        with self._lock:
            self._refusing = True

    def wait_idle(self, timeout: float, settle: float = 0.0) -> bool:
        """Wait (at most `timeout` s) until no call is in progress and the last answer is at least
        `settle` s old (so it has left the socket buffers). True when idle."""
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                active, last = self._active, self._last_done
            now = time.monotonic()
            if active == 0 and now - last >= settle:
                return True
            if now >= deadline:
                return False
            time.sleep(min(0.02, max(0.001, deadline - now)))

    def answered(self) -> dict:
        """Calls answered OK so far, per method (and `refused`: calls refused while draining)."""
        with self._lock:
            return dict(self._ok, refused=self._refused)

    # -- the decision, shared by Decide and DecideBatch
    def _decide(self, req, rulesets) -> bytes:
        """Decide for one request: the serialized DecideResponse; raises Reject on bad input."""
        name = req.ruleset
        if not name:
            raise Reject(code_pb2.INVALID_ARGUMENT, "ruleset: required (the name of a loaded ruleset)",
                         field="ruleset", log_fields={"field": "ruleset"})
        entry = rulesets.get(name)
        if entry is None:
            raise Reject(code_pb2.NOT_FOUND, f"ruleset {name!r} not found"
                         + (f"; loaded: {', '.join(sorted(rulesets))}" if rulesets else "; none loaded"),
                         log_fields={"ruleset": name})
        ruleset = entry.ruleset
        which = req.WhichOneof("context_encoding")
        context = None if which == "context_json" else _decode_context(req, which)
        if req.HasField("as_of"):
            try:
                as_of = _as_of(req.as_of)
            except (ValueError, OverflowError) as e:
                raise Reject(code_pb2.INVALID_ARGUMENT, f"as_of: invalid timestamp ({e})", field="as_of",
                             log_fields={"field": "as_of"}) from None
        else:
            as_of = _dt.datetime.now(_UTC)
        try:
            if context is None:  # JSON: decoded against the ruleset's schema in one pass
                d = ruleset.decide_json(req.context_json, as_of, req.explain)
            else:
                d = ruleset.decide(context, as_of, req.explain)
        except rules_engine.JSONContextError as e:
            raise _json_reject(e) from None
        except rules_engine.ContextError as e:
            path = getattr(e, "path", "") or ""
            expected = getattr(e, "expected", "") or ""
            msg = str(e)
            if path and path not in msg:
                msg = f"{path}: {msg}"
            if expected and expected not in msg:
                msg = f"{msg} (expected {expected})"
            field = _join("context", path) if path else "context"
            raise Reject(code_pb2.INVALID_ARGUMENT, f"invalid context: {msg}", field=field,
                         description=msg,
                         log_fields={"ruleset": name, "field": path, "expected": expected}) from None
        wires = self._wires
        if wires[0] is not rulesets:  # another snapshot (a reload): the wires of its rulesets
            wires = self._wires = (rulesets, {})
        wire = wires[1].get(name)
        if wire is None or wire.ruleset is not ruleset:
            wire = wires[1][name] = _RulesetWire(ruleset)  # two threads may both build it: the same bytes
        if d.explanation is None:
            return wire.response(d, req.request_id)
        resp = pb.DecideResponse()
        _fill_response(resp, d, req, wire.blobs)
        return resp.SerializeToString()

    # -- RPC handlers (bytes in, bytes out)
    def Decide(self, raw: bytes, context) -> bytes:
        if not self._enter():
            context.abort(grpc.StatusCode.UNAVAILABLE, _SHUTTING_DOWN)
        ok = None
        req = None
        try:
            req = _parse(pb.DecideRequest, raw)
            if context.time_remaining() <= 0:
                raise _DeadlineExceeded()
            out = self._decide(req, self.catalog.snapshot.rulesets)
            ok = "Decide"
            return out
        except Reject as r:
            _log_reject("Decide", r, req)
            status = r.to_status()
        except _DeadlineExceeded:
            status = _deadline_status()
        except Exception as e:  # a bug, never the caller's fault: INTERNAL, one log line
            status = _internal("Decide", e, req)
        finally:
            self._leave(ok)
        context.abort_with_status(rpc_status.to_status(status))

    def DecideBatch(self, raw: bytes, context) -> bytes:
        if not self._enter():
            context.abort(grpc.StatusCode.UNAVAILABLE, _SHUTTING_DOWN)
        ok = None
        try:
            breq = _parse(pb.DecideBatchRequest, raw)
            rulesets = self.catalog.snapshot.rulesets  # one version of everything for the batch
            parts = []  # the DecideBatchResponse, one serialized `results` entry at a time
            add = parts.append
            rejected = []
            decide = self._decide
            time_remaining = context.time_remaining
            for i, req in enumerate(breq.requests):
                if i % _DEADLINE_CHECK_EVERY == 0 and time_remaining() <= 0:
                    raise _DeadlineExceeded()
                try:
                    response = decide(req, rulesets)
                    add(_result_head(response))
                    add(response)
                except Reject as r:
                    add(_error_result_field(r.to_status()))
                    rejected.append((i, r, req))
                except Exception as e:  # one item's bug never fails the batch
                    add(_error_result_field(_internal("DecideBatch", e, req, index=i)))
            if rejected:
                _log_batch_rejects(rejected, len(breq.requests))
            data = b"".join(parts)
            ok = "DecideBatch"
            return data
        except Reject as r:
            _log_reject("DecideBatch", r, None)
            status = r.to_status()
        except _DeadlineExceeded:
            status = _deadline_status()
        except Exception as e:
            status = _internal("DecideBatch", e, None)
        finally:
            self._leave(ok)
        context.abort_with_status(rpc_status.to_status(status))

    def ListRulesets(self, raw: bytes, context) -> bytes:
        if not self._enter():
            context.abort(grpc.StatusCode.UNAVAILABLE, _SHUTTING_DOWN)
        ok = None
        try:
            _parse(pb.ListRulesetsRequest, raw)
            data = self.list_rulesets().SerializeToString()
            ok = "ListRulesets"
            return data
        except Reject as r:
            _log_reject("ListRulesets", r, None)
            status = r.to_status()
        except Exception as e:
            status = _internal("ListRulesets", e, None)
        finally:
            self._leave(ok)
        context.abort_with_status(rpc_status.to_status(status))

    def list_rulesets(self) -> pb.ListRulesetsResponse:
        snap = self.catalog.snapshot
        resp = pb.ListRulesetsResponse(directory=snap.directory, reload_enabled=snap.reload_enabled)
        for name in sorted(snap.rulesets):
            e = snap.rulesets[name]
            rs = e.ruleset
            info = resp.rulesets.add(name=rs.name, version=rs.version or "", hash=rs.hash or "",
                                     source=str(rs.source or ""), rule_count=len(rs.rules),
                                     last_error=e.last_error or "")
            _dt_to_ts(info.loaded_at, e.loaded_at)
            if e.last_error:
                _dt_to_ts(info.last_error_at, e.last_error_at)
        for path in sorted(snap.errors):
            fe = snap.errors[path]
            err = resp.errors.add(source=path, error=fe.error)
            _dt_to_ts(err.failed_at, fe.failed_at)
        return resp


def _parse(cls, raw: bytes):
    try:
        return cls.FromString(raw)
    except (DecodeError, RecursionError, ValueError) as e:
        raise Reject(code_pb2.INVALID_ARGUMENT,
                     f"request is not a valid {cls.DESCRIPTOR.full_name}: {e}") from None


def _deadline_status() -> status_pb2.Status:
    log.info("deadline exceeded", extra={"fields": {"event": "deadline_exceeded"}})
    return status_pb2.Status(code=code_pb2.DEADLINE_EXCEEDED,
                             message="deadline exceeded before the decision was made")


_CODE_NAMES = {v: k for k, v in code_pb2.Code.items()}


def _log_reject(method: str, r: Reject, req) -> None:
    # info level: field paths, expected types and ruleset names only, never context values
    fields = {"event": "request_rejected", "method": method, "code": _CODE_NAMES.get(r.code, r.code)}
    if req is not None:
        fields["ruleset"] = req.ruleset
        if req.request_id:
            fields["request_id"] = req.request_id
    fields.update(r.log_fields)
    log.info("request rejected", extra={"fields": fields})
    if log.isEnabledFor(logging.DEBUG):
        log.debug("request rejected (detail)", extra={"fields": dict(fields, message=r.message)})


def _log_batch_rejects(rejected, total: int) -> None:
    first = []
    for i, r, req in rejected[:5]:
        item = {"index": i, "code": _CODE_NAMES.get(r.code, r.code), "ruleset": req.ruleset}
        if req.request_id:
            item["request_id"] = req.request_id
        item.update(r.log_fields)
        first.append(item)
    log.info("batch items rejected", extra={"fields": {
        "event": "batch_items_rejected", "method": "DecideBatch", "rejected": len(rejected),
        "total": total, "first": first}})


def _internal(method: str, e: BaseException, req, index: int | None = None) -> status_pb2.Status:
    incident = uuid.uuid4().hex[:12]
    fields = {"event": "internal_error", "method": method, "incident": incident,
              "exception": type(e).__name__,
              # the frames, not the exception's message: it might quote context values
              "traceback": "".join(traceback.format_tb(e.__traceback__))}
    if req is not None:
        fields["ruleset"] = req.ruleset
        if req.request_id:
            fields["request_id"] = req.request_id
    if index is not None:
        fields["index"] = index
    log.error("internal error", extra={"fields": fields})
    return status_pb2.Status(code=code_pb2.INTERNAL,
                             message=f"internal error ({type(e).__name__}); incident {incident} in the server log")


def method_handlers(servicer: DecisionServicer) -> dict:
    """grpc method handlers for the servicer (identity (de)serializers: bytes in, bytes out)."""
    return {
        "Decide": grpc.unary_unary_rpc_method_handler(servicer.Decide),
        "DecideBatch": grpc.unary_unary_rpc_method_handler(servicer.DecideBatch),
        "ListRulesets": grpc.unary_unary_rpc_method_handler(servicer.ListRulesets),
    }


def add_to_server(servicer: DecisionServicer, server) -> None:
    handlers = method_handlers(servicer)
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(SERVICE_NAME, handlers),))
    server.add_registered_method_handlers(SERVICE_NAME, handlers)
