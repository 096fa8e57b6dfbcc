"""Regenerate the Python gRPC stubs of protos/rules_engine/v1/decision.proto.

    python protos/generate.py              # writes rules_engine/v1/decision_pb2{,_grpc}.py{,i}
    python protos/generate.py --out DIR    # writes DIR/rules_engine/v1/... instead (used by the test)

The stubs are committed; tests/test_proto_stubs.py regenerates them into a temporary directory
and compares them byte for byte, so nobody edits them by hand. Needs grpcio-tools (the `test`
extra) and googleapis-common-protos (for google/rpc/status.proto).
"""
from __future__ import annotations

import argparse
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
PROTOS = ["rules_engine/v1/decision.proto"]
GENERATED = [
    "rules_engine/v1/decision_pb2.py",
    "rules_engine/v1/decision_pb2.pyi",
    "rules_engine/v1/decision_pb2_grpc.py",
]


def include_dirs() -> list[str]:
    import grpc_tools
    from google.rpc import status_pb2

    well_known = os.path.join(os.path.dirname(grpc_tools.__file__), "_proto")
    # google/rpc/status.proto ships with googleapis-common-protos, next to status_pb2.py
    googleapis = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(status_pb2.__file__))))
    return [HERE, well_known, googleapis]


def generate(out_dir: str = ROOT) -> list[str]:
    """Run protoc; return the paths written (absolute)."""
    from grpc_tools import protoc

    os.makedirs(out_dir, exist_ok=True)
    args = ["grpc_tools.protoc"]
    args += [f"-I{d}" for d in include_dirs()]
    args += [f"--python_out={out_dir}", f"--pyi_out={out_dir}", f"--grpc_python_out={out_dir}"]
    args += PROTOS
    rc = protoc.main(args)
    if rc != 0:
        raise RuntimeError(f"protoc failed with exit code {rc}: {' '.join(args)}")
    return [os.path.join(out_dir, p) for p in GENERATED]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=ROOT, help="output root (default: the repository)")
    a = ap.parse_args(argv)
    try:
        written = generate(os.path.abspath(a.out))
    except (ImportError, RuntimeError) as e:
        print(f"generate.py: {e}", file=sys.stderr)
        return 1
    for p in written:
        print(os.path.relpath(p))
    return 0


if __name__ == "__main__":
    sys.exit(main())
