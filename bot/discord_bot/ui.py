"""Discord objects built from pure replies: message keyword arguments and the persistent feedback buttons."""

from __future__ import annotations

import asyncio
import logging
import re
from typing import Any

import discord

from bot.discord_bot.discord_text import Reply
from bot.discord_bot.errors import handle_interaction_error
from bot.discord_bot.store import AnswerStore

log = logging.getLogger(__name__)

# vote -> (label, style); the custom_id carries the vote and the answer id, so buttons work after a restart
VOTE_BUTTONS: dict[str, tuple[str, discord.ButtonStyle]] = {
    "helpful": ("👍 Helpful", discord.ButtonStyle.success),
    "unhelpful": ("👎 Not helpful", discord.ButtonStyle.secondary),
    "wrong_quote": ("⚠️ Wrong quote", discord.ButtonStyle.danger),
}
THANKS = {
    "helpful": "Thanks! Glad it helped.",
    "unhelpful": "Thanks, noted: not helpful.",
    "wrong_quote": "Thanks, the quote is flagged for review.",
}


def message_kwargs(reply: Reply) -> dict[str, Any]:
    """Keyword arguments for send/edit calls: content and the embed (or none)."""
    embed = discord.Embed.from_dict(reply.embed) if reply.embed else None
    return {"content": reply.content or None, "embed": embed}


def vote_custom_id(vote: str, answer_id: str) -> str:
    return f"pitwall:vote:{vote}:{answer_id}"


class FeedbackButton(
    discord.ui.DynamicItem[discord.ui.Button],
    template=r"pitwall:vote:(?P<vote>helpful|unhelpful|wrong_quote):(?P<answer>[0-9a-f]{1,32})",
):
    """One vote button under an answer; stores the vote in the bot's AnswerStore."""

    def __init__(self, vote: str, answer_id: str) -> None:
        label, style = VOTE_BUTTONS[vote]
        super().__init__(
            discord.ui.Button(label=label, style=style, custom_id=vote_custom_id(vote, answer_id))
        )
        self.vote = vote
        self.answer_id = answer_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Button, match: re.Match[str], /
    ) -> FeedbackButton:
        return cls(match["vote"], match["answer"])

    async def callback(self, interaction: discord.Interaction) -> None:
        try:
            store: AnswerStore = interaction.client.answer_store  # type: ignore[attr-defined]
            stored = await asyncio.to_thread(
                store.record_vote, self.answer_id, interaction.user.id, self.vote
            )
            text = THANKS[self.vote] if stored else "I no longer have that answer on record, sorry."
            await interaction.response.send_message(text, ephemeral=True)
        except Exception as exc:
            await handle_interaction_error(interaction, exc)


def feedback_view(answer_id: str) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    for vote in VOTE_BUTTONS:
        view.add_item(FeedbackButton(vote, answer_id))
    return view
