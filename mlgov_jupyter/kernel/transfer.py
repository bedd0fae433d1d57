"""Moving content between a notebook and the service: uploads in parts, datasets as Parquet row
groups written straight into those parts, reads as a stream of Arrow record batches.

What is published (``to_parquet_parts``): a pandas DataFrame, a pyarrow Table or RecordBatch
reader, a Dask DataFrame (one partition at a time), or a Parquet file or folder (a file goes as
it is; a folder is read batch by batch). Nothing is base64-encoded; the service never holds more
than one part. Large transfers show a tqdm progress bar (a widget in a notebook).
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Iterator

from ..core.errors import Invalid, Unavailable

PROGRESS_FROM_BYTES = 64 << 20  # transfers smaller than this show no progress bar
# Row groups as df.to_parquet writes them (pyarrow's default: 1Mi rows), but at most about
# ROW_GROUP_BYTES in memory, half of what the service decodes of one row group (its
# core.catalog.ROW_GROUP_CAP). Small row groups cost twice over: each starts a dictionary per
# column that fills before it falls back to plain (1 MB per column of distinct floats: 16 MB
# groups of 21 float columns wrote 22% more bytes, 2.8x slower than to_parquet).
ROW_GROUP_ROWS = 1 << 20
ROW_GROUP_BYTES = 128 << 20


def is_tabular(obj) -> bool:
    """Whether ``obj`` publishes as a dataset."""
    import pandas as pd
    import pyarrow as pa

    if isinstance(obj, (pd.DataFrame, pa.Table, pa.RecordBatchReader)) or _is_dask_frame(obj):
        return True
    if isinstance(obj, (str, Path)) and "://" not in str(obj):
        path = Path(obj)
        return path.is_dir() or path.suffix.lower() in (".parquet", ".pq")
    return False


class Uploader:
    """One upload: ``write`` bytes (sent in parts of ``part_bytes`` by a background thread while
    the next part is written, at most two parts queued), then ``close``; ``call`` is the
    client's ``(method, path, query, body)`` request function."""

    def __init__(self, call: Callable, name: str, project: str | None, total: int | None = None):
        import queue
        import threading

        self.call = call
        started = call("POST", "uploads", None, {k: v for k, v in (("name", name), ("project", project)) if v})
        self.upload_id, self.part_bytes = started["upload_id"], int(started["part_max_bytes"])
        self.offset, self._error = 0, None
        self._pieces: list[bytes] = []  # written, not yet queued (their sizes add to _held)
        self._held = 0
        self._bar = _progress(total, f"publish {name}") if total is None or total >= PROGRESS_FROM_BYTES else None
        self._parts: "queue.Queue[list | None]" = queue.Queue(maxsize=2)  # a part: its pieces
        self._sender = threading.Thread(target=self._send_parts, name=f"mlgov-upload-{name}", daemon=True)
        self._sender.start()

    closed = False

    def write(self, data) -> int:
        """Take ``data``; a part is queued when the next piece would not fit in it, so parts end
        at the writer's pieces (Parquet pages, about 1 MB). A part is the list of its pieces, sent
        one after the other in one request: never joined (a 16 MiB copy per part was a tenth of
        the client's CPU). A piece larger than a part is cut (views of it: bytes do not change);
        other buffers than bytes are copied, since their owner may reuse them."""
        self._raise_if_failed()
        n = len(data)
        if self._held and self._held + n > self.part_bytes:
            self._queue(self._pieces)
            self._pieces, self._held = [], 0
        if not isinstance(data, bytes):
            data = bytes(data)
        view, at = memoryview(data), 0
        while n - at > self.part_bytes:
            self._queue([view[at:at + self.part_bytes]])
            at += self.part_bytes
        self._pieces.append(view[at:] if at else data)
        self._held += n - at
        return n

    def flush(self) -> None:
        pass

    def close(self) -> None:
        if self._held:
            self._queue(self._pieces)
            self._pieces, self._held = [], 0
        self._finish()
        self._raise_if_failed()
        self.closed = True

    def abort(self) -> None:
        self._finish()
        try:
            self.call("DELETE", f"uploads/{self.upload_id}", None, None)
        except Exception:  # the upload expires by itself
            pass

    def _queue(self, part: list) -> None:
        while True:
            self._raise_if_failed()
            try:
                self._parts.put(part, timeout=0.5)
                return
            except Exception:  # queue.Full: the sender is busy (or stopped: checked above)
                continue

    def _finish(self) -> None:
        if self._sender.is_alive():
            self._parts.put(None)
            self._sender.join()
        if self._bar is not None:
            self._bar.close()

    def _raise_if_failed(self) -> None:
        if self._error is not None:
            raise self._error

    def _send_parts(self) -> None:
        while (part := self._parts.get()) is not None:
            if self._error is not None:
                continue  # drain: the writer sees the error and stops
            try:
                self._send(part)
            except BaseException as exc:  # handed to the writer's thread
                self._error = exc

    def _send(self, part: list) -> None:
        size = sum(len(piece) for piece in part)
        self.call("PUT", f"uploads/{self.upload_id}", {"offset": self.offset}, part)
        self.offset += size
        if self._bar is not None:
            self._bar.update(size)


