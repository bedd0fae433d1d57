"""One monitor run's computation: the stored baseline against the new data, in the service's
decode workers or on a Dask cluster (``monitor_engine = "dask"``), each part of the data (files)
giving statistics that merge (``core.monitoring.check.Partial``) into one report.

In the service (``monitor_engine = "inprocess"``) the statistics are computed where the captured
Parquet is decoded: in the decode workers (store/decode_worker.py: memory-limited processes, the
service's protection against Parquet bombs), up to ``RUN_WORKERS`` of them on different files at
once, each sending back only its partial statistics as checked JSON
(``core.monitoring.partial_codec``: a worker is not trusted). A run's first worker is leased as
any read is (waiting up to ``decode_wait`` for a free one); the others only if free at once. Whose
workers they are: a scheduled run's belong to the service (counted against ``decode_workers``
only, as every read the scheduler makes), a run-now's to the user who asked (counted against their
``decode_per_user`` too), so a run never waits or fails for want of its extra workers. A run that
joins ground truth (model quality, bias) decodes its rows into the service, as before: the join
needs them here.

Stored Parquet (captured batches, datasets) is read through ``store.scan.Scan``, the bounded reader
every ``use`` goes through.
"""

from __future__ import annotations

import contextvars
import io
import json
import threading
from typing import Iterator

import pandas as pd

from ..core.chunks import ChunkReader
from ..core.errors import Invalid
from ..core.monitoring import Baseline
from ..core.monitoring.baseline import n_workers
from ..core.monitoring import partial_codec
from ..core.monitoring.check import Partial, finish, kept_columns as kept_for_sections, scan_partial
from .deployments import CAPTURE_COLUMNS, INFERENCE_ID

OUTPUTS = ("prediction", "probability")  # what mlgov_jupyter.capture names a model's outputs
RUN_WORKERS = max(1, min(n_workers(), 4))  # decode workers one run computes on at once (at most)
PARTIAL_BATCH_BYTES = 128 << 20  # about this much of the columns read in one batch of a worker's statistics
PARTIAL_BATCH_SCANS = 4  # and at most this many scan batches' rows (a column wider than text_max says)


def _text_max(entries: list[tuple]) -> dict:
    text_max: dict = {}
    for _d, _rows, tm, _names in entries:
        for k, v in (tm or {}).items():
            text_max[k] = max(text_max.get(k, 0), v or 0)
    return text_max


def _read_ipc(chunks) -> Iterator[pd.DataFrame]:
    import pyarrow as pa

    reader = pa.ipc.open_stream(io.BufferedReader(ChunkReader(chunks), 1 << 20))
    for batch in reader:
        yield batch.to_pandas()


def frames(svc, entries: list[tuple], columns: list[str] | None = None) -> Iterator[pd.DataFrame]:
    """Stored Parquet objects (``entries``: digest, batch rows, longest text per column, column
    names) as DataFrames of about one batch each, in one scan decoded by one of the service's
    decode workers (memory-limited processes: the bytes came from a capturer or a publisher)."""
    scan = svc.decoder().scan({"digest": [e[0] for e in entries]}, columns, None,
                              batch_rows=min(e[1] for e in entries), text_max=_text_max(entries))
    try:
        yield from _ahead(_read_ipc(scan.ipc_chunks()))
    finally:
        scan.close()


