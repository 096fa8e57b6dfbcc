"""The decision service's runtime: `rules serve`, `python server.py`, `python -m rules_engine.server`.

    rules serve [--rulesets DIR] [--addr HOST:PORT] [--workers N] [--reload]

- a gRPC server (grpc.server with a small thread pool) serving rules_engine.v1.DecisionService,
  the standard grpc.health.v1.Health service (SERVING; NOT_SERVING while draining) and server
  reflection, so grpcurl and friends work without the .proto file;
- `--workers N`: N processes, each a full server, sharing the port with SO_REUSEPORT
  (`grpc.so_reuseport`); the kernel spreads *connections* over them, so clients should open
  several connections (or use a load balancer);
- SIGTERM (or SIGINT) drains (see `_drain`): health turns NOT_SERVING, calls are still served for
  `--drain-delay` s, then new calls get UNAVAILABLE while the calls in flight finish (up to
  `--grace` s) and their answers leave the socket; then grpc stops and the process exits 0. A
  second signal stops at once. A worker whose supervisor died drains the same way;
- `--reload`: the rulesets directory is polled (every `--reload-interval` s: size, mtime and inode
  of every file outside hidden directories, plus a content hash of files modified in the last
  2 s, which catches a same-size rewrite within one mtime tick); on a change the whole
  directory is reloaded with `rules_engine.load_directory` and the new set of rulesets replaces the
  old one atomically (one reference assignment): a call in flight finishes on the Ruleset it
  started with. A file that fails to compile keeps its last good version serving; the error is
  logged once and shown by ListRulesets;
- logs: JSON lines on stderr, one line per event or problem; never context values at info level;
- requests over `--max-request-bytes` (default 4 MiB) are refused by the transport with
  RESOURCE_EXHAUSTED (grpc.max_receive_message_length).

`add_serve_arguments(parser)` and `run_serve(args) -> int` let the `rules` CLI offer the same
command.
"""
from __future__ import annotations

import argparse
import dataclasses
import datetime as _dt
import gc
import hashlib
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from concurrent import futures

log = logging.getLogger("rules_engine.server")

DEFAULT_RULESETS = "rulesets/"
DEFAULT_ADDR = "127.0.0.1:50051"
DEFAULT_MAX_REQUEST_BYTES = 4 * 1024 * 1024
# Request threads per process. Python runs one thread at a time: two let one decide while the other
# waits on the transport, and more only pass the interpreter lock back and forth. Measured on this
# 2-core machine (bench/grpc_bench.py, unary Decide): 2 threads ~215 us of server CPU per call,
# 4 threads ~260 us, 1 thread ~300 us; throughput is best with 2 as well.
DEFAULT_THREADS = 2
_UTC = _dt.timezone.utc
_SETTLE_S = 0.3  # after the last answer, before the sockets close (unread input makes close() reset)
_RECENT_S = 2.0  # files modified this recently are also content-hashed (same-size edits within one mtime tick)


# ------------------------------------------------------------------ JSON-lines logging

class JsonLinesFormatter(logging.Formatter):
    """One JSON object per line: ts, level, logger, msg, pid (+ worker) and the record's `fields`."""

    def __init__(self, worker: int | None = None):
        super().__init__()
        self.worker = worker

    def format(self, record: logging.LogRecord) -> str:
        out = {
            "ts": _dt.datetime.fromtimestamp(record.created, _UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
            "pid": record.process,
        }
        if self.worker is not None:
            out["worker"] = self.worker
        fields = getattr(record, "fields", None)
        if fields:
            out.update(fields)
        if record.exc_info and record.exc_info[0] is not None:
            out["exception"] = record.exc_info[0].__name__
            out["traceback"] = "".join(__import__("traceback").format_tb(record.exc_info[2]))
        return json.dumps(out, default=str, ensure_ascii=False)


def configure_logging(level: str = "info", worker: int | None = None, stream=None) -> None:
    """JSON lines on stderr for the `rules_engine` loggers (the library's too)."""
    root = logging.getLogger("rules_engine")
    for h in list(root.handlers):
        if getattr(h, "_rules_engine_json", False):
            root.removeHandler(h)
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonLinesFormatter(worker))
    handler._rules_engine_json = True
    root.addHandler(handler)
    root.setLevel(getattr(logging, level.upper(), logging.INFO))
    root.propagate = False


