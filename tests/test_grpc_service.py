"""End to end: the real server (`python server.py`) as a subprocess on a free 127.0.0.1 port,
called over a socket. Uses its own small rulesets written into tmp dirs.

Covers every method, every status code, both context encodings, a batch with one bad item,
health, reflection, reload (good and broken files), a burst of calls while files change, SIGTERM
during load, and --workers 2. Every loop is bounded in count and in time.
"""
from __future__ import annotations

import json
import os
import signal
import threading
import time

import grpc
import pytest
from google.protobuf import timestamp_pb2
from google.rpc import error_details_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_status import rpc_status

from grpc_harness import (BROKEN_RULESET, OTHER_RULESET, RULESET_V1, RULESET_V2, ServerProcess,
                          context, json_request, struct_request, wait_until, write_atomic)
from rules_engine.v1 import decision_pb2 as pb

AS_OF = timestamp_pb2.Timestamp()
AS_OF.FromJsonString("2026-11-22T10:00:00Z")


def _rulesets_dir(tmp_path, **files):
    d = tmp_path / "rulesets"
    d.mkdir()
    for name, text in files.items():
        (d / name).write_text(text)
    return d


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("grpc_static")
    d = _rulesets_dir(tmp, **{"offers.yaml": RULESET_V1, "other.yaml": OTHER_RULESET})
    srv = ServerProcess(d, tmp / "server.log").start()
    yield srv
    srv.close()


@pytest.fixture(scope="module")
def stub(server):
    return server.stub()


def _without_id(resp: pb.DecideResponse) -> pb.DecideResponse:
    r = pb.DecideResponse()
    r.CopyFrom(resp)
    r.decision_id = ""
    return r


def _error(call) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as ei:
        call()
    return ei.value


def _bad_request(err) -> error_details_pb2.BadRequest:
    st = rpc_status.from_call(err)
    assert st is not None, "no google.rpc.Status in the trailers"
    for d in st.details:
        if d.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            br = error_details_pb2.BadRequest()
            d.Unpack(br)
            return br
    raise AssertionError(f"no BadRequest detail in {st}")


# ---------------------------------------------------------------- Decide

def test_decide_returns_the_decision_and_echoes_the_request(stub, server):
    resp = stub.Decide(json_request(context(1), request_id="req-1", as_of=AS_OF), timeout=10)
    assert resp.request_id == "req-1"
    assert resp.ruleset == "test.offers" and resp.version == "1"
    assert resp.ruleset_hash
    assert resp.decision_id
    assert resp.as_of == AS_OF
    assert [a.action for a in resp.actions] == ["gold_offer", "newsletter"]
    gold = resp.actions[0]
    assert gold.rule == "gold-customers" and gold.group == "offer" and gold.reason == "offer.gold"
    assert gold.priority == 50 and not gold.fallback
    assert dict(gold.params) == {"discount": 0.2, "code": "GOLD20"}
    assert set(resp.matched_rules) == {"gold-customers", "web-visitors", "adults-newsletter"}
    assert not resp.HasField("explanation")
    # unique decision ids; the hash is the one ListRulesets reports
    again = stub.Decide(json_request(context(1), as_of=AS_OF), timeout=10)
    assert again.decision_id != resp.decision_id
    listed = {r.name: r for r in stub.ListRulesets(pb.ListRulesetsRequest(), timeout=10).rulesets}
    assert listed["test.offers"].hash == resp.ruleset_hash


def test_struct_and_json_contexts_give_identical_decisions(stub):
    for i, (tier, channel) in enumerate([("gold", "web"), ("silver", "web"), ("bronze", "email"),
                                         ("gold", "email")]):
        ctx = context(i, tier=tier, channel=channel)
        for explain in (False, True):
            a = stub.Decide(json_request(ctx, as_of=AS_OF, explain=explain, request_id="x"), timeout=10)
            b = stub.Decide(struct_request(ctx, as_of=AS_OF, explain=explain, request_id="x"), timeout=10)
            assert _without_id(a) == _without_id(b), (ctx, explain)


