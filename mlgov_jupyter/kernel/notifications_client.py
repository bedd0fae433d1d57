"""Notification and channel methods of the client (service/notifications.py has the rules)."""

from __future__ import annotations


class NotificationsClient:
    """Mixed into Client; uses its ``_call``."""

    def add_channel(self, kind: str, target: str | None = None, events=(), project: str | None = None) -> dict:
        """Add a channel: ``kind`` ``"webhook"`` (target: an http(s) URL; the result's ``secret``
        signs each body, shown this once), ``"email"`` (target: an address) or, for a project,
        ``"in_lab"`` (every member gets its events in-Lab). ``events``: names to carry (empty: all:
        alert.raised, alert.resolved, monitor.missing, monitor.inactive, access.requested,
        access.decided, card.review_requested, grant.expiring). ``project``: a project channel
        (its owners only), carrying every event of that project. Raises Invalid for a target the
        service refuses (private addresses, a domain not allowed)."""
        body = {"kind": kind, "events": list(events), "target": target, "project": project}
        return self._call("POST", "channels", body={k: v for k, v in body.items() if v is not None})

    def channels(self) -> list[dict]:
        """My channels and those of projects I own (secrets are never shown again)."""
        return self._call("GET", "channels")["channels"]

    def delete_channel(self, channel_id: int) -> dict:
        return self._call("DELETE", f"channels/{int(channel_id)}")

    def channel_deliveries(self, channel_id: int, limit: int = 50) -> list[dict]:
        """A channel's delivery log, newest first: status, attempts and per attempt the HTTP status
        code or error."""
        return self._call("GET", f"channels/{int(channel_id)}/deliveries", query={"limit": limit})["deliveries"]

    def notifications(self, unread: bool = False, page: int = 1, page_size: int = 20) -> dict:
        """My in-Lab notifications, unread first: {"notifications": [...], "unread": n, "total": n}."""
        return self._call("GET", "notifications", query={"unread": str(unread).lower(), "page": page,
                                                         "page_size": page_size})

    def mark_read(self, ids=(), all: bool = False) -> dict:
        """Mark notifications read (``ids``, or ``all=True``): {"read": n, "unread": left}."""
        return self._call("POST", "notifications/read", body={"ids": [int(i) for i in ids], "all": bool(all)})
