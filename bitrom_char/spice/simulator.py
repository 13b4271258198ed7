"""Run decks in ngspice's shared library (through PySpice), keeping circuits loaded.

One ngspice instance lives in each process. A deck whose structure (netlist, includes,
corner, temperature, trimmed model file) equals the loaded one only changes its
parameters with `alterparam` and `reset`, which costs milliseconds instead of a load.
Transient runs that do not converge are retried, first with gear integration, then
with gear and a max step of tstop/2000; if both fail every measurement is NaN with the
ngspice message as its reason.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import io
import logging
import math
import os
import re
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from bitrom_char.pdk import ModelLibrary, find_models, spinit_commands
from bitrom_char.spice.deck import Deck
from bitrom_char.spice.models import default_cache_dir, netlist_tokens, trimmed_library

log = logging.getLogger(__name__)

DEBIAN_LIBNGSPICE = "/usr/lib/x86_64-linux-gnu/libngspice.so.0"
NGSPICE_INSTALL_HINT = (
    "Install ngspice's shared library with `apt-get install -y ngspice libngspice0`, "
    "or set NGSPICE_LIBRARY_PATH to the full path of libngspice.so."
)
CONVERGENCE_ERRORS = (
    "timestep too small",
    "singular matrix",
    "iteration limit reached",
    "simulation(s) aborted",
    "gmin stepping failed",
    "source stepping failed",
    "no convergence",
)
_SUFFIXES = {
    "t": 1e12, "g": 1e9, "meg": 1e6, "k": 1e3, "m": 1e-3,
    "u": 1e-6, "n": 1e-9, "p": 1e-12, "f": 1e-15,
}  # fmt: skip


class NgspiceNotFoundError(OSError):
    """libngspice could not be found or loaded."""


class NgspiceUnusableError(RuntimeError):
    """ngspice stopped after a fatal error and cannot run again in this process.

    The sweep's worker processes exit on it and are replaced.
    """


# Output of ngspice 39 when loading a netlist failed.
LOAD_ERRORS = (
    "circuit not parsed",
    "there aren't any circuits loaded",
    "unable to find definition of model",
    "could not find a valid modelname",
    "unknown subckt",
    "no such vector",
    "undefined parameter",
    "error on line",
    "fatal error",
)


def spice_number(text: str) -> float:
    """Parse a SPICE number with an optional scale suffix: '20p', '1.5meg', '3e-9'."""
    match = re.fullmatch(
        r"\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)(meg|[tgkmunpf])?[a-z]*\s*",
        text.lower(),
    )
    if match is None:
        raise ValueError(f"{text!r} is not a SPICE number such as 10f or 1.5e-9")
    scale = _SUFFIXES.get(match.group(2) or "", 1.0)
    return float(match.group(1)) * scale


@dataclass
class SimResult:
    """Measured values (NaN where a measurement failed) and what produced them."""

    values: dict[str, float]
    reasons: dict[str, str] = field(default_factory=dict)
    waveforms: dict[str, np.ndarray] = field(default_factory=dict)
    netlist_hash: str = ""
    analysis_s: float = math.nan
    fallback: str = ""
    output: str = ""

    @property
    def ok(self) -> bool:
        """True when every measurement produced a number."""
        return not self.reasons


def _library_path() -> str:
    path = os.environ.get("NGSPICE_LIBRARY_PATH")
    if path:
        if not Path(path).is_file():
            raise NgspiceNotFoundError(
                f"NGSPICE_LIBRARY_PATH={path} does not exist. {NGSPICE_INSTALL_HINT}"
            )
        return path
    if Path(DEBIAN_LIBNGSPICE).is_file():
        return DEBIAN_LIBNGSPICE
    for candidate in ("/usr/lib/libngspice.so.0", "/usr/local/lib/libngspice.so"):
        if Path(candidate).is_file():
            return candidate
    raise NgspiceNotFoundError(
        f"libngspice not found at {DEBIAN_LIBNGSPICE}. {NGSPICE_INSTALL_HINT}"
    )


@functools.cache
def _shared_ngspice():
    """Load libngspice once per process and apply the sky130 init commands."""
    # PySpice reads NGSPICE_LIBRARY_PATH when the class is first used; Debian ships
    # only libngspice.so.0, which PySpice does not look for on its own.
    library = _library_path()
    os.environ["NGSPICE_LIBRARY_PATH"] = library
    logging.getLogger("PySpice").setLevel(logging.CRITICAL)
    from PySpice.Spice.NgSpice.Shared import NgSpiceShared

    # PySpice copies the variable when its module is first imported, which may have
    # happened before this function ran; set the class attribute as well.
    NgSpiceShared.LIBRARY_PATH = library

    # PySpice prints "Unsupported Ngspice version 39" on stdout; it is not an error.
    with contextlib.redirect_stdout(io.StringIO()):
        try:
            instance = NgSpiceShared.new_instance()
        except OSError as error:
            raise NgspiceNotFoundError(f"{error}. {NGSPICE_INSTALL_HINT}") from error
    for command in spinit_commands():
        instance.exec_command(command)
    return instance


@functools.cache
def ngspice_version() -> str:
    """Return the ngspice version string, for example '39'."""
    instance = _shared_ngspice()
    return str(instance.ngspice_version)


class Simulator:
    """Runs decks in this process's ngspice instance.

    Keep one Simulator per process: they all share the same ngspice library.
    """

    def __init__(
        self,
        models: ModelLibrary | None = None,
        cache_dir: Path | None = None,
        *,
        trim_models: bool = True,
        reuse_circuits: bool = True,
    ):
        """Create the simulator of this process.

        `trim_models=False` loads the whole library section, which takes seconds per
        load. `reuse_circuits=False` reloads the netlist for every run. Both exist to
        check that the fast paths give the same numbers.
        """
        self.models = models or find_models()
        self.cache_dir = cache_dir
        self.trim_models = trim_models
        self.reuse_circuits = reuse_circuits
        self._ngspice = _shared_ngspice()
        self._loaded_key: str | None = None
        self._loaded_params: dict[str, float] = {}
        self._model_files: dict[tuple, Path] = {}
        self.loads = 0
        self.broken = ""

    def model_file(self, deck: Deck) -> Path:
        """Return the trimmed model file for the deck's corner and devices."""
        if not self.trim_models:
            return self._full_library_file(deck.corner)
        key = (deck.corner, deck.netlist, tuple(str(p) for p in deck.includes))
        path = self._model_files.get(key)
        if path is None or not path.is_file():
            texts = [deck.netlist] + [Path(p).read_text() for p in deck.includes]
            path, _ = trimmed_library(
                self.models, deck.corner, netlist_tokens(*texts), self.cache_dir
            )
            self._model_files[key] = path
        return path

    def _full_library_file(self, corner: str) -> Path:
        folder = self.cache_dir or default_cache_dir()
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"full_{corner}.spice"
        path.write_text(f".lib {self.models.lib_path} {corner}\n")
        return path

    def netlist_hash(self, deck: Deck) -> str:
        """sha256 of the full netlist text as ngspice reads it."""
        return hashlib.sha256(deck.render(self.model_file(deck)).encode()).hexdigest()

    def _command(self, command: str) -> tuple[bool, str]:
        """Run one interactive command; return success and everything ngspice printed."""
        from PySpice.Spice.NgSpice.Shared import NgSpiceCommandError

        try:
            self._ngspice.exec_command(command)
            ok = True
        except NgSpiceCommandError:
            ok = False
        output = "\n".join(self._ngspice._stdout + self._ngspice._stderr)
        return ok, output

    def _load(self, deck: Deck, model_file: Path) -> None:
        from PySpice.Spice.NgSpice.Shared import NgSpiceCircuitError

        if self.broken:
            raise NgspiceUnusableError(
                f"ngspice stopped after an earlier fatal error ({self.broken}); "
                "start a new process"
            )

        key = hashlib.sha256(
            (deck.structure_text(model_file) + f"\n.temp {deck.temp_c!r}").encode()
        ).hexdigest()
        params = {k: float(v) for k, v in deck.params.items()}
        if key == self._loaded_key and self.reuse_circuits:
            changed = {
                k: v for k, v in params.items() if self._loaded_params.get(k) != v
            }
            if changed:
                for name, value in changed.items():
                    self._command(f"alterparam {name}={value!r}")
                self._command("reset")
                self._loaded_params = params
            return
        self._command("destroy all")
        self._command("remcirc")
        self._loaded_key = None
        failure = ""
        try:
            self._ngspice.load_circuit(deck.render(model_file))
        except (NgSpiceCircuitError, NameError) as error:
            # PySpice raises NameError when ngSpice_Circ returns non-zero.
            failure = str(error) or type(error).__name__
        output = "\n".join(self._ngspice._stdout + self._ngspice._stderr)
        lower = output.lower()
        if "cannot recover" in lower or "awaits to be detached" in lower:
            self.broken = _load_error(output) or failure
            raise NgspiceUnusableError(
                f"ngspice failed fatally on the netlist of {deck.title!r}: "
                f"{self.broken}; start a new process"
            )
        if failure or any(text in lower for text in LOAD_ERRORS):
            raise ValueError(
                f"ngspice rejected the netlist of {deck.title!r}: "
                f"{_load_error(output) or failure}"
            )
        self.loads += 1
        self._loaded_key = key
        self._loaded_params = params

    def run(self, deck: Deck) -> SimResult:
        """Simulate the deck and return its measurements (NaN with reasons on failure)."""
        model_file = self.model_file(deck)
        netlist_hash = hashlib.sha256(deck.render(model_file).encode()).hexdigest()
        self._load(deck, model_file)
        self._command("destroy all")

        start = time.perf_counter()
        ok, output, fallback = self._analyse(deck)
        analysis_s = time.perf_counter() - start

        if not ok and any(text in output.lower() for text in LOAD_ERRORS):
            self._loaded_key = None
            raise ValueError(
                f"ngspice rejected the netlist of {deck.title!r}: {_load_error(output)}"
            )
        if not ok:
            reason = f"did not converge: {_first_error(output) or 'analysis failed'}"
            log.warning("%s: %s", deck.title, reason)
            return SimResult(
                values={m.name: math.nan for m in deck.measurements},
                reasons={m.name: reason for m in deck.measurements},
                netlist_hash=netlist_hash,
                analysis_s=analysis_s,
                fallback=fallback,
                output=output[-4000:],
            )

        values: dict[str, float] = {}
        reasons: dict[str, str] = {}
        waves: dict[str, np.ndarray] | None = None
        stop_s = self._stop_time(deck)
        for index, measurement in enumerate(deck.measurements):
            problem = measurement.window_problem(stop_s)
            if problem:
                values[measurement.name] = math.nan
                reasons[measurement.name] = problem
                continue
            # ngspice stores each result as a vector of the measurement's name; a
            # private name keeps it from shadowing a node or the time axis.
            private = replace(measurement, name=f"bitrom_meas_{index}")
            text = ""
            for line in private.command(deck.analysis_kind).splitlines():
                _, printed = self._command(line)
                text += printed + "\n"
            value = private.parse(text)
            values[measurement.name] = value
            if math.isnan(value):
                waves = waves if waves is not None else self.vectors()
                reasons[measurement.name] = private.diagnose(waves, text)
        saved = {}
        if deck.save:
            saved = self.vectors(("time", *deck.save))
        return SimResult(
            values=values,
            reasons=reasons,
            waveforms=saved,
            netlist_hash=netlist_hash,
            analysis_s=analysis_s,
            fallback=fallback,
        )

    def _analyse(self, deck: Deck) -> tuple[bool, str, str]:
        """Run the analysis, retrying a failed transient with the documented fallbacks."""
        _, output = self._command(deck.analysis)
        if self._succeeded(deck, output):
            return True, output, ""
        if deck.analysis_kind != "tran":
            return False, output, ""
        # The fallbacks change circuit options, so the next deck loads afresh.
        self._loaded_key = None
        attempts = [("gear", deck.analysis)]
        words = deck.analysis.split()
        if len(words) >= 3:
            tstop = spice_number(words[2])
            tstart = words[3] if len(words) >= 4 else "0"
            attempts.append(
                (
                    "gear+maxstep",
                    f"tran {words[1]} {words[2]} {tstart} {tstop / 2000!r}",
                )
            )
        log.info("%s: analysis failed, retrying: %s", deck.title, _first_error(output))
        self._command("option method=gear")
        for label, command in attempts:
            self._command("destroy all")
            _, output = self._command(command)
            if self._succeeded(deck, output):
                return True, output, label
        return False, output, "gear+maxstep"

    def _succeeded(self, deck: Deck, output: str) -> bool:
        """Judge an analysis by its results, not by PySpice's exception.

        PySpice flags every stderr line that does not start with "Warning:", which
        includes ngspice's "Note: Starting dynamic gmin stepping" before a solution
        that then succeeds. A transient succeeded when its time axis reaches the stop
        time; another analysis when its plot exists and no convergence error shows.
        """
        if deck.analysis_kind == "tran":
            return self._completed(deck)
        if _has_convergence_error(output):
            return False
        from PySpice.Spice.NgSpice.Shared import ffi

        plot = ffi.string(self._ngspice._ngspice_shared.ngSpice_CurPlot()).decode()
        return plot.lower().startswith(deck.analysis_kind)

    def _stop_time(self, deck: Deck) -> float:
        if deck.analysis_kind != "tran":
            return math.inf
        return spice_number(deck.analysis.split()[2])

    def _completed(self, deck: Deck) -> bool:
        if deck.analysis_kind != "tran":
            return True
        words = deck.analysis.split()
        time_axis = self.vectors(("time",)).get("time")
        if time_axis is None or time_axis.size == 0:
            return False
        return time_axis[-1] >= spice_number(words[2]) * (1 - 1e-6)

    def vectors(self, names: tuple[str, ...] | None = None) -> dict[str, np.ndarray]:
        """Return vectors of the current plot by ngspice name ('out', 'vdd#branch')."""
        from PySpice.Spice.NgSpice.Shared import ffi

        shared = self._ngspice._ngspice_shared
        plot = ffi.string(shared.ngSpice_CurPlot()).decode()
        if names is None:
            listing = shared.ngSpice_AllVecs(plot.encode())
            names_found = []
            index = 0
            while listing[index] != ffi.NULL:
                names_found.append(ffi.string(listing[index]).decode().lower())
                index += 1
            names = tuple(names_found)
        out: dict[str, np.ndarray] = {}
        for name in names:
            key = _vector_key(name)
            info = shared.ngGet_Vec_Info(f"{plot}.{key}".encode())
            if info == ffi.NULL or info.v_realdata == ffi.NULL:
                continue
            buffer = ffi.buffer(info.v_realdata, info.v_length * 8)
            out[name] = np.frombuffer(buffer, dtype=np.float64).copy()
        return out


def _vector_key(name: str) -> str:
    from bitrom_char.spice.measure import vector_name

    return vector_name(name) or name.lower()


def _has_convergence_error(output: str) -> bool:
    lower = output.lower()
    return any(text in lower for text in CONVERGENCE_ERRORS)


def _load_error(output: str) -> str:
    """Return the first error line, with the line after it when it ends in ':'."""
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    for index, line in enumerate(lines):
        lower = line.lower()
        if any(text in lower for text in LOAD_ERRORS) or "error" in lower:
            if line.endswith(":") and index + 1 < len(lines):
                return f"{line} {lines[index + 1]}"
            return line
    return ""


def _first_error(output: str) -> str:
    for line in output.splitlines():
        lower = line.lower()
        if any(text in lower for text in CONVERGENCE_ERRORS) or "error" in lower:
            return line.strip()
    return ""