def test_as_of_defaults_to_server_time(stub):
    before = time.time()
    resp = stub.Decide(json_request(context(2)), timeout=10)
    after = time.time()
    t = resp.as_of.seconds + resp.as_of.nanos / 1e9
    assert before - 1 <= t <= after + 1


def test_explain_reports_every_rule(stub):
    resp = stub.Decide(json_request(context(3, tier="silver", channel="email"), as_of=AS_OF,
                                    explain=True), timeout=10)
    assert resp.HasField("explanation")
    traces = {r.rule: r for r in resp.explanation.rules}
    assert set(traces) == {"gold-customers", "web-visitors", "adults-newsletter"}
    assert traces["gold-customers"].status == pb.RuleTrace.NOT_MATCHED
    assert traces["adults-newsletter"].status == pb.RuleTrace.MATCHED


# ---------------------------------------------------------------- status codes

def test_unknown_ruleset_is_not_found(stub):
    err = _error(lambda: stub.Decide(json_request(context(), ruleset="no.such"), timeout=10))
    assert err.code() == grpc.StatusCode.NOT_FOUND
    assert "no.such" in err.details()


@pytest.mark.parametrize("encoding", ["json", "struct"])
def test_schema_violation_is_invalid_argument_with_path_and_expected_type(stub, encoding):
    ctx = context(4)
    ctx["customer"]["tier"] = "platinum"
    req = (json_request if encoding == "json" else struct_request)(ctx)
    err = _error(lambda: stub.Decide(req, timeout=10))
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "customer.tier" in err.details()
    assert "enum" in err.details() and "gold" in err.details()  # the expected type
    br = _bad_request(err)
    assert br.field_violations and "customer.tier" in br.field_violations[0].field


def test_wrong_type_names_the_field(stub):
    ctx = context(5)
    ctx["customer"]["age"] = "thirty"
    err = _error(lambda: stub.Decide(json_request(ctx), timeout=10))
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "customer.age" in err.details() and "number" in err.details()


@pytest.mark.parametrize("payload", [b"{not json", b"[1, 2]", b"\xff\xfe", b'{"x": NaN}', b""])
def test_malformed_json_is_invalid_argument_never_unknown(stub, payload):
    req = pb.DecideRequest(ruleset="test.offers", context_json=payload)
    err = _error(lambda: stub.Decide(req, timeout=10))
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT, err
    assert "context_json" in err.details()
    assert _bad_request(err).field_violations[0].field == "context_json"


def test_missing_ruleset_name_and_garbage_request_bytes_are_invalid_argument(server, stub):
    err = _error(lambda: stub.Decide(json_request(context(), ruleset=""), timeout=10))
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
    raw = server.channel().unary_unary("/rules_engine.v1.DecisionService/Decide")
    err = _error(lambda: raw(b"\x0a\xff\xff\xff\xff\x0f", timeout=10))  # not a DecideRequest
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_timestamp_out_of_range_is_invalid_argument(stub):
    req = json_request(context(1))
    req.as_of.seconds = 10 ** 13  # year 318857
    err = _error(lambda: stub.Decide(req, timeout=10))
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT and "as_of" in err.details()


def test_request_over_the_size_limit_is_resource_exhausted(stub):
    big = context(6)
    big["padding"] = "x" * (4 * 1024 * 1024 + 1024)  # default limit: 4 MiB
    err = _error(lambda: stub.Decide(json_request(big), timeout=20))
    assert err.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    # and the server is fine afterwards
    assert stub.Decide(json_request(context(6)), timeout=10).actions


def test_expired_deadline_is_deadline_exceeded(stub):
    many = pb.DecideBatchRequest(requests=[json_request(context(i)) for i in range(3000)])
    err = _error(lambda: stub.DecideBatch(many, timeout=0.02))
    assert err.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    assert stub.Decide(json_request(context(7)), timeout=10).actions


