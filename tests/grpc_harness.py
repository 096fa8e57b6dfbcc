"""Helpers for the end-to-end gRPC tests: start the real server as a subprocess on a free
loopback port, read its JSON-lines log, stop it by PID. Every wait is bounded in time."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import grpc

from rules_engine.v1 import decision_pb2 as pb
from rules_engine.v1 import decision_pb2_grpc as pb_grpc

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HOST = "127.0.0.1"

RULESET_V1 = """\
ruleset: test.offers
version: "1"
description: End-to-end test ruleset for the gRPC service
context:
  customer:
    id: string
    tier: enum(bronze, silver, gold)
    age: number
    lifetime_value: number
  channel: enum(web, email)
actions:
  gold_offer: {group: offer, priority: 50}
  web_welcome: {group: offer, priority: 10}
  newsletter: {priority: 5}
rules:
  - id: gold-customers
    when: customer.tier = "gold"
    then:
      - action: gold_offer
        params: {discount: 0.2, code: GOLD20}
    reason: offer.gold
  - id: web-visitors
    when: channel = "web"
    then:
      - action: web_welcome
    reason: offer.web
  - id: adults-newsletter
    when: customer.age >= 18
    then:
      - action: newsletter
        params: {list: weekly}
    reason: marketing.newsletter
policy:
  groups:
    offer: {max: 1}
"""

# Same ruleset, new version label and a different discount.
RULESET_V2 = RULESET_V1.replace('version: "1"', 'version: "2"').replace("discount: 0.2", "discount: 0.3")

OTHER_RULESET = """\
ruleset: test.other
version: "a"
context:
  x: number
rules:
  - id: big-x
    when: x > 10
    then:
      - action: big
    reason: size.big
"""

# Does not compile: a rule reads a field the context schema does not have.
BROKEN_RULESET = RULESET_V1.replace('version: "1"', 'version: "broken"').replace(
    'when: customer.tier = "gold"', 'when: customer.teir = "gold"')


def context(i: int = 0, tier: str = "gold", channel: str = "web") -> dict:
    return {"customer": {"id": f"c-{i:06d}", "tier": tier, "age": 30 + i % 40,
                         "lifetime_value": 1000 + i},
            "channel": channel, "unused_extra_field": {"nested": [1, 2, 3]}}


def json_request(ctx: dict, ruleset: str = "test.offers", **kw) -> pb.DecideRequest:
    return pb.DecideRequest(ruleset=ruleset, context_json=json.dumps(ctx).encode(), **kw)


def struct_request(ctx: dict, ruleset: str = "test.offers", **kw) -> pb.DecideRequest:
    req = pb.DecideRequest(ruleset=ruleset, **kw)
    req.context.update(ctx)
    return req


class ServerProcess:
    """`python server.py --rulesets DIR --addr 127.0.0.1:0 ...` with its stderr in a log file."""

    def __init__(self, rulesets_dir, log_path, *args: str):
        self.rulesets_dir = str(rulesets_dir)
        self.log_path = str(log_path)
        self.args = list(args)
        self.proc: subprocess.Popen | None = None
        self.port = 0
        self._channels: list[grpc.Channel] = []

    def start(self, timeout: float = 30.0) -> "ServerProcess":
        cmd = [sys.executable, os.path.join(REPO, "server.py"), "--rulesets", self.rulesets_dir,
               "--addr", f"{HOST}:0", *self.args]
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (REPO, env.get("PYTHONPATH", "")) if p)
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                         stderr=log, cwd=REPO, env=env)
        ev = self.wait_for_event(lambda e: e.get("event") == "serving" and "worker" not in e,
                                 timeout=timeout)
        if ev is None:
            self.kill()
            raise RuntimeError(f"server did not start; log:\n{self.log_text()[-4000:]}")
        self.port = int(ev["port"])
        return self

    # -- log
    def log_text(self) -> str:
        try:
            with open(self.log_path, encoding="utf-8", errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def events(self) -> list[dict]:
        out = []
        for line in self.log_text().splitlines():
            line = line.strip()
            if line.startswith("{"):
                try:
                    out.append(json.loads(line))
                except ValueError:
                    pass
        return out

    def wait_for_event(self, pred, timeout: float = 10.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for e in self.events():
                if pred(e):
                    return e
            if self.proc is not None and self.proc.poll() is not None:
                return next((e for e in self.events() if pred(e)), None)
            time.sleep(0.05)
        return None

    # -- clients
    @property
    def target(self) -> str:
        return f"{HOST}:{self.port}"

    def channel(self, **options) -> grpc.Channel:
        opts = [("grpc.use_local_subchannel_pool", 1)] + list(options.items())
        ch = grpc.insecure_channel(self.target, options=opts)
        grpc.channel_ready_future(ch).result(timeout=10)
        self._channels.append(ch)
        return ch

    def stub(self, channel: grpc.Channel | None = None) -> pb_grpc.DecisionServiceStub:
        return pb_grpc.DecisionServiceStub(channel or self.channel())

    # -- stopping (our own child only, by PID)
    def terminate(self, timeout: float = 40.0) -> int:
        if self.proc is None:
            return 0
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)

    def close(self) -> None:
        for ch in self._channels:
            ch.close()
        self._channels.clear()
        try:
            if self.proc is not None and self.proc.poll() is None:
                self.terminate(timeout=20)
        finally:
            self.kill()


def wait_until(fn, timeout: float = 10.0, interval: float = 0.1):
    """Call fn until it returns a truthy value (returned) or the time is up (returns the last value)."""
    deadline = time.monotonic() + timeout
    value = fn()
    while not value and time.monotonic() < deadline:
        time.sleep(interval)
        value = fn()
    return value


def write_atomic(path, text: str) -> None:
    """Write a file the way deploy tools do: a temp file renamed over the old one."""
    path = str(path)
    tmp = os.path.join(os.path.dirname(path), f".{os.path.basename(path)}.tmp")
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, path)
