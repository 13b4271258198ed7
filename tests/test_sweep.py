"""Sweeps: grid expansion, cache and resume, timeouts, worker recycling, Dask."""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sweep_cells import SlowRcCell

from bitrom_char.cells.inverter import InverterCell
from bitrom_char.sweep import characterize, expand_grid

GRID = {"corner": ["tt"], "vdd_v": [1.8], "temp_c": [27.0], "stop_s": [1e-9, 2e-9]}


def _cache_files(root: Path) -> dict[Path, int]:
    return {p: p.stat().st_mtime_ns for p in root.rglob("*.json")}


def test_expand_grid_validates_every_point():
    grid = {
        "corner": ["tt", "zz"],
        "vdd_v": [1.8],
        "temp_c": [27.0],
        "cload_f": [1e-15],
    }
    with pytest.raises(ValueError, match="unknown process corner 'zz'"):
        expand_grid(InverterCell(), grid)


def test_expand_grid_rejects_unknown_axis():
    grid = {"corner": ["tt"], "vdd_v": [1.8], "temp_c": [27.0], "cload_f": [1e-15]}
    with pytest.raises(ValueError, match="unknown grid axes rows"):
        expand_grid(InverterCell(), {**grid, "rows": [4]})


def test_rerun_uses_cache(tmp_path):
    first = characterize(
        SlowRcCell(), GRID, workers=1, cache_dir=tmp_path, progress=False
    )
    files = _cache_files(tmp_path)
    assert len(files) == 2
    second = characterize(
        SlowRcCell(), GRID, workers=1, cache_dir=tmp_path, progress=False
    )
    assert _cache_files(tmp_path) == files
    assert second.df["v_end_v"].tolist() == first.df["v_end_v"].tolist()
    assert first.df["v_end_v"].notna().all()
    assert first.df["ngspice_version"].str.len().gt(0).all()
    assert first.df["netlist_hash"].str.len().eq(64).all()


def test_timeout_kills_point_and_keeps_others(tmp_path):
    table = characterize(
        SlowRcCell(hang_above_s=1.5e-9),
        GRID,
        workers=1,
        cache_dir=tmp_path,
        timeout_s=8,
        progress=False,
    )
    ok, hung = table.df.sort_values("stop_s")["v_end_v"].tolist()
    assert not math.isnan(ok)
    assert math.isnan(hung)
    reasons = json.loads(table.df.sort_values("stop_s")["reasons"].iloc[1])
    assert reasons["v_end_v"].startswith("timed out after 8 s")
    # A timed-out point is not cached, so a rerun tries it again.
    assert len(_cache_files(tmp_path)) == 1


def test_workers_recycled(tmp_path):
    grid = {**GRID, "stop_s": [1e-9, 2e-9, 3e-9, 4e-9]}
    table = characterize(
        SlowRcCell(),
        grid,
        workers=1,
        cache_dir=tmp_path,
        recycle_after=2,
        progress=False,
    )
    assert table.df["pid"].nunique() == 2


SWEEP_SCRIPT = """
import sys
from pathlib import Path
sys.path.insert(0, {tests!r})
from sweep_cells import SlowRcCell
from bitrom_char.sweep import characterize
if __name__ == "__main__":
    grid = {{"corner": ["tt"], "vdd_v": [1.8], "temp_c": [27.0],
             "stop_s": [i * 1e-8 for i in range(1, 13)]}}
    characterize(SlowRcCell(), grid, workers=1, cache_dir=Path({cache!r}),
                 progress=False)
"""


def test_sigkill_resume_loses_nothing(tmp_path):
    cache = tmp_path / "cache"
    script = tmp_path / "sweep.py"
    script.write_text(
        SWEEP_SCRIPT.format(tests=str(Path(__file__).parent), cache=str(cache))
    )
    process = subprocess.Popen(
        [sys.executable, str(script)], start_new_session=True, env=os.environ.copy()
    )
    deadline = time.monotonic() + 120
    while len(_cache_files(cache)) < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    before = _cache_files(cache)
    assert 3 <= len(before) < 12
    grid = {**GRID, "stop_s": [i * 1e-8 for i in range(1, 13)]}
    table = characterize(SlowRcCell(), grid, workers=1, cache_dir=cache, progress=False)
    after = _cache_files(cache)
    assert len(after) == 12
    for path, mtime in before.items():
        assert after[path] == mtime, f"{path.name} was recomputed"
    assert table.df["v_end_v"].notna().all()
    for path in after:
        assert json.loads(path.read_text())["values"], path.name


def test_dask_local_cluster(tmp_path):
    pytest.importorskip("dask.distributed")
    table = characterize(
        SlowRcCell(),
        GRID,
        workers=1,
        scheduler="local",
        cache_dir=tmp_path,
        progress=False,
    )
    assert table.df["v_end_v"].notna().all()
    inline = characterize(SlowRcCell(), GRID, workers=0, cache_dir=tmp_path / "b",
                          progress=False)  # fmt: skip
    assert table.df["v_end_v"].tolist() == inline.df["v_end_v"].tolist()
