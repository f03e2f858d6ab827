"""`make test` / CI run the suite on every supported CPython, and never download torch.

Checks the pieces that make that true without running the suites again:
the oracle extra's environment marker, the Makefile target, and the
interpreter discovery of scripts/test_pythons.py (its --list mode runs nothing).
"""
import importlib.util
import os
import pathlib
import re
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "test_pythons.py"


def _script():
    spec = importlib.util.spec_from_file_location("test_pythons", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _extras() -> dict:
    """pyproject's optional-dependencies as {extra: [requirement strings]} (no tomllib on 3.9/3.10)."""
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    block = text.split("[project.optional-dependencies]", 1)[1].split("\n[", 1)[0]
    extras = {}
    for m in re.finditer(r"^(\w+) = \[(.*?)\]$", block, flags=re.M | re.S):
        extras[m.group(1)] = re.findall(r'"([^"]+)"', m.group(2))
    return extras


def test_torch_is_pinned_and_marked_for_the_local_wheel_only():
    from packaging.requirements import Requirement

    torch_reqs = [Requirement(r) for reqs in _extras().values() for r in reqs if r.startswith("torch")]
    assert torch_reqs, "the oracle extra should name torch"
    for req in torch_reqs:
        assert str(req.specifier) == "==2.13.0"
        env = {"python_version": "3.11", "sys_platform": "linux", "platform_machine": "x86_64"}
        assert req.marker is not None and req.marker.evaluate(env)
        for other in ("3.9", "3.10", "3.12", "3.13"):
            assert not req.marker.evaluate({**env, "python_version": other}), other
        assert not req.marker.evaluate({**env, "sys_platform": "darwin"})


def test_bench_gets_torch_only_through_the_oracle_extra():
    extras = _extras()
    assert "chainrule[oracle]" in extras["bench"]
    assert not any(r.startswith("torch") for r in extras["bench"])


def test_make_test_runs_every_supported_python():
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert re.search(r"^PYTHONS \?= 3\.9 3\.10 3\.11 3\.12 3\.13$", makefile, flags=re.M)
    recipe = makefile.split("\ntest:", 1)[1].split("\n\n", 1)[0]
    assert "scripts/test_pythons.py $(PYTHONS)" in recipe
    assert "bash" in (ROOT / ".ci" / "run").read_text() and "make test" in (ROOT / ".ci" / "run").read_text()
    assert _script().SUPPORTED == ("3.9", "3.10", "3.11", "3.12", "3.13")


@pytest.mark.parametrize("minor, names, expected", [
    ("3.10", ["3.9.18", "3.10.2", "3.10.13", "3.10.13t", "pypy3.10-7.3.12", "3.10-dev"], "3.10.13"),
    ("3.1", ["3.10.13", "3.11.7"], None),
    ("3.13", ["system", "3.13.0", "3.13.1"], "3.13.1"),
])
def test_newest_patch_picks_plain_cpython_releases(minor, names, expected):
    assert _script().newest_patch(minor, names) == expected


def _run(*args, ci: bool):
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    if ci:
        env["CI"] = "true"
    return subprocess.run([sys.executable, str(SCRIPT), "--list", *args], capture_output=True, text=True,
                          env=env, timeout=120)


def test_missing_python_fails_under_ci_and_is_tolerated_locally():
    local = _run("3.99", ci=False)
    assert local.returncode == 0, local.stderr
    assert "CPython 3.99" in local.stdout and "NOT FOUND" in local.stdout and "skipped" in local.stdout
    ci = _run("3.99", ci=True)
    assert ci.returncode == 1
    assert "NOT FOUND" in ci.stdout and "skipped" not in ci.stdout


def test_bad_version_argument_is_refused():
    out = _run("three", ci=False)
    assert out.returncode == 2 and "MAJOR.MINOR" in out.stderr


def test_list_mode_uses_this_interpreter_first_and_creates_nothing(tmp_path):
    me = ".".join(map(str, sys.version_info[:2]))
    out = _run(me, ci=False)
    assert out.returncode == 0
    assert f"CPython {'.'.join(map(str, sys.version_info[:3]))}: {sys.executable} (this interpreter)" in out.stdout
    assert "venv .venv-" not in out.stdout  # the running version is not set up twice


def test_other_pythons_run_a_lighter_but_real_hypothesis_profile():
    settings = pytest.importorskip("hypothesis").settings
    assert 100 < settings.get_profile("ci-other").max_examples < settings.get_profile("ci").max_examples
    assert "ci-other" in SCRIPT.read_text(encoding="utf-8")
