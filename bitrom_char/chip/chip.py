"""A behavioural BitROM chip: runs ternary LLM layers bit-exactly and accounts for
energy, cycles, operations and DRAM traffic from characterized circuit costs."""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bitrom_char.chip.accounting import Accounting
from bitrom_char.chip.area import AreaModel
from bitrom_char.chip.costs import CircuitCosts, MissingTableError
from bitrom_char.chip.kvcache import DRAM_ENERGY_J_PER_BIT, KVCache, KVLayout
from bitrom_char.chip.layers import (
    attention,
    ffn_activation,
    lora_forward,
    rms_norm,
    rope,
)
from bitrom_char.chip.mapping import (
    ArrayGeometry,
    MappedLinear,
    blas_threads,
    map_linear,
)
from bitrom_char.chip.model import LayerWeights, LoraAdapter, ModelConfig, TernaryModel
from bitrom_char.chip.quant import absmax_quantize, check_int8

logger = logging.getLogger(__name__)

GLOBAL_ADDER_BITS = 32
TRIT_LABEL = {1: "+1", 0: "0", -1: "-1"}


@dataclass(frozen=True)
class DigitalCosts:
    """Costs of the digital unit beside the ROM (norms, quantizers, attention, LoRA).

    NOTE: estimates derived from the characterized accumulator, not simulated: an
    8-bit multiply-accumulate costs 8 accumulator add cycles (shift-and-add), one
    elementwise operation costs one multiply-accumulate, and a global 32-bit add
    costs one accumulator add scaled by the width ratio.
    """

    mac_energy_j: float
    op_energy_j: float
    global_add_energy_j: float
    lanes: int

    @classmethod
    def from_accumulator(
        cls, costs: CircuitCosts, acc_bits: int, lanes: int
    ) -> DigitalCosts:
        add = costs.accumulator_energy_j["add"]
        return cls(
            mac_energy_j=8 * add,
            op_energy_j=8 * add,
            global_add_energy_j=add * GLOBAL_ADDER_BITS / acc_bits,
            lanes=lanes,
        )


def check_clock(costs: CircuitCosts, clock_hz: float | None) -> float:
    """Return clock_hz, or the fastest clock the costs allow when it is None.

    Raises ValueError when the clock exceeds the limit set by the ROM settle time
    and the accumulator.
    """
    limit = costs.max_clock_hz()
    if clock_hz is None:
        if not math.isfinite(limit):
            raise ValueError(
                "the tables give no finite clock limit (NaN fmax and settle time); "
                "pass clock_hz explicitly"
            )
        return limit
    if not (math.isfinite(clock_hz) and clock_hz > 0):
        raise ValueError(f"clock_hz must be a positive frequency, got {clock_hz}")
    if math.isfinite(limit) and clock_hz > limit * (1 + 1e-9):
        raise ValueError(
            f"clock_hz={clock_hz:.4g} exceeds the {limit:.4g} Hz that the ROM "
            f"settle time ({costs.rom_settle_time_s:.3g} s) and accumulator "
            f"(fmax {costs.accumulator_fmax_hz:.4g} Hz) allow at corner "
            f"{costs.corner}, {costs.vdd_v} V, {costs.temp_c} C; lower clock_hz"
        )
    return float(clock_hz)


