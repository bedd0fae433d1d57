"""Many clients at once on one server: every write lands, in one unforked audit chain."""

from concurrent.futures import ThreadPoolExecutor

import pandas as pd
import pytest

import mlgov_jupyter
from live import LiveServer


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    # many parallel publishes by one user: above the per-user decode cap's default (2)
    live = LiveServer(tmp_path_factory.mktemp("busy"), config="c.MlgovApp.decode_per_user = 8\n")
    yield live
    live.stop()


def test_parallel_writes_keep_the_audit_chain(server):
    users = {u: mlgov_jupyter.connect(url=server.url, token=f"{u}-token") for u in ("alice", "bob", "carol")}
    df = pd.DataFrame({"x": range(20)})

    def work(i: int):
        me = ("alice", "bob", "carol")[i % 3]
        client = users[me]
        asset = client.publish(df, name=f"data-{i}", description=f"batch {i}")
        other = users[("bob", "carol", "alice")[i % 3]]
        req = other.subscribe(asset["name"], reason="parallel test")
        client.approve(req["id"])
        return len(other.use(asset["name"]))

    with ThreadPoolExecutor(max_workers=8) as pool:
        rows = list(pool.map(work, range(24)))
    assert rows == [20] * 24
    result = users["carol"].audit_verify()
    # per item: publish, request, accept, grant, consume; plus one project per user
    assert result["ok"] and result["checked"] == 24 * 5 + 3, result
