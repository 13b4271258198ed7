"""Shared fixtures: one simulator per test process and a private point cache."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def sim():
    """The process's ngspice simulator, with sky130 models found as users find them."""
    from bitrom_char.spice import Simulator

    return Simulator()


@pytest.fixture(autouse=True)
def private_cache(tmp_path_factory, monkeypatch):
    """Keep trimmed models shared, but never touch the user's point cache."""
    monkeypatch.setenv("BITROM_CACHE", str(tmp_path_factory.getbasetemp() / "cache"))
