"""A DataFrame built while its record batches arrive (``use`` of a dataset, kernel/transfer.py).

``Table.from_batches(...).to_pandas()`` holds every batch until the last one, then copies each
column into a new array: the whole result twice in memory, fresh pages both times, and the copy
starts only once the stream has ended. Here the number columns (ints and floats without nulls;
most of a wide dataset) go into arrays of the final size as each batch arrives, and the batch is
let go: Arrow's memory pool hands the same (already mapped) memory to the next one. The frame is
then ``to_pandas`` of a table over those arrays (no copy), with each of its read-only views
replaced by the writable array it views, so index, column labels, dtypes and attrs are exactly
what ``to_pandas`` makes. Other columns (text, dates, nested, any column once it has a null) are
kept as Arrow chunks and converted by ``to_pandas`` as before.
"""

from __future__ import annotations

from typing import Iterable


def _in_place(field) -> bool:
    import pyarrow as pa

    t = field.type
    return (pa.types.is_integer(t) or pa.types.is_float32(t) or pa.types.is_float64(t)) and \
        not pa.types.is_dictionary(t)


class FrameAssembly:
    """Collects record batches of ``schema`` (``add``), ``rows`` in all (from the scan's
    footers); ``frame()`` is the DataFrame ``Table.from_batches(batches).to_pandas(
    split_blocks=True, self_destruct=True)`` would be, with writable number columns. More rows
    than announced, or a null in a number column, moves that column (or all) to Arrow chunks
    over the rows filled so far (no copy): the result is the same."""

    def __init__(self, schema, rows: int):
        import numpy as np

        self.schema, self.rows, self.filled = schema, rows, 0
        self.arrays = {i: np.empty(rows, dtype=f.type.to_pandas_dtype())
                       for i, f in enumerate(schema) if _in_place(f)}
        self.chunks: list[list] = [[] for _ in schema]  # columns kept as Arrow (and any spilled ones)

    def add(self, batch) -> None:
        """Copy ``batch``'s number columns into place; keep the rest (or all, past ``rows``)."""
        n = batch.num_rows
        if not n:
            return
        if self.filled + n > self.rows:  # more than the footers said: everything as Arrow from here
            for i in list(self.arrays):
                self._spill(i)
        at = self.filled
        for i, column in enumerate(batch.columns):
            target = self.arrays.get(i)
            if target is not None and column.null_count:
                self._spill(i)
                target = None
            if target is None:
                self.chunks[i].append(column)
            else:
                target[at:at + n] = column.to_numpy(zero_copy_only=True)
        self.filled += n

    def _spill(self, i: int) -> None:
        import pyarrow as pa

        array = self.arrays.pop(i)
        if self.filled:
            self.chunks[i].insert(0, pa.array(array[:self.filled], type=self.schema.field(i).type))

    def frame(self):
        """The DataFrame (the arrays are handed over: call once)."""
        import pyarrow as pa

        filled = self.filled
        arrays = {i: a[:filled] for i, a in self.arrays.items()}
        columns = [pa.array(arrays[i], type=f.type) if i in arrays else pa.chunked_array(self.chunks[i], type=f.type)
                   for i, f in enumerate(self.schema)]
        self.arrays, self.chunks = {}, []
        table = pa.Table.from_arrays(columns, schema=self.schema)
        del columns
        viewed = table.to_pandas(split_blocks=True, self_destruct=True)
        del table
        return _writable(viewed, arrays)


def _writable(viewed, arrays: dict):
    """``viewed`` with each column that is a read-only view of one of ``arrays`` (the whole of
    it) replaced by that array (the same values and dtype, writable), without copying or
    consolidating any column."""
    import numpy as np
    import pandas as pd

    own = {(a.__array_interface__["data"][0], a.dtype, a.shape): a for a in arrays.values()}
    values, swapped = [], False
    for i in range(viewed.shape[1]):
        column = viewed.iloc[:, i].array
        view = np.asarray(column) if isinstance(column, pd.arrays.NumpyExtensionArray) else None
        mine = None if view is None else own.get((view.__array_interface__["data"][0], view.dtype, view.shape))
        values.append(column if mine is None else mine)
        swapped = swapped or mine is not None
    if not swapped:
        return viewed
    out = pd.DataFrame(dict(enumerate(values)), index=viewed.index, copy=False)
    out.columns = viewed.columns
    out.attrs = viewed.attrs
    return out


def assemble(schema, rows: int, batches: Iterable):
    """The DataFrame of ``batches`` (see FrameAssembly)."""
    assembly = FrameAssembly(schema, rows)
    for batch in batches:
        assembly.add(batch)
    return assembly.frame()