def _event(level: int, event: str, msg: str, **fields) -> None:
    fields["event"] = event
    log.log(level, msg, extra={"fields": fields})


# ------------------------------------------------------------------ the ruleset catalog

@dataclasses.dataclass(frozen=True)
class LoadedRuleset:
    ruleset: object                       # rules_engine Ruleset
    source_key: str                       # normalized source path
    loaded_at: _dt.datetime
    last_error: str = ""                  # diagnostics of the last failed reload of its file
    last_error_at: _dt.datetime | None = None


@dataclasses.dataclass(frozen=True)
class FileError:
    error: str
    failed_at: _dt.datetime


@dataclasses.dataclass(frozen=True)
class Snapshot:
    """Everything a request needs, never mutated: reload builds a new one and swaps the reference."""
    rulesets: dict                        # name -> LoadedRuleset
    errors: dict                          # source path -> FileError (files that serve nothing)
    directory: str = ""
    reload_enabled: bool = False


def _path_key(p) -> str:
    return os.path.normcase(os.path.abspath(str(p)))


def _render_diagnostics(diags) -> str:
    parts = []
    for d in diags:
        try:
            parts.append(d.render())
        except Exception:  # a diagnostic that cannot render itself still has a message
            parts.append(str(getattr(d, "message", d)))
    return "\n".join(parts)


def _diagnostic_lines(diags) -> list[str]:
    out = []
    for d in diags:
        try:
            out.append(f"{d.file}:{d.line}:{d.col}: {d.severity}[{d.code}]: {d.message}")
        except AttributeError:
            out.append(str(d))
    return out


def freeze_heap() -> None:
    """Leave the objects alive now out of the cycle collector's full passes (gc.freeze).

    A serving process holds its compiled rulesets, gRPC and protobuf for its whole life, and
    each full collection visited all of them: about 10 ms with the example rulesets, during which
    no call in flight makes progress (0.01 ms once frozen). Called after loading and after each
    reload: the objects frozen last time are unfrozen and collected first, so a replaced
    ruleset's cycles are still freed (that one collection, on the reload thread, costs the 10 ms)."""
    gc.unfreeze()
    gc.collect()
    gc.freeze()


