"""Reading a dataset out of the object store: a ``pyarrow.dataset`` scan with columns and row
filters pushed down, streamed as Arrow IPC record batches (the stream format, one schema
message then batches), so neither side holds more than a few batches at once.

User-supplied Parquet is scanned in a decode worker process with a memory limit
(store/decode_worker.py), which streams these bytes to the service through a pipe: a footer can
lie about what its pages decode to, so ``_check_bounds`` keeps batches small for honest files and
the worker's limit, not this module, bounds a dishonest one.
"""

from __future__ import annotations

from typing import Iterator

from ..core.errors import Invalid, TooLarge

ARROW_STREAM = "application/vnd.apache.arrow.stream"
BATCH_ROWS = 65_536


class _Drain:
    """A write-only sink the IPC writer fills; ``take()`` hands out what was written so far, as
    the writer gave it: a record batch's buffers are ``pyarrow.Buffer`` views of the batch's
    memory (not copied); its metadata and padding, small bytes objects."""

    closed = False

    def __init__(self):
        self.parts: list = []

    def write(self, data) -> int:
        import pyarrow as pa

        self.parts.append(data if isinstance(data, (bytes, pa.Buffer)) else bytes(data))
        return len(data)

    def flush(self) -> None:
        pass

    def take(self) -> list:
        out, self.parts = self.parts, []
        return out


class Scan:
    """A prepared scan of a ``pyarrow.dataset`` (a stored Parquet object, ``ObjectStore.dataset``,
    or registered external files). Raises Invalid at construction for columns or filter fields
    the data does not have, so a bad request fails before anything is sent.

    columns: names to keep (None: all; pandas index columns follow when all are kept);
    row_filter: a ``pyarrow.compute.Expression`` (see core/row_filters.py); batch_rows: rows
    per batch (``core.catalog.scan_batch_rows`` sizes it from the longest values); start: rows
    of the output to skip (a resumed read: fragments and row groups come in the same order each
    time, so the same rows follow; whole row groups are skipped unread when no filter applies)."""

    def __init__(self, dataset, columns: list[str] | None = None, row_filter=None,
                 batch_rows: int = BATCH_ROWS, text_max: dict | None = None, start: int = 0):
        self.dataset = dataset
        self.start = max(0, int(start or 0))
        self.text_max = text_max or {}
        names = self.dataset.schema.names
        if columns is not None:
            unknown = [c for c in columns if c not in names]
            if unknown:
                raise Invalid(f"no column named {', '.join(map(repr, unknown))} in this dataset")
        self.columns = columns
        self.row_filter = row_filter
        self.batch_rows = batch_rows
        self.use_threads = True  # False: decode on the calling thread (processes side by side use the cores)
        self._check_bounds()
        try:
            self.scanner = self.dataset.scanner(columns=columns, filter=row_filter, batch_size=batch_rows)
        except Exception as exc:  # pyarrow: a filter on a missing field or of the wrong type
            raise Invalid(f"the row filter does not fit this dataset: {str(exc).splitlines()[0]}") from None

    def _check_bounds(self) -> None:
        """Every Parquet row group's decoded size bounded from its footer (core.catalog), before
        anything is read: registered files may have changed since they were described."""
        import pyarrow.dataset as ds

        from ..core.catalog import ROW_GROUP_CAP, row_group_bound, size_text

        self.bounds = {}
        for fragment in self.dataset.get_fragments():
            if not isinstance(fragment, ds.ParquetFileFragment):
                continue
            meta = fragment.metadata
            for r in range(meta.num_row_groups):
                bound = row_group_bound(meta, r, set(), self.text_max)
                if bound > ROW_GROUP_CAP:
                    raise TooLarge(f"a row group of this dataset may decode to {size_text(bound)}, more than "
                                   f"{size_text(ROW_GROUP_CAP)} at once")
                self.bounds[(fragment.path, r)] = (bound, meta.row_group(r).num_rows)

    @property
    def schema(self):
        schema = self.scanner.projected_schema
        if self.columns is not None:  # the pandas metadata would name columns left out
            schema = schema.remove_metadata()
        return schema

    def rows(self) -> int | None:
        """Rows the scan yields, from the Parquet footers; None when a row filter applies (that
        would take a pass of its own)."""
        return None if self.row_filter is not None else self.dataset.count_rows()

    def ipc_chunks(self) -> Iterator[bytes]:
        """The scan as Arrow IPC stream bytes, one piece per record batch."""
        for pieces in self.ipc_pieces():
            yield b"".join(pieces)

    def ipc_pieces(self) -> Iterator[list]:
        """The same stream as ``ipc_chunks``, each piece as the list of what the IPC writer wrote
        for it: the batch's buffers as ``pyarrow.Buffer`` views, not copies (joining them copied
        every byte once more; the decode worker writes them to its pipe one after the other)."""
        import pyarrow as pa

        drain = _Drain()
        schema = self.schema
        with pa.ipc.new_stream(pa.PythonFile(drain, mode="w"), schema) as writer:
            yield drain.take()
            for batch in self._batches():
                if batch.num_rows:
                    writer.write_batch(batch.replace_schema_metadata(schema.metadata))
                    yield drain.take()
        yield drain.take()

    def _batches(self):
        """Batches pulled one Parquet row group at a time (row groups the filter's statistics
        rule out are skipped): a dataset scanner decodes ahead of a slow reader and would hold
        most of the data; this holds about one row group."""
        import pyarrow.dataset as ds

        skip = self.start
        for fragment in self.dataset.get_fragments(filter=self.row_filter):
            pieces = fragment.split_by_row_group(filter=self.row_filter) \
                if isinstance(fragment, ds.ParquetFileFragment) else [fragment]
            for piece in pieces:
                if skip and self.row_filter is None and isinstance(piece, ds.ParquetFileFragment):
                    rows = sum(group.num_rows for group in piece.row_groups)
                    if rows <= skip:  # a resumed read: this row group went out before, unread now
                        skip -= rows
                        continue
                for batch in piece.to_batches(schema=self.dataset.schema, columns=self.columns,
                                              filter=self.row_filter, batch_size=self.batch_rows,
                                              batch_readahead=1, fragment_readahead=0,
                                              use_threads=self.use_threads):
                    if skip >= batch.num_rows:
                        skip -= batch.num_rows
                        continue
                    yield batch.slice(skip) if skip else batch
                    skip = 0
