"""Catalog content: hashing and describing what is published (pure functions)."""

from __future__ import annotations

import hashlib
import io
import math

from .errors import Invalid, TooLarge


def content_hash(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


MAX_UNCOMPRESSED_BYTES = 1 << 30  # what one publish may decompress to in the service's memory


def _decoded_size(parquet) -> int:
    """A lower bound of the bytes a Parquet file takes in memory once read: rows x the width of
    each fixed-width column (8 bytes of offsets for the others), plus the encoded data."""
    meta, rows = parquet.metadata, parquet.metadata.num_rows
    width = 0
    for field in parquet.schema_arrow:
        try:
            width += max(field.type.bit_width // 8, 1)
        except ValueError:  # variable width: at least its offsets
            width += 8
    return rows * width + sum(meta.row_group(i).total_byte_size for i in range(meta.num_row_groups))


def _batch_rows(parquet, budget: int = 64 << 20) -> int:
    """Rows per batch so that one decoded batch stays near ``budget`` bytes: a row of a
    dictionary-encoded column may decode to a whole dictionary value, which is at most its
    column chunk's uncompressed size; a plain column decodes to about its encoded size."""
    meta = parquet.metadata
    per_row = 0.0
    for c in range(meta.num_columns):
        worst = 0.0
        for r in range(meta.num_row_groups):
            chunk, rows = meta.row_group(r).column(c), max(meta.row_group(r).num_rows, 1)
            worst = max(worst, chunk.total_uncompressed_size if chunk.has_dictionary_page
                        else chunk.total_uncompressed_size / rows + 8)
        per_row += worst
    return int(max(1, min(65_536, budget // max(per_row, 1.0))))


def describe_parquet(data: bytes, max_rows: int | None = None) -> tuple[list, dict, int]:
    """Schema, per-column summary and row count of Parquet bytes; Invalid if not Parquet,
    TooLarge (before reading) if it holds more than ``max_rows`` rows."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(io.BytesIO(data))
        if max_rows is not None and parquet.metadata.num_rows > max_rows:
            raise TooLarge(f"the Parquet content holds {parquet.metadata.num_rows} rows; at most {max_rows} "
                           "may be published at once (publish_max_rows)")
        # a few MB of zeros or of one repeated string can decode to gigabytes: the metadata's lower
        # bound first, then the real size, one batch at a time, before the whole table is read
        size = _decoded_size(parquet)
        batches = parquet.iter_batches(batch_size=_batch_rows(parquet))
        for batch in ([] if size > MAX_UNCOMPRESSED_BYTES else batches):
            size += batch.nbytes
            if size > MAX_UNCOMPRESSED_BYTES:
                break
        if size > MAX_UNCOMPRESSED_BYTES:
            raise TooLarge(f"the Parquet content decompresses to more than {MAX_UNCOMPRESSED_BYTES / 2**30:.0f} "
                           "GiB, more than may be published this way")
        table = pq.read_table(io.BytesIO(data))
    except (pa.ArrowInvalid, OSError) as exc:
        raise Invalid(f"content is not a readable Parquet file: {exc}") from None
    schema = [{"name": f.name, "type": str(f.type)} for f in table.schema
              if not f.name.startswith("__index_level_")]
    summary = {}
    for field in table.schema:
        if field.name.startswith("__index_level_"):
            continue
        col = table.column(field.name)
        info = {"missing": col.null_count}
        if pa.types.is_integer(field.type) or pa.types.is_floating(field.type):
            stats = {"min": pc.min(col), "max": pc.max(col), "mean": pc.mean(col),
                     "std": pc.stddev(col, ddof=1)}
            info.update({k: _num(v.as_py()) for k, v in stats.items()})
        elif pa.types.is_string(field.type) or pa.types.is_large_string(field.type) \
                or pa.types.is_dictionary(field.type):
            counts = pc.value_counts(col.cast(pa.string()) if pa.types.is_dictionary(field.type)
                                     else col)
            info["distinct"] = len(counts)
            top = sorted(counts.to_pylist(), key=lambda d: -d["counts"])[:5]
            info["top"] = [{"value": d["values"], "count": d["counts"]} for d in top]
        summary[field.name] = info
    return schema, summary, table.num_rows


def _num(value):
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return None
    return value
