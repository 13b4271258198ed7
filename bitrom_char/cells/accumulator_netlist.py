"""Transistor-level netlist of the tri-mode local accumulator from sky130_fd_sc_hd cells.

The generator also writes the stimulus for a sequence of (trit, int8) operations.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from bitrom_char.pdk import std_cell_spice

ACTIVATION_BITS = 8
ACTIVATION_MIN = -128
ACTIVATION_MAX = 127
DEFAULT_WIDTH = 20
DEFAULT_ROWS = 2048
MAX_WIDTH = 64
STRUCTURES = ("ripple", "carry_select")
MIN_BLOCK_BITS = 2

# Standard cells of the data path, by role.
NAND2 = "sky130_fd_sc_hd__nand2_1"
XOR2 = "sky130_fd_sc_hd__xor2_1"
INV = "sky130_fd_sc_hd__inv_1"
BUF = "sky130_fd_sc_hd__buf_2"
FULL_ADDER = "sky130_fd_sc_hd__fa_1"
MUX2 = "sky130_fd_sc_hd__mux2_1"
FLOP = "sky130_fd_sc_hd__dfrtp_1"
CLOCK_GATE = "sky130_fd_sc_hd__dlclkp_2"

_SUPPLY_PINS = {"VPWR": "vpwr", "VPB": "vpwr", "VGND": "vgnd", "VNB": "vgnd"}


def required_width(rows: int) -> int:
    """Return the signed register width that fits any sum of `rows` trit x int8 products.

    The largest magnitude is rows x 128, reached by -1 x -128 on every row.
    """
    if not isinstance(rows, int) or rows < 1:
        raise ValueError(f"rows={rows!r} is invalid: use an integer of at least 1")
    max_magnitude = rows * (-ACTIVATION_MIN)
    width = 1
    while 2 ** (width - 1) - 1 < max_magnitude:
        width += 1
    return width


@dataclass(frozen=True)
class AccumulatorDesign:
    """Parameters that fix the accumulator's netlist.

    width: register and adder bits (two's complement). rows: the number of products
    the register must hold without overflow. structure: "ripple" (one carry chain of
    full adders) or "carry_select" (ripple blocks of block_bits bits, each upper block
    computed for carry-in 0 and 1 and picked by mux2 cells).
    """

    width: int = DEFAULT_WIDTH
    structure: str = "ripple"
    rows: int = DEFAULT_ROWS
    block_bits: int = 4

    def __post_init__(self) -> None:
        if self.structure not in STRUCTURES:
            raise ValueError(
                f"structure={self.structure!r} is unknown: use one of {STRUCTURES}"
            )
        if not isinstance(self.width, int) or not (
            ACTIVATION_BITS + 1 <= self.width <= MAX_WIDTH
        ):
            raise ValueError(
                f"width={self.width!r} is out of range: use an integer from "
                f"{ACTIVATION_BITS + 1} to {MAX_WIDTH}"
            )
        needed = required_width(self.rows)
        if self.width < needed:
            raise ValueError(
                f"width={self.width} bits cannot hold {self.rows} rows x 128 "
                f"(largest sum magnitude {self.rows * 128}): use width >= {needed} "
                f"or fewer rows"
            )
        if self.structure == "carry_select" and not (
            MIN_BLOCK_BITS <= self.block_bits < self.width
        ):
            raise ValueError(
                f"block_bits={self.block_bits!r} is out of range for a "
                f"{self.width}-bit carry-select adder: use {MIN_BLOCK_BITS} to "
                f"{self.width - 1}"
            )

    @property
    def subckt_name(self) -> str:
        name = f"bitrom_acc_w{self.width}_{self.structure}"
        if self.structure == "carry_select":
            name += f"_b{self.block_bits}"
        return name

    @property
    def ports(self) -> tuple[str, ...]:
        """Subcircuit port order: activation bits, trit, clock, reset, gated clock, sum."""
        activation = tuple(f"a{i}" for i in range(ACTIVATION_BITS))
        register = tuple(f"q{i}" for i in range(self.width))
        control = ("nz", "neg", "clk", "rst_b", "gclk")
        return activation + control + register + ("vpwr", "vgnd")

    def blocks(self) -> list[tuple[int, int]]:
        """Return the adder's (first bit, bit count) blocks, low bits first."""
        if self.structure == "ripple":
            return [(0, self.width)]
        blocks = []
        for start in range(0, self.width, self.block_bits):
            blocks.append((start, min(self.block_bits, self.width - start)))
        return blocks


def cell_counts(
    width: int = DEFAULT_WIDTH,
    structure: str = "ripple",
    block_bits: int = 4,
    rows: int = 1,
) -> dict[str, int]:
    """Return how many of each sky130_fd_sc_hd cell one accumulator uses."""
    design = AccumulatorDesign(
        width=width, structure=structure, rows=rows, block_bits=block_bits
    )
    counts: dict[str, int] = {}
    for cell, _name, _pins in _instances(design):
        counts[cell] = counts.get(cell, 0) + 1
    return dict(sorted(counts.items()))


@cache
def cell_ports(cell: str) -> tuple[str, ...]:
    """Return a standard cell's port order from the .subckt line of its .spice file."""
    path = std_cell_spice(cell)
    text = path.read_text()
    match = re.search(rf"^\.subckt\s+{re.escape(cell)}\s+(.+)$", text, re.MULTILINE)
    if match is None:
        raise ValueError(f"no .subckt {cell} line in {path}")
    return tuple(match.group(1).split())


def design_cells(design: AccumulatorDesign) -> tuple[str, ...]:
    """Return the distinct standard cells a design instantiates, sorted."""
    return tuple(sorted({cell for cell, _name, _pins in _instances(design)}))


def cell_includes(design: AccumulatorDesign) -> tuple[Path, ...]:
    """Return the .spice files of the standard cells a design instantiates."""
    return tuple(std_cell_spice(cell) for cell in design_cells(design))


def accumulator_subckt(design: AccumulatorDesign) -> str:
    """Return the accumulator as a .subckt of standard-cell instances.

    The cells' own .spice files must be included next to it (see `design_cells`).
    """
    lines = [
        f"* {design.width}-bit tri-mode accumulator, {design.structure} adder",
        f".subckt {design.subckt_name} {' '.join(design.ports)}",
    ]
    for cell, name, pins in _instances(design):
        ports = cell_ports(cell)
        nets = [_SUPPLY_PINS.get(port) or pins[port] for port in ports]
        missing = set(pins) - set(ports)
        if missing:
            raise ValueError(f"{cell} has no pins {sorted(missing)}")
        lines.append(f"x{name} {' '.join(nets)} {cell}")
    lines.append(f".ends {design.subckt_name}")
    return "\n".join(lines) + "\n"


def _instances(design: AccumulatorDesign) -> list[tuple[str, str, dict[str, str]]]:
    """List (cell, instance name, signal pins) for the whole accumulator."""
    return (
        _operand_instances(design)
        + _adder_instances(design)
        + _register_instances(design)
    )


def _operand_instances(design: AccumulatorDesign) -> list[tuple[str, str, dict]]:
    """Operand isolation and conditional inversion.

    b_i = (a_i & nz) ^ (neg & nz) and the carry-in is neg & nz, so a zero trit
    feeds 0 into the adder and the adder inputs stay still while the activation
    toggles. The sign bit b7 is buffered because it also drives every upper bit.
    """
    instances: list[tuple[str, str, dict]] = [
        (NAND2, "gneg", {"A": "neg", "B": "nz", "Y": "neg_n"}),
        (INV, "cin", {"A": "neg_n", "Y": "c0"}),
    ]
    for i in range(ACTIVATION_BITS):
        instances.append((NAND2, f"gate{i}", {"A": f"a{i}", "B": "nz", "Y": f"g{i}"}))
        instances.append((XOR2, f"inv{i}", {"A": f"g{i}", "B": "neg_n", "X": f"b{i}"}))
    if design.width > ACTIVATION_BITS:
        instances.append((BUF, "sext", {"A": f"b{ACTIVATION_BITS - 1}", "X": "bs"}))
    return instances


def _operand_bit(i: int) -> str:
    return f"b{i}" if i < ACTIVATION_BITS else "bs"


def _adder_instances(design: AccumulatorDesign) -> list[tuple[str, str, dict]]:
    """Full adders for sum = q + b + c0, with carry-select blocks when requested."""
    instances: list[tuple[str, str, dict]] = []
    blocks = design.blocks()

    # Block carries are named k<n> (into block n), kz<n> / ko<n> for the carry out
    # of block n - 1 computed with carry-in 0 / 1.
    carry = "c0"
    for index, (start, size) in enumerate(blocks):
        if index == 0:
            instances += _ripple_block(start, size, carry, "", "s", "k1")
            carry = "k1"
            continue
        out = index + 1
        # The constant carry-ins connect to the rails. The conb_1 tie cell models
        # its outputs with sky130_fd_pr__res_generic_po, which ngspice 39 rejected.
        instances += _ripple_block(start, size, "vgnd", "z", "sz", f"kz{out}")
        instances += _ripple_block(start, size, "vpwr", "o", "so", f"ko{out}")
        for bit in range(start, start + size):
            pins = {"A0": f"sz{bit}", "A1": f"so{bit}", "S": carry, "X": f"s{bit}"}
            instances.append((MUX2, f"msum{bit}", pins))
        if index < len(blocks) - 1:
            pins = {"A0": f"kz{out}", "A1": f"ko{out}", "S": carry, "X": f"k{out}"}
            instances.append((MUX2, f"mcarry{out}", pins))
            carry = f"k{out}"
    return instances


def _ripple_block(
    start: int, size: int, carry_in: str, tag: str, sum_prefix: str, carry_out: str
) -> list[tuple[str, str, dict]]:
    instances = []
    carry = carry_in
    for bit in range(start, start + size):
        last = bit == start + size - 1
        next_carry = carry_out if last else f"c{tag}{bit + 1}"
        pins = {
            "A": f"q{bit}",
            "B": _operand_bit(bit),
            "CIN": carry,
            "COUT": next_carry,
            "SUM": f"{sum_prefix}{bit}",
        }
        instances.append((FULL_ADDER, f"fa{tag}{bit}", pins))
        carry = next_carry
    return instances


def _register_instances(design: AccumulatorDesign) -> list[tuple[str, str, dict]]:
    """Clock gate plus one reset flop per bit; a zero trit stops the gated clock."""
    instances: list[tuple[str, str, dict]] = [
        (CLOCK_GATE, "icg", {"CLK": "clk", "GATE": "nz", "GCLK": "gclk"}),
    ]
    for bit in range(design.width):
        pins = {"CLK": "gclk", "D": f"s{bit}", "RESET_B": "rst_b", "Q": f"q{bit}"}
        instances.append((FLOP, f"reg{bit}", pins))
    return instances


@dataclass(frozen=True)
class SequenceTiming:
    """Clock and input timing of a stimulus sequence.

    Operation k is applied at input_time_s(k), shortly after the clock edge that
    captured operation k - 1, and captured by the rising clock edge at
    edge_time_s(k) = (k + 1) x period. Operation 0 is applied from time 0, while
    the reset is still low. After the last operation the inputs go to trit 0 and
    the clock stops low for the last period.
    """

    period_s: float
    transition_s: float
    operations: int

    @property
    def reset_release_s(self) -> float:
        return 0.25 * self.period_s

    def edge_time_s(self, k: int) -> float:
        return (k + 1) * self.period_s

    def input_time_s(self, k: int) -> float:
        return k * self.period_s + 0.1 * self.period_s

    @property
    def stop_s(self) -> float:
        return (self.operations + 2) * self.period_s


def check_operations(operations: list[tuple[int, int]]) -> None:
    """Raise ValueError on a trit outside -1..1 or an activation outside int8."""
    if not operations:
        raise ValueError("operations is empty: give at least one (trit, activation)")
    for index, (trit, activation) in enumerate(operations):
        if trit not in (-1, 0, 1):
            raise ValueError(
                f"operation {index}: trit={trit!r} is invalid: use -1, 0 or 1"
            )
        if not ACTIVATION_MIN <= activation <= ACTIVATION_MAX:
            raise ValueError(
                f"operation {index}: activation={activation!r} is outside int8: "
                f"use {ACTIVATION_MIN} to {ACTIVATION_MAX}"
            )


def expected_sums(operations: list[tuple[int, int]]) -> list[int]:
    """Return the register value after each operation, starting from reset (0)."""
    total = 0
    sums = []
    for trit, activation in operations:
        total += trit * activation
        sums.append(total)
    return sums


def stimulus_sources(operations: list[tuple[int, int]], transition_s: float) -> str:
    """Return PWL voltage sources for clock, reset, trit wires and activation bits.

    Times are written in terms of the parameter `period_s` and high levels as
    `vdd_v`, so a loaded circuit can change both with `alterparam`. Sources are
    named v<net> and drive top-level nets named like the accumulator's ports. The
    timing follows SequenceTiming, and every edge is a ramp of transition_s.
    """
    check_operations(operations)
    idle = (0, 0)
    levels: dict[str, list[int]] = {f"a{i}": [] for i in range(ACTIVATION_BITS)}
    levels["nz"] = []
    levels["neg"] = []
    for trit, activation in [*operations, idle]:
        code = activation & 0xFF
        for i in range(ACTIVATION_BITS):
            levels[f"a{i}"].append((code >> i) & 1)
        levels["nz"].append(int(trit != 0))
        levels["neg"].append(int(trit == -1))

    lines = []
    for net, values in levels.items():
        # Like the supply, inputs start at 0 V and reach their level at 0.1 period.
        points = [(0.0, 0.0, 0), (0.1, 0.0, values[0])]
        for k in range(1, len(values)):
            if values[k] != values[k - 1]:
                points.append((k + 0.1, 0.0, values[k - 1]))
                points.append((k + 0.1, transition_s, values[k]))
        lines.append(_pwl_text(f"v{net} {net} 0", points))

    half_ramp = transition_s / 2
    clock_points = [(0.0, 0.0, 0)]
    for k in range(len(operations)):
        clock_points += [
            (k + 1.0, -half_ramp, 0),
            (k + 1.0, half_ramp, 1),
            (k + 1.5, -half_ramp, 1),
            (k + 1.5, half_ramp, 0),
        ]
    lines.append(_pwl_text("vclk clk 0", clock_points))

    reset_points = [(0.0, 0.0, 0), (0.25, 0.0, 0), (0.25, transition_s, 1)]
    lines.append(_pwl_text("vrst_b rst_b 0", reset_points))
    return "\n".join(lines) + "\n"


def _pwl_text(head: str, points: list[tuple[float, float, int]]) -> str:
    """Format (periods, offset_s, logic level) points as a PWL source."""
    pairs = []
    for periods, offset_s, level in points:
        if periods == 0.0 and offset_s == 0.0:
            time = "0"
        else:
            time = f"{{{periods!r}*period_s+{offset_s!r}}}"
        pairs.append(f"{time} {'{vdd_v}' if level else '0'}")
    rows = [" ".join(pairs[i : i + 4]) for i in range(0, len(pairs), 4)]
    return f"{head} pwl(\n+ " + "\n+ ".join(rows) + " )"


def decode_register(voltages: list[float], vdd_v: float) -> tuple[int | None, str]:
    """Return the two's complement register value from q0..q(n-1) node voltages.

    Returns (None, reason) when any bit sits between 20 % and 80 % of vdd_v.
    """
    value = 0
    for bit, volts in enumerate(voltages):
        if 0.2 * vdd_v < volts < 0.8 * vdd_v:
            return None, f"q{bit} at {volts:.3f} V is not a valid logic level"
        if volts >= 0.8 * vdd_v:
            value |= 1 << bit
    width = len(voltages)
    if value >= 1 << (width - 1):
        value -= 1 << width
    return value, ""
