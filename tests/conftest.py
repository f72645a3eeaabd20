"""Shared fixtures. ``tests/`` is on sys.path (rootdir conftest), so helpers import as top-level modules."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from platform_process import Platform


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    """A running ``otelguard up`` shared by the tests of one module."""
    running = Platform(tmp_path_factory.mktemp("platform") / "data")
    running.start()
    yield running
    running.close()
