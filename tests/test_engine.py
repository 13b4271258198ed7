"""The ngspice engine against golden sky130 values and its fast paths."""

from __future__ import annotations

import math
import os
import subprocess
import sys

import pytest

from bitrom_char.cells.device import DeviceCell
from bitrom_char.cells.inverter import InverterCell
from bitrom_char.spice import Deck, Simulator
from bitrom_char.spice.measure import Delay, Find, OperatingPoint, When

INVERTER_POINT = {"corner": "tt", "vdd_v": 1.8, "temp_c": 27.0, "cload_f": 10e-15}


def test_nfet_on_current_golden(sim):
    point = {
        "corner": "tt",
        "vdd_v": 1.8,
        "temp_c": 27.0,
        "model": "sky130_fd_pr__nfet_01v8",
        "w_um": 1.0,
        "l_um": 0.15,
    }
    result = DeviceCell().evaluate(point, sim)
    assert result.reasons == {}
    assert result.values["id_a"] == pytest.approx(475.55e-6, rel=0.01)


def test_inverter_delays_golden(sim):
    result = InverterCell().evaluate(INVERTER_POINT, sim)
    assert result.reasons == {}
    assert result.values["tphl_s"] == pytest.approx(42.68e-12, rel=0.01)
    assert result.values["tplh_s"] == pytest.approx(68.23e-12, rel=0.01)
    assert result.values["energy_cycle_j"] > 0


def test_trimmed_models_equal_full_library(sim):
    deck = InverterCell().deck({**INVERTER_POINT, "corner": "ss", "temp_c": 85.0})
    trimmed = sim.run(deck)
    full = Simulator(trim_models=False).run(deck)
    for name, value in full.values.items():
        assert trimmed.values[name] == pytest.approx(value, rel=1e-9), name


def test_alterparam_reuse_equals_fresh_load(sim):
    cell = InverterCell()
    sim.run(cell.deck(INVERTER_POINT))
    reused = sim.run(cell.deck({**INVERTER_POINT, "cload_f": 25e-15, "vdd_v": 1.5}))
    fresh = Simulator(reuse_circuits=False).run(
        cell.deck({**INVERTER_POINT, "cload_f": 25e-15, "vdd_v": 1.5})
    )
    assert reused.values == fresh.values
    assert reused.values["tphl_s"] > 42.68e-12 * 1.5


def test_failed_measurement_is_nan_with_reason(sim):
    deck = InverterCell().deck(INVERTER_POINT)
    deck = Deck(
        title=deck.title,
        netlist=deck.netlist,
        analysis=deck.analysis,
        measurements=[
            Delay("never", "v(in)", 2.5, "rise", "v(out)", 0.9, "fall"),
            When("no_such_node", "v(nowhere)", 0.9, "rise"),
            Find("late", "v(out)", at_s=1e-6),
        ],
        params=deck.params,
    )
    result = sim.run(deck)
    assert math.isnan(result.values["never"])
    assert "never rose through 2.5" in result.reasons["never"]
    assert math.isnan(result.values["no_such_node"])
    assert "v(nowhere)" in result.reasons["no_such_node"]
    assert math.isnan(result.values["late"])
    assert "outside the simulated" in result.reasons["late"]


def test_nonconvergence_gives_nan_and_reason(sim):
    # Two ideal sources forcing one node to different voltages: no solution exists.
    deck = Deck(
        title="conflict",
        netlist="V1 a 0 1\nV2 a 0 2\nR1 a 0 1k\n",
        analysis="tran 1n 10n",
        measurements=[Find("va", "v(a)", at_s=5e-9)],
    )
    result = sim.run(deck)
    assert math.isnan(result.values["va"])
    assert result.reasons["va"].startswith("did not converge")
    assert result.fallback == "gear+maxstep"


def test_op_measurement(sim):
    deck = Deck(
        title="divider",
        netlist="V1 a 0 1.8\nR1 a b 1k\nR2 b 0 2k\n",
        analysis="op",
        measurements=[OperatingPoint("vb", "v(b)")],
    )
    assert sim.run(deck).values["vb"] == pytest.approx(1.2, rel=1e-9)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"corner": "xx"}, "unknown process corner 'xx'"),
        ({"analysis": "noise foo"}, "analysis 'noise foo' is invalid"),
        ({"params": {"1bad": 1.0}}, "not a valid identifier"),
        ({"temp_c": math.nan}, "temp_c=nan is not finite"),
    ],
)
def test_deck_rejects_bad_input(kwargs, message):
    base = {"title": "t", "netlist": "R1 a 0 1k", "analysis": "op"}
    with pytest.raises(ValueError, match=message):
        Deck(**{**base, **kwargs})


def test_measurement_rejects_bad_edge():
    with pytest.raises(ValueError, match="edge 'up' is invalid"):
        When("t", "v(a)", 0.5, "up")


def test_pyspice_imported_first_still_loads(tmp_path):
    # PySpice reads NGSPICE_LIBRARY_PATH when imported; Debian has no libngspice.so.
    script = tmp_path / "first.py"
    script.write_text(
        "import PySpice.Spice.NgSpice.Shared\n"
        "from bitrom_char.spice.simulator import ngspice_version\n"
        "print(ngspice_version())\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "NGSPICE_LIBRARY_PATH"}
    result = subprocess.run(
        [sys.executable, str(script)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-1000:]
    assert result.stdout.strip()
