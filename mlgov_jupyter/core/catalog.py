"""Catalog content: hashing and describing what is published (pure functions).

A Parquet file is described in one streamed pass over batches sized from its metadata, so
memory stays bounded whatever the file's size (a few MB of one repeated string can decode to
gigabytes): the schema and row count come from the footer, the per-column summary from
mergeable partial results (counts, min/max, Chan et al.'s pairwise mean/variance merge).
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections import Counter

from .errors import Invalid, TooLarge, TooManyRows
from .json_text import CONTROL

TOP_VALUES = 5  # most frequent values shown per text column
DISTINCT_CAP = 10_000  # distinct values counted per text column before it is marked high-cardinality
SUMMARY_VALUE_CHARS = 200  # characters of a value a summary shows (longer ones end in "…")
SUMMARY_MAX_BYTES = 256 << 10  # bytes of a summary's JSON; beyond, its ``top`` lists are left out


def content_hash(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _is_text(dtype) -> bool:
    import pyarrow as pa

    if pa.types.is_dictionary(dtype):
        dtype = dtype.value_type
    return pa.types.is_string(dtype) or pa.types.is_large_string(dtype) \
        or pa.types.is_binary(dtype) or pa.types.is_large_binary(dtype)


_WIDTH = {"BOOLEAN": 1, "INT32": 4, "INT64": 8, "INT96": 12, "FLOAT": 4, "DOUBLE": 8}
ROW_GROUP_CAP = 256 << 20  # what one row group may decode to (413 beyond: write smaller row groups)


MAX_COLUMNS = 10_000  # columns a dataset may have (a file of 100k tiny columns is all overhead)
# rows of one describe batch at most (the budget, 64 MB by the footer's bound, decides below it):
# a batch costs a call of each summary function per column, so 65,536-row batches of 21 float
# columns spent a fifth of the describe in them (1,048,576: 0.27 -> 0.21 s CPU per 2M rows)
DESCRIBE_BATCH_ROWS = 1 << 20
_DELTA_TEXT = {"DELTA_BYTE_ARRAY", "DELTA_LENGTH_BYTE_ARRAY"}


def row_group_bound(parquet, r: int, kept_text: set, text_max: dict | None = None) -> int:
    """An upper bound of the bytes row group ``r`` decodes to, from the footer: per leaf column
    its value count (nested lists count every element) times the value's width; text kept
    dictionary-encoded (``kept_text``: top-level columns read so) costs an index and an offset
    per value plus its dictionary; other text at most its chunk's decoded size per value when
    dictionary-encoded (a value is at most the whole dictionary), else its decoded size.
    ``parquet``: a ParquetFile or a FileMetaData; ``text_max``: the longest value of top-level
    text columns, when known (what a scan decodes them to). TooLarge for text that is neither kept
    dictionary-encoded nor plain: a delta encoding stores a repeated value in a few bits, so
    nothing in the footer bounds it. The footer itself may lie (encodings, sizes): this bound
    sizes batches of honest files; the decode worker's memory limit (store/decode_worker.py)
    bounds a dishonest one."""
    import pyarrow.parquet as pq

    meta = parquet if isinstance(parquet, pq.FileMetaData) else parquet.metadata
    group = meta.row_group(r)
    bound = 0
    text_max = text_max or {}
    for c in range(group.num_columns):
        chunk = group.column(c)
        if chunk.path_in_schema in text_max:
            bound += max(chunk.num_values, group.num_rows) * ((text_max[chunk.path_in_schema] or 0) + 8)
            continue
        if chunk.physical_type == "BYTE_ARRAY" and chunk.path_in_schema not in kept_text \
                and _DELTA_TEXT & set(chunk.encodings):
            raise TooLarge(f"column {chunk.path_in_schema!r} is text in a delta encoding, which may decode "
                           f"to any size: write it with plain or dictionary encoding")
        values = max(chunk.num_values, group.num_rows)
        width = _WIDTH.get(chunk.physical_type)
        if chunk.physical_type == "FIXED_LEN_BYTE_ARRAY":
            width = meta.schema.column(c).length or 16
        nested = "." in chunk.path_in_schema
        if width is not None:
            bound += values * (width + (8 if nested else 0))
        elif chunk.path_in_schema in kept_text:
            bound += 12 * values + chunk.total_uncompressed_size
        elif chunk.has_dictionary_page:
            bound += values * (chunk.total_uncompressed_size + 8)
        else:
            bound += chunk.total_uncompressed_size + 8 * values
    return bound


def bounded_batches(parquet, columns: list, kept_text: set, budget: int = 64 << 20,
                    cap: int = ROW_GROUP_CAP):
    """The file's batches, one row group at a time, each sized from that row group's bound so
    a batch stays near ``budget``; TooLarge before reading a row group bounded above ``cap``."""
    for r in range(parquet.metadata.num_row_groups):
        rows = parquet.metadata.row_group(r).num_rows
        bound = row_group_bound(parquet, r, kept_text)
        if bound > cap:
            raise TooLarge(f"row group {r} of the Parquet content may decode to {size_text(bound)}, more than "
                           f"{size_text(cap)} at once: write it with smaller row groups")
        size = int(max(1, min(DESCRIBE_BATCH_ROWS, rows * budget // max(bound, 1))))
        yield from parquet.iter_batches(batch_size=size, row_groups=[r], columns=columns,
                                        use_pandas_metadata=False, use_threads=True)


def scan_batch_rows(summary: dict, schema: list, budget: int = 64 << 20) -> int:
    """Rows per batch of a scan that decodes every value: from the longest value of each text
    column (``max_length`` in the summary) and the width of the others."""
    per_row = 0
    for col in schema:
        info = summary.get(col["name"], {})
        per_row += (info.get("max_length") or 0) + 8 if "max_length" in info else 8
    return int(max(1, min(65_536, budget // max(per_row, 1))))


def describe_parquet(source, max_rows: int | None = None,
                     max_decoded_bytes: int | None = None) -> tuple[list, dict, int]:
    """``(schema, summary, row_count)`` of a Parquet file (a path or a binary file object).

    schema: ``[{"name", "type"}]`` (pandas index columns left out); summary per column:
    ``missing``, and ``min``/``max``/``mean``/``std`` (sample, ddof=1) for numbers, or
    ``distinct`` (None past DISTINCT_CAP, with ``distinct_at_least``) and ``top`` for text (values
    cut to SUMMARY_VALUE_CHARS characters; left out, with ``top_omitted``, when the summary's JSON
    would pass SUMMARY_MAX_BYTES).
    Invalid if not Parquet; TooLarge if it holds more than ``max_rows`` rows (from the footer,
    before reading) or decodes to more than ``max_decoded_bytes``.
    """
    schema, summary, rows, _ = _describe_parquet(source, max_rows, max_decoded_bytes)
    return schema, cap_summary(summary), rows


def describe_parquet_part(source, part: tuple[int, int], max_rows: int | None = None,
                          max_decoded_bytes: int | None = None) -> dict:
    """One of ``k`` workers' share of ``describe_parquet`` (``part``: ``(i, k)``): the summary of
    columns ``i``, ``i + k``, ... of the schema, read in the batches the whole describe reads
    (their sizes come from every column's bound), so each column's statistics are computed
    exactly as there. ``{"schema" (all columns), "summary" (these, uncapped), "rows",
    "decoded" (bytes these decoded to)}``; ``merge_parts`` joins the ``k`` answers. Errors as
    ``describe_parquet`` (TooLarge once these columns alone pass ``max_decoded_bytes``)."""
    schema, summary, rows, decoded = _describe_parquet(source, max_rows, max_decoded_bytes, part)
    return {"schema": schema, "summary": summary, "rows": rows, "decoded": decoded}


def merge_parts(parts: list, max_decoded_bytes: int | None = None) -> tuple[list, dict, int]:
    """``describe_parquet``'s answer from the ``describe_parquet_part`` answers of parts ``0..k-1``:
    the summary in schema order, capped as there; TooLarge when all columns together decode to
    more than ``max_decoded_bytes``; Invalid when the parts do not fit together."""
    try:
        schema, rows = parts[0]["schema"], parts[0]["rows"]
        decoded = sum(int(p["decoded"]) for p in parts)
        if any(p["schema"] != schema or p["rows"] != rows for p in parts):
            raise ValueError("parts of different files")
        summary = {}
        for i, column in enumerate(schema):
            summary[column["name"]] = parts[i % len(parts)]["summary"][column["name"]]
    except (KeyError, TypeError, ValueError, IndexError):
        raise Invalid("the decode workers' descriptions of this content do not fit together") from None
    if max_decoded_bytes is not None and decoded > max_decoded_bytes:
        raise TooLarge(f"the content decompresses to more than {size_text(max_decoded_bytes)} "
                       f"(publish_max_decoded_bytes)")
    return schema, cap_summary(summary), rows


def _describe_parquet(source, max_rows: int | None, max_decoded_bytes: int | None,
                      part: tuple[int, int] | None = None) -> tuple[list, dict, int, int]:
    """``(schema, summary uncapped, rows, decoded bytes)`` of all columns or of ``part``'s."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        probe = pq.ParquetFile(source, pre_buffer=False)
        rows, meta = probe.metadata.num_rows, probe.metadata
        if max_rows is not None and rows > max_rows:
            raise TooManyRows(f"the Parquet content holds {rows} rows; at most {max_rows} may be "
                              f"published (publish_max_rows)")
        encoded = sum(meta.row_group(r).total_byte_size for r in range(meta.num_row_groups))
        if max_decoded_bytes is not None and encoded > max_decoded_bytes:
            raise TooLarge(f"the content decompresses to more than {size_text(max_decoded_bytes)} "
                           f"(publish_max_decoded_bytes)")
        fields = [f for f in probe.schema_arrow if not f.name.startswith("__index_level_")]
        check_columns(fields)
        # text stays dictionary-encoded as read: a bomb of one long value repeated is counted,
        # never expanded in memory
        kept_text = {f.name for f in fields if _is_text(f.type)}
        read = fields if part is None else fields[part[0]::part[1]]
        schema = [{"name": f.name, "type": str(f.type)} for f in fields]
        if not read:  # more parts than columns
            return schema, {}, rows, 0
        # a path is memory-mapped: pages are decoded from the page cache where the upload just
        # wrote them, not copied into read buffers first (read-only shared pages: outside the
        # decode worker's RLIMIT_DATA); pre-buffering would read the whole file first
        parquet = pq.ParquetFile(source, pre_buffer=False, memory_map=isinstance(source, str),
                                 read_dictionary=sorted(kept_text))
        # batch sizes from every column's bound (kept_text: all text columns), whatever is read
        batches = bounded_batches(parquet, [f.name for f in read], kept_text)
        summary, decoded = _summarize(read, batches, max_decoded_bytes)
        return schema, summary, rows, decoded
    except pa.ArrowMemoryError:
        raise
    except (pa.ArrowException, OSError) as exc:
        raise Invalid(unreadable(exc)) from None


def describe_dataset(data, file_format: str, max_decoded_bytes: int | None = None,
                     where: str = "the data") -> tuple[list, dict, int]:
    """``(schema, summary, rows)`` of a ``pyarrow.dataset`` (registered data, ``file_format``
    "parquet" or "csv") in one pass: Parquet file by file, row group by row group, with the bounds
    of ``bounded_batches``. TooLarge past ``max_decoded_bytes``; Invalid if unreadable."""
    import pyarrow as pa

    try:
        fields = [f for f in data.schema if not f.name.startswith("__index_level_")]
        check_columns(fields)
        if file_format == "parquet":
            batches = _parquet_files_batches(data, fields)
        else:
            batches = data.to_batches(batch_size=65_536, batch_readahead=1, fragment_readahead=0)
        return describe_batches(fields, batches, max_decoded_bytes)
    except pa.ArrowMemoryError:
        raise
    except (pa.ArrowException, OSError) as exc:
        # Arrow's text names files under the location and may quote a value of the data, which the
        # registrant may not be allowed to read: only the kind of error
        raise Invalid(f"cannot read {where!r} as {file_format} ({type(exc).__name__}): check that every "
                      f"file there is {file_format} with one schema") from None


def _parquet_files_batches(data, fields):
    """The batches of a Parquet dataset's files, each read row group by row group with the
    bounds of ``bounded_batches``."""
    import pyarrow.parquet as pq

    kept = {f.name for f in fields if _is_text(f.type)}
    for path in data.files:
        with data.filesystem.open_input_file(path) as f:
            parquet = pq.ParquetFile(f, pre_buffer=False, read_dictionary=sorted(kept))
            yield from bounded_batches(parquet, [f.name for f in fields], kept)


def describe_batches(fields, batches, max_decoded_bytes: int | None = None) -> tuple[list, dict, int]:
    """``(schema, summary, rows)`` of record batches with the given fields, in one pass (see
    ``describe_parquet``); TooLarge once they decode to more than ``max_decoded_bytes``."""
    rows = [0]

    def counted():
        for batch in batches:
            rows[0] += batch.num_rows
            yield batch

    summary, _ = _summarize(fields, counted(), max_decoded_bytes)
    schema = [{"name": f.name, "type": str(f.type)} for f in fields]
    return schema, cap_summary(summary), rows[0]


def _summarize(fields, batches, max_decoded_bytes: int | None) -> tuple[dict, int]:
    """``(summary uncapped, decoded bytes)`` of ``fields`` over ``batches``."""
    columns = {f.name: _Column(f.type) for f in fields}
    decoded = 0
    for batch in batches:
        for name, col in zip(batch.schema.names, batch.columns):
            if name in columns:
                decoded += columns[name].add(col)
        if max_decoded_bytes is not None and decoded > max_decoded_bytes:
            raise TooLarge(f"the content decompresses to more than {size_text(max_decoded_bytes)} "
                           f"(publish_max_decoded_bytes)")
    return {name: c.summary() for name, c in columns.items()}, decoded


def shown(value: str, chars: int = SUMMARY_VALUE_CHARS) -> str:
    """``value`` as a summary shows it: at most ``chars`` characters, ending in "…" when cut."""
    return value if len(value) <= chars else value[:chars - 1] + "…"


def cap_summary(summary: dict, max_bytes: int = SUMMARY_MAX_BYTES) -> dict:
    """``summary`` (column name -> statistics), its JSON at most ``max_bytes`` (UTF-8) where the
    values it shows are what makes it large: past that every ``top`` list is left out (each such
    column gets ``"top_omitted": true``)."""
    if len(json.dumps(summary).encode()) <= max_bytes:
        return summary
    capped = {}
    for name, info in summary.items():
        if "top" in info:
            info = {k: v for k, v in info.items() if k != "top"}
            info["top_omitted"] = True
        capped[name] = info
    return capped


def check_columns(fields) -> None:
    """TooLarge for more than MAX_COLUMNS columns; Invalid for a column name holding a control
    character (PostgreSQL cannot store NUL in text: a 500 from the search text, red team R17-3)."""
    if len(fields) > MAX_COLUMNS:
        raise TooLarge(f"the data has {len(fields)} columns; at most {MAX_COLUMNS} may be published")
    for f in fields:
        if CONTROL.search(f.name):
            raise Invalid(f"column name {f.name!r} holds a control character: rename it")


class _Column:
    """Mergeable partial statistics of one column, fed batch by batch."""

    def __init__(self, dtype):
        import pyarrow as pa

        self.missing = 0
        self.numeric = pa.types.is_integer(dtype) or pa.types.is_floating(dtype)
        self.text = _is_text(dtype)
        self.max_length = None
        self.n, self.mean, self.m2, self.lo, self.hi = 0, 0.0, 0.0, None, None
        self.counts: Counter = Counter()
        self.overflow = False

    def add(self, col) -> int:
        """Take in one batch's column; the bytes it decodes to (text fully expanded)."""
        import pyarrow as pa
        import pyarrow.compute as pc

        self.missing += col.null_count
        if self.text:
            return self._add_text(col)
        self._add_values(col)
        return col.nbytes

    def _add_text(self, col) -> int:
        import pyarrow as pa
        import pyarrow.compute as pc

        counts = pc.value_counts(col)  # of a dictionary column: per dictionary value, no expansion
        values, freq = counts.field("values"), counts.field("counts")
        if pa.types.is_dictionary(values.type):
            values = values.dictionary_decode()
        lengths = pc.binary_length(values)
        longest = pc.max(lengths).as_py()
        if longest is not None:
            self.max_length = max(self.max_length or 0, longest)
        decoded = (pc.sum(pc.multiply(pc.cast(lengths, pa.int64()), freq)).as_py() or 0) + 8 * len(col)
        for value, count in zip(values.to_pylist(), freq.to_pylist()):
            if value is None:
                continue
            if value in self.counts or len(self.counts) < DISTINCT_CAP:
                self.counts[value] += count
            else:
                self.overflow = True
        return decoded

    def _add_values(self, col) -> None:
        import pyarrow as pa
        import pyarrow.compute as pc

        if self.numeric:
            import numpy as np

            valid = pc.drop_null(col) if col.null_count else col
            if pa.types.is_floating(col.type):
                # NaN found and min/max taken by NumPy on the same memory (no copy): Arrow's
                # float min_max is about 15x slower, and filtering out NaN copied every column
                values = valid.to_numpy(zero_copy_only=False)
                if not len(values):
                    return
                lo = values.min().item()  # NaN if any value is (NumPy's min propagates it): no
                if math.isnan(lo):  # isnan pass and mask over every column without one
                    values = values[~np.isnan(values)]
                    valid = pa.array(values, type=col.type)
                    if not len(values):
                        return
                    lo = values.min().item()
                n = len(values)
                hi = values.max().item()
            else:
                n = len(valid)
                if not n:
                    return
                mm = pc.min_max(valid)
                lo, hi = mm["min"].as_py(), mm["max"].as_py()
            mean = pc.mean(valid).as_py()
            m2 = pc.variance(valid, ddof=0).as_py() * n
            if self.n == 0:
                self.n, self.mean, self.m2, self.lo, self.hi = n, mean, m2, lo, hi
                return
            total = self.n + n  # Chan, Golub & LeVeque (1979): pairwise update of mean and M2
            delta = mean - self.mean
            self.mean += delta * n / total
            self.m2 += m2 + delta * delta * self.n * n / total
            self.n, self.lo, self.hi = total, min(self.lo, lo), max(self.hi, hi)

    def summary(self) -> dict:
        info: dict = {"missing": self.missing}
        if self.numeric:
            std = math.sqrt(self.m2 / (self.n - 1)) if self.n > 1 else None
            info.update({"min": _num(self.lo), "max": _num(self.hi),
                         "mean": _num(self.mean) if self.n else None, "std": _num(std)})
        elif self.text:
            info["max_length"] = self.max_length
            info["distinct"] = None if self.overflow else len(self.counts)
            if self.overflow:
                info["distinct_at_least"] = DISTINCT_CAP
            top = sorted(self.counts.items(), key=lambda kv: (-kv[1], str(kv[0])))[:TOP_VALUES]
            # values shown cut to SUMMARY_VALUE_CHARS: a summary is metadata, stored with every
            # revision and sent with every asset detail (60 columns of 1 MiB values made 315 MB)
            info["top"] = [{"value": shown(v) if isinstance(v, str) else shown(v[:SUMMARY_VALUE_CHARS].hex()),
                            "count": c} for v, c in top]
        return info


def _num(value):
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return None
    return value


def size_text(n: int) -> str:
    """``n`` bytes as "1.5 GiB" or "640 MiB" (for messages)."""
    return f"{n / 2**30:.1f} GiB" if n >= 2**30 else f"{n / 2**20:.0f} MiB"


# an absolute path or a URL in Arrow's messages ("Failed to open local file '/srv/...'")
_LOCATION = re.compile(r"[a-z][a-z0-9+.-]*://[^\s'\"]*|(?<![\w.~-])/[^\s'\":,]+")


def unreadable(exc: BaseException) -> str:
    """The one-line refusal of content Arrow cannot read: its first line, with every path and URL
    (where the service keeps the content: red team R15) replaced by ``<content>``."""
    if isinstance(exc, FileNotFoundError):
        return "content is not a readable Parquet file: it is missing from the service's store"
    first = (str(exc).splitlines() or [type(exc).__name__])[0]
    return "content is not a readable Parquet file: " + _LOCATION.sub("<content>", first)
