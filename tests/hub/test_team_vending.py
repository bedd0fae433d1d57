"""Presigned URLs and registered S3 data in team mode: ``mlgov serve`` (its own Unix user) keeps
its objects in a real S3-compatible server and holds the only S3 credentials; a grantee's kernel
(another Unix user) reads the data through short-lived URLs or the service's scan and never sees a
key; a user without a grant gets neither a URL nor the location."""

from __future__ import annotations

import io
import uuid

import numpy as np
import pandas as pd
import requests

from s3_server import ACCESS_KEY, SECRET_KEY

from .harness import environ, kernel_ok, kernel_process

CLIENT = "import mlgov_jupyter as mg\nc = mg.connect()\n"
FETCH = """
import io, json, urllib.request
import pandas as pd
def fetch(v):
    return pd.concat([pd.read_parquet(io.BytesIO(urllib.request.urlopen(f["url"], timeout=30).read()))
                      for f in v["files"]], ignore_index=True)
"""
FRAME = "pd.DataFrame({'id': np.arange(5000), 'x': np.arange(5000) * 0.5, 'region': np.where(np.arange(5000) % 3 == 0, 'EU', 'US')})"
REFUSED = """
for call in (lambda: c.presigned_urls({name!r}), lambda: c.use({name!r}), lambda: c.use({name!r}, as_='urls')):
    try:
        call()
        print("served")
    except Exception as exc:
        print(type(exc).__name__, str(exc))
"""


def _no_key_in(hub, user: str, out: str) -> None:
    assert SECRET_KEY not in out
    env = environ(kernel_process(hub, user).pid)
    assert not any(k.startswith("AWS_") for k in env) and SECRET_KEY not in "".join(env.values())


def test_a_grantee_reads_a_published_dataset_through_presigned_urls(s3_hub):
    hub, tag = s3_hub, uuid.uuid4().hex[:8]
    name = f"events-{tag}"
    kernel_ok(hub, "alice", CLIENT + f"import numpy as np, pandas as pd\nc.publish({FRAME}, name={name!r})", timeout=120)
    assert any(k.startswith("catalog/") for k in hub.s3.keys())  # the bytes live in S3, not in the service's disk

    request_id = kernel_ok(hub, "bob", CLIENT + f"print(c.subscribe({name!r}, 'reporting')['id'])").strip()
    kernel_ok(hub, "alice", CLIENT + f"c.approve({int(request_id)}, 'ok')")
    out = kernel_ok(hub, "bob", CLIENT + FETCH + f"""
import numpy as np
v = c.presigned_urls({name!r}, expires=120)
got = fetch(v)
pd.testing.assert_frame_equal(got, {FRAME})
print(len(v["files"]), v["expires_in"], "X-Amz-Signature=" in v["files"][0]["url"], len(got))
print(json.dumps(v))
""", timeout=120)
    first, vended = out.strip().split("\n", 1)
    assert first == "1 120 True 5000", out
    assert f"X-Amz-Credential={ACCESS_KEY}" in vended  # the key's id, which S3 puts in every URL
    _no_key_in(hub, "bob", out)

    # the sidebar's path (its Presigned URLs section): the user's own server forwards with their token
    def sidebar(user):
        return requests.get(f"{hub.url}user/{user}/api/mlgov/assets/{name}/urls",
                            headers={"Authorization": f"token {hub.user_token(user)}"}, timeout=60)
    bob, mallory = sidebar("bob"), sidebar("mallory")
    assert bob.status_code == 200 and bob.json()["files"][0]["size_bytes"] > 0 and SECRET_KEY not in bob.text
    assert mallory.status_code == 403 and "X-Amz" not in mallory.text, mallory.text

    out = kernel_ok(hub, "mallory", CLIENT + REFUSED.format(name=name))
    assert out.count("Forbidden") == 3 and "served" not in out, out
    assert "s3://" not in out and "amazonaws" not in out and "X-Amz" not in out


def test_registered_s3_data_is_scanned_and_vended_with_the_services_credentials_only(s3_hub):
    hub, tag = s3_hub, uuid.uuid4().hex[:8]
    name, prefix = f"sales-{tag}", f"lake/sales-{tag}/"
    client = hub.s3.client()
    rng = np.random.default_rng(3)
    parts = [pd.DataFrame({"id": np.arange(i * 100, i * 100 + 100), "amount": rng.normal(size=100)}) for i in range(2)]
    for i, part in enumerate(parts):
        buf = io.BytesIO()
        part.to_parquet(buf, index=False)
        client.put_object(Bucket=hub.s3.bucket, Key=f"{prefix}part-{i}.parquet", Body=buf.getvalue())
    location = f"s3://{hub.s3.bucket}/{prefix}"

    out = kernel_ok(hub, "alice", CLIENT + f"print(c.register({name!r}, {location!r}, format='parquet')['row_count'])", timeout=120)
    assert out.strip() == "200", out
    request_id = kernel_ok(hub, "bob", CLIENT + f"print(c.subscribe({name!r}, 'finance')['id'])").strip()
    kernel_ok(hub, "alice", CLIENT + f"c.approve({int(request_id)}, 'ok')")
    out = kernel_ok(hub, "bob", CLIENT + FETCH + f"""
scanned = c.use({name!r})
v = c.presigned_urls({name!r})
vended = fetch(v)
print([f["path"] for f in v["files"]], len(scanned), scanned.equals(vended), round(float(scanned.amount.sum()), 6))
""", timeout=120)
    assert out.strip() == f"['part-0.parquet', 'part-1.parquet'] 200 True {round(float(pd.concat(parts).amount.sum()), 6)}", out
    _no_key_in(hub, "bob", out)

    out = kernel_ok(hub, "mallory", CLIENT + REFUSED.format(name=name) + f"""
try:
    c.register('mine-{tag}', {location!r}, format='parquet')  # the same files under a project of hers
    print("served")
except Exception as exc:
    print(type(exc).__name__)
""")
    assert out.count("Forbidden") == 3 and out.strip().endswith("NotFound") and "served" not in out, out
    assert out.count(location) == 0 and "part-0" not in out
