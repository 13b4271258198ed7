"""Grid sweeps: one task per point, run in recycled worker processes or on Dask, cached.

Every finished point is written at once to a content-addressed cache file (atomic
rename), so a sweep that is killed, even with SIGKILL, loses no finished point and a
rerun computes only the missing ones. The cache key hashes the cell's `key_text` (its
rendered netlists and measurement lines), the cell version, the model library file and
version, and the ngspice version.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import json
import logging
import math
import multiprocessing
import os
import tempfile
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from pathlib import Path

import pandas as pd
from tqdm import tqdm

from bitrom_char.cells.base import Cell, PointResult
from bitrom_char.pdk import ModelLibrary, find_models
from bitrom_char.tables import AXIS_UNITS, Table

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT_S = 600.0
DEFAULT_RECYCLE_AFTER = 200


def default_cache_dir() -> Path:
    """$BITROM_CACHE/points, or ~/.cache/bitrom-char/points."""
    root = os.environ.get("BITROM_CACHE")
    base = Path(root) if root else Path.home() / ".cache" / "bitrom-char"
    return base / "points"


def expand_grid(cell: Cell, grid: Mapping[str, Iterable]) -> list[dict]:
    """Return every grid point as a dict, in the cell's axis order; validate each."""
    unknown = sorted(set(grid) - set(cell.axes))
    if unknown:
        raise ValueError(
            f"{cell.name}: unknown grid axes {', '.join(unknown)}; "
            f"this cell takes {', '.join(cell.axes)}"
        )
    missing = [axis for axis in cell.axes if axis not in grid]
    if missing:
        raise ValueError(f"{cell.name}: grid lacks values for {', '.join(missing)}")
    lists = []
    for axis in cell.axes:
        raw = grid[axis]
        if isinstance(raw, (str, bytes)) or not isinstance(raw, Iterable):
            raise ValueError(  # noqa: TRY004 - all bad grid input is a ValueError
                f"{cell.name}: grid axis {axis}={raw!r} is not a list; "
                f"give a list such as [{raw!r}]"
            )
        values = list(raw)
        if not values:
            raise ValueError(f"{cell.name}: grid axis {axis} has no values")
        repeated = sorted({str(v) for v in values if values.count(v) > 1})
        if repeated:
            raise ValueError(
                f"{cell.name}: grid axis {axis} repeats {', '.join(repeated)}; "
                "give each value once"
            )
        lists.append(values)
    points = [
        dict(zip(cell.axes, combo, strict=True)) for combo in itertools.product(*lists)
    ]
    for point in points:
        cell.validate_point(point)
    return points


@dataclass(frozen=True)
class Environment:
    """Tool versions that every cache key and table row records."""

    ngspice_version: str
    pdk_source: str
    pdk_version: str
    models_fingerprint: str

    @classmethod
    def detect(cls, models: ModelLibrary) -> Environment:
        from bitrom_char.spice.simulator import ngspice_version

        stat = models.lib_path.stat()
        fingerprint = hashlib.sha256(
            f"{models.lib_path}|{stat.st_size}|{stat.st_mtime_ns}|{models.version}".encode()
        ).hexdigest()[:16]
        return cls(ngspice_version(), models.source, models.version, fingerprint)


def point_key(cell: Cell, point: Mapping, env: Environment) -> str:
    """Cache key of one grid point."""
    digest = hashlib.sha256()
    for part in (
        cell.name,
        cell.version,
        cell.key_text(point),
        env.models_fingerprint,
        env.ngspice_version,
    ):
        digest.update(part.encode())
        digest.update(b"\0")
    return digest.hexdigest()


class PointCache:
    """One JSON file per finished point, named by its key."""

    def __init__(self, root: Path, cell_name: str):
        self.folder = Path(root) / cell_name

    def path(self, key: str) -> Path:
        return self.folder / key[:2] / f"{key}.json"

    def get(self, key: str) -> dict | None:
        """Return the cached record, or None when absent or malformed."""
        path = self.path(key)
        try:
            record = json.loads(path.read_text())
        except FileNotFoundError:
            return None
        except (json.JSONDecodeError, UnicodeDecodeError):
            log.warning("recomputing the point of unreadable cache file %s", path)
            return None
        if not _valid_record(record):
            log.warning("recomputing the point of malformed cache file %s", path)
            return None
        return record

    def remove_orphans(self, min_age_s: float = 600.0) -> int:
        """Delete temporary files left by a killed sweep; return how many.

        Only files older than `min_age_s` go, so a sweep running beside this one on
        the same cache keeps the file it is writing.
        """
        removed = 0
        now = time.time()
        for path in self.folder.glob("*/.tmp-*"):
            try:
                if now - path.stat().st_mtime >= min_age_s:
                    path.unlink()
                    removed += 1
            except FileNotFoundError:
                continue
        return removed

    def put(self, key: str, record: dict) -> None:
        path = self.path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        # The rename is atomic, which is what survives a killed sweep; there is no
        # fsync, so a power cut may still lose the last points.
        with os.fdopen(handle, "w") as stream:
            json.dump(record, stream, allow_nan=True)
        os.replace(temp, path)


