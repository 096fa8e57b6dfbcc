"""Every ruleset in a directory tree, by name."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .decision import Ruleset
from .diagnostics import Diagnostic
from .ruleset import RulesetError, compile_ruleset


def ruleset_files(root) -> list[Path]:
    """Ruleset files under `root` (or `root` itself): `*.yaml`/`*.yml`, not `*.test.yaml`, sorted."""
    p = Path(root)
    if p.is_file():
        return [p]
    files = [f for ext in ("*.yaml", "*.yml") for f in p.rglob(ext)]
    return sorted(f for f in files if not f.name.endswith((".test.yaml", ".test.yml")) and f.is_file())


@dataclass
class Engine:
    """The rulesets of a directory: `rulesets` by name (good ones), `errors` by file (bad ones)."""
    root: str
    rulesets: dict[str, Ruleset] = field(default_factory=dict)
    errors: dict[str, list[Diagnostic]] = field(default_factory=dict)

    def get(self, name: str) -> "Ruleset | None":
        return self.rulesets.get(name)

    def __getitem__(self, name: str) -> Ruleset:
        return self.rulesets[name]


def load_directory(root) -> Engine:
    """Compile every ruleset under `root`. One file's errors never hide another's; a name used by two
    files is an error on the second."""
    engine = Engine(str(root))
    for f in ruleset_files(root):
        try:
            rs = compile_ruleset(f)
        except RulesetError as e:
            engine.errors[str(f)] = e.diagnostics
            continue
        except OSError as e:
            engine.errors[str(f)] = [Diagnostic(str(f), 1, 1, "E-IO", f"cannot read: {e.strerror or e}")]
            continue
        if rs.name in engine.rulesets:
            other = engine.rulesets[rs.name].source
            engine.errors[str(f)] = [Diagnostic(str(f), 1, 1, "E-DUPLICATE-ID",
                                                f"ruleset name '{rs.name}' is already used by {other}")]
            continue
        engine.rulesets[rs.name] = rs
    return engine
