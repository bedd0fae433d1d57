"""Presigned URLs (credential vending), through a running server over a real S3-compatible server
(moto's, tests/s3_server.py): a grantee gets short-lived URLs to a dataset revision's Parquet file
and reads it with a plain HTTP client, holding no credential; each vending is audited; grants
scoped by an asset filter, registered external data, a local store and a server that does not vend
are refused with one line.

moto (5.2) serves a presigned URL without checking its signature or expiry (with its IAM auth on,
it answers a presigned request 500: it reads only the Authorization header), so the signature is
checked here by signing the same request again with the service's key, and the expiry by the
URL's X-Amz-Expires and X-Amz-Date."""

from __future__ import annotations

import hashlib
import io
import json
import urllib.parse
import urllib.request
from datetime import datetime, timezone

import numpy as np
import pandas as pd
import pytest

from live import Kernel, LiveServer
from s3_server import ACCESS_KEY, REGION, SECRET_KEY

from mlgov_jupyter.core.errors import Conflict, Forbidden, Invalid
from mlgov_jupyter.kernel.client import connect


@pytest.fixture(scope="module")
def server(s3, tmp_path_factory):
    root = tmp_path_factory.mktemp("vending")
    lake = root / "lake"
    lake.mkdir()
    _frame(500).to_parquet(lake / "part-0.parquet", index=False)
    live = LiveServer(root, config=f"c.MlgovApp.objects_url = 's3://{s3.bucket}/catalog'\n"
                                   f"c.MlgovApp.objects_options = {s3.options()!r}\n"
                                   "c.MlgovApp.presigned_urls = True\n"
                                   "c.MlgovApp.presigned_url_seconds = 600\n"
                                   f"c.MlgovApp.external_locations = {{{str(lake) + '/'!r}: {{}}, "
                                   f"'s3://{s3.bucket}/lake/': {s3.options()!r}}}\n")
    live.lake = lake
    yield live
    live.stop()


def _frame(n: int) -> pd.DataFrame:
    rng = np.random.default_rng(7)
    return pd.DataFrame({"id": np.arange(n), "x": rng.normal(size=n), "region": rng.choice(["EU", "US"], n)})


def _grant(owner, user, name, filter=None):
    req = user.subscribe(name, reason="vending test", **({"filter": filter} if filter else {}))
    owner.approve(req["id"], comment="ok")


def _signature_holds(url: str, secret: str = SECRET_KEY) -> bool:
    """Sign the same GET again with ``secret`` at the URL's own date; True if the signatures match."""
    from botocore.auth import S3SigV4QueryAuth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    parts = urllib.parse.urlsplit(url)
    query = dict(urllib.parse.parse_qsl(parts.query))
    signature = query.pop("X-Amz-Signature")
    auth = S3SigV4QueryAuth(Credentials(ACCESS_KEY, secret), "s3", REGION, expires=int(query["X-Amz-Expires"]))
    auth._get_date = lambda: query["X-Amz-Date"]  # the URL's signing time, not now
    request = AWSRequest(method="GET", url=f"{parts.scheme}://{parts.netloc}{parts.path}", headers={})
    request.context["timestamp"] = query["X-Amz-Date"]
    auth.add_auth(request)
    again = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(request.url).query))
    return again["X-Amz-Signature"] == signature


def test_a_grantee_reads_the_file_through_a_url_and_the_vending_is_audited(server, s3):
    alice, carol = connect(server.url, "alice-token"), connect(server.url, "carol-token")
    df = _frame(20_000)
    asset = alice.publish(df, "events")
    _grant(alice, carol, "events")

    vended = carol.presigned_urls("events")
    assert vended["name"] == "events" and vended["revision"] == 1 and vended["expires_in"] == 600
    expires_at = datetime.fromisoformat(vended["expires_at"])
    assert 590 <= (expires_at - datetime.now(timezone.utc)).total_seconds() <= 600
    (file,) = vended["files"]
    url = file["url"]
    assert SECRET_KEY not in url and "X-Amz-Signature=" in url
    query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query))
    assert query["X-Amz-Expires"] == "600" and query["X-Amz-Credential"].startswith(ACCESS_KEY + "/")
    assert _signature_holds(url) and not _signature_holds(url, secret="not-the-key")

    data = urllib.request.urlopen(url, timeout=30).read()  # no credential, no mlgov token
    assert "sha256:" + hashlib.sha256(data).hexdigest() == file["content_hash"] == asset["revisions"][-1]["content_hash"]
    assert len(data) == file["size_bytes"]
    pd.testing.assert_frame_equal(pd.read_parquet(io.BytesIO(data)), df)

    short = carol.presigned_urls("events", expires=60)
    assert dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(short["files"][0]["url"]).query))["X-Amz-Expires"] == "60"
    assert carol.use("events", as_="urls")["expires_in"] == 600

    root = connect(server.url, "root-token")
    events = [e for e in root.audit(action="asset.vend") if e["actor"] == "carol"]
    details = [json.loads(e["detail"]) for e in events]
    assert sorted(d["seconds"] for d in details) == [60, 600, 600]  # each vending, once
    assert {e["resource_id"] for e in events} == {"events"}
    for d in details:
        assert d["revision"] == 1 and d["grant"] and d["files"] == [file["content_hash"]] and d["expires_at"]


