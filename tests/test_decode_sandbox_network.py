"""A decode worker reading a remote object store may connect to that store's endpoint port only,
over TCP, never UDP (red team R14 finding 4: it could open TCP to PostgreSQL and the Jupyter port
on 127.0.0.1 and send UDP anywhere). A real server over a real S3-compatible server (moto's):
`use` of a dataset on it still returns the exact frame; a process confined by the worker's own
start-up (``decode_worker._sandbox`` with the settings the pool sends) cannot reach PostgreSQL's
or Jupyter's port, nor open a UDP socket, and still reads the S3 object."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest

from live import LiveServer

from mlgov_jupyter.kernel import sandbox
from mlgov_jupyter.kernel.client import connect
from mlgov_jupyter.store.endpoints import endpoints, needs_dns

pytestmark = pytest.mark.skipif(sandbox.landlock_abi() < 4, reason="the kernel's Landlock has no TCP port rules")


@pytest.fixture(scope="module")
def server(s3, tmp_path_factory):
    live = LiveServer(tmp_path_factory.mktemp("netsandbox"),
                      config=f"c.MlgovApp.objects_url = 's3://{s3.bucket}/catalog'\n"
                             f"c.MlgovApp.objects_options = {s3.options()!r}\n")
    yield live
    live.stop()


def _listening(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
        return True
    except OSError:
        return False


PROBE = textwrap.dedent("""
    import json, socket, sys
    from mlgov_jupyter.store import decode_worker
    from mlgov_jupyter.store.objects import ObjectStore
    settings, ports, digest = json.loads(sys.argv[1]), json.loads(sys.argv[2]), sys.argv[3]
    out = {"confinement": decode_worker._sandbox(settings)}
    def attempt(name, f):
        try:
            f()
            out[name] = "ok"
        except OSError as exc:
            out[name] = f"{type(exc).__name__} errno {exc.errno}"
    for name, port in ports.items():
        attempt(name, lambda p=port: socket.create_connection(("127.0.0.1", p), timeout=3).close())
    attempt("udp", lambda: socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b"x", ("127.0.0.1", 53)))
    attempt("udp6", lambda: socket.socket(socket.AF_INET6, socket.SOCK_DGRAM))
    attempt("raw", lambda: socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP))
    attempt("sctp", lambda: socket.socket(socket.AF_INET, socket.SOCK_STREAM, 132))
    attempt("netlink", lambda: socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 0))
    # R16 N3: TCP Fast Open connects past Landlock's connect rule; listen() binds a port itself
    def fast_open(family, host, port):
        s = socket.socket(family, socket.SOCK_STREAM)
        s.settimeout(3)
        s.sendto(b"GET / HTTP/1.0\\r\\n\\r\\n", socket.MSG_FASTOPEN, (host, port))
        s.recv(10)
    def fast_open_option(port):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.IPPROTO_TCP, 30, 1)  # TCP_FASTOPEN_CONNECT
        s.connect(("127.0.0.1", port))
    attempt("tfo postgresql", lambda: fast_open(socket.AF_INET, "127.0.0.1", ports["postgresql"]))
    attempt("tfo6 jupyter", lambda: fast_open(socket.AF_INET6, "::ffff:127.0.0.1", ports["jupyter"]))
    attempt("tfo option", lambda: fast_open_option(ports["jupyter"]))
    attempt("listen", lambda: socket.socket().listen())
    objects = ObjectStore(settings["objects"]["url"], settings["objects"]["staging"], settings["objects"]["options"])
    out["rows"] = objects.dataset(digest).count_rows()
    print(json.dumps(out))
""")


def test_a_worker_reading_s3_reaches_the_store_only(server, s3, tmp_path):
    frame = pd.DataFrame({"id": np.arange(20_000), "x": np.random.default_rng(3).normal(size=20_000)})
    alice = connect(server.url, "alice-token")
    alice.publish(frame, "remote")
    # a `use` through the real service's confined worker: the exact frame
    pd.testing.assert_frame_equal(alice.use("remote"), frame)
    digest = alice.asset("remote")["revisions"][0]["content_hash"]

    pg = 5432
    assert _listening(pg) and _listening(server.port) and _listening(s3.port)  # the controls: reachable here
    settings = {"objects": {"url": f"s3://{s3.bucket}/catalog", "options": s3.options(),
                            "staging": str(tmp_path)},
                "external": {"prefixes": {}, "private": []}, "max_memory": 1 << 30, "idle_seconds": 60}
    ports = {"postgresql": pg, "jupyter": server.port, "store": s3.port}
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG")}
    run = subprocess.run([sys.executable, "-I", "-c", PROBE, json.dumps(settings), json.dumps(ports), digest],
                         capture_output=True, text=True, timeout=120, env=env, cwd=str(tmp_path),
                         stdin=subprocess.DEVNULL)
    assert run.returncode == 0, run.stderr[-2000:]
    out = json.loads(run.stdout.strip().splitlines()[-1])
    assert out["confinement"]["sandbox"].endswith(f"TCP to ports {s3.port}"), out
    assert out["store"] == "ok"
    for name in ("postgresql", "jupyter", "udp", "udp6", "raw", "sctp", "netlink", "tfo postgresql",
                 "tfo6 jupyter", "tfo option", "listen"):
        assert out[name].startswith("PermissionError"), (name, out)
    assert out["rows"] == 20_000


def test_the_endpoints_of_a_store():
    assert endpoints("/data/objects", {}) == set() and endpoints("file:///x", None) == set()
    assert endpoints("s3://b/p", {"endpoint_override": "127.0.0.1:9000", "scheme": "http"}) == {("127.0.0.1", 9000)}
    assert endpoints("s3://b/p", {"endpoint_override": "minio.local", "scheme": "http"}) == {("minio.local", 80)}
    assert endpoints("s3://b/p", {"region": "eu-west-1", "access_key": "k", "secret_key": "s"}) == \
        {("s3.amazonaws.com", 443)}
    # credentials from an instance role: the metadata service's port too
    assert endpoints("s3://b/p", {"region": "eu-west-1"}, {}) == {("s3.amazonaws.com", 443), ("169.254.169.254", 80)}
    assert endpoints("s3://b/p", {}, {"AWS_ACCESS_KEY_ID": "k"}) == {("s3.amazonaws.com", 443)}
    assert endpoints("gs://b/p", {}, {"GOOGLE_APPLICATION_CREDENTIALS": "/k.json"}) == \
        {("storage.googleapis.com", 443)}
    assert endpoints("s3://b", {"client_kwargs": {"endpoint_url": "https://s3.example.org:8443"}}) == \
        {("s3.example.org", 8443)}
    assert endpoints("abfs://c/p", {"blob_storage_authority": "127.0.0.1:10000", "blob_storage_scheme": "http"}) == \
        {("127.0.0.1", 10000)}
    assert endpoints("https://data.example.org/x/", {}) == {("data.example.org", 443)}
    assert not needs_dns(["127.0.0.1", "::1", "localhost"]) and needs_dns(["s3.amazonaws.com"])
