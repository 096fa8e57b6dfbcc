"""The committed gRPC stubs in rules_engine/v1/ are exactly what protos/generate.py makes of
protos/rules_engine/v1/decision.proto: regenerate into a temp dir and compare byte for byte.

If this fails after editing the .proto, run `python protos/generate.py` and commit the result.
"""
from __future__ import annotations

import importlib.util
import os
import re

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _load_generate():
    spec = importlib.util.spec_from_file_location("protos_generate", os.path.join(REPO, "protos", "generate.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


# Lines that only record which protoc / grpcio-tools produced the file.
_VERSION_LINES = re.compile(rb"^(# Protobuf Python Version: .*|GRPC_GENERATED_VERSION = .*|"
                            rb"_runtime_version\.ValidateProtobufRuntimeVersion\([\s\S]*?\))$", re.M)


def _tools_version(text: bytes) -> bytes:
    m = re.search(rb"GRPC_GENERATED_VERSION = '([^']+)'", text)
    return m.group(1) if m else b""


def test_committed_stubs_match_the_proto(tmp_path):
    pytest.importorskip("grpc_tools", reason="grpcio-tools (the test extra) regenerates the stubs")
    gen = _load_generate()
    written = gen.generate(str(tmp_path))
    assert written
    import grpc_tools
    from importlib.metadata import version
    tools = version("grpcio-tools").encode()
    for path in written:
        rel = os.path.relpath(path, str(tmp_path))
        committed_path = os.path.join(REPO, rel)
        assert os.path.exists(committed_path), f"{rel} is not committed: run python protos/generate.py"
        with open(committed_path, "rb") as f:
            committed = f.read()
        with open(path, "rb") as f:
            fresh = f.read()
        grpc_file = os.path.join(REPO, "rules_engine", "v1", "decision_pb2_grpc.py")
        with open(grpc_file, "rb") as f:
            made_with = _tools_version(f.read())
        if made_with == tools:
            assert fresh == committed, f"{rel} differs from the .proto: run python protos/generate.py"
        else:
            # another grpcio-tools stamps other version numbers; everything else must match
            assert _VERSION_LINES.sub(b"", fresh) == _VERSION_LINES.sub(b"", committed), (
                f"{rel} differs from the .proto (generated with grpcio-tools {made_with.decode()}, "
                f"installed {tools.decode()}): run python protos/generate.py")
    assert grpc_tools  # the tools were really used


def test_stubs_import_as_package_modules():
    from rules_engine.v1 import decision_pb2, decision_pb2_grpc

    svc = decision_pb2.DESCRIPTOR.services_by_name["DecisionService"]
    assert svc.full_name == "rules_engine.v1.DecisionService"
    assert {m.name for m in svc.methods} == {"Decide", "DecideBatch", "ListRulesets"}
    assert decision_pb2_grpc.DecisionServiceStub
    req = decision_pb2.DecideRequest.DESCRIPTOR
    assert [f.name for f in req.oneofs_by_name["context_encoding"].fields] == ["context", "context_json"]