def test_what_is_refused(server):
    alice, bob, carol = (connect(server.url, f"{u}-token") for u in ("alice", "bob", "carol"))
    alice.publish(_frame(1_000), "scoped")
    alice.define_filter("scoped", "eu", columns=["id", "x"], rows=[("region", "==", "EU")])
    _grant(alice, bob, "scoped", filter="eu")

    with pytest.raises(Forbidden, match="Request access"):  # no grant
        carol.presigned_urls("scoped")
    carol.subscribe("scoped", reason="vending test")
    with pytest.raises(Forbidden, match="awaits a decision"):  # asked, not yet decided
        carol.presigned_urls("scoped")
    with pytest.raises(Forbidden, match="asset filter 'eu'.*cannot be enforced on a raw file"):
        bob.presigned_urls("scoped")
    assert len(bob.use("scoped")) > 0  # the scan still serves the scoped grant
    assert alice.presigned_urls("scoped")["files"]  # the owner reads it whole

    alice.register("lake", str(server.lake) + "/", format="parquet")
    with pytest.raises(Conflict, match="registered data on a path of the service's machine has no URL"):
        alice.presigned_urls("lake")

    for expires in (0, 601, 3601):
        with pytest.raises(Invalid, match="expires"):
            alice.presigned_urls("scoped", expires=expires)
    with pytest.raises(Invalid, match="columns and filter apply to a scan"):
        alice.use("scoped", as_="urls", columns=["id"])
    alice.deprecate("scoped", reason="labels fixed", replacement="events")
    with pytest.warns(DeprecationWarning, match="scoped is deprecated by alice: labels fixed; use events instead"):
        assert alice.presigned_urls("scoped")["deprecated"]["replacement"] == "events"

    alice.publish(__file__, "a-file")
    with pytest.raises(Conflict, match="is not a dataset"):
        alice.presigned_urls("a-file")


def test_registered_data_on_s3_gets_a_url_per_file_while_its_listing_is_the_registered_one(server, s3):
    """The service lists the location with its own credentials and signs each file; the grantee
    reads every file with no credential; a file added since registration is no part of the
    dataset, so nothing is vended until the owner registers it again."""
    alice, carol = connect(server.url, "alice-token"), connect(server.url, "carol-token")
    parts = [_frame(300), _frame(200).assign(id=lambda d: d.id + 300)]
    client = s3.client()
    for i, part in enumerate(parts):
        buf = io.BytesIO()
        part.to_parquet(buf, index=False)
        client.put_object(Bucket=s3.bucket, Key=f"lake/sales/part-{i}.parquet", Body=buf.getvalue())
    client.put_object(Bucket=s3.bucket, Key="lake/sales/_SUCCESS", Body=b"")  # skipped, as pyarrow skips it
    alice.register("sales", f"s3://{s3.bucket}/lake/sales/", format="parquet")
    _grant(alice, carol, "sales")

    vended = carol.presigned_urls("sales")
    assert vended["format"] == "parquet" and [f["path"] for f in vended["files"]] == ["part-0.parquet", "part-1.parquet"]
    for f in vended["files"]:
        assert SECRET_KEY not in f["url"] and _signature_holds(f["url"])
    read = [pd.read_parquet(io.BytesIO(urllib.request.urlopen(f["url"], timeout=30).read())) for f in vended["files"]]
    assert all(f["size_bytes"] > 0 for f in vended["files"])
    pd.testing.assert_frame_equal(pd.concat(read, ignore_index=True), pd.concat(parts, ignore_index=True))
    pd.testing.assert_frame_equal(carol.use("sales"), pd.concat(parts, ignore_index=True))  # the same rows

    (event,) = [e for e in connect(server.url, "root-token").audit(action="asset.vend") if e["resource_id"] == "sales"]
    detail = json.loads(event["detail"])
    assert event["actor"] == "carol" and detail["file_count"] == 2 and detail["listing"].startswith("sha256:")

    client.put_object(Bucket=s3.bucket, Key="lake/sales/part-2.parquet", Body=b"not registered")
    with pytest.raises(Conflict, match="changed since it was registered"):
        carol.presigned_urls("sales")
    assert len([e for e in connect(server.url, "root-token").audit(action="asset.vend")
                if e["resource_id"] == "sales"]) == 1  # a refused vending is no vending


def test_the_magic_in_a_real_kernel(server):
    alice = connect(server.url, "alice-token")
    alice.publish(_frame(100), "magic-urls")
    kernel = Kernel(server, "alice-token")
    try:
        kernel.ok("%load_ext mlgov_jupyter")
        out = kernel.ok("v = %mlgov use magic-urls --urls --expires 120\n"
                        "import urllib.parse as up\n"
                        "print(v['expires_in'], dict(up.parse_qsl(up.urlsplit(v['files'][0]['url']).query))['X-Amz-Expires'])")
        assert out["stdout"].split() == ["120", "120"]
        bad = kernel.run("%mlgov use magic-urls --urls --columns id")
        assert bad["error"][0] == "UsageError" and "whole files" in bad["error"][1]
        bad = kernel.run("%mlgov use magic-urls --expires 60")
        assert bad["error"][0] == "UsageError" and "--expires goes with --urls" in bad["error"][1]
    finally:
        kernel.stop()


@pytest.fixture
def jp_server_config(jp_server_config):
    jp_server_config["MlgovApp"]["presigned_urls"] = True
    return jp_server_config


async def test_the_local_store_and_a_server_that_does_not_vend(api, jp_serverapp):
    from helpers import publish_body

    assert (await api("alice", "POST", "assets", publish_body("local")))[0] == 201
    code, body, _ = await api("alice", "GET", "assets/local/urls")
    assert code == 409 and body["message"].startswith("the local store cannot vend URLs"), body
    code, body, _ = await api("alice", "GET", "assets/local/urls", expires="9999")
    assert code == 400, body
    code, body, _ = await api("carol", "GET", "assets/local/urls")
    assert code == 403, body  # authorization comes first: an outsider learns nothing of the store

    jp_serverapp.web_app.settings["mlgov_service"].presigned_urls = False  # as by default
    code, body, _ = await api("alice", "GET", "assets/local/urls")
    assert code == 409 and "does not vend presigned URLs" in body["message"], body
