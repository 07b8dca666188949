"""Answers in chat, only when the bot is addressed: a mention, a reply to one of its own messages, a direct
message, a message in an ask-channel, or a message in a thread the bot opened for a conversation."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import Collection
from dataclasses import dataclass

import discord
from discord.ext import commands

from bot.discord_bot.discord_text import truncate
from bot.discord_bot.errors import handle_chat_error
from bot.discord_bot.formatting import answer_reply
from bot.discord_bot.lifecycle import ABANDONED, Admission, ShuttingDown
from bot.discord_bot.service import AnswerService
from bot.discord_bot.store import AnswerRecord, AnswerStore, new_answer_id
from bot.discord_bot.throttle import Throttled
from bot.discord_bot.ui import feedback_view, message_kwargs

log = logging.getLogger(__name__)

NOTICE_SECONDS = 20
THREAD_NAME_MAX = 100

# permission attribute -> the name Discord's settings show
PERMISSION_NAMES = {
    "send_messages": "Send Messages",
    "send_messages_in_threads": "Send Messages in Threads",
    "embed_links": "Embed Links",
    "read_message_history": "Read Message History",
    "create_public_threads": "Create Public Threads",
}


@dataclass(frozen=True)
class Addressing:
    """What a message is, as far as deciding whether it is meant for the bot."""

    direct_message: bool
    mentioned: bool
    replies_to_bot: bool
    replies_to_someone_else: bool
    in_ask_channel: bool
    in_bot_thread: bool


def is_addressed(m: Addressing) -> bool:
    """Meant for the bot: never a message between members (a reply to another member, unless it names the
    bot), never a message in a channel or thread the bot merely answered in once."""
    if m.direct_message or m.mentioned or m.replies_to_bot:
        return True
    if m.replies_to_someone_else:
        return False
    return m.in_ask_channel or m.in_bot_thread


def missing_permissions(permissions: discord.Permissions, *, thread: bool, open_thread: bool) -> list[str]:
    """The Discord names of the permissions the bot lacks to answer here."""
    needed = [
        "send_messages_in_threads" if thread else "send_messages",
        "embed_links",
        "read_message_history",
    ]
    if open_thread:
        needed += ["create_public_threads", "send_messages_in_threads"]
    return [PERMISSION_NAMES[name] for name in dict.fromkeys(needed) if not getattr(permissions, name)]


@dataclass(frozen=True)
class ChatQuestion:
    text: str
    context: str  # the earlier question, for a follow-up
    open_thread: bool  # a new question in an ask-channel: answered in a thread the bot opens


class Chat(commands.Cog):
    def __init__(
        self,
        bot: commands.Bot,
        service: AnswerService,
        store: AnswerStore,
        admission: Admission,
        ask_channels: Collection[int],
    ) -> None:
        self.bot = bot
        self.service = service
        self.store = store
        self.admission = admission
        self.ask_channels = set(ask_channels)

    @commands.Cog.listener()
    async def on_message(self, message: discord.Message) -> None:
        me = self.bot.user
        if message.author.bot or me is None or message.author.id == me.id:
            return
        try:
            question = await self._question(message, me.id)
            if question is None:
                return
            if not await self._may_answer(message, question):
                return
            key = self.admission.admit(message.author.id, message.guild.id if message.guild else None)
            async with self.admission.in_flight.track(lambda: message.reply(ABANDONED, mention_author=False)):
                await self._answer(message, question, key)
        except (Throttled, ShuttingDown) as exc:
            with contextlib.suppress(discord.HTTPException):
                await message.reply(str(exc), mention_author=False, delete_after=NOTICE_SECONDS)
        except discord.Forbidden as exc:
            log.warning("no permission to answer in channel %s: %s", message.channel.id, exc.text)
            await self._tell_privately(
                message, "I couldn't answer there: Discord refused me (" + exc.text + ")."
            )
        except Exception as exc:
            await handle_chat_error(message, exc)

    async def _question(self, message: discord.Message, bot_id: int) -> ChatQuestion | None:
        """The question in `message` if it is addressed to the bot, with the earlier one for a follow-up."""
        mention = rf"<@!?{bot_id}>"
        text = re.sub(mention, " ", message.content).strip()
        if not text:
            return None
        replied = await self._replied_answer(message, bot_id)
        channel = message.channel
        in_bot_thread = isinstance(channel, discord.Thread) and channel.owner_id == bot_id
        in_ask_channel = channel.id in self.ask_channels
        ref = message.reference
        addressing = Addressing(
            direct_message=message.guild is None,
            mentioned=re.search(mention, message.content) is not None,
            replies_to_bot=replied is not None,
            replies_to_someone_else=ref is not None and ref.message_id is not None and replied is None,
            in_ask_channel=in_ask_channel,
            in_bot_thread=in_bot_thread,
        )
        if not is_addressed(addressing):
            return None
        earlier = replied.question if replied is not None and replied.question else ""
        if not earlier and in_bot_thread:
            latest = await asyncio.to_thread(self.store.latest_in_channel, channel.id)
            earlier = latest.question if latest else ""
        open_thread = in_ask_channel and ref is None and not isinstance(channel, discord.Thread)
        return ChatQuestion(text, earlier, open_thread)

    async def _replied_answer(self, message: discord.Message, bot_id: int) -> AnswerRecord | None:
        """The bot's answer that `message` replies to (question "" if it is a bot message not on record)."""
        ref = message.reference
        if ref is None or ref.message_id is None:
            return None
        found = await asyncio.to_thread(self.store.answer_posted_as, ref.message_id)
        if found is not None:
            return found
        resolved = ref.resolved
        if not isinstance(resolved, discord.Message) or resolved.author.id != bot_id:
            return None
        # the bot's reply may not be on record yet; its own reference is the question it answered
        if resolved.reference is not None and resolved.reference.message_id is not None:
            found = await asyncio.to_thread(self.store.answer_for_message, resolved.reference.message_id)
        return found or AnswerRecord("", "")

    async def _may_answer(self, message: discord.Message, question: ChatQuestion) -> bool:
        """True if the bot may answer here; else the asker is told privately which permission is missing."""
        if message.guild is None:
            return True
        channel = message.channel
        permissions = channel.permissions_for(message.guild.me)  # type: ignore[union-attr]
        missing = missing_permissions(
            permissions, thread=isinstance(channel, discord.Thread), open_thread=question.open_thread
        )
        if not missing:
            return True
        where = getattr(channel, "mention", "that channel")
        await self._tell_privately(
            message,
            f"I can't answer your question in {where}: I'm missing the {', '.join(missing)} permission"
            f"{'s' if len(missing) > 1 else ''} there. A server admin can grant "
            f"{'them' if len(missing) > 1 else 'it'} to the Pitwall role (see docs/discord.md).",
        )
        return False

    async def _tell_privately(self, message: discord.Message, text: str) -> None:
        try:
            await message.author.send(text)
        except discord.HTTPException:  # DMs closed: nothing more we can do, but no traceback for the user
            log.warning("could not message user %s privately: %s", message.author.id, text)

    async def _answer(self, message: discord.Message, question: ChatQuestion, key: object) -> None:
        async with self.admission.queues.slot(key), message.channel.typing():
            answer = await asyncio.to_thread(self.service.ask, question.text, context=question.context)
        answer_id = new_answer_id()
        reply_kwargs = message_kwargs(answer_reply(answer)) | {"view": feedback_view(answer_id)}
        thread = None
        if question.open_thread:
            thread = await message.create_thread(name=truncate(question.text, THREAD_NAME_MAX))
        await asyncio.to_thread(  # on record before it is posted: a quick follow-up finds it
            self.store.record_answer,
            answer_id,
            answer,
            channel_id=thread.id if thread else message.channel.id,
            question_message_id=message.id,
        )
        if thread is not None:
            reply = await thread.send(**reply_kwargs)
        else:
            reply = await message.reply(**reply_kwargs, mention_author=False)
        await asyncio.to_thread(self.store.set_message, answer_id, reply.id)