# ---------------------------------------------------------------- DecideBatch

def test_batch_gives_one_result_per_request_in_order_and_a_bad_item_its_own_status(stub):
    bad = context(9)
    bad["customer"]["tier"] = "platinum"
    reqs = [json_request(context(8), request_id="a", as_of=AS_OF),
            json_request(bad, request_id="b", as_of=AS_OF),
            struct_request(context(10, tier="silver"), request_id="c", as_of=AS_OF),
            json_request(context(11), ruleset="no.such", request_id="d"),
            pb.DecideRequest(ruleset="test.offers", context_json=b"{oops", request_id="e"),
            struct_request({"x": 42}, ruleset="test.other", request_id="f", as_of=AS_OF)]
    resp = stub.DecideBatch(pb.DecideBatchRequest(requests=reqs), timeout=10)
    kinds = [r.WhichOneof("result") for r in resp.results]
    assert kinds == ["response", "error", "response", "error", "error", "response"]
    assert [resp.results[i].response.request_id for i in (0, 2, 5)] == ["a", "c", "f"]
    assert resp.results[1].error.code == grpc.StatusCode.INVALID_ARGUMENT.value[0]
    assert "customer.tier" in resp.results[1].error.message
    assert resp.results[1].error.details  # BadRequest, as for the unary call
    assert resp.results[3].error.code == grpc.StatusCode.NOT_FOUND.value[0]
    assert resp.results[4].error.code == grpc.StatusCode.INVALID_ARGUMENT.value[0]
    assert [a.action for a in resp.results[5].response.actions] == ["big"]
    # a batch item decides exactly like the unary call
    unary = stub.Decide(reqs[0], timeout=10)
    assert _without_id(unary) == _without_id(resp.results[0].response)


def test_empty_batch(stub):
    assert len(stub.DecideBatch(pb.DecideBatchRequest(), timeout=10).results) == 0


# ---------------------------------------------------------------- ListRulesets, health, reflection

def test_list_rulesets(stub, server):
    resp = stub.ListRulesets(pb.ListRulesetsRequest(), timeout=10)
    assert [r.name for r in resp.rulesets] == ["test.offers", "test.other"]
    offers = resp.rulesets[0]
    assert offers.version == "1" and offers.rule_count == 3 and offers.hash
    assert offers.source.endswith("offers.yaml")
    assert offers.loaded_at.seconds > 0 and offers.last_error == ""
    assert not resp.errors and not resp.reload_enabled
    assert resp.directory == server.rulesets_dir


def test_health_is_serving(server):
    h = health_pb2_grpc.HealthStub(server.channel())
    for svc in ("", "rules_engine.v1.DecisionService"):
        r = h.Check(health_pb2.HealthCheckRequest(service=svc), timeout=10)
        assert r.status == health_pb2.HealthCheckResponse.SERVING


def test_reflection_lists_the_services_and_describes_them(server):
    from grpc_reflection.v1alpha.proto_reflection_descriptor_database import \
        ProtoReflectionDescriptorDatabase
    from google.protobuf.descriptor_pool import DescriptorPool

    db = ProtoReflectionDescriptorDatabase(server.channel())
    services = set(db.get_services())
    assert {"rules_engine.v1.DecisionService", "grpc.health.v1.Health",
            "grpc.reflection.v1alpha.ServerReflection"} <= services
    pool = DescriptorPool(db)
    svc = pool.FindServiceByName("rules_engine.v1.DecisionService")
    assert {m.name for m in svc.methods} == {"Decide", "DecideBatch", "ListRulesets"}
    assert pool.FindMessageTypeByName("rules_engine.v1.DecideResult").fields_by_name["error"]
    # the same service answers as grpc.reflection.v1 (the messages are the same as v1alpha's)
    from grpc_reflection.v1alpha import reflection_pb2 as rpb
    v1 = server.channel().stream_stream(
        "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
        request_serializer=rpb.ServerReflectionRequest.SerializeToString,
        response_deserializer=rpb.ServerReflectionResponse.FromString)
    answers = list(v1(iter([rpb.ServerReflectionRequest(list_services="")]), timeout=10))
    assert "rules_engine.v1.DecisionService" in {s.name for s in answers[0].list_services_response.service}