class Chip:
    """A BitROM chip at one operating point (corner, vdd_v, temp_c, clock_hz).

    Every projection and the LM head run on ROM arrays (see
    bitrom_char.chip.mapping for the mapping). Idle arrays are power gated, which a
    ROM allows because it stores no volatile state, so leakage counts only for the
    arrays of the running layer. The KV cache sits in `edram_bytes` of on-die
    gain-cell eDRAM and spills to external DRAM. Each decode step reads every
    cached position and writes it back, which refreshes it.

    Options:
    - kv_bits: bits per stored K or V element.
    - dram_energy_j_per_bit, dram_bytes_per_s: the external memory. The default
      25.6e9 B/s is a 64-bit LPDDR4 bus at 3,200 MT/s.
    - edram_bits_per_cycle: bits read from the eDRAM per clock.
    - digital_lanes: parallel lanes of the digital unit.
    - blas_threads: host BLAS threads during runs (None keeps the BLAS default).
    """

    def __init__(
        self,
        costs: CircuitCosts,
        clock_hz: float | None = None,
        *,
        areas: dict | None = None,
        geometry: ArrayGeometry | None = None,
        edram_bytes: int = 4 * 2**20,
        kv_bits: int = 8,
        dram_energy_j_per_bit: float = DRAM_ENERGY_J_PER_BIT,
        dram_bytes_per_s: float = 25.6e9,
        edram_bits_per_cycle: int = 8192,
        digital_lanes: int = 1024,
        blas_threads: int | None = 1,
    ) -> None:
        if edram_bytes > 0 and costs.edram is None:
            raise MissingTableError(
                "edram",
                f"the given tables (needed for edram_bytes={edram_bytes}; pass 0 "
                "for no on-die KV cache)",
            )
        for name, value in (
            ("dram_energy_j_per_bit", dram_energy_j_per_bit),
            ("dram_bytes_per_s", dram_bytes_per_s),
            ("edram_bits_per_cycle", edram_bits_per_cycle),
            ("digital_lanes", digital_lanes),
        ):
            if not value > 0:
                raise ValueError(f"{name} must be > 0, got {value}")

        self.costs = costs
        self.geometry = geometry or ArrayGeometry()
        self.clock_hz = check_clock(costs, clock_hz)
        self.blas_threads = blas_threads
        self.edram_bytes = int(edram_bytes)
        self.kv_bits = kv_bits
        self.dram_energy_j_per_bit = dram_energy_j_per_bit
        self.dram_bytes_per_s = dram_bytes_per_s
        self.edram_bits_per_cycle = edram_bits_per_cycle
        self.digital = DigitalCosts.from_accumulator(
            costs, self.geometry.accumulator_bits, digital_lanes
        )
        self.area = AreaModel.from_layout(areas, self.geometry)

    @classmethod
    def from_tables(
        cls,
        tables: dict[str, Any] | str | Path,
        corner: str = "tt",
        vdd_v: float = 1.8,
        temp_c: float = 27.0,
        clock_hz: float | None = None,
        areas: dict | None = None,
        **options,
    ) -> Chip:
        """Build a chip from characterization tables at one operating point.

        `clock_hz=None` picks the fastest clock the tables allow. Other keyword
        options go to Chip (edram_bytes, kv_bits, dram_energy_j_per_bit, ...).
        """
        geometry = options.get("geometry") or ArrayGeometry()
        costs = CircuitCosts.from_tables(tables, corner, vdd_v, temp_c, geometry.rows)
        return cls(costs, clock_hz, areas=areas, **options)

    # --- accounting of single operations -------------------------------------------

    def new_accounting(self) -> Accounting:
        return Accounting(self.clock_hz)

    def linear_accounting(self, lin: MappedLinear, tokens: int = 1) -> Accounting:
        """Account for `tokens` tokens through one ROM linear layer.

        Each token reads every used row of the layer's arrays, so the event counts
        of one token (lin.counts) scale with `tokens`.
        """
        counts = lin.counts
        cost = self.costs
        acc = self.new_accounting()
        for (direction, trit), n in counts.rom_reads.items():
            n_reads = n * tokens
            energy = n_reads * cost.rom_read_energy_j[(direction, trit)]
            acc.add("rom_read", f"{direction} {TRIT_LABEL[trit]}", n_reads, energy)
        for mode, n in counts.accumulator_modes.items():
            n_cycles = n * tokens
            energy = n_cycles * cost.accumulator_energy_j[mode]
            acc.add("accumulator", mode, n_cycles, energy)

        adds = counts.global_adds * tokens
        energy = adds * self.digital.global_add_energy_j
        acc.add("global_accumulation", "add", adds, energy)
        scales = lin.out_features * tokens
        acc.add("quantizer", "output scale", scales, scales * self.digital.op_energy_j)

        # The adder tree over the input tiles is pipelined behind the array reads.
        tiles = counts.n_input_tiles
        pipeline = math.ceil(math.log2(tiles)) + 1 if tiles > 1 else 1
        acc.cycles = counts.rom_cycles * tokens + pipeline

        columns = counts.n_arrays * self.geometry.columns
        power_w = columns * (
            cost.rom_leakage_a * cost.vdd_v + cost.accumulator_leakage_w
        )
        energy = power_w * acc.cycles / self.clock_hz
        acc.add("leakage", "rom arrays", counts.n_arrays, energy)
        acc.macs = counts.macs * tokens
        acc.macs_nonzero = counts.macs_nonzero * tokens
        return acc

    def digital_accounting(
        self, event: str, ops: float, macs: bool = False, component: str = "digital"
    ) -> Accounting:
        """Account for `ops` operations of the digital unit over its lanes."""
        acc = self.new_accounting()
        unit = self.digital.mac_energy_j if macs else self.digital.op_energy_j
        acc.add(component, event, ops, ops * unit)
        acc.cycles = math.ceil(ops / self.digital.lanes)
        return acc

    def lora_accounting(self, adapter: LoraAdapter, tokens: int) -> Accounting:
        macs = adapter.rank * (adapter.a.shape[1] + adapter.b.shape[0]) * tokens
        return self.digital_accounting("adapter mac", macs, macs=True, component="lora")

    def kv_accounting(self, layout: KVLayout, positions: np.ndarray) -> Accounting:
        """Account for one layer's KV reads of earlier positions and new writes."""
        acc = self.new_accounting()
        bits = layout.bits_per_token_layer
        on_die = np.minimum(positions, layout.on_die_tokens)
        read_on = int(on_die.sum()) * bits
        read_off = int((positions - on_die).sum()) * bits
        writes_on = int(np.count_nonzero(positions < layout.on_die_tokens)) * bits
        writes_off = len(positions) * bits - writes_on
        edram = self.costs.edram
        if edram is not None:
            # A decode read is followed by its write-back, so it costs a refresh.
            acc.add(
                "edram", "read + write-back", read_on, read_on * edram.refresh_energy_j
            )
            acc.add("edram", "write", writes_on, writes_on * edram.write_energy_j)
        for kind, n_bits in (("kv_read", read_off), ("kv_write", writes_off)):
            acc.add(
                "dram",
                kind.replace("_", " "),
                n_bits / 8,
                n_bits * self.dram_energy_j_per_bit,
            )
            acc.add_dram(kind, n_bits / 8)
        edram_cycles = math.ceil(read_on / self.edram_bits_per_cycle)
        dram_cycles = math.ceil(
            (read_off + writes_off) / 8 / self.dram_bytes_per_s * self.clock_hz
        )
        acc.cycles = max(edram_cycles, dram_cycles)
        return acc

    # --- functional operations ----------------------------------------------------

    def linear(
        self, x_int8: np.ndarray, weights: MappedLinear | np.ndarray
    ) -> tuple[np.ndarray, Accounting]:
        """Run int8 activations through ternary weights on the ROM arrays.

        `weights` is a MappedLinear or a ternary (out, in) matrix. Returns the int32
        result, equal to the int64 product W @ x, and its accounting.
        """
        lin = (
            weights
            if isinstance(weights, MappedLinear)
            else map_linear(weights, 1.0, "linear", self.geometry)
        )
        x = check_int8(x_int8)
        with blas_threads(self.blas_threads):
            y = lin.matvec(x)
        tokens = 1 if x.ndim == 1 else x.shape[0]
        acc = self.linear_accounting(lin, tokens)
        acc.tokens = tokens
        return y, acc

    def _project(
        self,
        layer: LayerWeights,
        name: str,
        xq: np.ndarray,
        scale: np.ndarray,
        acc: Accounting,
    ) -> np.ndarray:
        """Run one projection with its LoRA adapter; accounts for both in parallel."""
        lin = layer.linears[name]
        y = lin.matvec(xq).astype(np.float32) * (lin.gamma / scale[:, None])
        part = self.linear_accounting(lin, len(xq))
        adapter = layer.lora.get(name)
        if adapter is not None:
            y += lora_forward(adapter, xq, scale)
            part.merge(self.lora_accounting(adapter, len(xq)), cycles=False)
        acc.merge(part, cycles=False)
        return y

    def _quantize(
        self, x: np.ndarray, acc: Accounting
    ) -> tuple[np.ndarray, np.ndarray]:
        acc.merge(
            self.digital_accounting(
                "activation absmax", 2 * x.size, component="quantizer"
            )
        )
        return absmax_quantize(x)

    def _norm(
        self, x: np.ndarray, gain: np.ndarray, eps: float, acc: Accounting
    ) -> np.ndarray:
        acc.merge(self.digital_accounting("rms norm", 3 * x.size))
        return rms_norm(x, gain, eps)

    def block(
        self,
        model: TernaryModel,
        index: int,
        h: np.ndarray,
        cache: KVCache,
        positions: np.ndarray,
    ) -> tuple[np.ndarray, Accounting]:
        """Run transformer block `index` on hidden states h of shape (tokens, hidden).

        K and V of the new positions are appended to `cache`. Returns the new hidden
        states and the block's accounting, including its KV storage traffic.
        """
        c = model.config
        layer = model.layers[index]
        positions = np.asarray(positions, dtype=np.int64)
        tokens = len(positions)
        if h.shape != (tokens, c.hidden):
            raise ValueError(
                f"hidden states shape {h.shape} does not match "
                f"(tokens, hidden) = {(tokens, c.hidden)}"
            )
        acc = self.new_accounting()

        xq, s = self._quantize(self._norm(h, layer.attn_norm, c.norm_eps, acc), acc)
        group = self.new_accounting()
        q = self._project(layer, "q", xq, s, group)
        k = self._project(layer, "k", xq, s, group)
        v = self._project(layer, "v", xq, s, group)
        acc.merge(group)

        q = rope(
            q.reshape(tokens, c.n_heads, c.head_dim),
            positions,
            c.rope_theta,
            c.rope_style,
        )
        k = rope(
            k.reshape(tokens, c.n_kv_heads, c.head_dim),
            positions,
            c.rope_theta,
            c.rope_style,
        )
        acc.merge(self.digital_accounting("rope", 3 * (q.size + k.size)))
        cache.append(
            index,
            k.transpose(1, 0, 2),
            v.reshape(tokens, c.n_kv_heads, c.head_dim).transpose(1, 0, 2),
        )
        attn = attention(q, cache.k[index], cache.v[index], positions)
        acc.merge(self._attention_accounting(c, positions))

        if layer.attn_sub_norm is not None:
            attn = self._norm(attn, layer.attn_sub_norm, c.norm_eps, acc)
        xq, s = self._quantize(attn, acc)
        group = self.new_accounting()
        h = h + self._project(layer, "o", xq, s, group)
        acc.merge(group)

        xq, s = self._quantize(self._norm(h, layer.ffn_norm, c.norm_eps, acc), acc)
        group = self.new_accounting()
        gate = self._project(layer, "gate", xq, s, group)
        up = self._project(layer, "up", xq, s, group)
        acc.merge(group)
        act = ffn_activation(gate, up, c.ffn_act)
        acc.merge(self.digital_accounting(f"{c.ffn_act} gate", 3 * act.size))
        if layer.ffn_sub_norm is not None:
            act = self._norm(act, layer.ffn_sub_norm, c.norm_eps, acc)
        xq, s = self._quantize(act, acc)
        group = self.new_accounting()
        h = h + self._project(layer, "down", xq, s, group)
        acc.merge(group)
        acc.merge(self.digital_accounting("residual add", 2 * h.size))
        return h.astype(np.float32), acc

    def _attention_accounting(
        self, c: ModelConfig, positions: np.ndarray
    ) -> Accounting:
        keys = int((positions + 1).sum())
        acc = self.digital_accounting(
            "attention mac", 2 * c.n_heads * c.head_dim * keys, macs=True
        )
        acc.merge(self.digital_accounting("softmax", 3 * c.n_heads * keys))
        layout = KVLayout(c, self.edram_bytes, self.kv_bits)
        acc.merge(self.kv_accounting(layout, positions), cycles=False)
        return acc

    def forward(
        self, model: TernaryModel, tokens: np.ndarray, cache: KVCache
    ) -> tuple[np.ndarray, Accounting]:
        """Run tokens (appended after the cache) through the model.

        Returns the logits of the last token and the accounting of the step.
        """
        c = model.config
        tokens = np.asarray(tokens, dtype=np.int64)
        if tokens.ndim != 1 or len(tokens) == 0:
            raise ValueError(
                f"tokens must be a non-empty 1-D array, got shape {tokens.shape}"
            )
        if tokens.min() < 0 or tokens.max() >= c.vocab:
            raise ValueError(
                f"token ids must lie in [0, {c.vocab - 1}], got range "
                f"[{tokens.min()}, {tokens.max()}]"
            )
        positions = cache.length + np.arange(len(tokens))
        acc = self.new_accounting()
        emb_bytes = 2 * c.hidden * len(tokens)
        acc.add(
            "dram", "embedding", emb_bytes, emb_bytes * 8 * self.dram_energy_j_per_bit
        )
        acc.add_dram("embedding", emb_bytes)
        h = model.embedding[tokens].astype(np.float32)
        with blas_threads(self.blas_threads):
            for index in range(c.n_layers):
                h, part = self.block(model, index, h, cache, positions)
                acc.merge(part)
            last = self._norm(h[-1:], model.final_norm, c.norm_eps, acc)
            xq, s = self._quantize(last, acc)
            head = model.lm_head
            logits = head.matvec(xq).astype(np.float32) * (head.gamma / s[:, None])
        acc.merge(self.linear_accounting(head, 1))
        acc.merge(self.digital_accounting("argmax", c.vocab))
        self._add_edram_hold(acc, c, cache.length)
        acc.tokens = len(tokens)
        return logits[0], acc

    def _add_edram_hold(self, acc: Accounting, c: ModelConfig, length: int) -> None:
        """Add eDRAM leakage over the step and refreshes that retention demands."""
        edram = self.costs.edram
        layout = KVLayout(c, self.edram_bytes, self.kv_bits)
        on_die, _ = layout.split(length)
        cells = on_die * layout.bits_per_token_layer * c.n_layers
        if edram is None or cells == 0:
            return
        acc.add("edram", "leakage", cells, cells * edram.leakage_w * acc.latency_s)
        if acc.latency_s > edram.retention_s:
            # The decode read refreshes each cell once per step, so a step longer
            # than the retention time needs extra refreshes to keep the data.
            extra = math.ceil(acc.latency_s / edram.retention_s) - 1
            acc.add(
                "edram",
                "extra refresh",
                cells * extra,
                cells * extra * edram.refresh_energy_j,
            )
            note = (
                f"a step took longer than the eDRAM retention "
                f"({edram.retention_s:.3g} s); the extra refreshes are counted "
                "under edram / extra refresh"
            )
            if note not in acc.notes:
                acc.notes.append(note)

    def decode(
        self, model: TernaryModel, tokens, n_new: int, eos_id: int | None = None
    ) -> tuple[list[int], Accounting]:
        """Prefill the prompt `tokens`, then greedily decode `n_new` tokens.

        The prefill yields the first new token and each decode step one more, so
        the run processes len(tokens) + n_new - 1 tokens. Returns the new token ids
        and the accounting of the whole run. The
        accounting's `steps` attribute lists one summary dict per step (step 0 is
        the prefill).
        """
        if n_new < 0:
            raise ValueError(f"n_new must be >= 0, got {n_new}")
        cache = KVCache(model.config)
        logits, acc = self.forward(model, np.asarray(tokens), cache)
        steps = [dict(phase="prefill", context_tokens=0, **_step_summary(acc))]
        new: list[int] = []
        for i in range(n_new):
            token = int(np.argmax(logits))
            new.append(token)
            if (eos_id is not None and token == eos_id) or i == n_new - 1:
                break
            context = cache.length
            logits, part = self.forward(model, np.array([token]), cache)
            steps.append(
                dict(phase="decode", context_tokens=context, **_step_summary(part))
            )
            acc.merge(part)
        acc.steps = steps
        for note in acc.notes:
            logger.warning("%s", note)
        return new, acc

    def estimate_token(self, model: TernaryModel, context: int) -> Accounting:
        """Account for one decode token at `context` cached positions.

        No values are computed. The per-operation accounting is the same as in
        forward(), so the result equals that of a real decode step.
        """
        c = model.config
        positions = np.array([context])
        acc = self.new_accounting()
        emb = 2 * c.hidden
        acc.add("dram", "embedding", emb, emb * 8 * self.dram_energy_j_per_bit)
        acc.add_dram("embedding", emb)
        for layer in model.layers:
            acc.merge(self._layer_estimate(c, layer, positions))
        acc.merge(self.digital_accounting("rms norm", 3 * c.hidden))
        acc.merge(
            self.digital_accounting(
                "activation absmax", 2 * c.hidden, component="quantizer"
            )
        )
        acc.merge(self.linear_accounting(model.lm_head, 1))
        acc.merge(self.digital_accounting("argmax", c.vocab))
        self._add_edram_hold(acc, c, context)
        acc.tokens = 1
        return acc

    def _layer_estimate(
        self, c: ModelConfig, layer: LayerWeights, positions: np.ndarray
    ) -> Accounting:
        acc = self.new_accounting()
        h, f = c.hidden, c.ffn

        def group(names):
            part = self.new_accounting()
            for name in names:
                sub = self.linear_accounting(layer.linears[name], 1)
                if name in layer.lora:
                    sub.merge(self.lora_accounting(layer.lora[name], 1), cycles=False)
                part.merge(sub, cycles=False)
            acc.merge(part)

        def digital(event, ops, component="digital"):
            acc.merge(self.digital_accounting(event, ops, component=component))

        digital("rms norm", 3 * h)
        digital("activation absmax", 2 * h, "quantizer")
        group(("q", "k", "v"))
        digital("rope", 3 * (h + c.kv_dim))
        acc.merge(self._attention_accounting(c, positions))
        if layer.attn_sub_norm is not None:
            digital("rms norm", 3 * h)
        digital("activation absmax", 2 * h, "quantizer")
        group(("o",))
        digital("rms norm", 3 * h)
        digital("activation absmax", 2 * h, "quantizer")
        group(("gate", "up"))
        digital(f"{c.ffn_act} gate", 3 * f)
        if layer.ffn_sub_norm is not None:
            digital("rms norm", 3 * f)
        digital("activation absmax", 2 * f, "quantizer")
        group(("down",))
        digital("residual add", 2 * h)
        return acc


def _step_summary(acc: Accounting) -> dict[str, float]:
    return {
        "energy_j": acc.total_energy_j,
        "latency_s": acc.latency_s,
        "dram_bytes": acc.total_dram_bytes,
        "tokens": acc.tokens,
    }
