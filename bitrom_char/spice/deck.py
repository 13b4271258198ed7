"""Simulation decks and the netlist templates under circuits/."""

from __future__ import annotations

import hashlib
import math
import re
import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bitrom_char.pdk import data_dir, validate_corner
from bitrom_char.spice.measure import Measurement

_ANALYSES = ("tran", "op", "dc", "ac")
_IDENTIFIER = re.compile(r"[A-Za-z_]\w*")
# Names an ngspice expression may use without defining them (ngspice 39 manual,
# "Parameters, functions, expressions").
_BUILTINS = frozenset(
    [
        "abs",
        "sqrt",
        "sin",
        "cos",
        "tan",
        "asin",
        "acos",
        "atan",
        "sinh",
        "cosh",
        "tanh",
        "asinh",
        "acosh",
        "atanh",
        "exp",
        "ln",
        "log",
        "log10",
        "pow",
        "pwr",
        "min",
        "max",
        "sgn",
        "ternary_fcn",
        "gauss",
        "agauss",
        "unif",
        "aunif",
        "limit",
        "int",
        "nint",
        "floor",
        "ceil",
        "pi",
        "e",
        "temper",
        "hertz",
        "time",
        "v",
        "i",
        "if",
    ]
)


def _number(name: str, value: object) -> float:
    """Convert a parameter value to float, naming the parameter when that fails."""
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ValueError(
            f"parameter {name}={value!r} is not a number; give it in SI units, "
            "for example 1e-15 for 1 fF"
        ) from None
    if not math.isfinite(number):
        raise ValueError(f"parameter {name}={value} is not finite")
    return number


def _check_transient(analysis: str) -> None:
    """Raise ValueError unless `tran` has a positive step and a stop time after it."""
    from bitrom_char.spice.simulator import spice_number

    words = analysis.split()
    if len(words) < 3:
        raise ValueError(
            f"analysis {analysis!r} is invalid; a transient needs a step and a stop "
            "time, for example 'tran 1p 6n'"
        )
    try:
        times = [spice_number(word) for word in words[1:5]]
    except ValueError as error:
        raise ValueError(f"analysis {analysis!r} is invalid: {error}") from None
    step, stop = times[0], times[1]
    if not (step > 0 and stop > 0 and step <= stop):
        raise ValueError(f"analysis {analysis!r} is invalid; use 0 < step <= stop time")
    if len(times) >= 3 and not 0 <= times[2] < stop:
        raise ValueError(
            f"analysis {analysis!r} is invalid; the start time must lie in [0, stop)"
        )


def _undefined_parameters(
    netlist: str, params: Mapping[str, float], extra: str
) -> list:
    """Names used inside {...} expressions that nothing defines."""
    defined = set(params)
    for text in (netlist, extra):
        defined.update(m.group(1) for m in re.finditer(r"([A-Za-z_]\w*)\s*=", text))
    used = set()
    for expression in re.findall(r"\{([^{}]*)\}", netlist):
        used.update(_IDENTIFIER.findall(expression))
    known = {name.lower() for name in defined} | _BUILTINS
    return sorted(name for name in used if name.lower() not in known)