def test_log_is_json_lines_without_context_values(server, stub):
    secret = "SECRET-PII-4711"
    ctx = context(12)
    ctx["customer"]["id"] = secret
    ctx["customer"]["tier"] = secret  # a bad value: the rejection is logged, the value is not
    err = _error(lambda: stub.Decide(json_request(ctx, request_id="pii-check"), timeout=10))
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
    ev = server.wait_for_event(lambda e: e.get("request_id") == "pii-check", timeout=5)
    assert ev is not None and ev["event"] == "request_rejected" and ev["field"] == "customer.tier"
    text = server.log_text()
    assert secret not in text
    for line in text.splitlines():
        if line.strip():
            json.loads(line)  # every line is one JSON object


# ---------------------------------------------------------------- reload

@pytest.fixture
def reload_server(tmp_path):
    d = _rulesets_dir(tmp_path, **{"offers.yaml": RULESET_V1})
    srv = ServerProcess(d, tmp_path / "server.log", "--reload", "--reload-interval", "0.2").start()
    yield srv
    srv.close()


def _versions(stub) -> dict:
    return {r.name: r for r in stub.ListRulesets(pb.ListRulesetsRequest(), timeout=10).rulesets}


def test_reload_picks_up_changed_added_and_removed_files(reload_server):
    srv = reload_server
    stub = srv.stub()
    d = srv.rulesets_dir
    old = stub.Decide(json_request(context(1), as_of=AS_OF), timeout=10)
    assert old.version == "1"
    write_atomic(os.path.join(d, "offers.yaml"), RULESET_V2)
    (open(os.path.join(d, "other.yaml"), "w")).write(OTHER_RULESET)
    assert wait_until(lambda: _versions(stub).get("test.offers").version == "2"
                      and "test.other" in _versions(stub), timeout=5)
    new = stub.Decide(json_request(context(1), as_of=AS_OF), timeout=10)
    assert new.version == "2" and new.ruleset_hash != old.ruleset_hash
    assert new.actions[0].params["discount"] == 0.3
    assert stub.Decide(struct_request({"x": 11}, ruleset="test.other"), timeout=10).actions
    os.remove(os.path.join(d, "other.yaml"))
    assert wait_until(lambda: "test.other" not in _versions(stub), timeout=5)
    err = _error(lambda: stub.Decide(struct_request({"x": 11}, ruleset="test.other"), timeout=10))
    assert err.code() == grpc.StatusCode.NOT_FOUND
    assert srv.wait_for_event(lambda e: e.get("event") == "ruleset_removed", timeout=5)


