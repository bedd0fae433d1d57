"""Registered external data through a running server: Parquet and CSV left where they are (a
shared directory, an S3 prefix on a real S3-compatible server), read with the service's own
credentials and streamed to grantees, only from locations the administrator allowed."""

from __future__ import annotations

import io
import json
import os
import urllib.error
import urllib.request

import numpy as np
import pandas as pd
import pytest

from live import LiveServer
from s3_server import S3Server

from mlgov_jupyter.core.errors import Conflict, Forbidden, Invalid, NotFound
from mlgov_jupyter.kernel.client import connect


def _frame(n: int) -> pd.DataFrame:
    rng = np.random.default_rng(11)
    return pd.DataFrame({"id": np.arange(n), "amount": rng.normal(size=n).round(6),
                         "country": rng.choice(["DE", "FR", "US"], n)})


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp("external")
    shared, private = root / "shared", root / "elsewhere"
    (shared / "sales").mkdir(parents=True)
    private.mkdir()
    df = _frame(3_000)
    df.iloc[:1_000].to_parquet(shared / "sales" / "part-0.parquet", index=False)
    df.iloc[1_000:].to_parquet(shared / "sales" / "part-1.parquet", index=False)
    df.to_csv(shared / "sales.csv", index=False)
    (private / "secret.csv").write_text("token\nhunter2\n")
    s3 = S3Server(root)
    buf = io.BytesIO()
    df.to_parquet(buf, index=False)
    s3.client().put_object(Bucket=s3.bucket, Key="lake/sales/part-0.parquet", Body=buf.getvalue())
    locations = {str(shared) + "/": {}, f"s3://{s3.bucket}/lake/": s3.options()}
    live = LiveServer(root / "server", config=f"c.MlgovApp.external_locations = {locations!r}\n")
    yield live, shared, private, s3, df
    live.stop()
    s3.stop()


def test_registered_parquet_and_csv_are_read_in_place_by_grantees(setup):
    live, shared, _private, _s3, df = setup
    alice, bob = connect(live.url, "alice-token"), connect(live.url, "bob-token")
    asset = alice.register("sales", str(shared / "sales"), description="sales, kept on the share")
    assert asset["row_count"] == 3_000 and asset["revisions"][-1]["format"] == "external-parquet"
    assert [c["name"] for c in asset["schema"]] == ["id", "amount", "country"]
    csv = alice.register("sales-csv", str(shared / "sales.csv"), format="csv")
    assert csv["row_count"] == 3_000

    with pytest.raises(Forbidden):
        bob.use("sales")
    alice.approve(bob.subscribe("sales", "quarterly report")["id"])
    got = bob.use("sales", columns=["id", "country"], filter=[("country", "==", "DE")])
    expected = df.loc[df.country == "DE", ["id", "country"]].reset_index(drop=True)
    pd.testing.assert_frame_equal(got.sort_values("id").reset_index(drop=True), expected)
    pd.testing.assert_frame_equal(alice.use("sales-csv"), df)
    assert bob.asset("sales")["location"] == str(shared / "sales")


def test_a_scoped_grant_applies_to_registered_data(setup):
    live, shared, _private, _s3, df = setup
    alice, carol = connect(live.url, "alice-token"), connect(live.url, "carol-token")
    alice.register("sales-scoped", str(shared / "sales"))
    alice.define_filter("sales-scoped", "fr", columns=["id", "amount"], rows=[("country", "==", "FR")])
    alice.approve(carol.subscribe("sales-scoped", "FR only", filter="fr")["id"])
    got = carol.use("sales-scoped")
    assert list(got.columns) == ["id", "amount"] and len(got) == int((df.country == "FR").sum())


def test_only_allowed_locations_can_be_registered(setup, tmp_path):
    live, shared, private, _s3, _df = setup
    alice = connect(live.url, "alice-token")
    for location in (str(private / "secret.csv"), str(shared / ".." / "elsewhere" / "secret.csv"),
                     "/etc/passwd", "s3://another-bucket/x/", str(live.root / "data")):
        with pytest.raises(Forbidden, match="not under a location the mlgov service may read"):
            alice.register("stolen", location, format="csv")
    os.symlink(private / "secret.csv", shared / "link.csv")
    with pytest.raises(Forbidden, match="leads to a file outside"):
        alice.register("stolen", str(shared / "link.csv"), format="csv")
    with pytest.raises(NotFound, match="nothing at .* that you may register as csv"):
        alice.register("empty", str(shared / "nothing-here"), format="csv")