class RulesetCatalog:
    """The loaded rulesets of one directory, reloadable; `snapshot` is read by every request."""

    def __init__(self, directory: str, *, reload_enabled: bool = False, quiet: bool = False,
                 freeze_heap: bool = False):
        self.directory = directory
        self.reload_enabled = reload_enabled
        self._freezes_heap = freeze_heap  # see freeze_heap(): for the server process
        # workers other than the first log reload outcomes at debug level: one line per problem
        self._report = logging.DEBUG if quiet else None
        self.snapshot = Snapshot({}, {}, directory, reload_enabled)
        self._files: dict | None = None
        self._lock = threading.Lock()

    # -- change detection
    def _scan(self) -> dict:
        files = {}
        now = time.time()
        for dirpath, dirnames, filenames in os.walk(self.directory):
            dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))  # .git and friends
            for fn in filenames:
                p = os.path.join(dirpath, fn)
                try:
                    st = os.stat(p)
                except OSError:
                    continue  # removed while scanning: the next poll sees it gone
                digest = None
                if now - st.st_mtime < _RECENT_S:
                    try:
                        with open(p, "rb") as f:
                            digest = hashlib.blake2b(f.read(), digest_size=16).digest()
                    except OSError:
                        pass
                files[p] = ((st.st_mtime_ns, st.st_size, st.st_ino), digest)
        return files

    @staticmethod
    def _changed(old: dict | None, new: dict) -> bool:
        if old is None or old.keys() != new.keys():
            return True
        for p, (stat, digest) in new.items():
            ostat, odigest = old[p]
            if stat != ostat or (digest is not None and odigest is not None and digest != odigest):
                return True
        return False

    def poll(self) -> bool:
        """Reload if anything under the directory changed; True when it reloaded."""
        with self._lock:
            files = self._scan()
            if not self._changed(self._files, files):
                return False
            self._files = files  # also on failure: retry on the next change, not every poll
            self._reload()
            return True

    def load(self) -> None:
        """The initial load (raises when the directory cannot be loaded at all)."""
        import rules_engine
        with self._lock:
            self._files = self._scan()
            engine = rules_engine.load_directory(self.directory)
            self._swap(engine)
        if self._freezes_heap:
            freeze_heap()

    def _reload(self) -> None:
        import rules_engine
        t0 = time.monotonic()
        try:
            engine = rules_engine.load_directory(self.directory)
        except Exception as e:
            _event(logging.ERROR, "reload_failed", "reload failed; the previous rulesets keep serving",
                   directory=self.directory, exception=type(e).__name__, error=str(e))
            return
        self._swap(engine, reload_ms=round((time.monotonic() - t0) * 1000, 1))
        if self._freezes_heap:
            del engine
            freeze_heap()

    def _lvl(self, level: int) -> int:
        return self._report if self._report is not None else level

    def _swap(self, engine, reload_ms: float | None = None) -> None:
        old = self.snapshot
        now = _dt.datetime.now(_UTC)
        new: dict = {}
        for name, rs in engine.rulesets.items():
            key = _path_key(rs.source)
            prev = old.rulesets.get(name)
            if prev is not None and prev.ruleset.hash == rs.hash and prev.source_key == key:
                new[name] = dataclasses.replace(prev, last_error="", last_error_at=None)
                if prev.last_error:
                    _event(self._lvl(logging.INFO), "ruleset_recovered", "ruleset file compiles again",
                           ruleset=name, file=str(rs.source))
                continue
            new[name] = LoadedRuleset(rs, key, now)
            _event(self._lvl(logging.INFO), "ruleset_loaded",
                   "ruleset reloaded" if prev is not None else "ruleset loaded",
                   ruleset=name, version=rs.version or "", hash=rs.hash, file=str(rs.source),
                   rules=len(rs.rules))
        by_source = {e.source_key: (n, e) for n, e in old.rulesets.items()}
        errors: dict = {}
        for path, diags in sorted(engine.errors.items()):
            text = _render_diagnostics(diags)
            carried = by_source.get(_path_key(path))
            if carried is not None and carried[0] not in new:
                name, prev = carried
                same = prev.last_error == text
                new[name] = dataclasses.replace(prev, last_error=text,
                                                last_error_at=prev.last_error_at if same else now)
                if not same:
                    _event(self._lvl(logging.WARNING), "ruleset_reload_failed",
                           "ruleset file does not compile; the last good version keeps serving",
                           ruleset=name, file=str(path), serving_version=prev.ruleset.version or "",
                           serving_hash=prev.ruleset.hash, diagnostics=_diagnostic_lines(diags))
                continue
            before = old.errors.get(str(path))
            same = before is not None and before.error == text
            errors[str(path)] = FileError(text, before.failed_at if same else now)
            if not same:
                _event(self._lvl(logging.WARNING), "ruleset_compile_failed",
                       "ruleset file does not compile; it serves nothing", file=str(path),
                       diagnostics=_diagnostic_lines(diags))
        for name, prev in old.rulesets.items():
            if name not in new:
                _event(self._lvl(logging.INFO), "ruleset_removed", "ruleset removed",
                       ruleset=name, file=str(prev.ruleset.source))
        # the atomic swap: requests read self.snapshot once and keep what they got
        self.snapshot = Snapshot(new, errors, self.directory, self.reload_enabled)
        if reload_ms is not None:
            _event(logging.DEBUG, "reloaded", "directory reloaded", rulesets=len(new),
                   errors=len(errors), ms=reload_ms)