def test_reload_of_a_broken_file_keeps_the_last_good_version_serving(reload_server):
    srv = reload_server
    stub = srv.stub()
    path = os.path.join(srv.rulesets_dir, "offers.yaml")
    good = stub.Decide(json_request(context(1), as_of=AS_OF), timeout=10)
    write_atomic(path, BROKEN_RULESET)
    assert wait_until(lambda: _versions(stub)["test.offers"].last_error, timeout=5)
    info = _versions(stub)["test.offers"]
    assert info.version == "1" and info.hash == good.ruleset_hash
    assert "teir" in info.last_error and info.last_error_at.seconds > 0
    still = stub.Decide(json_request(context(1), as_of=AS_OF), timeout=10)
    assert still.version == "1" and still.ruleset_hash == good.ruleset_hash
    ev = srv.wait_for_event(lambda e: e.get("event") == "ruleset_reload_failed", timeout=5)
    assert ev and ev["ruleset"] == "test.offers" and ev["diagnostics"]
    # a broken new file serves nothing and is listed as an error
    with open(os.path.join(srv.rulesets_dir, "new.yaml"), "w") as f:
        f.write("ruleset: test.new\ncontext: {x: number}\nrules:\n  - id: r\n    when: y > 1\n"
                "    then: [{action: a}]\n")
    assert wait_until(lambda: stub.ListRulesets(pb.ListRulesetsRequest(), timeout=10).errors, timeout=5)
    errors = stub.ListRulesets(pb.ListRulesetsRequest(), timeout=10).errors
    assert errors[0].source.endswith("new.yaml") and errors[0].error
    # fixing the file clears the error and serves the new version
    write_atomic(path, RULESET_V2)
    assert wait_until(lambda: _versions(stub)["test.offers"].version == "2", timeout=5)
    assert _versions(stub)["test.offers"].last_error == ""


def test_burst_of_calls_while_files_change_has_zero_failures(reload_server):
    srv = reload_server
    path = os.path.join(srv.rulesets_dir, "offers.yaml")
    stop = threading.Event()
    failures, seen, counts = [], set(), [0]
    lock = threading.Lock()
    channels = [srv.channel() for _ in range(4)]

    def client(k):
        stub = srv.stub(channels[k % len(channels)])
        deadline = time.monotonic() + 20
        for i in range(100_000):  # bounded by count and by time
            if stop.is_set() or time.monotonic() > deadline:
                return
            try:
                if i % 10 == 0:
                    r = stub.DecideBatch(pb.DecideBatchRequest(
                        requests=[json_request(context(j), as_of=AS_OF) for j in range(20)]), timeout=10)
                    assert all(x.WhichOneof("result") == "response" for x in r.results)
                    got = {(x.response.version, x.response.ruleset_hash) for x in r.results}
                    assert len(got) == 1, got  # one version for the whole batch
                else:
                    resp = stub.Decide(json_request(context(i), as_of=AS_OF), timeout=10)
                    got = {(resp.version, resp.ruleset_hash)}
                with lock:
                    seen.update(got)
                    counts[0] += 1
            except Exception as e:  # noqa: BLE001 - every failure is a test failure
                with lock:
                    failures.append(repr(e))

    threads = [threading.Thread(target=client, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    try:
        texts = [RULESET_V2, BROKEN_RULESET, RULESET_V1, RULESET_V2]
        for n in range(8):  # 8 changes, ~0.35 s apart, some of them broken
            time.sleep(0.35)
            text = texts[n % len(texts)]
            if n % 2:
                write_atomic(path, text)
            else:
                with open(path, "w") as f:  # in-place rewrite: the reader may see a partial file
                    f.write(text)
        time.sleep(0.6)
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=30)
    assert not failures, failures[:5]
    assert counts[0] > 50
    versions = {v for v, _ in seen}
    assert versions <= {"1", "2"} and len(versions) == 2, seen
    # each version label always came with the same hash
    assert len(seen) == len(versions), seen


# ---------------------------------------------------------------- shutdown and workers

SLOW_RULESET = """\
ruleset: test.slow
context:
  n: number
rules:
  - id: heavy
    when: count(for i in 1..n return i * 2) > 0
    then: [{action: a}]
"""


def test_sigterm_during_load_finishes_calls_in_flight_and_exits_0(tmp_path):
    """SIGTERM under load: every call the server started is answered and delivered, the big
    batch in flight completes, the process exits 0.

    Calls that reach the server after the drain began are refused: UNAVAILABLE, or CANCELLED for
    those still queued inside grpc's core, not yet handed to a handler (grpc/grpc#41785); neither
    kind ran, so both are safe to retry. The proof that nothing was cut off: the number of calls
    the server reports answered (its `stopped` log line) equals the OK responses clients got.
    """
    d = _rulesets_dir(tmp_path, **{"offers.yaml": RULESET_V1, "slow.yaml": SLOW_RULESET})
    srv = ServerProcess(d, tmp_path / "server.log").start()
    try:
        stub = srv.stub()
        results = {"ok": 0, "refused": 0, "other": []}
        lock = threading.Lock()
        stop = threading.Event()
        # a batch whose every decision runs a 100,000-step loop: seconds of work, however fast the
        # engine's ordinary decisions become
        big = pb.DecideBatchRequest(requests=[json_request({"n": 100_000}, ruleset="test.slow", as_of=AS_OF,
                                                           explain=True) for _ in range(60)])
        big_result = {}

        def long_call():
            try:
                r = stub.DecideBatch(big, timeout=60)
                big_result["n"] = len(r.results)
                big_result["ok"] = sum(x.WhichOneof("result") == "response" for x in r.results)
            except grpc.RpcError as e:
                big_result["error"] = f"{e.code()}: {e.details()}"
            big_result["done_at"] = time.monotonic()

        def unary_load():
            deadline = time.monotonic() + 20
            for i in range(50_000):
                if stop.is_set() or time.monotonic() > deadline:
                    return
                try:
                    stub.Decide(json_request(context(i)), timeout=10)
                    with lock:
                        results["ok"] += 1
                except grpc.RpcError as e:
                    with lock:
                        if e.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.CANCELLED):
                            results["refused"] += 1
                        else:
                            results["other"].append(f"{e.code()}: {e.details()}")
                    return  # the server is going away

        loaders = [threading.Thread(target=unary_load) for _ in range(4)]
        for t in loaders:
            t.start()
        time.sleep(0.5)
        lt = threading.Thread(target=long_call)
        lt.start()
        # SIGTERM while the server is busy with the big batch (sent in a few ms, decided in seconds)
        time.sleep(0.3)
        sigterm_at = time.monotonic()
        srv.proc.send_signal(signal.SIGTERM)
        rc = srv.proc.wait(timeout=40)
        stop.set()
        lt.join(timeout=30)
        for t in loaders:
            t.join(timeout=30)
        assert rc == 0
        assert big_result.get("n") == 60 and big_result["ok"] == 60, big_result
        assert big_result["done_at"] > sigterm_at  # it really was in flight when the signal came
        assert results["ok"] > 0 and not results["other"], results
        assert srv.wait_for_event(lambda e: e.get("event") == "draining", timeout=2)
        stopped = srv.wait_for_event(lambda e: e.get("event") == "stopped", timeout=2)
        assert stopped["answered"]["DecideBatch"] == 1
        assert stopped["answered"]["Decide"] == results["ok"], (stopped, results)
    finally:
        srv.close()


