"""Shared test settings: one fixed, deterministic hypothesis profile, so CI time stays bounded."""

from hypothesis import HealthCheck, settings

# derandomize: the same examples on every run (no flaky CI, no example database written);
# a modest number of examples per property (a test may ask for more with @settings)
settings.register_profile(
    "pbr",
    derandomize=True,
    database=None,
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.load_profile("pbr")
