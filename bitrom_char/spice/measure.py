"""Measurement objects: each emits its ngspice `meas` command and parses its result.

A measurement that ngspice cannot compute yields NaN and a reason that explains the
failure in circuit terms (for example "trigger v(in) never rose through 0.9 V"), found by looking
at the waveforms the measurement names.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

_NUMBER = r"([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)"
_EDGES = ("rise", "fall", "cross")


def _check_name(name: str) -> None:
    if not re.fullmatch(r"[A-Za-z_]\w*", name):
        raise ValueError(
            f"measurement name {name!r} is invalid; use letters, digits and _ "
            "and start with a letter"
        )


def _check_edge(edge: str) -> None:
    if edge not in _EDGES:
        raise ValueError(f"edge {edge!r} is invalid; use one of {', '.join(_EDGES)}")


def _check_count(label: str, n: object) -> None:
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"{label}={n!r} is invalid; count edges from 1")


def _check_finite(label: str, value: object, allow_none: bool = False) -> None:
    if value is None and allow_none:
        return
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ValueError(f"{label}={value!r} is not a number") from None
    if not math.isfinite(number):
        raise ValueError(f"{label}={value!r} is invalid; give a finite number")


def vector_name(expr: str) -> str | None:
    """Map v(node) and i(source) to ngspice's vector names, or None for other forms."""
    match = re.fullmatch(r"\s*v\(\s*([^,()\s]+)\s*\)\s*", expr, re.IGNORECASE)
    if match:
        return match.group(1).lower()
    match = re.fullmatch(r"\s*i\(\s*([^,()\s]+)\s*\)\s*", expr, re.IGNORECASE)
    if match:
        return f"{match.group(1).lower()}#branch"
    return None


def _window(from_s: float | None, to_s: float | None) -> str:
    parts = []
    if from_s is not None:
        parts.append(f"from={from_s:.12g}")
    if to_s is not None:
        parts.append(f"to={to_s:.12g}")
    return " ".join(parts)


def _crossings(values: np.ndarray, level: float, edge: str) -> int:
    above = values > level
    rises = int(np.count_nonzero(~above[:-1] & above[1:]))
    falls = int(np.count_nonzero(above[:-1] & ~above[1:]))
    return {"rise": rises, "fall": falls, "cross": rises + falls}[edge]


def _edge_reason(
    role: str, expr: str, level: float, edge: str, n: int, waves: Mapping
) -> str | None:
    """Explain why the n-th edge of expr through level is missing, or None if present."""
    key = vector_name(expr)
    if key is None or key not in waves:
        return None
    values = np.asarray(waves[key])
    if values.size < 2:
        return f"{role} {expr} has fewer than two time points"
    count = _crossings(values, level, edge)
    if count >= n:
        return None
    verb = {"rise": "rose", "fall": "fell", "cross": "crossed"}[edge]
    span = f"range {values.min():.4g}..{values.max():.4g} V"
    if count == 0:
        return f"{role} {expr} never {verb} through {level:g} ({span})"
    return f"{role} {expr} {verb} through {level:g} only {count} times, need {n}"


@dataclass(frozen=True)
class Measurement:
    """Base class; subclasses define `command` and `expressions`."""

    name: str

    def __post_init__(self) -> None:
        _check_name(self.name)

    def command(self, analysis: str) -> str:
        """Return the interactive ngspice command that computes this measurement."""
        raise NotImplementedError

    def expressions(self) -> tuple[str, ...]:
        """Return the waveform expressions this measurement reads."""
        raise NotImplementedError

    def parse(self, output: str) -> float:
        """Return the value ngspice printed for this measurement, or NaN if absent."""
        pattern = rf"^\s*{re.escape(self.name)}\s*=\s*{_NUMBER}"
        match = re.search(pattern, output, re.IGNORECASE | re.MULTILINE)
        if match is None:
            return math.nan
        return float(match.group(1))

    def window_problem(self, stop_s: float) -> str | None:
        """Return why the measurement cannot use a run that stops at `stop_s`, if so."""
        return None

    def diagnose(self, waves: Mapping[str, np.ndarray], output: str) -> str:
        """Return why the measurement failed, from the waveforms and ngspice output."""
        for expr in self.expressions():
            key = vector_name(expr)
            if key is not None and key not in waves:
                return f"vector {expr} does not exist in the simulation"
        message = _ngspice_message(output)
        return message or f"ngspice could not compute {self.name}"


def _ngspice_message(output: str) -> str:
    for line in output.splitlines():
        lower = line.lower()
        if "error" in lower or "failed" in lower or "out of interval" in lower:
            return line.strip()
    return ""


