"""The fuzzing profiles: a quick one in every test run, a long one on demand.

``MXTLS_FUZZ=long`` (see the README) runs every property of ``tests/fuzz``
with :data:`LONG_EXAMPLES` examples; without it they run
:data:`QUICK_EXAMPLES` each, derandomised so that the normal test command is
repeatable.  The timing properties (linear growth) cost tens of milliseconds
per example, so they run fewer examples in both profiles.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

PROFILE = os.environ.get("MXTLS_FUZZ", "quick")
if PROFILE not in ("quick", "long"):
    raise RuntimeError(f"MXTLS_FUZZ must be 'quick' or 'long', not {PROFILE!r}")
LONG = PROFILE == "long"

QUICK_EXAMPLES = 60
LONG_EXAMPLES = int(os.environ.get("MXTLS_FUZZ_EXAMPLES", "20000"))  # override: a shorter run
QUICK_TIMING_EXAMPLES = 3
LONG_TIMING_EXAMPLES = 200

_SLOW_OK = [HealthCheck.too_slow, HealthCheck.data_too_large]

FUZZ = settings(
    max_examples=LONG_EXAMPLES if LONG else QUICK_EXAMPLES,
    derandomize=not LONG,
    deadline=None,  # a loaded 2-core machine must not turn slowness into failures
    database=None,  # nothing written into the working tree
    suppress_health_check=_SLOW_OK,
    print_blob=True,  # a failure prints the @reproduce_failure line
)
"""For the properties "only documented errors escape" and "buffers stay bounded"."""

FUZZ_TIMING = settings(FUZZ, max_examples=LONG_TIMING_EXAMPLES if LONG else QUICK_TIMING_EXAMPLES)
"""For the linear-time properties (each example times three input sizes)."""
