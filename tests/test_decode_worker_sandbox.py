"""The decode worker, which parses hostile Parquet, is confined (red team R13 P1-5): from inside a
real worker of a real server's service, the SQLite store and the audit signing key beside its
objects cannot be opened, while publish, register and read still work."""

from __future__ import annotations

import base64
import io

import pandas as pd
import pytest

from mlgov_jupyter.core.errors import Invalid
from mlgov_jupyter.kernel import sandbox


@pytest.fixture
def jp_server_config(jp_server_config, tmp_path):
    (tmp_path / "shared").mkdir()
    jp_server_config["MlgovApp"]["external_locations"] = {str(tmp_path / "shared") + "/": {}}
    return jp_server_config


@pytest.mark.skipif(sandbox.landlock_abi() < 1, reason="the kernel offers no Landlock")
async def test_a_decode_worker_cannot_open_the_store_or_the_audit_key(api, jp_serverapp, db_file, tmp_path):
    svc = jp_serverapp.web_app.settings["mlgov_service"]
    frame = pd.DataFrame({"id": range(5), "country": list("DEFRU")})
    buf = io.BytesIO()
    frame.to_parquet(buf, index=False)
    code, asset, _ = await api("alice", "POST", "assets", {"name": "small", "format": "parquet",
                                                          "content_b64": base64.b64encode(buf.getvalue()).decode()})
    assert code == 201, asset
    frame.to_parquet(tmp_path / "shared" / "part-0.parquet", index=False)
    code, reg, _ = await api("alice", "POST", "assets", {"name": "lake", "format": "external-parquet",
                                                        "location": str(tmp_path / "shared")})
    assert code == 201 and reg["row_count"] == 5, reg
    code, body, _ = await api("alice", "GET", "assets/lake/data")
    assert code == 200 and body

    pool = svc.decoder()
    # a crafted request to a real worker, as a memory-safety bug in the reader could make it
    for path in (db_file, svc.anchor.key_file):
        assert path.exists()
        with pytest.raises(Invalid, match="Permission denied"):
            pool.describe_parquet(str(path), None, None)
    worker = pool._idle[-1]
    status = open(f"/proc/{worker.proc.pid}/status").read()
    assert "\nSeccomp:\t2\n" in status and "\nNoNewPrivs:\t1\n" in status
