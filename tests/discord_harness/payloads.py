"""Builders for the JSON payloads of Discord's gateway and REST API: users, guilds, messages, interactions."""

from __future__ import annotations

import itertools
import time
from typing import Any

DISCORD_EPOCH_MS = 1420070400000
_counter = itertools.count(1)

# Permission bits used by the tests.
VIEW_CHANNEL = 0x400
SEND_MESSAGES = 0x800
MANAGE_GUILD = 0x20
USE_APPLICATION_COMMANDS = 0x80000000
EMBED_LINKS = 0x4000
READ_MESSAGE_HISTORY = 0x10000
CREATE_PUBLIC_THREADS = 1 << 35
SEND_MESSAGES_IN_THREADS = 1 << 38
MEMBER_PERMISSIONS = VIEW_CHANNEL | SEND_MESSAGES | USE_APPLICATION_COMMANDS
BOT_PERMISSIONS = (  # what docs/discord.md asks for in the invite
    VIEW_CHANNEL
    | SEND_MESSAGES
    | EMBED_LINKS
    | READ_MESSAGE_HISTORY
    | CREATE_PUBLIC_THREADS
    | SEND_MESSAGES_IN_THREADS
)


def snowflake() -> str:
    """A Discord snowflake whose timestamp is now, unique within the process."""
    return str(((int(time.time() * 1000) - DISCORD_EPOCH_MS) << 22) | (next(_counter) & 0x3FFFFF))


def user(name: str, *, bot: bool = False) -> dict[str, Any]:
    return {
        "id": snowflake(),
        "username": name,
        "discriminator": "0",
        "global_name": name,
        "avatar": None,
        "bot": bot,
        "flags": 0,
    }


def role(name: str, permissions: int, *, role_id: str | None = None, position: int = 1) -> dict[str, Any]:
    return {
        "id": role_id or snowflake(),
        "name": name,
        "permissions": str(permissions),
        "position": position,
        "color": 0,
        "hoist": False,
        "managed": False,
        "mentionable": False,
        "flags": 0,
    }


def member(user_payload: dict[str, Any], roles: list[str]) -> dict[str, Any]:
    return {
        "user": user_payload,
        "roles": roles,
        "nick": None,
        "joined_at": "2024-01-01T00:00:00+00:00",
        "deaf": False,
        "mute": False,
        "flags": 0,
    }


def text_channel(channel_id: str, guild_id: str, name: str) -> dict[str, Any]:
    return {
        "id": channel_id,
        "type": 0,
        "name": name,
        "position": 0,
        "guild_id": guild_id,
        "permission_overwrites": [],
        "nsfw": False,
        "parent_id": None,
        "topic": None,
        "last_message_id": None,
        "rate_limit_per_user": 0,
    }


def thread(thread_id: str, guild_id: str, parent_id: str, owner_id: str, name: str) -> dict[str, Any]:
    return {
        "id": thread_id,
        "type": 11,
        "name": name,
        "guild_id": guild_id,
        "parent_id": parent_id,
        "owner_id": owner_id,
        "last_message_id": None,
        "rate_limit_per_user": 0,
        "message_count": 0,
        "member_count": 1,
        "flags": 0,
        "thread_metadata": {
            "archived": False,
            "auto_archive_duration": 1440,
            "archive_timestamp": "2024-01-01T00:00:00+00:00",
            "locked": False,
        },
    }


def message(
    author: dict[str, Any],
    content: str,
    *,
    channel_id: str,
    guild_id: str | None,
    message_id: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "id": message_id or snowflake(),
        "channel_id": channel_id,
        "author": author,
        "content": content,
        "timestamp": "2024-01-01T00:00:00+00:00",
        "edited_timestamp": None,
        "tts": False,
        "mention_everyone": False,
        "mentions": [],
        "mention_roles": [],
        "attachments": [],
        "embeds": [],
        "pinned": False,
        "type": 0,
        "flags": 0,
        "components": [],
    }
    if guild_id is not None:
        payload["guild_id"] = guild_id
    payload.update(extra)
    return payload


def option(name: str, value: Any, *, focused: bool = False) -> dict[str, Any]:
    """A slash-command option; the Discord type is taken from the Python type of `value`."""
    kind = (
        5
        if isinstance(value, bool)
        else 4
        if isinstance(value, int)
        else 10
        if isinstance(value, float)
        else 3
    )
    out: dict[str, Any] = {"name": name, "type": kind, "value": value}
    if focused:
        out["focused"] = True
    return out