def _valid_record(record: object) -> bool:
    """True for a dict whose values map output names to numbers (NaN allowed)."""
    if not isinstance(record, dict):
        return False
    values = record.get("values")
    reasons = record.get("reasons", {})
    if not isinstance(values, dict) or not isinstance(reasons, dict):
        return False
    return all(
        isinstance(v, (int, float)) and not isinstance(v, bool) for v in values.values()
    )


def _failed(cell: Cell, reason: str) -> PointResult:
    outputs = list(cell.units)
    return PointResult(
        values={name: math.nan for name in outputs},
        reasons={name: reason for name in outputs},
        cacheable=False,
    )


def _record(point: Mapping, result: PointResult) -> dict:
    return {
        "point": dict(point),
        "values": {k: float(v) for k, v in result.values.items()},
        "reasons": dict(result.reasons),
        "netlist_hash": result.netlist_hash,
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }


def evaluate_point(cell: Cell, point: Mapping, sim) -> PointResult:
    """Evaluate one point, turning an exception into NaN outputs with its message.

    NgspiceUnusableError is re-raised: the process's ngspice cannot run again.
    """
    from bitrom_char.spice.simulator import NgspiceUnusableError

    try:
        result = cell.evaluate(point, sim)
    except NgspiceUnusableError:
        raise
    except Exception as error:
        log.exception("%s failed at %s", cell.name, dict(point))
        return _failed(cell, f"{type(error).__name__}: {error}")
    missing = [name for name in cell.units if name not in result.values]
    for name in missing:
        result.values[name] = math.nan
        result.reasons.setdefault(name, "cell did not report this output")
    return result


def _worker_main(conn: Connection, cell: Cell, pdk_root: str | None) -> None:
    """Build one Simulator, then evaluate points until the pool sends None."""
    from bitrom_char.spice.simulator import NgspiceUnusableError, Simulator

    logging.basicConfig(level=logging.WARNING)
    sim = Simulator(find_models(pdk_root))
    while True:
        message = conn.recv()
        if message is None:
            break
        task_id, point = message
        try:
            result = evaluate_point(cell, point, sim)
        except NgspiceUnusableError as error:
            # Report the point, then exit: the pool starts a fresh worker.
            conn.send((task_id, _failed(cell, str(error))))
            break
        conn.send((task_id, result))
    conn.close()


def _worker_context():
    """Start workers from a fork server that has the engine's modules imported.

    Workers never inherit this process's ngspice instance (the server does not load
    libngspice), and they skip about 0.4 s of imports that a spawned process pays.
    """
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(
        [
            "bitrom_char.sweep",
            "bitrom_char.spice.simulator",
            "PySpice.Spice.NgSpice.Shared",
        ]
    )
    return context


@dataclass
class _Worker:
    process: multiprocessing.Process
    conn: Connection
    done: int = 0
    task: tuple[int, float] | None = None  # (task id, start time)
    group: str | None = None


