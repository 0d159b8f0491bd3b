"""Whole-suite guards: no connection leaves loopback, and no host AWS settings leak in."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from k8s_aws.support import netguard

netguard.install()
# Processes the tests start (the sandbox's Python helpers) install the same guard.
os.environ[netguard.ENV_FLAG] = "1"
# Nothing in the test process may fall back to a real IMDS or the machine's AWS profile.
for _name in [n for n in os.environ if n.startswith("AWS_")]:
    del os.environ[_name]
os.environ["AWS_EC2_METADATA_DISABLED"] = "true"
os.environ["AWS_CONFIG_FILE"] = os.devnull
os.environ["AWS_SHARED_CREDENTIALS_FILE"] = os.devnull


@pytest.fixture(autouse=True)
def _loopback_only() -> Iterator[None]:
    """Fail the test that tried to connect outside 127.0.0.0/8, even if it swallowed the error."""
    netguard.violations.clear()
    yield
    attempted = list(netguard.violations)
    netguard.violations.clear()
    if attempted:
        pytest.fail(f"connections to non-loopback addresses attempted: {attempted}")
