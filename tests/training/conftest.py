"""Fixtures for the training tests."""

from __future__ import annotations

import pytest

from .helpers import An4Subset


@pytest.fixture(scope="session")
def an4_subset(an4_dir) -> An4Subset:
    return An4Subset(an4_dir, 16)