def upload(call: Callable, obj, name: str, project: str | None) -> tuple[str, str]:
    """Send ``obj`` as an upload; ``(upload_id, format)``: ``parquet`` for tabular data, else
    the bytes of a file (``file``) or a scikit-learn model (``skops``)."""
    if is_tabular(obj):
        path = Path(obj) if isinstance(obj, (str, Path)) else None
        if path is not None and path.is_file():
            return _send_file(call, path, name, project), "parquet"
        up = Uploader(call, name, project, total=_estimate(obj))
        try:
            _write_parquet(obj, up)
            up.close()
        except BaseException:
            up.abort()
            raise
        return up.upload_id, "parquet"
    if isinstance(obj, (str, Path)):
        path = Path(obj)
        if not path.is_file():
            raise Invalid(f"no file at {path}")
        return _send_file(call, path, name, project), "file"
    if hasattr(obj, "fit") and hasattr(obj, "get_params"):
        import skops.io as sio

        return _send_bytes(call, sio.dumps(obj), name, project), "skops"
    raise Invalid(f"cannot publish a {type(obj).__name__}: give a DataFrame, an Arrow table, a Dask "
                  f"DataFrame, a Parquet file or folder, a scikit-learn model, a file path or a URI")


def _send_file(call, path: Path, name: str, project: str | None) -> str:
    up = Uploader(call, name, project, total=path.stat().st_size)
    try:
        with path.open("rb") as f:
            while piece := f.read(up.part_bytes):
                up.write(piece)
        up.close()
    except BaseException:
        up.abort()
        raise
    return up.upload_id


def _send_bytes(call, data: bytes, name: str, project: str | None) -> str:
    up = Uploader(call, name, project, total=len(data))
    try:
        up.write(data)
        up.close()
    except BaseException:
        up.abort()
        raise
    return up.upload_id


