"""Team mode: model versions through the hub. alice publishes two revisions of a model from her
kernel (as Unix user alice; the service runs as its own account); bob, steward of the project,
approves one from his kernel and moves the alias champion along the sidebar's path (his single-user
server forwards with his hub token); alice may not approve her own revision; with
model_approval=refuse bob's `use("model@champion")` is one refusal line, with warn it loads the
aliased revision with a warning."""

from __future__ import annotations

import uuid

from .harness import kernel_ok

CLIENT = "import mlgov_jupyter as mg\nc = mg.connect()\n"


def test_model_versions_through_the_hub(hub):
    tag = uuid.uuid4().hex[:8]
    project, model = f"mv-{tag}", f"scorer-{tag}"
    kernel_ok(hub, "alice", CLIENT + f"""
from sklearn.linear_model import LogisticRegression
c.create_project({project!r})
c.add_member({project!r}, "bob", "steward")
for C in (1.0, 0.5):
    c.publish(LogisticRegression(C=C).fit([[0.0], [1.0], [2.0], [3.0]], [0, 0, 1, 1]), name={model!r},
              project={project!r})
""")
    out = kernel_ok(hub, "bob", CLIENT + f"""
v = c.approve_model({model!r}, 2, comment="checked in team mode")
print(v["revisions"][0]["approval_status"], v["revisions"][0]["decided_by"])
""")
    assert out.strip() == "Approved bob"

    # the sidebar's call: bob's own server forwards it to the service with his hub token
    response = hub._user_api("bob", "PUT", f"mlgov/models/{model}/aliases/champion", body={"revision": 2})
    assert response.status_code == 200, response.text
    assert response.json()["aliases"][0]["moved_by"] == "bob"
    response = hub._user_api("alice", "POST", f"mlgov/models/{model}/versions/1/approve",
                             body={"comment": "my own"})
    assert response.status_code == 403 and "separation of duties" in response.json()["message"]

    kernel_ok(hub, "alice", CLIENT + f"c.set_model_approval({project!r}, 'refuse')")
    out = kernel_ok(hub, "bob", CLIENT + f"""
from mlgov_jupyter.core.errors import Forbidden
try:
    c.use({model!r} + "@champion")
except Forbidden as exc:
    print("refused:", exc)
""")
    assert out.startswith("refused:") and "has no Approved model card" in out and out.count("\n") == 1
    kernel_ok(hub, "alice", CLIENT + f"c.set_model_approval({project!r}, 'warn')")
    out = kernel_ok(hub, "bob", CLIENT + f"""
import warnings
with warnings.catch_warnings(record=True) as w:
    warnings.simplefilter("always")
    m = c.use({model!r} + "@champion")
print(c.used[{model!r}]["revision"], len(w), m.predict([[3.0]])[0])
""")
    assert out.strip() == "2 1 1"
