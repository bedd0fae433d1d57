"""Catalog search past the service's exact-count bound, met in a notebook: a real kernel on a
real Jupyter server over a catalog of 2,500 assets (built by the search benchmark's bulk loader,
'shared' in every second asset). `%mlgov search shared` and `client.search` say "1,000+ assets",
the open (no words) the exact 2,500."""

import sys
from pathlib import Path

import pytest

from live import Kernel, LiveServer
from mlgov_jupyter.service.search import SEARCH_EXACT_TOTAL

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    sys.path.insert(0, str(REPO / "benchmarks"))
    try:
        from catalog_search import build
    finally:
        sys.path.remove(str(REPO / "benchmarks"))
    root = tmp_path_factory.mktemp("bound")
    build(f"sqlite:///{root / 'mlgov.sqlite'}", 2500, batch=2500)
    live = LiveServer(root)
    yield live
    live.stop()


def test_a_broad_search_reads_1000_plus_in_the_notebook(server):
    k = Kernel(server, "alice-token")
    try:
        k.ok("%load_ext mlgov_jupyter")
        bound = f"{SEARCH_EXACT_TOTAL:,}"
        out = k.ok("%mlgov search shared")
        html = "".join(d.get("text/html", "") for d in out["data"])
        text = "".join(d.get("text/plain", "") for d in out["data"])
        assert f"{bound}+ assets (the newest {bound} counted" in html + text, out["data"]
        out = k.ok("import mlgov_jupyter\nr = mlgov_jupyter.connect().search('shared')\n"
                   "print(r.total, r.total_is_lower_bound, len(r), sum(r.facets['kind'].values()))\nprint(repr(r))")
        first, second = out["stdout"].splitlines()[:2]
        assert first == f"{SEARCH_EXACT_TOTAL} True 20 {SEARCH_EXACT_TOTAL}"
        assert second.startswith(f"{bound}+ assets")
        out = k.ok("print(repr(mlgov_jupyter.connect().search('')).splitlines()[0])")
        assert out["stdout"].strip() == "2500 asset(s)"
    finally:
        k.stop()