def _ahead(frames_: Iterator[pd.DataFrame], depth: int = 2) -> Iterator[pd.DataFrame]:
    """``frames_`` read (decoded by the worker, converted to pandas) on a thread, up to ``depth``
    frames ahead of the caller, so reading overlaps the statistics of the frame before."""
    import queue
    import threading

    q: queue.Queue = queue.Queue(depth)
    stop = threading.Event()
    end = object()

    def fill():
        try:
            for df in frames_:
                while not stop.is_set():
                    try:
                        q.put(df, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            q.put(end)
        except BaseException as exc:  # noqa: BLE001 - raised in the caller's thread
            q.put(exc)

    thread = threading.Thread(target=fill, name="mlgov-monitor-read", daemon=True)
    thread.start()
    try:
        while True:
            item = q.get()
            if item is end:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        thread.join(5)


def frames_here(objects, entry: tuple, columns: list[str] | None = None) -> Iterator[pd.DataFrame]:
    """The same, scanned in this process (a Dask worker: its nanny bounds its memory)."""
    from ..store.scan import Scan

    digest, batch_rows, text_max, _names = entry
    yield from _read_ipc(Scan(objects.dataset(digest), columns, batch_rows=batch_rows,
                              text_max=text_max).ipc_chunks())


def load_baseline(objects, digest: str) -> Baseline:
    return Baseline.from_dict(json.loads(b"".join(objects.chunks(digest))))


def kept_columns(schema_names: list[str], baseline: Baseline) -> list[str]:
    """The columns a run checks: captured features, and the model's outputs only where the
    baseline has them (SageMaker's data-quality monitor checks the endpoint's input)."""
    wanted = []
    for c in schema_names:
        if c in CAPTURE_COLUMNS:
            continue
        if (c in OUTPUTS or c.startswith("probability_")) and c not in baseline.columns \
                and c not in (baseline.prediction, baseline.probability):
            continue
        wanted.append(c)
    return wanted


def ground_truth(svc, entries: list[tuple], baseline: Baseline) -> pd.DataFrame | None:
    """The deployment's ground truth: ``inference_id`` and the baseline's target, the last
    upload of an id winning. Invalid if none holds the target."""
    if not entries:
        raise Invalid("no ground truth was uploaded for this deployment (client.upload_ground_truth)")
    if any(baseline.target not in e[3] for e in entries):
        raise Invalid(f"an upload of ground truth has no column {baseline.target!r} (the baseline's target)")
    parts = list(frames(svc, entries, [INFERENCE_ID, baseline.target]))
    gt = pd.concat(parts, ignore_index=True)
    return gt.drop_duplicates(INFERENCE_ID, keep="last")


def _joined(df: pd.DataFrame, gt: pd.DataFrame | None, target: str | None) -> pd.DataFrame:
    """``df`` with the ground truth's ``target`` joined by inference id (only the rows that have
    one); ``df`` itself without ground truth."""
    if gt is None:
        return df
    return df.drop(columns=[target], errors="ignore").merge(gt, on=INFERENCE_ID, how="inner", validate="m:1")


def run_check(svc, mon, plan: dict, in_workers: bool = True) -> dict:
    """The report (``Report.to_dict()``) of monitor ``mon`` over ``plan["files"]``; ``in_workers``
    False: the statistics computed in this process from the rows the workers decode (the way
    a run joining ground truth goes)."""
    if svc.monitor_engine != "dask" and in_workers and "ground_truth" not in plan:
        # the run's decode workers start now, while the baseline is read (a cold one takes ~0.5 s of CPU)
        svc.decoder().prewarm(min(RUN_WORKERS, len(plan["files"])))
    objects = svc.objects_store()
    baseline = load_baseline(objects, mon.baseline_hash)
    th = mon.thresholds or {}
    gt = ground_truth(svc, plan["ground_truth"], baseline) if "ground_truth" in plan else None
    first = plan["files"][0][3]  # the first file's column names, stored when it came in
    columns = kept_columns(first, baseline)
    read = columns + ([INFERENCE_ID] if gt is not None and INFERENCE_ID in first else [])
    names = [c for c in columns if c != baseline.target or gt is None] + ([baseline.target] if gt is not None else [])
    if svc.monitor_engine == "dask":
        part = dask_partial(svc.monitor_dask_address, baseline, objects, plan["files"], read, gt, names)
    elif gt is None and in_workers:
        part = worker_partial(svc, baseline, mon.baseline_hash, plan["files"], names,
                              svc._run_progress().get(mon.id))
        keep = kept_for_sections(baseline, names)
        if keep:  # model quality or bias from the captured columns themselves: those rows, here
            part.kept_parts = [df.reset_index(drop=True) for df in frames(svc, plan["files"], keep)]
    else:
        progress = svc._run_progress().get(mon.id)

        def chunks():
            for df in frames(svc, plan["files"], read):
                if progress is not None:
                    progress[0] += len(df)
                df = _joined(df, gt, baseline.target)
                yield df if list(df.columns) == names else df[names]  # a selection copies every column

        part = scan_partial(baseline, names, chunks(), workers=n_workers())
    report = finish(baseline, part, thresholds=th.get("columns"), correction=th.get("correction"),
                    drift_share=th.get("drift_share"), quality_constraints=th.get("quality"),
                    bias_tolerance=th.get("bias_tolerance") or 0.0)
    out = report.to_dict()
    out["engine"] = svc.monitor_engine
    return out


def partial_batch_rows(files: list, names: list) -> int:
    """Rows a decode worker computes statistics on at once: about ``PARTIAL_BATCH_BYTES`` of the
    columns ``names`` (a text column at its longest value, any other 8 bytes a value), never
    fewer than a scan's batch (``files``' smallest) nor more than ``PARTIAL_BATCH_SCANS`` of them.
    Larger than a scan's (64k rows at most): the batch stays in the worker, under its memory limit,
    and a worker's cost per batch (the Parquet reader's, pandas' for text columns) is paid less often."""
    scan_rows = min(e[1] for e in files)
    text_max = _text_max(files)
    per_row = sum(8 + (text_max[c] if c in text_max else 0) for c in names) or 8
    return int(max(scan_rows, min(PARTIAL_BATCH_SCANS * scan_rows, PARTIAL_BATCH_BYTES // per_row)))


def file_tasks(files: list, workers: int) -> list[list]:
    """``files`` cut into contiguous tasks for ``workers`` workers taking them in turn, largest
    first: each takes ``1 / (2 * workers)`` of the files left (guided self-scheduling), down to
    one file, so whichever worker takes the last ones, they are short and the workers end close
    together. 40 files, 2 workers: 11 tasks (10, 8, 6, 4, 3, 3, 2, 1, 1, 1, 1 files)."""
    tasks, at = [], 0
    while at < len(files):
        size = max(1, -(-(len(files) - at) // (2 * workers)))
        tasks.append(files[at:at + size])
        at += size
    return tasks


def worker_partial(svc, baseline: Baseline, baseline_digest: str, files: list[tuple], names: list,
                   progress: list | None = None) -> Partial:
    """The statistics of ``files`` (capture files or a dataset revision: digest, batch rows,
    longest text per column, column names) against ``baseline`` computed in the decode workers,
    up to ``RUN_WORKERS`` at once on contiguous groups of files, merged here in file order (the
    report does not depend on which worker ended first). ``progress[0]`` counts the rows done.
    Raises what a worker reports (Invalid, TooLarge, Unavailable: one line each), or Invalid for
    an answer that is not the statistics of this baseline."""
    pool = svc.decoder()
    tasks = file_tasks(files, RUN_WORKERS)
    k = len(tasks)
    common = {"columns": names, "names": names, "batch_rows": partial_batch_rows(files, names),
              "text_max": _text_max(files), "baseline": baseline_digest}
    limit = partial_codec.max_bytes(baseline, names)
    results: list = [None] * k
    lock = threading.Lock()
    todo = iter(range(k))
    failed: list = []

    def work(leased) -> None:
        with leased:
            while not failed:
                with lock:
                    i = next(todo, None)
                if i is None:
                    return
                try:
                    answer = leased.partial({**common, "digests": [e[0] for e in tasks[i]],
                                             "cpu_seconds": pool.timeout * len(tasks[i])}, limit)
                    results[i] = partial_codec.decode(answer, baseline, names)
                except BaseException as exc:  # noqa: BLE001 - raised in the caller's thread
                    failed.append(exc)
                    return
                if progress is not None:
                    with lock:
                        progress[0] += results[i].n_rows

    first = pool.leased()  # as any read: waits for a free worker (then Unavailable)
    threads = []
    for _ in range(min(RUN_WORKERS, k) - 1):
        extra = pool.leased(optional=True)
        if extra is None:
            break
        # the caller's context: the decode worker's owner (decode_user) stays the caller
        th = threading.Thread(target=contextvars.copy_context().run, args=(work, extra),
                              name="mlgov-monitor-part", daemon=True)
        th.start()
        threads.append(th)
    work(first)
    for th in threads:
        th.join()
    if failed:
        raise failed[0]
    merged = results[0]
    for part in results[1:]:
        merged = merged.merge(part)
    return merged


# ---- Dask ------------------------------------------------------------------------------------

_clients: dict = {}


def _dask_client(address: str):
    from distributed import Client

    client = _clients.get(address)
    if client is None or client.status not in ("running", "connecting"):
        client = _clients[address] = Client(address, set_as_default=False, timeout="10s")
    return client


def _file_partial(baseline: Baseline, objects, entry: tuple, read: list, gt, names: list) -> Partial:
    """One partition (one stored file) scanned on a Dask worker, single-threaded (the cluster
    runs partitions side by side)."""
    if gt is None:  # the number columns straight from the Arrow batches, as a decode worker reads them
        from ..core.monitoring.arrow_pass import batch_partial
        from ..store.scan import Scan

        digest, batch_rows, text_max, _names = entry
        scan = Scan(objects.dataset(digest), read, batch_rows=batch_rows, text_max=text_max)
        return batch_partial(baseline, names, scan._batches(), metadata=scan.schema.metadata, keep=True)
    target = baseline.target
    chunks = (_joined(df, gt, target)[names] for df in frames_here(objects, entry, read))
    return scan_partial(baseline, names, chunks, workers=1)


def dask_partial(address: str, baseline: Baseline, objects, files: list[tuple], read: list, gt, names: list) -> Partial:
    """Each file a task on the cluster at ``address``; their partials merged here (statistics
    are mergeable: counts, moments and histograms add)."""
    if not address:
        raise Invalid("monitor_engine is dask but monitor_dask_address is not set")
    client = _dask_client(address)
    base = client.scatter(baseline, broadcast=True)
    truth = client.scatter(gt, broadcast=True) if gt is not None else None
    futures = client.map(_file_partial, [base] * len(files), [objects] * len(files), files,
                         [read] * len(files), [truth] * len(files), [names] * len(files), pure=False)
    merged = None
    for part in client.gather(futures):
        merged = part if merged is None else merged.merge(part)
    return merged
