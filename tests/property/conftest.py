"""Hypothesis profiles for the database-backed property tests.

HYPOTHESIS_PROFILE=ci (set by .ci/run) runs more and longer examples than
the default "dev" profile a developer gets on a laptop. The profile is
applied explicitly by the tests here (``active_profile``) rather than loaded
globally, so that choosing "ci" does not silently lengthen every other
@given test in the suite. The example database is off: a failure's minimal
example is printed, and other engineers' runs share this checkout.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

_COMMON = {
    "deadline": None,
    "database": None,
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large],
}

settings.register_profile("dev", max_examples=25, stateful_step_count=25, **_COMMON)
settings.register_profile("ci", max_examples=120, stateful_step_count=35, **_COMMON)


def active_profile() -> settings:
    """Return the profile named by HYPOTHESIS_PROFILE (default "dev")."""
    return settings.get_profile(os.environ.get("HYPOTHESIS_PROFILE") or "dev")