def test_workers_share_the_port_and_drain_on_sigterm(tmp_path):
    d = _rulesets_dir(tmp_path, **{"offers.yaml": RULESET_V1})
    srv = ServerProcess(d, tmp_path / "server.log", "--workers", "2").start(timeout=60)
    try:
        ev = srv.wait_for_event(lambda e: e.get("event") == "serving" and "pids" in e, timeout=5)
        assert len(set(ev["pids"])) == 2
        workers = [e for e in srv.events() if e.get("event") == "serving" and "worker" in e]
        assert {e["worker"] for e in workers} == {0, 1} and {e["port"] for e in workers} == {srv.port}
        for k in range(8):  # separate connections: SO_REUSEPORT spreads connections
            stub = srv.stub(srv.channel(**{"test.conn": k}))
            assert stub.Decide(json_request(context(k), as_of=AS_OF), timeout=10).version == "1"
        assert srv.terminate(timeout=60) == 0
    finally:
        srv.close()


def test_usage_errors_exit_2(tmp_path):
    import subprocess
    import sys
    from grpc_harness import REPO
    r = subprocess.run([sys.executable, os.path.join(REPO, "server.py"), "--rulesets",
                        str(tmp_path / "missing"), "--addr", "127.0.0.1:0"],
                       capture_output=True, text=True, timeout=60, cwd=REPO)
    assert r.returncode == 2 and "not found" in r.stderr
    r = subprocess.run([sys.executable, os.path.join(REPO, "server.py"), "--addr", "nonsense"],
                       capture_output=True, text=True, timeout=60, cwd=REPO)
    assert r.returncode == 2