class _Watcher(threading.Thread):
    def __init__(self, catalog: RulesetCatalog, interval: float):
        super().__init__(name="rules-reload", daemon=True)
        self.catalog = catalog
        self.interval = interval
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.wait(self.interval):
            try:
                self.catalog.poll()
            except Exception as e:  # keep watching; the previous snapshot keeps serving
                _event(logging.ERROR, "reload_failed", "reload failed; the previous rulesets keep serving",
                       exception=type(e).__name__, error=str(e))

    def stop(self) -> None:
        self.stopped.set()


# ------------------------------------------------------------------ arguments

def add_serve_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """The options of `rules serve` (and of `python server.py`)."""
    parser.add_argument("--rulesets", default=DEFAULT_RULESETS, metavar="DIR",
                        help=f"directory of ruleset files (default {DEFAULT_RULESETS})")
    parser.add_argument("--addr", default=DEFAULT_ADDR, metavar="HOST:PORT",
                        help=f"address to listen on (default {DEFAULT_ADDR}; port 0 picks a free one)")
    parser.add_argument("--workers", type=int, default=1, metavar="N",
                        help="server processes sharing the port with SO_REUSEPORT (default 1)")
    parser.add_argument("--reload", action="store_true",
                        help="watch the rulesets directory and swap in changed files")
    parser.add_argument("--reload-interval", type=float, default=0.5, metavar="SECONDS",
                        help="how often --reload polls the directory (default 0.5)")
    parser.add_argument("--threads", type=int, default=DEFAULT_THREADS, metavar="N",
                        help=f"request threads per process (default {DEFAULT_THREADS}; more cost CPU per call)")
    parser.add_argument("--max-request-bytes", type=int, default=DEFAULT_MAX_REQUEST_BYTES, metavar="BYTES",
                        help="larger requests get RESOURCE_EXHAUSTED (default 4 MiB)")
    parser.add_argument("--grace", type=float, default=25.0, metavar="SECONDS",
                        help="on SIGTERM, how long calls in flight may take to finish (default 25)")
    parser.add_argument("--drain-delay", type=float, default=0.25, metavar="SECONDS",
                        help="on SIGTERM, keep serving this long with health NOT_SERVING before "
                             "refusing new calls (give load balancers time to notice; default 0.25)")
    parser.add_argument("--log-level", default="info", choices=("debug", "info", "warning", "error"),
                        help="default info (never logs context values; debug may)")
    # internal: set by the --workers supervisor for its children
    parser.add_argument("--worker-index", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--reuseport", action="store_true", help=argparse.SUPPRESS)
    return parser


def parse_addr(addr: str) -> tuple[str, int]:
    """'HOST:PORT' or '[v6]:PORT' -> (host, port). Raises ValueError."""
    host, sep, port = addr.rpartition(":")
    if not sep or not host:
        raise ValueError(f"--addr must be HOST:PORT, got {addr!r}")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    try:
        p = int(port)
    except ValueError:
        raise ValueError(f"--addr port must be a number, got {port!r}") from None
    if not 0 <= p <= 65535:
        raise ValueError(f"--addr port out of range: {p}")
    return host, p


def _fmt_addr(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


# ------------------------------------------------------------------ one server process

def build_server(servicer, *, threads: int = DEFAULT_THREADS, max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES,
                 reuseport: bool = False, extra_services=()):
    """A grpc.server with the decision service, health and reflection. Returns (server, health)."""
    import grpc
    from grpc_health.v1 import health, health_pb2, health_pb2_grpc
    from grpc_reflection.v1alpha import reflection

    from rules_engine import service

    options = [
        ("grpc.so_reuseport", 1 if reuseport else 0),
        ("grpc.max_receive_message_length", max_request_bytes),
        ("grpc.max_send_message_length", -1),
    ]
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=threads, thread_name_prefix="rpc"),
                         options=options)
    service.add_to_server(servicer, server)
    health_servicer = health.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    names = [service.SERVICE_NAME, *extra_services]
    for name in ["", *names]:
        health_servicer.set(name, health_pb2.HealthCheckResponse.SERVING)
    reflection.enable_server_reflection(
        [*names, health_pb2.DESCRIPTOR.services_by_name["Health"].full_name, reflection.SERVICE_NAME],
        server)
    _add_reflection_v1(server, names)
    return server, health_servicer


