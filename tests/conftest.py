"""Shared test setup: Hypothesis profiles.

`default` is fast for local runs; `ci` (chosen when the CI environment
variable is set, as it is in `.ci/run`) runs many more examples.
`deadline=None` everywhere: these machines are noisy, and speed is
measured in benchmarks/, not in tests.
"""
import os

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
    settings.load_profile("ci" if os.environ.get("CI") else os.environ.get("HYPOTHESIS_PROFILE", "default"))