def _write_parquet(obj, sink) -> None:
    """Write ``obj`` into ``sink`` as Parquet (snappy, as ``df.to_parquet``), row group by row
    group: batches are gathered (without copying) until they fill one, so a reader's or Dask's
    small batches do not make small row groups."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    writer, pending, held, rows = None, [], 0, ROW_GROUP_ROWS
    try:
        for table in _tables(obj):
            if writer is None:
                writer = pq.ParquetWriter(pa.PythonFile(sink, mode="w"), table.schema, **_encodings(table))
                rows = _row_group_rows(table)
            elif table.schema != writer.schema:
                table = table.cast(writer.schema)
            pending.append(table)
            held += table.num_rows
            if held >= rows:
                whole = pa.concat_tables(pending)
                full = held - held % rows
                writer.write_table(whole.slice(0, full), row_group_size=rows)
                pending, held = ([whole.slice(full)] if held > full else []), held - full
        if pending:
            writer.write_table(pa.concat_tables(pending), row_group_size=rows)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, ValueError, TypeError) as exc:
        raise Invalid(f"cannot store this data as Parquet: {str(exc).splitlines()[0]}") from None
    if writer is None:
        raise Invalid("nothing to publish: the data has no batches")
    writer.close()


SAMPLE_ROWS = 4_096  # values of each numeric column looked at to choose its encoding (hashing
# 65,536 took 12 ms a column)


def _encodings(table) -> dict:
    """``ParquetWriter`` options per column: as ``df.to_parquet`` (dictionary, snappy) except
    for numeric columns whose first SAMPLE_ROWS values show it would be wasted work:

    - mostly distinct values (measurements, keys): no dictionary. The writer would fill a 1 MB
      dictionary per row group, then fall back to plain; that attempt was half of the CPU of
      writing 21 float columns. A column of few distinct values (codes, prices) keeps it.
    - values snappy cannot shrink by a tenth (random-looking floats): stored uncompressed, the
      same size, without compressing on write and decompressing on every read (a fifth of the
      service's describe, a third of the client's write).
    """
    import io

    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    sample = table.slice(0, SAMPLE_ROWS)
    plain, raw = set(), set()
    for f in table.schema:
        if not (pa.types.is_integer(f.type) or pa.types.is_floating(f.type)) or not sample.num_rows:
            continue
        column = sample.column(f.name)
        if pc.count_distinct(column).as_py() * 2 > sample.num_rows:
            plain.add(f.name)
            values = column.fill_null(0).to_numpy()
            if len(pa.compress(values.tobytes(), "snappy", asbytes=True)) > 0.9 * values.nbytes:
                raw.add(f.name)
    if not plain:
        return {}
    probe = io.BytesIO()  # the file's leaf column paths, as these options name them
    pq.write_table(table.slice(0, 0), probe)
    schema = pq.ParquetFile(pa.BufferReader(probe.getvalue())).schema
    paths = [(schema.column(i).path, schema.column(i).path.split(".", 1)[0]) for i in range(len(schema))]
    return {"use_dictionary": [path for path, top in paths if top not in plain],
            "compression": {path: "none" if top in raw else "snappy" for path, top in paths}}


def _row_group_rows(table) -> int:
    """Rows per row group: ROW_GROUP_ROWS, fewer for wide rows so one holds at most about
    ROW_GROUP_BYTES (at least 16,384 rows)."""
    width = table.nbytes / max(table.num_rows, 1)
    return int(min(ROW_GROUP_ROWS, max(16_384, ROW_GROUP_BYTES // max(width, 1))))


def _tables(obj) -> Iterator:
    """``obj`` as pyarrow tables (a DataFrame at once: numeric columns convert without a copy;
    other sources a batch at a time)."""
    import pandas as pd
    import pyarrow as pa

    if isinstance(obj, pd.DataFrame):
        yield pa.Table.from_pandas(obj)
    elif isinstance(obj, pa.Table):
        yield obj
    elif isinstance(obj, pa.RecordBatchReader):
        for batch in obj:
            yield pa.Table.from_batches([batch])
    elif _is_dask_frame(obj):
        for i in range(obj.npartitions):
            yield pa.Table.from_pandas(obj.get_partition(i).compute(), preserve_index=False)
    else:  # a Parquet folder
        import pyarrow.dataset as ds

        for batch in ds.dataset(str(obj), format="parquet").to_batches(batch_size=128 * 1024):
            yield pa.Table.from_batches([batch])


def _estimate(obj) -> int | None:
    import pandas as pd
    import pyarrow as pa

    if isinstance(obj, pd.DataFrame):
        return int(obj.memory_usage(index=True, deep=False).sum()) // 2  # Parquet is smaller
    if isinstance(obj, pa.Table):
        return obj.nbytes // 2
    return None


def _is_dask_frame(obj) -> bool:
    return type(obj).__module__.startswith("dask") and hasattr(obj, "npartitions") and hasattr(obj, "get_partition")


# ---- reading ---------------------------------------------------------------------------------

def read_stream(meta: dict, stream, as_: str, reopen: Callable | None = None):
    """An Arrow IPC stream as ``pandas`` (a DataFrame), ``arrow`` (a Table) or ``batches`` (an
    iterator of RecordBatches; the stream closes when it is used up). ``reopen(start)``: ``(meta,
    stream)`` of the same scan from row ``start``; when the stream breaks off (a cut while others
    wait, a dropped connection), it resumes from the rows received, up to RESUME_TRIES times in a
    row with back-off, and the progress bar goes on."""
    import http.client

    import pyarrow as pa

    state = {"stream": stream, "reader": pa.ipc.open_stream(_buffered(stream))}
    schema = state["reader"].schema
    rows = meta.get("rows")
    bar = _progress(rows, f"use {meta['name']}", unit="rows") if rows and rows >= 1_000_000 else None

    def batches():
        received, tries = 0, 0
        try:
            while True:
                try:
                    for batch in state["reader"]:
                        if bar is not None:
                            bar.update(batch.num_rows)
                        received += batch.num_rows
                        tries = 0
                        yield batch
                    return
                except (pa.ArrowInvalid, OSError, http.client.HTTPException) as exc:
                    # the service stopped part-way (its reader process failed, or it cut a read
                    # while others waited): resumed from the rows received, else its log says why
                    tries += 1
                    state["stream"].close()
                    state["stream"] = _resume(reopen, received, meta, tries, exc)
                    state["reader"] = pa.ipc.open_stream(_buffered(state["stream"]))
                    if not state["reader"].schema.equals(schema):
                        raise _broke_off(meta, exc) from None
        finally:
            if bar is not None:
                bar.close()
            state["stream"].close()

    if as_ == "batches":
        return batches()
    if as_ == "pandas" and rows is not None:  # number columns copied into place as they arrive
        from .frame_assembly import assemble

        return assemble(schema, rows, batches())
    table = pa.Table.from_batches(list(batches()), schema=schema)
    if as_ == "arrow":
        return table
    return table.to_pandas(split_blocks=True, self_destruct=True)


RESUME_TRIES = 5  # reopenings of a read in a row (without a byte between) before it fails
RESUME_BACKOFF = 0.5  # seconds before the first reopening, doubled for each next one


def _buffered(stream):
    """What the IPC reader reads: an HTTP response through ``_Direct``, another stream (the
    in-process transport's chunks) through an 8 MiB buffer."""
    import http.client
    import io

    if isinstance(stream, http.client.HTTPResponse):
        return _Direct(stream)
    return stream if isinstance(stream, io.BufferedReader) else io.BufferedReader(stream, buffer_size=8 << 20)


class _Direct:
    """A binary stream whose ``read_buffer(n)`` (what pyarrow's IPC reader asks for, a message's
    metadata, then its body) is a buffer of Arrow's memory pool filled straight from the socket
    (``readinto``): a buffered reader copied each body once more from its own buffer into the
    bytes it returned. The pool hands the memory of a batch let go (FrameAssembly copies them
    into place) to the next. Shorter at the end of the stream."""

    closed = False

    def __init__(self, raw):
        self.raw = raw

    def readable(self) -> bool:
        return True

    def read_buffer(self, n: int):
        import pyarrow as pa

        buf = pa.allocate_buffer(max(0, n))
        with memoryview(buf) as view:
            got = 0
            while got < n:
                k = self.raw.readinto(view[got:])
                if not k:
                    break
                got += k
        return buf if got == n else buf.slice(0, got)

    def read(self, n: int = -1) -> bytes:
        if n is None or n < 0:
            return self.raw.read()
        return self.read_buffer(n).to_pybytes()

    def close(self) -> None:
        self.closed = True
        self.raw.close()


def _resume(reopen: Callable | None, at: int, meta: dict, tries: int, exc: BaseException):
    """The stream of a read reopened from ``at`` (rows or bytes) after it broke off with ``exc``
    (waiting RESUME_BACKOFF, doubled per try), or Unavailable: no ``reopen``, RESUME_TRIES
    tries, or the service answers another revision or content. A refusal (403, 404) is raised
    as it is: every resumed read is authorized afresh."""
    import time

    from ..core.errors import GovernanceError, Unavailable

    last: BaseException = exc
    while reopen is not None and tries <= RESUME_TRIES:
        time.sleep(RESUME_BACKOFF * 2 ** (tries - 1))
        try:
            again, stream = reopen(at)
        except GovernanceError as busy:  # a 503 (busy), the server out of reach: another try
            if type(busy) not in (GovernanceError, Unavailable):
                raise
            last, tries = busy, tries + 1
            continue
        if (again.get("revision"), again.get("content_hash")) != (meta.get("revision"), meta.get("content_hash")):
            stream.close()
            break
        return stream
    raise _broke_off(meta, last) from None


def _progress(total, desc: str, unit: str = "B"):
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit=unit, unit_scale=True, leave=False)


def read_all(stream, meta: dict | None = None, reopen: Callable | None = None) -> bytes:
    """All of a file's bytes; ``reopen(offset)``: ``(meta, stream)`` from byte ``offset`` (a Range
    request): a stream that breaks off resumes from the bytes received (as ``read_stream``)."""
    import http.client

    meta = meta or {"name": "this content"}
    parts, received, tries = [], 0, 0
    try:
        while True:
            try:
                while piece := stream.read(1 << 20):
                    parts.append(piece)
                    received += len(piece)
                    tries = 0
                return b"".join(parts)
            except (OSError, http.client.HTTPException) as exc:
                tries += 1
                stream.close()
                stream = _resume(reopen, received, meta, tries, exc)
    finally:
        stream.close()


def _broke_off(meta: dict, exc: BaseException) -> Unavailable:
    return Unavailable(f"the stream of {meta['name']!r} broke off before its end ({type(exc).__name__}): try "
                       f"again (a busy service cuts reads held past stream_max_lease while others wait); if it "
                       f"recurs the data cannot be read")
