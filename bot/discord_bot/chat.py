"""Answers in chat: mentions, messages in ask-channels, and follow-ups (replies and thread messages)."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Collection
from dataclasses import dataclass

import discord
from discord.ext import commands

from bot.discord_bot.errors import handle_chat_error
from bot.discord_bot.formatting import format_answer
from bot.discord_bot.service import AnswerService
from bot.discord_bot.store import AnswerRecord, AnswerStore, new_answer_id
from bot.discord_bot.throttle import Throttle, Throttled
from bot.discord_bot.ui import feedback_view, message_kwargs

NOTICE_SECONDS = 20


@dataclass(frozen=True)
class ChatQuestion:
    text: str
    context: str  # the earlier question, for a follow-up


class Chat(commands.Cog):
    def __init__(
        self,
        bot: commands.Bot,
        service: AnswerService,
        store: AnswerStore,
        throttle: Throttle,
        ask_channels: Collection[int],
    ) -> None:
        self.bot = bot
        self.service = service
        self.store = store
        self.throttle = throttle
        self.ask_channels = set(ask_channels)

    @commands.Cog.listener()
    async def on_message(self, message: discord.Message) -> None:
        if message.author.bot or self.bot.user is None or message.author.id == self.bot.user.id:
            return
        if message.guild is None:
            return
        try:
            question = await self._question(message, self.bot.user.id)
            if question is not None:
                await self._answer(message, question)
        except Throttled as exc:
            await message.reply(str(exc), mention_author=False, delete_after=NOTICE_SECONDS)
        except Exception as exc:
            await handle_chat_error(message, exc)

    async def _question(self, message: discord.Message, bot_id: int) -> ChatQuestion | None:
        """The question in `message` if it is meant for the bot, with the earlier question for a follow-up."""
        mentioned = re.search(rf"<@!?{bot_id}>", message.content) is not None
        text = re.sub(rf"<@!?{bot_id}>", " ", message.content).strip()
        if not text:
            return None
        earlier = await self._earlier(message)
        in_ask_channel = message.channel.id in self.ask_channels
        if not (mentioned or in_ask_channel or earlier is not None):
            return None
        return ChatQuestion(text, earlier.question if earlier else "")

    async def _earlier(self, message: discord.Message) -> AnswerRecord | None:
        """The answer this message follows up: the bot answer it replies to, or the last one in its thread."""
        ref = message.reference
        if ref is not None and ref.message_id is not None:
            found = await asyncio.to_thread(self.store.answer_for_message, ref.message_id)
            resolved = ref.resolved
            # the bot's reply may not be on record yet; its own reference is the question it answered
            if (
                found is None
                and isinstance(resolved, discord.Message)
                and resolved.author.id == getattr(self.bot.user, "id", None)
                and resolved.reference is not None
                and resolved.reference.message_id is not None
            ):
                found = await asyncio.to_thread(self.store.answer_for_message, resolved.reference.message_id)
            if found is not None:
                return found
        if isinstance(message.channel, discord.Thread):
            return await asyncio.to_thread(self.store.latest_in_channel, message.channel.id)
        return None

    async def _answer(self, message: discord.Message, question: ChatQuestion) -> None:
        with self.throttle.question(message.author.id, message.guild.id if message.guild else None):
            async with message.channel.typing():
                answer = await asyncio.to_thread(self.service.ask, question.text, context=question.context)
            answer_id = new_answer_id()
            await asyncio.to_thread(
                self.store.record_answer,
                answer_id,
                answer,
                channel_id=message.channel.id,
                question_message_id=message.id,
            )
            reply = await message.reply(
                **message_kwargs(format_answer(answer)), view=feedback_view(answer_id), mention_author=False
            )
            await asyncio.to_thread(self.store.set_message, answer_id, reply.id)
