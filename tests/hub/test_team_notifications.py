"""Team mode: a notification written by the service (mlgov serve, its own account) reaches alice's
in-Lab list through the hub: along the sidebar's path (her single-user server forwards with her
token) and from her kernel; bob, who caused it, does not see it, nor alice's channels. Her email
channel is refused in one line: the team service sends email only once email_domains is set."""

from __future__ import annotations

import json
import uuid

from .harness import kernel_ok

CLIENT = "import mlgov_jupyter as mg\nc = mg.connect()\n"


def test_access_request_reaches_alice_in_lab_through_the_hub(hub):
    tag = uuid.uuid4().hex[:8]
    project, asset = f"notify-{tag}", f"notify-events-{tag}"
    added = kernel_ok(hub, "alice", CLIENT + f"""
import pandas as pd
c.create_project({project!r})
c.publish(pd.DataFrame({{"x": [1, 2, 3]}}), name={asset!r}, project={project!r})
try:  # team mode: no email channel until the administrator sets email_domains (red team F6)
    c.add_channel("email", "alice@example.org", events=["access.requested"])
except Exception as exc:
    print("refused:", exc)
""")
    assert "refused:" in added and "email_domains" in added, added
    kernel_ok(hub, "bob", CLIENT + f"c.subscribe({asset!r}, reason='team-mode notification test')")

    # the sidebar's call: alice's own server forwards it to the service with her hub token
    response = hub._user_api("alice", "GET", "mlgov/notifications?unread=true&page_size=100")
    assert response.status_code == 200, response.text
    page = response.json()
    mine = [n for n in page["notifications"] if n["payload"].get("asset") == asset]
    assert len(mine) == 1 and mine[0]["event"] == "access.requested" and not mine[0]["read"]
    assert mine[0]["payload"]["requester"] == "bob" and mine[0]["project"] == project
    assert page["unread"] >= 1

    # bob sees neither alice's notification nor her channels
    bobs = hub._user_api("bob", "GET", "mlgov/notifications?page_size=100").json()
    assert all(n["payload"].get("asset") != asset or n["event"] != "access.requested"
               for n in bobs["notifications"])
    assert all(c["user"] == "bob" for c in hub._user_api("bob", "GET", "mlgov/channels").json()["channels"])

    # from alice's kernel, then marked read through her server
    out = kernel_ok(hub, "alice", CLIENT + f"""
print(sum(1 for n in c.notifications(unread=True, page_size=100)["notifications"] if n["payload"].get("asset") == {asset!r}))
""")
    assert out.strip() == "1"
    response = hub._user_api("alice", "POST", "mlgov/notifications/read", body={"ids": [mine[0]["id"]]})
    assert response.status_code == 200 and response.json()["read"] == 1, response.text
    again = hub._user_api("alice", "GET", "mlgov/notifications?unread=true&page_size=100").json()
    assert all(n["id"] != mine[0]["id"] for n in again["notifications"])
    assert json.dumps(again).count(asset) == 0
