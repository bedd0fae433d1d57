"""Team mode: the catalog lifecycle through the hub. alice (owner) publishes from her kernel (as
Unix user alice; the service runs as its own account), bob gets a grant; alice deprecates along
the sidebar's path (her single-user server forwards with her hub token); bob's `use` in his kernel
warns naming the replacement and the asset is gone from his search; alice unpublishes from her
kernel, bob's `use` is one NotFound line and his subscription is revoked; a card's words filter
bob's card list through his server."""

from __future__ import annotations

import uuid

from .harness import kernel_ok

CLIENT = "import mlgov_jupyter as mg\nc = mg.connect()\n"


def test_deprecate_and_unpublish_through_the_hub(hub):
    tag = uuid.uuid4().hex[:8]
    project, old, new = f"lc-{tag}", f"events-{tag}", f"events2-{tag}"
    kernel_ok(hub, "alice", CLIENT + f"""
import pandas as pd
from sklearn.linear_model import LogisticRegression
c.create_project({project!r})
c.publish(pd.DataFrame({{"a": range(10)}}), name={old!r}, project={project!r})
c.publish(pd.DataFrame({{"a": range(11)}}), name={new!r}, project={project!r})
X, y = pd.DataFrame({{"a": range(10)}}), [i % 2 for i in range(10)]
c.card_from_session(LogisticRegression().fit(X, y), "card-{tag}", train=(X, y), project={project!r})
c.update_card("card-{tag}", intended_uses={{"purpose_of_model": "xylophone{tag} triage", "risk_rating": "High"}})
""")
    kernel_ok(hub, "bob", CLIENT + f"c.subscribe({old!r}, reason='team study')")
    kernel_ok(hub, "alice", CLIENT + "c.approve(c.requests(incoming=True, status='pending')[0]['id'])")

    response = hub._user_api("alice", "POST", f"mlgov/assets/{old}/deprecation",
                             body={"reason": "fixed labels", "replacement": new})
    assert response.status_code == 200, response.text
    assert response.json()["deprecated"]["by"] == "alice"
    out = kernel_ok(hub, "bob", CLIENT + f"""
import warnings
with warnings.catch_warnings(record=True) as w:
    warnings.simplefilter("default")
    df = c.use({old!r})
print(len(df), [str(x.message) for x in w if issubclass(x.category, DeprecationWarning)])
print(sorted(a["name"] for a in c.search("events " + {tag!r})))
""")
    assert out.splitlines() == [f"10 ['{old} is deprecated by alice: fixed labels; use {new} instead']",
                                f"['{new}']"], out

    kernel_ok(hub, "alice", CLIENT + f"print(c.unpublish({old!r}, 'consent withdrawn')['grants_ended'])")
    out = kernel_ok(hub, "bob", CLIENT + f"""
from mlgov_jupyter.core.errors import NotFound
try:
    c.use({old!r})
except NotFound as exc:
    print("refused:", exc)
print([(s["status"], s["grant_status"]) for s in c.subscriptions() if s["asset"] == {old!r}])
""")
    lines = out.splitlines()
    assert lines[0].startswith(f"refused: asset '{old}' was unpublished by alice on ") and len(lines) == 2, out
    assert lines[1] == "[('revoked', 'revoked')]"

    response = hub._user_api("bob", "GET", f"mlgov/cards?text=xylophone{tag}&risk=High")
    assert response.status_code == 200, response.text
    assert [c["name"] for c in response.json()["cards"]] == [f"card-{tag}"]
