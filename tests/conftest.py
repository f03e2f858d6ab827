"""Shared test setup: Hypothesis profiles.

`default` is fast for local runs; `ci` (chosen when the CI environment
variable is set, as it is in `.ci/run`) runs many more examples; `ci-other`
is what CI runs on the CPythons other than the main one (see
scripts/test_pythons.py).  HYPOTHESIS_PROFILE, when set, picks one.
`deadline=None` everywhere: these machines are noisy, and speed is
measured in benchmarks/, not in tests.
"""
import importlib.util
import os
import platform

try:
    from hypothesis import HealthCheck, settings
except ImportError:  # hypothesis is a test extra; tests needing it skip themselves
    pass
else:
    settings.register_profile("default", max_examples=100, deadline=None)
    settings.register_profile(
        "ci", max_examples=1000, deadline=None, print_blob=True,
        suppress_health_check=[HealthCheck.too_slow],
    )
    # The other CPythons in CI (scripts/test_pythons.py): 2x the local examples, so five suites fit the CI budget.
    settings.register_profile(
        "ci-other", max_examples=200, deadline=None, print_blob=True,
        suppress_health_check=[HealthCheck.too_slow],
    )
    settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if os.environ.get("CI") else "default"))


def pytest_report_header(config):
    # Say up front why the PyTorch oracle tests skip on most Pythons (see pyproject's `oracle` extra).
    if importlib.util.find_spec("torch") is not None:
        return "torch oracle: installed"
    return (f"torch oracle: not installed on CPython {platform.python_version()}; the `oracle` extra installs "
            "torch==2.13.0 (a local wheel) on CPython 3.11 on Linux x86-64 only, so tests that need it skip")
