"""Byte chunks as a binary file: what a streamed route (or a decode worker's scan) yields, read
by code that wants a file (``pyarrow.ipc.open_stream``, ``io.BufferedReader``)."""

from __future__ import annotations

import io


class ChunkReader(io.RawIOBase):
    """A binary file over an iterator of byte chunks; closing it closes the iterator."""

    def __init__(self, chunks):
        self._chunks, self._buf = iter(chunks), b""

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:
        while not self._buf:
            self._buf = next(self._chunks, None)
            if self._buf is None:
                self._buf = b""
                return 0
        n = min(len(b), len(self._buf))
        b[:n], self._buf = self._buf[:n], self._buf[n:]
        return n

    def close(self) -> None:
        close = getattr(self._chunks, "close", None)
        if close:
            close()
        super().close()