class ProcessPool:
    """Worker processes with per-task timeouts, recycling and group affinity.

    A worker evaluates one point at a time. It is replaced after `recycle_after`
    points (ngspice's shared library grows in memory) or when a point runs longer than
    `timeout_s`, in which case the worker is killed and the point recorded as NaN.
    """

    def __init__(
        self,
        cell: Cell,
        workers: int,
        *,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        recycle_after: int = DEFAULT_RECYCLE_AFTER,
        pdk_root: str | None = None,
    ):
        if workers < 1:
            raise ValueError(f"workers={workers} is invalid; a pool needs 1 or more")
        _check_sweep_limits(workers, timeout_s)
        self.cell = cell
        self.size = workers
        self.timeout_s = timeout_s
        self.recycle_after = recycle_after
        self.pdk_root = pdk_root
        self._context = _worker_context()
        self._workers: list[_Worker] = []

    def _start(self) -> _Worker:
        parent, child = self._context.Pipe()
        process = self._context.Process(
            target=_worker_main, args=(child, self.cell, self.pdk_root), daemon=True
        )
        process.start()
        child.close()
        return _Worker(process, parent)

    def _stop(self, worker: _Worker, kill: bool = False) -> None:
        if kill:
            worker.process.kill()
        else:
            try:
                worker.conn.send(None)
            except (BrokenPipeError, OSError):
                pass
        worker.process.join(timeout=10)
        if worker.process.is_alive():
            worker.process.kill()
            worker.process.join()
        worker.conn.close()

    def run(self, tasks: list[tuple[int, dict]]):
        """Yield (task id, PointResult) as points finish, in completion order."""
        pending = list(tasks)
        groups = {tid: self.cell.structure_key(point) for tid, point in tasks}
        points = dict(tasks)
        self._workers = [self._start() for _ in range(min(self.size, len(tasks)))]
        try:
            while pending or any(w.task for w in self._workers):
                for worker in self._workers:
                    if worker.task is None and pending:
                        index = next(
                            (i for i, (tid, _) in enumerate(pending)
                             if groups[tid] == worker.group),
                            0,
                        )  # fmt: skip
                        tid, point = pending.pop(index)
                        worker.conn.send((tid, point))
                        worker.task = (tid, time.monotonic())
                        worker.group = groups[tid]
                yield from self._collect(points)
        finally:
            for worker in self._workers:
                self._stop(worker, kill=worker.task is not None)
            self._workers = []

    def _collect(self, points: Mapping[int, dict]):
        busy = [w for w in self._workers if w.task is not None]
        if not busy:
            return
        now = time.monotonic()
        deadline = min(w.task[1] for w in busy) + self.timeout_s
        ready = wait([w.conn for w in busy], timeout=max(0.0, deadline - now))
        for index, worker in enumerate(list(self._workers)):
            if worker.task is None:
                continue
            tid, started = worker.task
            result: PointResult | None = None
            replace = kill = False
            if worker.conn in ready:
                try:
                    _, result = worker.conn.recv()
                    worker.done += 1
                    replace = worker.done >= self.recycle_after
                except (EOFError, OSError):
                    code = worker.process.exitcode
                    reason = f"worker process died (exit code {code})"
                    log.error("%s at %s: %s", self.cell.name, points[tid], reason)
                    result, replace, kill = _failed(self.cell, reason), True, True
            elif time.monotonic() - started >= self.timeout_s:
                reason = f"timed out after {self.timeout_s:g} s; worker killed"
                log.error("%s at %s: %s", self.cell.name, points[tid], reason)
                result, replace, kill = _failed(self.cell, reason), True, True
            if result is None:
                continue
            worker.task = None
            if replace:
                self._stop(worker, kill=kill)
                self._workers[index] = self._start()
            yield tid, result


def _check_sweep_limits(workers: int | None, timeout_s: float) -> None:
    """Raise ValueError for a negative worker count or a non-positive timeout."""
    if workers is not None and (
        isinstance(workers, bool) or not isinstance(workers, int) or workers < 0
    ):
        raise ValueError(
            f"workers={workers!r} is invalid; use 0 (run in this process) or more"
        )
    if not (isinstance(timeout_s, (int, float)) and timeout_s > 0):
        raise ValueError(
            f"timeout_s={timeout_s!r} is invalid; use a positive time in seconds"
        )
    if math.isinf(timeout_s):
        raise ValueError("timeout_s=inf is invalid; use a finite time in seconds")


def _dask_evaluate(cell: Cell, point: dict, pdk_root: str | None) -> PointResult:
    """Dask task: evaluate with one Simulator per worker process."""
    from bitrom_char.spice.simulator import Simulator

    # NOTE: after an NgspiceUnusableError this Dask worker keeps failing its points
    # until the worker process is restarted.
    global _DASK_SIMULATOR  # one ngspice instance per Dask worker process
    if _DASK_SIMULATOR is None:
        _DASK_SIMULATOR = Simulator(find_models(pdk_root))
    return evaluate_point(cell, point, _DASK_SIMULATOR)


_DASK_SIMULATOR = None


