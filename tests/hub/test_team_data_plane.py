"""The data plane in team mode on a real JupyterHub: users' kernels publish by parts and read
scans from ``mlgov serve`` (its own account, its own object store), a scoped grant holds from
another Unix user's kernel, the sidebar's forwarder streams a dataset through, and no user can
reach the stored bytes or another user's upload."""

from __future__ import annotations

import json
import uuid

import requests

from .harness import kernel_ok

CLIENT = "import mlgov_jupyter as mg\nc = mg.connect()\n"


def test_a_scoped_grant_holds_between_real_kernels_and_the_sidebar_streams(hub):
    tag = uuid.uuid4().hex[:8]
    project, asset = f"hr-{tag}", f"people-{tag}"
    out = kernel_ok(hub, "alice", CLIENT + f"""
import numpy as np, pandas as pd
n = 200_000
df = pd.DataFrame({{"id": np.arange(n), "region": np.where(np.arange(n) % 4 == 0, "EU", "US"),
                    "salary": np.arange(n) * 3 + 7, "ssn": [f"ssn-{{i}}" for i in range(n)]}})
c.create_project({project!r})
a = c.publish(df, name={asset!r}, project={project!r})
c.define_filter({asset!r}, "eu-pay", columns=["id", "salary"], rows=[("region", "==", "EU")])
print(a["row_count"], a["revisions"][-1]["size_bytes"] > 1_000_000)
""", timeout=120)
    assert out.split() == ["200000", "True"]

    out = kernel_ok(hub, "bob", CLIENT + f"print(c.subscribe({asset!r}, 'EU pay', filter='eu-pay')['id'])")
    kernel_ok(hub, "alice", CLIENT + f"c.approve({int(out)}, 'EU only')")
    out = kernel_ok(hub, "bob", CLIENT + f"""
got = c.use({asset!r})
print(list(got.columns), len(got), int(got.salary.min()))
try:
    c.use({asset!r}, columns=["ssn"])
except Exception as exc:
    print(type(exc).__name__)
""", timeout=120)
    assert out.split("\n")[0] == "['id', 'salary'] 50000 7" and "Forbidden" in out

    # the sidebar's path: bob's own server forwards with his token and streams the scan back
    response = requests.get(f"{hub.url}user/bob/api/mlgov/assets/{asset}/data",
                            headers={"Authorization": f"token {hub.user_token('bob')}"}, timeout=60, stream=True)
    assert response.status_code == 200
    import pyarrow as pa

    table = pa.ipc.open_stream(response.raw.read()).read_all()
    assert table.column_names == ["id", "salary"] and table.num_rows == 50_000
    meta = json.loads(requests.utils.unquote(response.headers["X-Mlgov-Meta"]))
    assert meta["asset_filter"] == "eu-pay"


def test_no_user_reaches_the_stored_bytes_or_another_users_upload(hub):
    tag = uuid.uuid4().hex[:8]
    data = hub.service_dir / "data"
    kernel_ok(hub, "alice", CLIENT + f"import pandas as pd\nc.publish(pd.DataFrame({{'a': [1]}}), name='bytes-{tag}')")
    assert list(data.glob("**/sha256/*/*")), "the service's object store holds the published bytes"
    out = kernel_ok(hub, "alice", CLIENT + f"""
up = c._call("POST", "uploads", body={{"name": "secret-{tag}"}})
c._call("PUT", "uploads/" + up["upload_id"], {{"offset": 0}}, b"PAR1 half a file")
print(up["upload_id"])
""")
    upload_id = out.strip()
    out = kernel_ok(hub, "mallory", CLIENT + f"""
import glob, os
for call in (lambda: c._call("PUT", "uploads/{upload_id}", {{"offset": 16}}, b"more"),
             lambda: c._call("GET", "uploads/{upload_id}"),
             lambda: c._call("POST", "assets", body={{"name": "secret-{tag}", "upload": "{upload_id}"}}),
             lambda: c.register("grab-{tag}", "{data}", format="csv")):
    try:
        call()
        print("ALLOWED")
    except Exception as exc:
        print(type(exc).__name__)
print(glob.glob("{data}/**/sha256/*/*", recursive=True))
try:
    os.listdir("{data}")
    print("LISTED")
except PermissionError:
    print("PermissionError")
""")
    lines = out.strip().split("\n")
    assert lines[:4] == ["Forbidden", "Forbidden", "Forbidden", "Forbidden"], out
    assert lines[4:] == ["[]", "PermissionError"], out


