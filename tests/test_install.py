"""The grammar loads from an installed copy of the package, not only from the source tree.

`pip install --no-deps --target <tmp>` builds and installs a copy of this repository (taken from a
scratch copy, so the working tree gets no build/ or egg-info), then a fresh Python whose cwd and
sys.path[0] are <tmp> imports rules_engine from there and parses, checks and evaluates an
expression. Part of the normal suite (`make test`); it takes some seconds.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SKIP = {".git", ".venv", "venv", "build", "dist", "tests", "bench", "rulesets", "docs", "__pycache__",
        ".pytest_cache", ".ci"}


def _ignore(directory, names):
    return [n for n in names if n in SKIP or n.endswith(".egg-info") or n.endswith(".pyc")]


def _setuptools_recent() -> bool:
    """Can the current interpreter build the package without fetching the build backend?"""
    try:
        import setuptools
    except ImportError:
        return False
    return int(setuptools.__version__.split(".")[0]) >= 77   # pyproject's build-system requirement


def test_grammar_loads_from_an_installed_copy(tmp_path):
    src = tmp_path / "src"
    shutil.copytree(ROOT, src, ignore=_ignore)
    assert (src / "grammar" / "feel.lark").is_file() and (src / "pyproject.toml").is_file()
    target = tmp_path / "site"
    cmd = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-cache-dir",
           "--disable-pip-version-check", "--target", str(target), str(src)]
    if _setuptools_recent():
        cmd.insert(4, "--no-build-isolation")   # no network needed
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP")}
    done = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    assert (target / "rules_engine" / "grammar" / "feel.lark").is_file(), "the grammar is not in the installed package"

    probe = textwrap.dedent(f"""
        import sys
        target = {str(target)!r}
        sys.path.insert(0, target)
        import os
        assert os.getcwd() == target, os.getcwd()
        assert sys.path[0] == target, sys.path[:3]
        import rules_engine
        from rules_engine import parser
        from importlib import resources
        assert rules_engine.__file__.startswith(target + os.sep), rules_engine.__file__
        grammar = resources.files("rules_engine.grammar").joinpath("feel.lark")
        assert str(grammar).startswith(target + os.sep), str(grammar)
        for name, mod in list(sys.modules.items()):
            if name == "rules_engine" or name.startswith("rules_engine."):
                f = getattr(mod, "__file__", None)
                assert f is None or f.startswith(target + os.sep), (name, f)
        node = parser.parse('string length(customer.name) > 3 and date and time("2026-11-22T10:00:00Z") < now()')
        assert type(node).__name__ == "And", node
        e = rules_engine.compile_expression('upper case(x) = "ABC" and x in ("abc", "def")')
        assert e.evaluate({{"x": "abc"}}) is True
        print("OK", rules_engine.__file__)
    """)
    out = subprocess.run([sys.executable, "-c", probe], cwd=target, env=env, capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr
    assert out.stdout.startswith("OK " + str(target))