def _add_reflection_v1(server, names) -> None:
    """Also answer reflection as grpc.reflection.v1.ServerReflection (grpcio-reflection serves only
    v1alpha; v1 is the same messages under another package, and some tools ask for v1 first)."""
    import grpc
    from grpc_health.v1 import health_pb2
    from grpc_reflection.v1alpha import reflection, reflection_pb2

    servicer = reflection.ReflectionServicer(
        [*names, health_pb2.DESCRIPTOR.services_by_name["Health"].full_name, reflection.SERVICE_NAME])
    handler = grpc.stream_stream_rpc_method_handler(
        servicer.ServerReflectionInfo,
        request_deserializer=reflection_pb2.ServerReflectionRequest.FromString,
        response_serializer=reflection_pb2.ServerReflectionResponse.SerializeToString)
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(
        "grpc.reflection.v1.ServerReflection", {"ServerReflectionInfo": handler}),))


def _serve_one(args) -> int:
    from rules_engine.service import DecisionServicer

    host, port = parse_addr(args.addr)
    directory = args.rulesets
    if not os.path.isdir(directory):
        _event(logging.ERROR, "startup_failed", "rulesets directory not found", directory=directory)
        return 2
    catalog = RulesetCatalog(directory, reload_enabled=args.reload,
                             quiet=bool(args.worker_index),  # worker 0 (or the only one) reports
                             freeze_heap=True)
    try:
        catalog.load()
    except Exception as e:
        _event(logging.ERROR, "startup_failed", "could not load the rulesets directory",
               directory=directory, exception=type(e).__name__, error=str(e))
        return 1
    snap = catalog.snapshot
    _event(logging.INFO, "rulesets_loaded", "rulesets loaded", directory=directory,
           rulesets=sorted(snap.rulesets), errors=sorted(snap.errors))

    servicer = DecisionServicer(catalog)
    server, health = build_server(servicer, threads=args.threads,
                                  max_request_bytes=args.max_request_bytes, reuseport=args.reuseport)
    try:
        bound = server.add_insecure_port(_fmt_addr(host, port))
    except RuntimeError as e:  # grpc raises when the port is taken
        bound, why = 0, str(e)
    else:
        why = ""
    if not bound:
        _event(logging.ERROR, "startup_failed", "could not bind the address (in use?)", addr=args.addr,
               error=why)
        return 1
    stop = threading.Event()
    force = threading.Event()
    signals = []

    def on_signal(signum, frame):
        signals.append(signum)
        if stop.is_set():  # a second signal: stop at once
            force.set()
            server.stop(0)
        stop.set()

    for s in (signal.SIGTERM, signal.SIGINT):
        signal.signal(s, on_signal)
    server.start()
    watcher = None
    if args.reload:
        watcher = _Watcher(catalog, args.reload_interval)
        watcher.start()
    _event(logging.INFO, "serving", "serving", addr=_fmt_addr(host, bound), port=bound,
           threads=args.threads, reload=bool(args.reload), max_request_bytes=args.max_request_bytes)
    if args.worker_index is not None:  # tell the supervisor (stdout is a pipe to it)
        print(f"READY {os.getpid()} {bound}", flush=True)
    parent = os.getppid()
    while not stop.wait(1.0):
        if args.worker_index is not None and os.getppid() != parent:  # the supervisor died
            signals.append(signal.SIGTERM)
            break
    _drain(server, health, servicer, watcher, args, signals, force)
    return 0