def test_another_users_model_runs_isolated_in_a_hub_kernel(hub):
    """In team mode too: alice's kernel loads bob's model into a worker process of its own, which
    holds neither her hub token nor the service's URL."""
    tag = uuid.uuid4().hex[:8]
    kernel_ok(hub, "bob", CLIENT + f"""
import numpy as np
from sklearn.linear_model import LogisticRegression
c.create_project("models-{tag}")
c.add_member("models-{tag}", "alice", "consumer")
c.publish(LogisticRegression().fit(np.array([[0.], [1.], [2.], [3.]]), [0, 0, 1, 1]),
          name="lr-{tag}", project="models-{tag}")
""", timeout=120)
    out = kernel_ok(hub, "alice", CLIENT + f"""
import numpy as np
from mlgov_jupyter.kernel.isolated_model import IsolatedModel
m = c.use("lr-{tag}")
env = open(f"/proc/{{m._worker.proc.pid}}/environ", "rb").read()
print(isinstance(m, IsolatedModel), [int(v) for v in m.predict(np.array([[0.], [3.]]))],
      b"JUPYTERHUB_API_TOKEN" in env, b"MLGOV" in env)
""", timeout=120)
    assert out.strip() == "True [0, 1] False False", out


def test_presigned_urls_through_mlgov_serve(hub):
    """The vending route is served by ``mlgov serve`` like every route: refused for a user without
    a grant (403), and, the session's service not vending (its default), a 409 for the owner."""
    tag = uuid.uuid4().hex[:8]
    kernel_ok(hub, "alice", CLIENT + f"import pandas as pd\nc.publish(pd.DataFrame({{'a': [1, 2]}}), name='urls-{tag}')")
    out = kernel_ok(hub, "alice", CLIENT + f"""
try:
    c.presigned_urls('urls-{tag}')
except Exception as exc:
    print(type(exc).__name__, exc)
""")
    assert out.startswith("Conflict this server does not vend presigned URLs"), out
    out = kernel_ok(hub, "bob", CLIENT + f"""
try:
    c.use('urls-{tag}', as_='urls')
except Exception as exc:
    print(type(exc).__name__)
""")
    assert out.strip() == "Forbidden"


def test_reads_resume_through_mlgov_serve_and_the_forwarder(hub):
    """R14 finding 5 in team mode: a file resumes with a Range request (206 and Content-Range) and
    a scan with start, from a user's kernel (straight to ``mlgov serve``) and through the user's
    own server (the sidebar's forwarder passes Range and Content-Range)."""
    tag = uuid.uuid4().hex[:8]
    out = kernel_ok(hub, "alice", CLIENT + f"""
import numpy as np, pandas as pd
blob = np.random.default_rng(3).bytes(3 << 20)
open("blob-{tag}.bin", "wb").write(blob)
c.publish("blob-{tag}.bin", name="blob-{tag}")
c.publish(pd.DataFrame({{"id": np.arange(100_000)}}), name="scan-{tag}")
meta, r = c.transport.request("GET", "assets/blob-{tag}/data", {{}}, None, stream=True,
                              headers={{"Range": "bytes=1000000-"}})
print(r.status, r.headers["Content-Range"], r.read() == blob[1_000_000:])
""", timeout=120)
    assert out.split() == ["206", "bytes", f"1000000-{(3 << 20) - 1}/{3 << 20}", "True"], out
    auth = {"Authorization": f"token {hub.user_token('alice')}"}
    response = requests.get(f"{hub.url}user/alice/api/mlgov/assets/blob-{tag}/data", timeout=60,
                            headers={**auth, "Range": f"bytes={(3 << 20) - 10}-"})
    assert response.status_code == 206 and len(response.content) == 10
    assert response.headers["Content-Range"] == f"bytes {(3 << 20) - 10}-{(3 << 20) - 1}/{3 << 20}"
    response = requests.get(f"{hub.url}user/alice/api/mlgov/assets/scan-{tag}/data?start=99990", timeout=60,
                            headers=auth, stream=True)
    import pyarrow as pa

    assert pa.ipc.open_stream(response.raw.read()).read_all().column("id").to_pylist() == list(range(99990, 100_000))