@dataclass(frozen=True)
class Deck:
    """One ngspice simulation: netlist body, parameters, analysis and measurements.

    `netlist` contains instances, sources and subcircuits but no model library, `.temp`
    or `.end`; it may refer to the names in `params` as `{name}`. Parameters become
    `.param` lines, so a simulator can change them with `alterparam` without loading
    the netlist again. `analysis` is an interactive command such as "tran 1p 6n".
    """

    title: str
    netlist: str
    analysis: str
    measurements: Sequence[Measurement] = ()
    corner: str = "tt"
    temp_c: float = 27.0
    params: Mapping[str, float] = field(default_factory=dict)
    includes: Sequence[Path] = ()
    save: Sequence[str] = ()
    options: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        validate_corner(self.corner)
        if "\n" in self.title or "\r" in self.title:
            raise ValueError(
                f"title {self.title!r} is invalid; a line break would add a netlist line"
            )
        kind = self.analysis.split()[0].lower() if self.analysis.strip() else ""
        if kind not in _ANALYSES:
            raise ValueError(
                f"analysis {self.analysis!r} is invalid; start it with one of "
                f"{', '.join(_ANALYSES)}, for example 'tran 1p 6n'"
            )
        if kind == "tran":
            _check_transient(self.analysis)
        temp_c = _number("temp_c", self.temp_c)
        if temp_c < -273.15:
            raise ValueError(f"temp_c={temp_c} is below absolute zero")
        for name, value in self.params.items():
            if not re.fullmatch(r"[A-Za-z_]\w*", name):
                raise ValueError(f"parameter name {name!r} is not a valid identifier")
            _number(name, value)
        for path in self.includes:
            if not Path(path).is_file():
                raise FileNotFoundError(f"include file {path} does not exist")
        self._check_measurement_names()
        extra = "".join(
            Path(path).read_text(errors="replace") for path in self.includes
        )
        undefined = _undefined_parameters(self.netlist, self.params, extra)
        if undefined:
            raise ValueError(
                f"deck {self.title!r}: the netlist uses undefined parameters "
                f"{', '.join(undefined)}; add them to params or define them with .param"
            )

    def _check_measurement_names(self) -> None:
        from bitrom_char.spice.measure import vector_name

        names = [m.name for m in self.measurements]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"measurement names repeat: {', '.join(duplicates)}")
        # ngspice stores a measurement as a vector of its name, which would hide the
        # time axis or a node of the same name from the measurements after it.
        reserved = {"time"}
        for measurement in self.measurements:
            for expr in measurement.expressions():
                vector = vector_name(expr)
                if vector:
                    reserved.add(vector.split("#")[0])
        for name in names:
            if name.lower() in reserved:
                raise ValueError(
                    f"measurement name {name!r} is also a vector of the simulation; "
                    "rename the measurement, for example to v_" + name
                )

    @property
    def analysis_kind(self) -> str:
        """First word of the analysis command: tran, op, dc or ac."""
        return self.analysis.split()[0].lower()

    def structure_text(self, model_file: Path) -> str:
        """Deck text without parameter values or temperature: equal text, same circuit."""
        lines = [f"* {self.title}", f".include {model_file}"]
        lines += [f".include {Path(path).resolve()}" for path in self.includes]
        lines += [
            f".option {key}={value}" for key, value in sorted(self.options.items())
        ]
        lines.append(f"* parameters: {','.join(sorted(self.params))}")
        lines.append(self.netlist.strip())
        return "\n".join(lines)

    def render(self, model_file: Path) -> str:
        """Return the full netlist text for ngspice, ending with `.end`."""
        lines = [f"* {self.title}", f".include {model_file}"]
        lines += [f".include {Path(path).resolve()}" for path in self.includes]
        lines += [
            f".option {key}={value}" for key, value in sorted(self.options.items())
        ]
        lines += [
            f".param {name}={float(value)!r}" for name, value in self.params.items()
        ]
        lines.append(f".temp {float(self.temp_c)!r}")
        lines.append(self.netlist.strip())
        lines.append(".end")
        return "\n".join(lines) + "\n"

    def fingerprint(self) -> str:
        """Hash of everything that defines the result except the model file contents."""
        digest = hashlib.sha256()
        for part in (
            self.title,
            self.netlist,
            self.analysis,
            self.corner,
            repr(float(self.temp_c)),
            repr(sorted((k, float(v)) for k, v in self.params.items())),
            repr(sorted(self.options.items())),
            "\n".join(m.command(self.analysis_kind) for m in self.measurements),
        ):
            digest.update(part.encode())
            digest.update(b"\0")
        for path in self.includes:
            digest.update(Path(path).read_bytes())
        return digest.hexdigest()


def template_path(name: str) -> Path:
    """Return circuits/<name>.spice, or raise FileNotFoundError listing templates."""
    folder = data_dir("circuits")
    path = folder / f"{name}.spice"
    if not path.is_file():
        known = sorted(p.stem for p in folder.glob("*.spice"))
        raise FileNotFoundError(
            f"netlist template {name!r} not found in {folder}; known: {', '.join(known)}"
        )
    return path


def render_template(name: str, values: Mapping[str, object]) -> str:
    """Fill `${name}` fields of a template under circuits/ and return the text.

    Every field must be given and every given value must be used, so a misspelled
    parameter name fails here instead of silently keeping a default.
    """
    text = template_path(name).read_text()
    template = string.Template(text)
    fields = {
        match.group("named") or match.group("braced")
        for match in template.pattern.finditer(text)
        if match.group("named") or match.group("braced")
    }
    missing = sorted(fields - set(values))
    if missing:
        raise ValueError(f"template {name}: missing values for {', '.join(missing)}")
    unused = sorted(set(values) - fields)
    if unused:
        raise ValueError(
            f"template {name}: unknown parameters {', '.join(unused)}; "
            f"it takes {', '.join(sorted(fields))}"
        )
    return template.substitute(values)
