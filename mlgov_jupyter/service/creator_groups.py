"""A monitor reads its data under its creator's access with the groups the identity provider last
gave them (monitors.created_by_groups, migration 0024), kept current (red team R15 F9).

Groups come with each request (JupyterHub's, or the identity provider's ``user_groups``); the
service cannot ask for them between requests. So whenever a person is seen authorizing with
groups other than those last seen for them (compared in memory: no store access while they do
not change), the groups stored on the monitors they created are refreshed, right after that
transaction ends, in a transaction of its own, one ``monitor.groups`` audit event per monitor
changed. A run after they joined a group whose role caps what they read then fails closed and
stops the monitor, as for a revoked grant (``_access_lost``).
"""

from __future__ import annotations

import logging

from sqlalchemy import event as sa_event
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..store import tables as t
from .base import Actor, ServiceBase

log = logging.getLogger("mlgov.monitors")

_PENDING = "mlgov_groups_seen"


class CreatorGroups(ServiceBase):
    def _note_groups(self, s: Session, actor: Actor) -> None:
        """Called as ``actor`` is authorized in ``s``: when their groups differ from those last
        seen in this process (or were never seen), refresh their monitors' once ``s`` ends."""
        groups = tuple(actor.groups)
        if self.__dict__.setdefault("_groups_seen", {}).get(actor.name) == groups:
            return
        pending = s.info.get(_PENDING)
        if pending is None:
            pending = s.info[_PENDING] = {}
            sa_event.listen(s, "after_commit", self._refresh_creator_groups)
            sa_event.listen(s, "after_rollback", self._refresh_creator_groups)
        pending[actor.name] = groups

    def _refresh_creator_groups(self, s: Session) -> None:
        for user, groups in s.info.pop(_PENDING, {}).items():
            try:
                if not self._stale_monitors(user, groups):  # a read: most people have no monitor
                    self._groups_seen[user] = groups
                    continue
                with self.store.transaction() as own:
                    mons = [mon for mon in own.execute(select(t.Monitor).where(t.Monitor.created_by == user)
                                                       .with_for_update()).scalars()
                            if tuple(mon.created_by_groups or ()) != groups]
                    names = self._project_names(own) if mons else {}
                    for mon in mons:
                        self._audit(own, Actor(user, groups=groups), "monitor.groups", "monitor", mon.name,
                                    {"groups": list(groups), "was": list(mon.created_by_groups or ()),
                                     "project": names[mon.project_id]})
                        mon.created_by_groups = list(groups)
                self._groups_seen[user] = groups
            except Exception:  # the caller's own call is done; the next one tries again
                log.exception("could not refresh the groups of %s's monitors", user)

    def _stale_monitors(self, user: str, groups: tuple) -> bool:
        with self.store.transaction(write=False) as s:
            return any(tuple(g or ()) != groups for g in s.execute(
                select(t.Monitor.created_by_groups).where(t.Monitor.created_by == user)).scalars())
