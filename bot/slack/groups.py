"""Slack user groups as approvers: their members, read with `usergroups.users.list`.

Membership changes, so it is read when a decision is made, not when the request is, and kept
for a short while (`GROUP_TTL_S`) so a burst of clicks makes one call. A group that cannot be
read counts as empty: an outage or a typo never widens who may decide.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable

import structlog
from slack_sdk.web.async_client import AsyncWebClient

log = structlog.get_logger(__name__)

GROUP_TTL_S = 60.0
"""How long a group's members are reused."""


class GroupMembers:
    """Members of Slack user groups, cached per process."""

    def __init__(
        self,
        client: AsyncWebClient | None,
        ttl_s: float = GROUP_TTL_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client = client
        self.ttl_s = ttl_s
        self.clock = clock
        self._cache: dict[str, tuple[float, frozenset[str]]] = {}

    async def members(self, groups: Iterable[str]) -> frozenset[str]:
        """Everyone in any of `groups` (empty when Slack is off or a group is unreadable)."""
        found: set[str] = set()
        for group in groups:
            found |= await self._group(group)
        return frozenset(found)

    async def _group(self, group: str) -> frozenset[str]:
        cached = self._cache.get(group)
        if cached is not None and self.clock() - cached[0] < self.ttl_s:
            return cached[1]
        if self.client is None:
            return frozenset()
        try:
            reply = await self.client.usergroups_users_list(usergroup=group)
            members = frozenset(str(user) for user in reply.get("users") or [])
        except Exception as exc:  # fail closed: nobody from an unreadable group
            log.warning("could not read a Slack user group", group=group, error=str(exc))
            return frozenset()
        self._cache[group] = (self.clock(), members)
        return members