def _run_dask(cell: Cell, tasks, scheduler: str, workers: int, pdk_root):
    from dask.distributed import Client, LocalCluster, as_completed

    cluster = None
    if scheduler == "local":
        # Processes, one thread each: ngspice's shared library is not thread-safe.
        cluster = LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
        )
        client = Client(cluster)
    else:
        client = Client(scheduler)
    try:
        futures = {
            client.submit(_dask_evaluate, cell, point, pdk_root, pure=False): tid
            for tid, point in tasks
        }
        for future in as_completed(futures):
            tid = futures[future]
            try:
                yield tid, future.result()
            except Exception as error:  # noqa: BLE001 - a lost worker fails one point
                yield tid, _failed(cell, f"dask task failed: {error}")
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def characterize(
    cell: Cell,
    grid: Mapping[str, Iterable] | None = None,
    *,
    workers: int | None = None,
    cache_dir: Path | None = None,
    scheduler: str | None = None,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    recycle_after: int = DEFAULT_RECYCLE_AFTER,
    pdk_root: str | None = None,
    progress: bool = True,
) -> Table:
    """Characterize a cell over a grid and return its table.

    `workers` defaults to all cores; 0 evaluates in this process (no timeout).
    `scheduler` is a Dask scheduler address, or "local" for a LocalCluster on loopback.
    """
    _check_sweep_limits(workers, timeout_s)
    grid = grid if grid is not None else cell.default_grid()
    points = expand_grid(cell, grid)
    models = find_models(pdk_root)
    env = Environment.detect(models)
    cache = PointCache(cache_dir or default_cache_dir(), cell.name)
    cache.remove_orphans()
    keys = [point_key(cell, point, env) for point in points]
    records: dict[int, dict] = {}
    for index, key in enumerate(keys):
        record = cache.get(key)
        if record is not None:
            records[index] = record
    tasks = [(i, points[i]) for i in range(len(points)) if i not in records]
    log.info(
        "%s: %d points, %d cached, %d to simulate",
        cell.name, len(points), len(records), len(tasks),
    )  # fmt: skip
    workers = os.cpu_count() or 1 if workers is None else workers
    bar = tqdm(
        total=len(points),
        initial=len(records),
        desc=cell.name,
        unit="pt",
        disable=not progress,
    )
    if tasks:
        if scheduler:
            results = _run_dask(cell, tasks, scheduler, max(workers, 1), pdk_root)
        elif workers == 0:
            results = _run_inline(cell, tasks, pdk_root)
        else:
            pool = ProcessPool(
                cell,
                workers,
                timeout_s=timeout_s,
                recycle_after=recycle_after,
                pdk_root=pdk_root,
            )
            results = pool.run(tasks)
        for tid, result in results:
            if result.reasons:
                log.warning(
                    "%s at %s: NaN outputs %s",
                    cell.name, points[tid], result.reasons,
                )  # fmt: skip
            record = _record(points[tid], result)
            if result.cacheable:
                cache.put(keys[tid], record)
            records[tid] = record
            bar.update(1)
    bar.close()
    return _table(cell, points, [records[i] for i in range(len(points))], env)


def _run_inline(cell: Cell, tasks, pdk_root):
    from bitrom_char.spice.simulator import NgspiceUnusableError, Simulator

    sim = Simulator(find_models(pdk_root))
    broken = ""
    for tid, point in tasks:
        if broken:
            yield tid, _failed(cell, broken)
            continue
        try:
            yield tid, evaluate_point(cell, point, sim)
        except NgspiceUnusableError as error:
            # This process cannot simulate again; the rest stays NaN, uncached.
            broken = str(error)
            yield tid, _failed(cell, broken)


def _table(cell: Cell, points, records, env: Environment) -> Table:
    rows = []
    for point, record in zip(points, records, strict=True):
        row = dict(point)
        for name in cell.units:
            row[name] = record["values"].get(name, math.nan)
        row["netlist_hash"] = record.get("netlist_hash", "")
        row["ngspice_version"] = env.ngspice_version
        row["pdk_source"] = env.pdk_source
        row["pdk_version"] = env.pdk_version
        row["date"] = record.get("date", "")
        row["reasons"] = json.dumps(record.get("reasons", {}), sort_keys=True)
        rows.append(row)
    units = {axis: AXIS_UNITS.get(axis, "") for axis in cell.axes}
    units.update(cell.units)
    provenance = {
        "cell": cell.name,
        "cell_version": cell.version,
        "ngspice_version": env.ngspice_version,
        "pdk_source": env.pdk_source,
        "pdk_version": env.pdk_version,
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }
    df = pd.DataFrame(rows)
    return Table(df, name=cell.name, axes=cell.axes, units=units, provenance=provenance)