def test_a_file_swapped_for_a_link_after_registration_is_never_read(setup):
    """Each file is checked when it is opened, on the file actually opened: a link swapped in
    after registration (or during a read) to the service's own files breaks the read."""
    live, shared, private, _s3, _df = setup
    alice = connect(live.url, "alice-token")
    folder = shared / "swap"
    folder.mkdir()
    (folder / "a.csv").write_text("token\nfine\n")
    (folder / "b.csv").write_text("token\nalso fine\n")
    alice.register("swap", str(folder), format="csv")
    (folder / "b.csv").unlink()
    os.symlink(private / "secret.csv", folder / "b.csv")
    with pytest.raises(Exception) as err:
        alice.use("swap")
    assert "hunter2" not in str(err.value)
    # any change to the files since registration stops reads until the owner registers again
    (folder / "b.csv").unlink()
    (folder / "b.csv").write_text("token\nnew row\n")
    with pytest.raises(Conflict, match="changed since it was registered"):
        alice.use("swap")
    # same size and modification time (touch -r) is still a change: the status-change time moves
    alice.register("same", str(folder / "a.csv"), format="csv")
    stamp = os.stat(folder / "a.csv")
    (folder / "a.csv").write_text("token\nbad!\n")  # as many bytes as "fine"
    os.utime(folder / "a.csv", ns=(stamp.st_atime_ns, stamp.st_mtime_ns))
    assert os.stat(folder / "a.csv").st_size == stamp.st_size
    with pytest.raises(Conflict, match="changed since it was registered"):
        alice.use("same")
    os.link(private / "secret.csv", shared / "hard.csv")  # a hard link names a private file too
    with pytest.raises(Forbidden):
        alice.register("hard", str(shared / "hard.csv"), format="csv")


def test_an_s3_prefix_is_read_with_the_services_credentials(setup):
    live, _shared, _private, s3, df = setup
    alice, bob = connect(live.url, "alice-token"), connect(live.url, "bob-token")
    asset = alice.register("lake-sales", f"s3://{s3.bucket}/lake/sales/")
    assert asset["row_count"] == 3_000
    alice.approve(bob.subscribe("lake-sales", "forecast")["id"])
    pd.testing.assert_frame_equal(bob.use("lake-sales"), df)
    seen = json.dumps([bob.asset("lake-sales"), bob.subscriptions(), alice.audit(limit=50, project="alice")])
    assert s3.options()["secret_key"] not in seen and s3.options()["access_key"] not in seen


def test_data_registered_by_another_project_is_not_registered_again_without_access(setup):
    """bob may not register alice's registered location (or a folder holding it, or a file inside
    it) in his own project: he would read it without a grant, past its asset filters; with a
    grant on the whole asset he may. Errors name no file under the location."""
    live, shared, _private, _s3, df = setup
    alice, bob = connect(live.url, "alice-token"), connect(live.url, "bob-token")
    (shared / "hr").mkdir()
    df.to_parquet(shared / "hr" / "people.parquet", index=False)
    alice.register("hr", str(shared / "hr"))
    for location in (str(shared / "hr"), str(shared / "hr" / "people.parquet"), str(shared / "hr" / ".." / "hr"),
                     str(shared)):
        with pytest.raises(NotFound, match="that you may register as parquet") as err:
            bob.register("bob-hr", location)
        assert "hr'" not in str(err.value).replace(location, "") and "alice" not in str(err.value)
    with pytest.raises(Forbidden):
        bob.use("hr")
    alice.approve(bob.subscribe("hr", "payroll audit")["id"])
    assert bob.register("bob-hr", str(shared / "hr"))["row_count"] == len(df)
    (shared / "broken").mkdir()
    (shared / "broken" / "a.parquet").write_text("not parquet: secret-value-42")
    with pytest.raises(Invalid) as err:
        bob.register("bob-broken", str(shared / "broken"))
    assert "a.parquet" not in str(err.value) and "secret-value-42" not in str(err.value)


def test_a_refused_registration_tells_no_one_whether_a_guessed_path_exists_or_is_registered(setup):
    """Red team R13 P1-4: bob guesses where another project's data lives. A location that is
    (inside, or holds) data he may not read, a path that does not exist and a folder with no
    data file all get one answer, 404 with the same message (his guess quoted back), from a
    listing only: no file is read and no asset or project is named."""
    live, shared, _private, _s3, df = setup
    alice, bob = connect(live.url, "alice-token"), connect(live.url, "bob-token")
    secret = shared / "curated" / "patients_987-65-4320"
    secret.mkdir(parents=True)
    df.to_parquet(secret / "part-0.parquet", index=False)
    (shared / "curated" / "empty-folder").mkdir()
    alice.register("ext-pat", str(secret))

    def refusal(location: str):
        with pytest.raises(NotFound) as err:
            bob.register("mext", location)
        return str(err.value).replace(repr(location), "<guess>")

    answers = {guess: refusal(str(guess)) for guess in (
        secret, secret / "part-0.parquet", shared / "curated" / "patients_987-65-4321",
        shared / "curated" / "patients_987-65-4320x", secret / "nothing.parquet", shared / "curated" / "empty-folder",
        shared / "curated")}
    assert len(set(answers.values())) == 1, answers
    (message,) = set(answers.values())
    assert "ext-pat" not in message and "alice" not in message and "overlaps" not in message
    # over REST too: the same status and body for a registered location and a wrong guess
    for guess in (secret, shared / "curated" / "no-such-dir"):
        req = urllib.request.Request(live.url + "api/mlgov/assets", method="POST",
                                     headers={"Authorization": "token bob-token", "Content-Type": "application/json"},
                                     data=json.dumps({"name": "mext", "format": "external-parquet",
                                                      "location": str(guess)}).encode())
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(req, timeout=30)
        assert err.value.code == 404
        assert json.loads(err.value.read())["message"].replace(repr(str(guess)), "<guess>") == message
    # who may read it whole registers it again
    alice.approve(bob.subscribe("ext-pat", "study")["id"])
    assert bob.register("mext", str(secret))["row_count"] == len(df)
