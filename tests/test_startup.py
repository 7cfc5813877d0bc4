"""The startup check that stops a daphne process from running without a usable Redis."""

import pytest
from django.core.exceptions import ImproperlyConfigured

from proj.startup import check_redis


def test_a_running_redis_passes_and_reports_its_version():
    assert check_redis("redis://127.0.0.1:6379/0")[0] >= 5


def test_an_unreachable_redis_fails_with_a_clear_message():
    with pytest.raises(ImproperlyConfigured, match="cannot be reached"):
        check_redis("redis://127.0.0.1:1/0", timeout=1)
