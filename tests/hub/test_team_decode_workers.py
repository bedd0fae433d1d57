"""Team mode: ``mlgov serve`` decodes users' Parquet in its own worker processes (store/decode_worker.py),
which run under the service's account, hold none of its secrets (the hub's API token it was
started with, its database URL) and answer a lying file with one line while the service lives on."""

from __future__ import annotations

import uuid

from .harness import SERVICE_USER, environ, kernel_ok, service_process

CLIENT = "import mlgov_jupyter as mg\nc = mg.connect()\n"


def test_users_parquet_is_decoded_in_the_services_confined_workers(hub):
    tag = uuid.uuid4().hex[:8]
    out = kernel_ok(hub, "alice", CLIENT + f"""
import pandas as pd
c.publish(pd.DataFrame({{"a": range(1000)}}), name="decoded-{tag}")
print(len(c.use("decoded-{tag}")))
""", timeout=120)
    assert out.strip() == "1000"
    service = service_process(hub)
    service_env = environ(service.pid)
    assert service_env.get("JUPYTERHUB_API_TOKEN")  # what the workers must not hold
    workers = [p for p in hub.processes() if "mlgov_jupyter.store.decode_worker" in p.cmdline]
    assert workers and all(p.ppid == service.pid and p.user == SERVICE_USER for p in workers), workers
    secrets = [v for k, v in service_env.items() if k.startswith(("JUPYTERHUB_", "MLGOV_")) and len(v) > 8]
    for p in workers:
        env = environ(p.pid)
        assert not any(k.startswith(("JUPYTERHUB_", "MLGOV_")) for k in env), sorted(env)
        assert not any(s in " ".join(p.cmdline) or s in env.values() for s in secrets)

    # a footer that lies: one line for the user, the service keeps answering
    out = kernel_ok(hub, "alice", CLIENT + f"""
import io, pyarrow as pa, pyarrow.parquet as pq
value = pa.ListArray.from_arrays(pa.array(range(9), pa.int32()), pa.array(["x" * (256 << 10)] * 8))
buf = io.BytesIO()
with pq.ParquetWriter(buf, pa.schema([("s", value.type)]), use_dictionary=False, compression="zstd",
                      column_encoding={{"s.list.element": "DELTA_BYTE_ARRAY"}}, write_statistics=False) as w:
    w.write_table(pa.table({{"s": pa.chunked_array([value] * 3072)}}), row_group_size=24576)
data = bytearray(buf.getvalue()); n = int.from_bytes(data[-8:-4], "little")
data[-8 - n:-8] = bytes(data[-8 - n:-8]).replace(b"\\x25\\x06\\x0e", b"\\x25\\x06\\x00").replace(b"\\x15\\x0e\\x15", b"\\x15\\x00\\x15")
open("lying.parquet", "wb").write(bytes(data))
try:
    c.publish("lying.parquet", name="lying-{tag}")
except Exception as exc:
    print(type(exc).__name__, exc)
print(len(c.use("decoded-{tag}")))
""", timeout=180)
    first, second = out.strip().split("\n")
    assert first == "TooLarge reading this Parquet content needs more than 1.0 GiB of memory (decode_max_memory)"
    assert second == "1000"
    assert service_process(hub).pid == service.pid
