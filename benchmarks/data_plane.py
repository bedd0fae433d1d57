"""The data plane against local Parquet: publish and use of a wide dataset through a running
service (a `jupyter server` with the mlgov extension, in its own process), side by side with
`df.to_parquet` / `pd.read_parquet` of the same frame on local disk, in the same run.

    python benchmarks/data_plane.py [--rows 10000000] [--cols 20] [--repeat 1]

Prints, per step, seconds and the ratio to local Parquet (with --repeat N the fastest of N
interleaved runs each), the CPU seconds of publish (client; service with its decode workers)
against to_parquet's (neighbours on a shared machine move wall time, CPU time much less); the service's whole-process peak
resident memory (VmHWM) before and after (the service's own: Parquet is decoded in its worker
processes, store/decode_worker.py); how much the database file grew; for `use` with a column
subset and a 1% row filter, the bytes read from storage (the workers' /proc io rchar) against a
full read; and the median latency of a small `use` (1,000 rows). Targets (issue 10): publish and use <= 1.5x local Parquet, service peak RSS <= 300 MB,
database growth < 1 MB, subset + 1% filter < 5% of the bytes.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench_server import BenchServer  # noqa: E402


def _worker_rchar(pid: int) -> int:
    """Bytes the service's decode workers (its children) have read (their /proc io rchar): what
    a scan reads from storage; the service itself only reads their pipes."""
    total = 0
    for child in Path("/proc").iterdir():
        try:
            if not child.name.isdigit() or int((child / "stat").read_text().rsplit(")", 1)[1].split()[1]) != pid:
                continue
            total += next(int(line.split()[1]) for line in (child / "io").read_text().splitlines()
                          if line.startswith("rchar"))
        except (OSError, ValueError, IndexError, StopIteration):
            pass
    return total


def _cpu_seconds(pid: int) -> float:
    """CPU time (user + system) of the service and its live children (decode workers): on a
    shared machine wall time varies with the neighbours, CPU time much less."""
    tick, total = os.sysconf("SC_CLK_TCK"), 0.0
    for child in Path("/proc").iterdir():
        try:
            if not child.name.isdigit():
                continue
            fields = (child / "stat").read_text().rsplit(")", 1)[1].split()
            if int(child.name) == pid or int(fields[1]) == pid:
                total += (int(fields[11]) + int(fields[12])) / tick
        except (OSError, ValueError, IndexError):
            pass
    return total


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--cols", type=int, default=20)
    ap.add_argument("--repeat", type=int, default=1,
                    help="write and publish, then read and use, this many times, interleaved; the fastest of each "
                         "counts "
                         "(on a shared machine the fastest is the least disturbed)")
    args = ap.parse_args()
    os.environ.setdefault("TQDM_DISABLE", "1")  # the client's progress bars would fill the report

    import numpy as np
    import pandas as pd

    from mlgov_jupyter.kernel.client import connect

    load0 = f"{os.getloadavg()[0]:.1f}"
    work = Path(tempfile.mkdtemp(prefix="mlgov-bench-"))
    try:
        rng = np.random.default_rng(0)
        df = pd.DataFrame({f"c{i}": rng.normal(size=args.rows) for i in range(args.cols)})
        df["key"] = np.arange(args.rows)
        mb = df.memory_usage(index=False).sum() / 2**20
        print(f"data: {args.rows:,} rows x {args.cols + 1} columns, {mb:,.0f} MB in memory")

        server = BenchServer(work / "server")
        try:
            client = connect(server.url, server.token)
            client.whoami()
            idle, db0 = server.status(), server.db.stat().st_size
            local_write = publish = float("inf")
            pairs = []  # per repeat: to_parquet wall and CPU, publish wall, client and service CPU
            for i in range(args.repeat):  # interleaved: both see the same neighbours
                (work / "local.parquet").unlink(missing_ok=True)
                c0 = time.process_time()
                t = time.perf_counter()
                df.to_parquet(work / "local.parquet", index=False)
                pair = [time.perf_counter() - t, time.process_time() - c0]
                if pair[0] < local_write:
                    local_write, local_write_cpu = pair
                c0, s0 = time.process_time(), _cpu_seconds(server.proc.pid)
                t = time.perf_counter()
                client.publish(df, "bench-wide" if i == 0 else f"bench-wide-{i}")
                pair += [time.perf_counter() - t, time.process_time() - c0, _cpu_seconds(server.proc.pid) - s0]
                pairs.append(pair)
                if pair[2] < publish:
                    publish, publish_cpu = pair[2], tuple(pair[3:])
            size = (work / "local.parquet").stat().st_size / 2**20
            after_publish, db1 = server.status(), server.db.stat().st_size
            local_read = use = float("inf")
            reads = []  # per repeat: read_parquet wall and CPU, use wall, client and service CPU
            for _ in range(args.repeat):
                c0 = time.process_time()
                t = time.perf_counter()
                back = pd.read_parquet(work / "local.parquet")
                read = [time.perf_counter() - t, time.process_time() - c0]
                local_read = min(local_read, read[0])
                del back
                c0, s0 = time.process_time(), _cpu_seconds(server.proc.pid)
                t = time.perf_counter()
                got = client.use("bench-wide")
                read += [time.perf_counter() - t, time.process_time() - c0, _cpu_seconds(server.proc.pid) - s0]
                reads.append(read)
                use = min(use, read[2])
                assert len(got) == args.rows
                del got
            after_use = server.status()

            r0 = _worker_rchar(server.proc.pid)
            full = client.use("bench-wide", as_="arrow")
            full_bytes = _worker_rchar(server.proc.pid) - r0
            del full
            r0 = _worker_rchar(server.proc.pid)
            t = time.perf_counter()
            part = client.use("bench-wide", columns=["key", "c0"], filter=[("key", "<", args.rows // 100)])
            subset = time.perf_counter() - t
            subset_bytes = _worker_rchar(server.proc.pid) - r0
            small = pd.DataFrame({"a": range(1000), "b": [str(i) for i in range(1000)]})
            client.publish(small, "bench-small")
            for _ in range(3):
                client.use("bench-small")
            times = []
            for _ in range(30):
                t = time.perf_counter()
                client.use("bench-small")
                times.append(time.perf_counter() - t)
            small_use, small_fastest = sorted(times)[len(times) // 2], min(times)
            assert len(part) == args.rows // 100
        finally:
            server.stop()

        print(f"local Parquet file: {size:,.0f} MB")
        print(f"{'step':<34}{'seconds':>9}{'x local':>9}")
        print(f"{'df.to_parquet (local disk)':<34}{local_write:>9.2f}{1:>9.2f}")
        print(f"{'publish through the service':<34}{publish:>9.2f}{publish / local_write:>9.2f}")
        print(f"   CPU seconds: to_parquet {local_write_cpu:.2f}; publish: client {publish_cpu[0]:.2f}, service and "
              f"its decode workers {publish_cpu[1]:.2f}")
        for i, (lw, lc, pw, cc, sc) in enumerate(pairs, 1):
            print(f"   repeat {i}: to_parquet {lw:.2f} s ({lc:.2f} CPU), publish {pw:.2f} s ({pw / lw:.2f}x; CPU client "
                  f"{cc:.2f} + service {sc:.2f} = {(cc + sc) / lc:.2f}x to_parquet's)")
        print(f"{'pd.read_parquet (local disk)':<34}{local_read:>9.2f}{1:>9.2f}")
        print(f"{'use through the service':<34}{use:>9.2f}{use / local_read:>9.2f}")
        for i, (rw, rc, uw, cc, sc) in enumerate(reads, 1):
            print(f"   repeat {i}: read_parquet {rw:.2f} s ({rc:.2f} CPU), use {uw:.2f} s ({uw / rw:.2f}x; CPU client "
                  f"{cc:.2f} + service {sc:.2f} = {(cc + sc) / rc:.2f}x read_parquet's)")
        print(f"{'use 2 columns, 1% of rows':<34}{subset:>9.2f}{subset / local_read:>9.2f}")
        print(f"small use (1,000 rows), median of 30: {1000 * small_use:.1f} ms (fastest {1000 * small_fastest:.1f} ms)")
        print(f"service peak RSS: idle {idle['VmHWM']:.0f} MB, after publish {after_publish['VmHWM']:.0f} MB, "
              f"after use {after_use['VmHWM']:.0f} MB (data {mb:,.0f} MB)")
        print(f"database file growth: {(db1 - db0) / 2**20:.3f} MB")
        print(f"bytes read from storage (decode workers): full use {full_bytes / 2**20:,.0f} MB, 2 columns + 1% filter "
              f"{subset_bytes / 2**20:,.1f} MB ({100 * subset_bytes / max(full_bytes, 1):.1f}%)")
        print(f"load average (1 min): {load0} at the start, {os.getloadavg()[0]:.1f} at the end")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
