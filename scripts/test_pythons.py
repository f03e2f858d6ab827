"""Run the whole test suite on every supported CPython (what `make test` and CI do).

    python scripts/test_pythons.py                  # 3.9 3.10 3.11 3.12 3.13
    python scripts/test_pythons.py 3.11             # just one
    python scripts/test_pythons.py --pytest-args "-x tests/test_draw.py"
    python scripts/test_pythons.py --list           # which interpreters would be used; runs nothing

Run it with the interpreter of the main venv (``.venv``, made by `make`):
that Python's suite runs first, in ``.venv``.  Each other version gets its
own venv beside it (``.venv-3.9`` ...), made with ``python -m venv`` + pip and
the ``test`` and ``oracle`` extras (the oracle's torch is marked for CPython
3.11 on Linux x86-64 only, so pip never tries to download it elsewhere, and
the tests that need it skip).  Interpreters are found through pyenv
(``PYENV_VERSION=3.13.0 pyenv which python``, newest patch release of each
version) or as ``python3.X`` on PATH.

The suites run one after another, each on both cores (``-n 2``).  Under
CI the main version (this interpreter: 3.11, the one with the torch oracle)
runs Hypothesis's thorough ``ci`` profile (1,000 examples per property) and
the others ``ci-other`` (200): measured on a clean clone on 2 shared cores,
all ``ci`` took 821 s in all, 105-168 s per version plus 3.5 min of venvs.
A version that is not installed fails
the run under CI (every supported Python must be tested there) and is
reported but tolerated on a developer's machine.  Exit status: 0 when every
suite that ran passed.

Standard library only: it runs before anything is installed.
"""
from __future__ import annotations

import argparse
import os
import pathlib
import re
import shlex
import shutil
import subprocess
import sys
import time
from typing import Iterable, Optional

ROOT = pathlib.Path(__file__).resolve().parent.parent
SUPPORTED = ("3.9", "3.10", "3.11", "3.12", "3.13")
EXTRAS = ".[test,oracle]"
PYTEST_ARGS = "-n 2 tests engine nn --doctest-modules --nbmake notebooks"


def newest_patch(minor: str, versions: Iterable[str]) -> Optional[str]:
    """The newest CPython release of ``minor`` (e.g. ``"3.13"``) among pyenv's version names.

    Only plain ``X.Y.Z`` names count (not ``3.13.0t``, ``pypy3.10-7.3``, ``3.12-dev``).

    >>> newest_patch("3.10", ["3.9.18", "3.10.2", "3.10.13", "3.10.13t", "pypy3.10-7.3.12"])
    '3.10.13'
    >>> newest_patch("3.8", ["3.9.18"]) is None
    True
    """
    best = None
    for v in versions:
        m = re.fullmatch(r"(\d+)\.(\d+)\.(\d+)", v.strip())
        if m and f"{m.group(1)}.{m.group(2)}" == minor:
            key = tuple(int(g) for g in m.groups())
            if best is None or key > best[0]:
                best = (key, v.strip())
    return None if best is None else best[1]


def find_python(minor: str) -> Optional[str]:
    """Path of a CPython ``minor`` interpreter (pyenv first, then ``python3.X`` on PATH), or None."""
    pyenv = shutil.which("pyenv")
    if pyenv:
        listing = subprocess.run([pyenv, "versions", "--bare"], capture_output=True, text=True)
        release = newest_patch(minor, listing.stdout.split())
        if release:
            found = subprocess.run([pyenv, "which", "python"], capture_output=True, text=True,
                                   env={**os.environ, "PYENV_VERSION": release})
            if found.returncode == 0 and found.stdout.strip():
                return found.stdout.strip()
    return shutil.which(f"python{minor}")


def interpreter_version(python: str) -> Optional[str]:
    """``"3.11.7"`` for a CPython interpreter, None if it is not CPython or does not run."""
    probe = "import sys; print(sys.implementation.name, '.'.join(map(str, sys.version_info[:3])))"
    try:
        out = subprocess.run([python, "-c", probe], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return None
    parts = out.stdout.split()
    if out.returncode != 0 or len(parts) != 2 or parts[0] != "cpython":
        return None
    return parts[1]


def venv_python(venv: pathlib.Path) -> pathlib.Path:
    return venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def ensure_venv(python: str, venv: pathlib.Path) -> pathlib.Path:
    """Create ``venv`` from ``python`` if needed and install the test extras into it."""
    py = venv_python(venv)
    if not py.exists():
        subprocess.run([python, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(py), "-m", "pip", "install", "--quiet", "--upgrade", "pip"], check=True)
    subprocess.run([str(py), "-m", "pip", "install", "--quiet", "-e", EXTRAS], check=True, cwd=ROOT)
    return py


def main(argv: Optional[list] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("versions", nargs="*", default=list(SUPPORTED),
                        help=f"CPython versions to test (default: {' '.join(SUPPORTED)})")
    parser.add_argument("--pytest-args", default=PYTEST_ARGS,
                        help=f"arguments for pytest (default: {PYTEST_ARGS!r})")
    parser.add_argument("--list", action="store_true",
                        help="only say which interpreter each version would use; create and run nothing")
    args = parser.parse_args(argv)
    for v in args.versions:
        if not re.fullmatch(r"3\.\d+", v):
            parser.error(f"version {v!r}: give a CPython version as MAJOR.MINOR, e.g. 3.12")
    ci = bool(os.environ.get("CI"))
    primary = ".".join(map(str, sys.version_info[:2]))

    # (version, python in its venv) in the order they run: this interpreter's first.
    runs = [(".".join(map(str, sys.version_info[:3])), pathlib.Path(sys.executable))]
    missing = []
    for minor in args.versions:
        if minor == primary:
            continue
        python = find_python(minor)
        release = python and interpreter_version(python)
        if not release or not release.startswith(minor + "."):
            missing.append(minor)
            continue
        print(f"== CPython {release}: venv .venv-{minor} ({python})", flush=True)
        venv = ROOT / f".venv-{minor}"
        runs.append((release, venv_python(venv) if args.list else ensure_venv(python, venv)))

    results = []
    if args.list:
        print(f"== CPython {runs[0][0]}: {runs[0][1]} (this interpreter)")
        runs = []
    for release, py in runs:
        env = dict(os.environ)
        if ci and release != runs[0][0]:
            env.setdefault("HYPOTHESIS_PROFILE", "ci-other")
        profile = env.get("HYPOTHESIS_PROFILE") or ("ci" if ci else "default")
        print(f"\n== CPython {release}: pytest {args.pytest_args} (Hypothesis profile {profile})", flush=True)
        start = time.monotonic()
        code = subprocess.call([str(py), "-m", "pytest", *shlex.split(args.pytest_args)], cwd=ROOT, env=env)
        results.append((release, code, time.monotonic() - start))

    print("\n== summary")
    for release, code, seconds in results:
        status = "passed" if code == 0 else f"FAILED (pytest exit code {code})"
        print(f"   CPython {release:<8} {status}  ({seconds:.0f} s)")
    for minor in missing:
        fix = f"pyenv install {minor}" if shutil.which("pyenv") else f"install python{minor}"
        print(f"   CPython {minor:<8} NOT FOUND (looked in pyenv and for python{minor} on PATH; {fix})"
              + ("" if ci else " - skipped on this machine"))
    failed = any(code != 0 for _, code, _ in results) or (ci and missing)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