def _drain(server, health, servicer, watcher, args, signals, force) -> None:
    """The graceful stop, in order:

    1. health turns NOT_SERVING, so balancers that watch it stop sending;
    2. for --drain-delay seconds every call is still served (this also serves the calls already
       queued inside grpc when the signal came);
    3. new calls are refused with UNAVAILABLE (they do not run: safe to retry elsewhere) while the
       calls in progress finish, up to --grace seconds, and their answers leave the socket;
    4. grpc's own stop: GOAWAY to every client, listeners closed. (grpc cancels calls that reach
       it from here on before any handler sees them, grpc/grpc#41785: they never ran either.)
    """
    t0 = time.monotonic()
    _event(logging.INFO, "draining", "draining: finishing calls in flight",
           signal=signal.Signals(signals[0]).name, grace_s=args.grace, drain_delay_s=args.drain_delay)
    health.enter_graceful_shutdown()
    if watcher is not None:
        watcher.stop()
    if args.drain_delay > 0:
        force.wait(args.drain_delay)
    servicer.refuse_new_calls()
    idle = True
    while not force.is_set():
        remaining = args.grace - (time.monotonic() - t0)
        idle = servicer.wait_idle(timeout=min(0.2, max(0.0, remaining)), settle=_SETTLE_S)
        if idle or remaining <= 0:
            break
    remaining = 0.0 if force.is_set() else max(0.0, args.grace - (time.monotonic() - t0))
    server.stop(remaining).wait(remaining + 5)
    _event(logging.INFO if idle else logging.WARNING, "stopped",
           "stopped" if idle else "stopped; calls still running after --grace were cancelled",
           drain_ms=round((time.monotonic() - t0) * 1000, 1), answered=servicer.answered())


# ------------------------------------------------------------------ --workers N: a supervisor

def _reserve_port(host: str) -> socket.socket:
    """Bind (not listen) a SO_REUSEPORT socket on a free port; the workers join its reuseport group."""
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    s.bind((host, 0))
    return s


def _child_cmd(args, port: int, index: int) -> list[str]:
    host, _ = parse_addr(args.addr)
    cmd = [sys.executable, "-m", "rules_engine.server",
           "--rulesets", args.rulesets, "--addr", _fmt_addr(host, port), "--workers", "1",
           "--threads", str(args.threads), "--max-request-bytes", str(args.max_request_bytes),
           "--grace", str(args.grace), "--drain-delay", str(args.drain_delay),
           "--log-level", args.log_level,
           "--reload-interval", str(args.reload_interval),
           "--worker-index", str(index), "--reuseport"]
    if args.reload:
        cmd.append("--reload")
    return cmd


def _child_env() -> dict:
    # the children import the same rules_engine as this process, wherever it was started from
    import rules_engine
    pkg_parent = os.path.dirname(os.path.dirname(os.path.abspath(rules_engine.__file__)))
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (pkg_parent, env.get("PYTHONPATH", "")) if p)
    return env