@dataclass(frozen=True)
class Delay(Measurement):
    """Time from a trigger edge to a target edge (s)."""

    trig: str = "v(in)"
    trig_val: float = 0.9
    trig_edge: str = "rise"
    targ: str = "v(out)"
    targ_val: float = 0.9
    targ_edge: str = "fall"
    trig_n: int = 1
    targ_n: int = 1

    def __post_init__(self) -> None:
        super().__post_init__()
        _check_edge(self.trig_edge)
        _check_edge(self.targ_edge)
        _check_count("trig_n", self.trig_n)
        _check_count("targ_n", self.targ_n)
        _check_finite("trig_val", self.trig_val)
        _check_finite("targ_val", self.targ_val)

    def command(self, analysis: str) -> str:
        return (
            f"meas {analysis} {self.name} trig {self.trig} val={self.trig_val:.12g} "
            f"{self.trig_edge}={self.trig_n} targ {self.targ} val={self.targ_val:.12g} "
            f"{self.targ_edge}={self.targ_n}"
        )

    def expressions(self) -> tuple[str, ...]:
        return (self.trig, self.targ)

    def diagnose(self, waves: Mapping[str, np.ndarray], output: str) -> str:
        for role, expr, level, edge, n in (
            ("trigger", self.trig, self.trig_val, self.trig_edge, self.trig_n),
            ("target", self.targ, self.targ_val, self.targ_edge, self.targ_n),
        ):
            reason = _edge_reason(role, expr, level, edge, n, waves)
            if reason:
                return reason
        return super().diagnose(waves, output)


@dataclass(frozen=True)
class When(Measurement):
    """Time at which an expression crosses a level on its n-th given edge (s)."""

    expr: str = "v(out)"
    val: float = 0.9
    edge: str = "cross"
    n: int = 1

    def __post_init__(self) -> None:
        super().__post_init__()
        _check_edge(self.edge)
        _check_count("n", self.n)
        _check_finite("val", self.val)

    def command(self, analysis: str) -> str:
        return (
            f"meas {analysis} {self.name} when {self.expr}={self.val:.12g} "
            f"{self.edge}={self.n}"
        )

    def expressions(self) -> tuple[str, ...]:
        return (self.expr,)

    def diagnose(self, waves: Mapping[str, np.ndarray], output: str) -> str:
        reason = _edge_reason("signal", self.expr, self.val, self.edge, self.n, waves)
        return reason or super().diagnose(waves, output)


@dataclass(frozen=True)
class Find(Measurement):
    """Value of an expression at a given time."""

    expr: str = "v(out)"
    at_s: float = 0.0

    def __post_init__(self) -> None:
        super().__post_init__()
        _check_finite("at_s", self.at_s)

    def command(self, analysis: str) -> str:
        return f"meas {analysis} {self.name} find {self.expr} at={self.at_s:.12g}"

    def expressions(self) -> tuple[str, ...]:
        return (self.expr,)

    def diagnose(self, waves: Mapping[str, np.ndarray], output: str) -> str:
        time = waves.get("time")
        if time is not None and len(time) and not time[0] <= self.at_s <= time[-1]:
            return (
                f"time {self.at_s:g} s lies outside the simulated "
                f"{time[0]:g}..{time[-1]:g} s"
            )
        return super().diagnose(waves, output)


@dataclass(frozen=True)
class _Window(Measurement):
    expr: str = "v(out)"
    from_s: float | None = None
    to_s: float | None = None

    keyword = ""

    def __post_init__(self) -> None:
        super().__post_init__()
        _check_finite("from_s", self.from_s, allow_none=True)
        _check_finite("to_s", self.to_s, allow_none=True)
        if self.from_s is not None and self.from_s < 0:
            raise ValueError(f"from_s={self.from_s} is invalid; use a time >= 0")
        if (
            self.from_s is not None
            and self.to_s is not None
            and self.from_s >= self.to_s
        ):
            raise ValueError(
                f"window from_s={self.from_s} .. to_s={self.to_s} is empty or "
                "reversed; use from_s < to_s"
            )

    def window_problem(self, stop_s: float) -> str | None:
        # ngspice would clip the window to the run and report a value for a shorter
        # window than requested.
        if self.to_s is not None and self.to_s > stop_s * (1 + 1e-9):
            return (
                f"window ends at {self.to_s:g} s, after the simulation stops at "
                f"{stop_s:g} s"
            )
        return None

    def command(self, analysis: str) -> str:
        window = _window(self.from_s, self.to_s)
        return f"meas {analysis} {self.name} {self.keyword} {self.expr} {window}"

    def expressions(self) -> tuple[str, ...]:
        return (self.expr,)


@dataclass(frozen=True)
class Average(_Window):
    """Time average of an expression over a window."""

    keyword = "avg"


@dataclass(frozen=True)
class Integral(_Window):
    """Time integral of an expression over a window (a current gives coulombs)."""

    keyword = "integ"


@dataclass(frozen=True)
class Minimum(_Window):
    """Minimum of an expression over a window."""

    keyword = "min"


@dataclass(frozen=True)
class Maximum(_Window):
    """Maximum of an expression over a window."""

    keyword = "max"


@dataclass(frozen=True)
class OperatingPoint(Measurement):
    """Value of an expression at the DC operating point (after an `op` analysis)."""

    expr: str = "v(out)"

    def command(self, analysis: str) -> str:
        if analysis != "op":
            raise ValueError(
                f"OperatingPoint {self.name} needs an 'op' analysis, not {analysis!r}"
            )
        return f"let {self.name} = {self.expr}\nprint {self.name}"

    def expressions(self) -> tuple[str, ...]:
        return (self.expr,)