def test_port_in_use_fails_to_start(tmp_path):
    import socket
    import subprocess
    import sys
    from grpc_harness import REPO
    d = _rulesets_dir(tmp_path, **{"offers.yaml": RULESET_V1})
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        addr = f"127.0.0.1:{taken.getsockname()[1]}"
        for extra in ([], ["--workers", "2"]):  # SO_REUSEPORT must not join someone else's port
            r = subprocess.run([sys.executable, os.path.join(REPO, "server.py"), "--rulesets", str(d),
                                "--addr", addr, *extra], capture_output=True, text=True, timeout=60, cwd=REPO)
            assert r.returncode == 1 and "startup_failed" in r.stderr, (extra, r.stderr[-2000:])


def test_an_engine_bug_is_internal_with_an_incident_id_and_never_fails_a_batch():
    """In-process server (same runtime) over a ruleset object whose decide() crashes."""
    import datetime as dt
    import logging

    from rules_engine.server import LoadedRuleset, Snapshot, build_server
    from rules_engine.service import DecisionServicer
    from rules_engine.v1 import decision_pb2_grpc as pb_grpc

    class Crashing:
        name, version, hash, source, rules = "test.crash", "1", "0" * 64, "crash.yaml", []

        def decide(self, context, as_of=None, explain=False):
            raise RuntimeError(f"cannot handle {context.get('email')}")  # quotes the context

    class Catalog:
        snapshot = Snapshot({"test.crash": LoadedRuleset(Crashing(), "crash.yaml", dt.datetime.now(dt.timezone.utc))}, {})

    class Records(logging.Handler):
        def __init__(self):
            super().__init__(logging.ERROR)
            self.records = []

        def emit(self, record):
            self.records.append(record)

    captured = Records()
    service_log = logging.getLogger("rules_engine.service")
    service_log.addHandler(captured)
    server, _ = build_server(DecisionServicer(Catalog()), threads=2)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        with grpc.insecure_channel(f"127.0.0.1:{port}") as ch:
            stub = pb_grpc.DecisionServiceStub(ch)
            pii = {"email": "ana.secret@example.com"}
            err = _error(lambda: stub.Decide(json_request(pii, ruleset="test.crash"), timeout=10))
            assert err.code() == grpc.StatusCode.INTERNAL and "incident" in err.details()
            resp = stub.DecideBatch(pb.DecideBatchRequest(requests=[
                json_request(pii, ruleset="test.crash"), json_request({}, ruleset="nope")]), timeout=10)
            assert [r.error.code for r in resp.results] == [grpc.StatusCode.INTERNAL.value[0],
                                                             grpc.StatusCode.NOT_FOUND.value[0]]
            records = [r for r in captured.records if getattr(r, "fields", {}).get("event") == "internal_error"]
            assert len(records) == 2
            assert all("ana.secret" not in json.dumps(r.fields) for r in records)
            assert "ana.secret" not in err.details()
    finally:
        service_log.removeHandler(captured)
        server.stop(0)


