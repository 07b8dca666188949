"""Who may run the admin commands (/reindex, /feeds, /add): Manage Server, or a user or role on the list."""

from __future__ import annotations

from dataclasses import dataclass

import discord

from bot.discord_bot.errors import NotAllowed


@dataclass(frozen=True)
class Admins:
    """The user and role ids of PITWALL_DISCORD_ADMIN_USERS and PITWALL_DISCORD_ADMIN_ROLES."""

    roles: frozenset[int] = frozenset()
    users: frozenset[int] = frozenset()

    def allow(self, member: discord.abc.User, permissions: discord.Permissions) -> bool:
        """Manage Server permission, or a user or role listed (by id) in the settings."""
        if permissions.manage_guild or member.id in self.users:
            return True
        return any(role.id in self.roles for role in getattr(member, "roles", []))

    def check(self, interaction: discord.Interaction, doing: str) -> None:
        """NotAllowed (a private refusal naming who may) unless the interaction's user is an admin."""
        if not self.allow(interaction.user, interaction.permissions):
            raise NotAllowed(
                "Only members with the Manage Server permission, or a user or role on Pitwall's admin list, "
                f"can {doing}."
            )