def _supervise(args) -> int:
    host, port = parse_addr(args.addr)
    reserved = None
    if port == 0:
        reserved = _reserve_port(host)
        port = reserved.getsockname()[1]
    else:
        # SO_REUSEPORT would let the workers join another server's group on this port (same user)
        # and silently share its traffic: insist that the port is free first
        fam = socket.AF_INET6 if ":" in host else socket.AF_INET
        with socket.socket(fam, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # TIME_WAIT is fine
            try:
                probe.bind((host, port))
            except OSError as e:
                _event(logging.ERROR, "startup_failed", "could not bind the address (in use?)",
                       addr=args.addr, error=str(e))
                return 1
    stop = threading.Event()
    signals = []

    def on_signal(signum, frame):
        signals.append(signum)
        stop.set()

    for s in (signal.SIGTERM, signal.SIGINT):
        signal.signal(s, on_signal)

    env = _child_env()
    children: dict[int, subprocess.Popen] = {}
    ready = threading.Semaphore(0)

    def start(i: int) -> None:
        p = subprocess.Popen(_child_cmd(args, port, i), stdout=subprocess.PIPE, stdin=subprocess.DEVNULL,
                             text=True, env=env)
        children[i] = p

        def read_ready(p=p):
            for line in p.stdout:  # ends at EOF, when the child exits
                if line.startswith("READY"):
                    ready.release()
        threading.Thread(target=read_ready, daemon=True, name=f"worker-{i}-stdout").start()

    for i in range(args.workers):
        start(i)
    deadline = time.monotonic() + 120
    n_ready = 0
    while n_ready < args.workers and not stop.is_set() and time.monotonic() < deadline:
        if ready.acquire(timeout=0.2):
            n_ready += 1
        elif any(p.poll() is not None for p in children.values()):
            break
    if n_ready < args.workers:
        if not stop.is_set():
            _event(logging.ERROR, "startup_failed", "a worker did not start", workers=args.workers,
                   ready=n_ready)
        _stop_children(children, args.grace)
        return 1
    _event(logging.INFO, "serving", "serving", addr=_fmt_addr(host, port), port=port,
           workers=args.workers, pids=[p.pid for p in children.values()], reload=bool(args.reload))
    restarts: list[float] = []
    while not stop.wait(0.5):
        for i, p in list(children.items()):
            rc = p.poll()
            if rc is None or stop.is_set():
                continue
            now = time.monotonic()
            restarts = [t for t in restarts if now - t < 60] + [now]
            if len(restarts) > 5:
                _event(logging.ERROR, "worker_failed", "workers keep dying; giving up", worker=i,
                       exit_code=rc)
                _stop_children(children, args.grace)
                return 1
            _event(logging.ERROR, "worker_restarted", "worker exited unexpectedly; restarting it",
                   worker=i, pid=p.pid, exit_code=rc)
            start(i)
    _event(logging.INFO, "draining", "draining: stopping workers",
           signal=signal.Signals(signals[0]).name, workers=len(children))
    codes = _stop_children(children, args.grace)
    if reserved is not None:
        reserved.close()
    ok = all(c == 0 for c in codes)
    _event(logging.INFO if ok else logging.ERROR, "stopped", "stopped", exit_codes=codes)
    return 0 if ok else 1


def _stop_children(children: dict, grace: float) -> list:
    for p in children.values():  # our own children only, by PID
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
    codes = []
    for p in children.values():
        try:
            codes.append(p.wait(timeout=grace + 15))
        except subprocess.TimeoutExpired:
            p.kill()
            codes.append(p.wait(timeout=5))
    return codes


# ------------------------------------------------------------------ entry points

def run_serve(args) -> int:
    """Run the service until SIGTERM/SIGINT; the exit code (0 after a clean drain)."""
    configure_logging(args.log_level, worker=args.worker_index)
    try:
        parse_addr(args.addr)
        if args.workers < 1:
            raise ValueError("--workers must be at least 1")
        if args.threads < 1:
            raise ValueError("--threads must be at least 1")
        if args.max_request_bytes < 1024:
            raise ValueError("--max-request-bytes must be at least 1024")
        if args.reload_interval <= 0:
            raise ValueError("--reload-interval must be positive")
        if args.grace < 0 or args.drain_delay < 0:
            raise ValueError("--grace and --drain-delay must not be negative")
    except ValueError as e:
        _event(logging.ERROR, "usage_error", str(e))
        return 2
    if args.workers > 1:
        return _supervise(args)
    return _serve_one(args)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="server.py", description="Run the rules_engine gRPC decision service (same options as `rules serve`).")
    add_serve_arguments(parser)
    return run_serve(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