def test_responses_encode_byte_for_byte_as_the_message_would():
    """The servicer writes responses from pre-encoded parts (_RulesetWire): every example decision,
    with and without a request id, at clocks before and after 1970, must give exactly the bytes of
    the DecideResponse built field by field (which is also checked against the shared-action
    blobs it merges), and a batch entry exactly the bytes of a DecideResult."""
    import datetime as dt
    from pathlib import Path

    import rules_engine
    from rules_engine import service
    from rules_engine.loader import load_yaml

    root = Path(__file__).resolve().parent.parent / "rulesets"
    utc = dt.timezone.utc
    clocks = [dt.datetime(2026, 11, 22, 10, tzinfo=utc), dt.datetime(2026, 11, 22, 10, 0, 1, 250, tzinfo=utc),
              dt.datetime(1969, 7, 20, 20, 17, 40, 5, tzinfo=utc), dt.datetime(1970, 1, 1, tzinfo=utc)]
    merged = decisions = keyed = 0
    for test_file in sorted(root.rglob("*.test.yaml")):
        rs = rules_engine.compile_ruleset(str(test_file).replace(".test.yaml", ".yaml"))
        wire = service._RulesetWire(rs)
        assert len(wire.blobs) == len(rs.shared_actions) > 0
        cases = load_yaml(test_file.read_text(), str(test_file)).to_python()["cases"]
        for i, case in enumerate(cases):
            try:
                d = rs.decide(case.get("context") or {}, as_of=clocks[i % len(clocks)])
            except rules_engine.ContextError:
                continue
            for request_id in ("", "r-\u00e9t\u00e9-" + "x" * (i * 7)):
                req = pb.DecideRequest(ruleset=rs.name, request_id=request_id)
                fast, slow = pb.DecideResponse(), pb.DecideResponse()
                service._fill_response(fast, d, req, wire.blobs)
                service._fill_response(slow, d, req)
                # (deterministic: the order of a params Struct's map entries is not fixed otherwise)
                assert fast.SerializeToString(deterministic=True) == slow.SerializeToString(deterministic=True)
                raw = wire.response(d, request_id)
                # the wire's remembered outcome bytes (shared by decisions with one outcome_key)
                # are what a fresh wire encodes
                assert raw == service._RulesetWire(rs).response(d, request_id)
                assert pb.DecideResponse.FromString(raw) == slow
                assert pb.DecideResponse.FromString(raw).SerializeToString(deterministic=True) == \
                    slow.SerializeToString(deterministic=True), f"{test_file.name} case {i}"
                if not any(a.params for a in d.actions):
                    assert raw == slow.SerializeToString()
                    batch = pb.DecideBatchResponse(results=[pb.DecideResult(response=slow)])
                    assert service._result_head(raw) + raw == batch.SerializeToString()
                else:
                    assert pb.DecideBatchResponse.FromString(service._result_head(raw) + raw).results[0].response == slow
            decisions += 1
            merged += sum(id(a) in wire.blobs for a in d.actions)
            keyed += d.outcome_key is not None
    assert merged > 20 and decisions > 50  # the cached path really ran
    assert keyed > 10


def test_request_clocks_convert_exactly_one_after_another(stub):
    """The service remembers the last request clock it converted: a different as_of right after
    (or the same seconds with other nanos) must not be served from that memo."""
    seen = []
    for seconds, nanos in [(1_795_000_000, 0), (1_795_000_000, 0), (1_795_000_000, 123_456_789),
                           (1_795_000_000, 123_456_000), (1_795_000_001, 0), (0, 999_999_999)]:
        req = json_request(context(1))
        req.as_of.seconds, req.as_of.nanos = seconds, nanos
        resp = stub.Decide(req, timeout=10)
        # the engine's clock keeps microseconds: nanoseconds below them are dropped
        assert (resp.as_of.seconds, resp.as_of.nanos) == (seconds, nanos // 1000 * 1000)
        seen.append(resp.as_of.nanos)
    bad = json_request(context(1))
    bad.as_of.seconds, bad.as_of.nanos = 1_795_000_000, 1_000_000_000
    err = _error(lambda: stub.Decide(bad, timeout=10))
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT and "nanos" in err.details()
    assert seen == [0, 0, 123_456_000, 123_456_000, 0, 999_999_000]
