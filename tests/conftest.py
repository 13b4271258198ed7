"""Shared fixtures: one simulator per test process and a private point cache."""

from __future__ import annotations

import os

import pytest


@pytest.fixture(scope="session")
def sim():
    """The process's ngspice simulator, with sky130 models found as users find them."""
    from bitrom_char.spice import Simulator

    return Simulator()


@pytest.fixture(scope="session", autouse=True)
def private_cache(tmp_path_factory):
    """Point every test at one session cache, never at the user's.

    Session scope makes it active before module-scoped fixtures run their sweeps.
    """
    previous = os.environ.get("BITROM_CACHE")
    os.environ["BITROM_CACHE"] = str(tmp_path_factory.getbasetemp() / "cache")
    yield
    if previous is None:
        os.environ.pop("BITROM_CACHE", None)
    else:
        os.environ["BITROM_CACHE"] = previous
