"""The one error handler: the user gets a short private message with a reference id, the log a traceback."""

from __future__ import annotations

import contextlib
import logging
import uuid

import discord
from discord import app_commands

from bot.discord_bot.throttle import Throttled
from index.errors import UserError

log = logging.getLogger(__name__)


class NotAllowed(app_commands.CheckFailure):
    """The user may not run this command; the message says who may."""


def user_message(error: BaseException) -> str | None:
    """The message for an error the user can act on, or None for a bug."""
    if isinstance(error, app_commands.CommandInvokeError):
        error = error.original
    if isinstance(error, Throttled | UserError | NotAllowed):
        return str(error)
    if isinstance(error, app_commands.TransformerError | app_commands.CheckFailure):
        return str(error) or "You can't use this command here."
    return None


def report(error: BaseException, where: str) -> str:
    """Log `error` with its traceback under a new reference id and return the id."""
    if isinstance(error, app_commands.CommandInvokeError):
        error = error.original
    reference = uuid.uuid4().hex[:8]
    log.error("error %s in %s", reference, where, exc_info=(type(error), error, error.__traceback__))
    return reference


async def handle_interaction_error(interaction: discord.Interaction, error: BaseException) -> None:
    """Tell the user privately what went wrong; log bugs with a reference id."""
    text = user_message(error)
    if text is None:
        where = f"/{interaction.command.qualified_name}" if interaction.command else "a component interaction"
        text = f"Sorry, something went wrong (reference `{report(error, where)}`)."
    try:
        await send_private(interaction, text)
    except discord.HTTPException:
        log.exception("could not tell the user about an error")


async def send_private(interaction: discord.Interaction, text: str) -> None:
    if not interaction.response.is_done():
        await interaction.response.send_message(text, ephemeral=True)
        return
    if interaction.response.type == discord.InteractionResponseType.deferred_channel_message:
        # a public "thinking…" message: remove it so the private message is the only answer
        with contextlib.suppress(discord.HTTPException):
            await interaction.delete_original_response()
    await interaction.followup.send(text, ephemeral=True)


async def handle_chat_error(message: discord.Message, error: BaseException) -> None:
    text = f"Sorry, something went wrong (reference `{report(error, 'a chat message')}`)."
    try:
        await message.reply(text, mention_author=False)
    except discord.HTTPException:
        log.exception("could not tell the user about an error")
