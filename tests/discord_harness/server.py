"""A local Discord-compatible server (REST + gateway on 127.0.0.1) for end-to-end tests of discord.py.

It knows one guild with a text channel, the members the test adds, and every message anyone posted.
Every request the bot makes is recorded; a request the server does not handle is recorded in `unhandled`
and answered 404, and the test fixture fails on it, so new API use is noticed.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

from tests.discord_harness import payloads as p

API = "/api/v10"
EPHEMERAL = 64


@dataclass
class Sent:
    """Something the bot did: an interaction response, a follow-up, a channel message, an edit."""

    kind: str  # callback | edit_original | followup | edit_followup | channel_message | edit_message | delete
    body: dict[str, Any]
    token: str | None = None  # the interaction token, for interaction responses
    channel_id: str | None = None
    message: dict[str, Any] | None = None  # the message as stored after this request

    @property
    def content(self) -> str:
        if self.kind == "callback":
            return (self.body.get("data") or {}).get("content") or ""
        return self.body.get("content") or ""

    @property
    def embeds(self) -> list[dict[str, Any]]:
        data = self.body.get("data") if self.kind == "callback" else self.body
        return (data or {}).get("embeds") or []

    @property
    def ephemeral(self) -> bool:
        """Private to the user: flagged so in this request or in the message it edits."""
        data = self.body.get("data") if self.kind == "callback" else self.body
        flags = ((data or {}).get("flags") or 0) | ((self.message or {}).get("flags") or 0)
        return bool(flags & EPHEMERAL)

    def text(self) -> str:
        """Content and every embed string, for assertions that something appears anywhere."""
        parts = [self.content]
        for embed in self.embeds:
            parts += [embed.get("title") or "", embed.get("description") or ""]
            for f in embed.get("fields") or []:
                parts += [f.get("name") or "", f.get("value") or ""]
            parts.append((embed.get("footer") or {}).get("text") or "")
        return "\n".join(parts)


@dataclass
class Interaction:
    id: str
    token: str
    payload: dict[str, Any]


@dataclass
class _Waiter:
    predicate: Callable[[Sent], bool]
    future: asyncio.Future[Sent]


@dataclass
class Guild:
    id: str
    channel_id: str
    roles: list[dict[str, Any]] = field(default_factory=list)
    members: list[dict[str, Any]] = field(default_factory=list)
    threads: list[dict[str, Any]] = field(default_factory=list)
    extra_channels: list[dict[str, Any]] = field(default_factory=list)

    def channel_ids(self) -> set[str]:
        return {self.channel_id} | {c["id"] for c in self.extra_channels} | {t["id"] for t in self.threads}


def shard_of(guild_id: str, shard_count: int) -> int:
    """Discord's rule: a guild belongs to shard (guild_id >> 22) % shard_count."""
    return (int(guild_id) >> 22) % shard_count


class LocalDiscord:
    """The server. Start it in the loop the bot will run in, then point discord.py at `base_url`."""

    def __init__(self, token: str) -> None:
        self.token = token
        self.bot_user = p.user("Pitwall", bot=True)
        self.app_id = self.bot_user["id"]  # like real Discord: application id == bot user id
        self.owner = p.user("owner")
        self.guilds: list[Guild] = []
        self.guild = self.add_guild()
        self.everyone_role = self.guild.roles[0]
        self.bot_role = self.guild.roles[1]
        self.manager_role = p.role("Manager", p.MANAGE_GUILD)
        self.guild.roles.append(self.manager_role)
        self.dm_channels: dict[str, str] = {}  # user id -> DM channel id
        self.sync_failures: list[int] = []  # HTTP statuses for the next command syncs (then success)
        self.require_sharding = False  # close an unsharded IDENTIFY with 4011, like Discord for big bots
        self.close_codes: list[int | None] = []  # how each gateway connection ended
        self.requests: list[dict[str, Any]] = []
        self.unhandled: list[str] = []
        self.sent: list[Sent] = []
        self.messages: dict[str, dict[str, Any]] = {}
        self.commands: list[dict[str, Any]] = []
        self.identify: dict[str, Any] | None = None
        self._originals: dict[str, str] = {}  # interaction token -> original response message id
        self._interaction_channels: dict[str, str] = {}
        self._waiters: list[_Waiter] = []
        self._shards: dict[int, web.WebSocketResponse] = {}  # shard id -> its gateway connection
        self.shard_count = 1
        self._seq = 0
        self._runner: web.AppRunner | None = None
        self.base_url = ""
        self.app = web.Application()
        self.app.router.add_get("/gateway/", self._gateway)
        self.app.router.add_route("*", API + "/{tail:.*}", self._rest)

    # ---- lifecycle ----
    async def start(self) -> str:
        self._runner = web.AppRunner(self.app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.base_url = f"http://127.0.0.1:{port}"
        return self.base_url

    async def stop(self) -> None:
        for ws in self._shards.values():
            if not ws.closed:
                await ws.close()
        if self._runner is not None:
            await self._runner.cleanup()

    # ---- the guild model ----
    def add_guild(self, *, shard: int | None = None, shard_count: int = 1) -> Guild:
        """A server with a #general channel and the bot in it (with the permissions it needs); with `shard`,
        one whose id puts it on that shard of `shard_count`."""
        gid = p.snowflake()
        while shard is not None and shard_of(gid, shard_count) != shard:
            gid = p.snowflake()
        guild = Guild(id=gid, channel_id=p.snowflake())
        guild.roles = [
            p.role("@everyone", p.MEMBER_PERMISSIONS, role_id=gid, position=0),
            p.role("Pitwall", p.BOT_PERMISSIONS),
        ]
        self.guilds.append(guild)
        return guild

    def add_role(self, name: str, permissions: int = 0) -> dict[str, Any]:
        r = p.role(name, permissions)
        self.guild.roles.append(r)
        return r

    def add_member(
        self,
        name: str,
        *,
        roles: list[dict[str, Any]] = (),
        bot: bool = False,
        guild: Guild | None = None,
    ) -> dict[str, Any]:
        m = p.member(p.user(name, bot=bot), [r["id"] for r in roles])
        (guild or self.guild).members.append(m)
        return m

    def add_channel(self, name: str, *, deny_bot: int = 0) -> str:
        """A text channel; `deny_bot` takes permission bits from the bot there (a channel overwrite)."""
        channel = p.text_channel(p.snowflake(), self.guild.id, name)
        if deny_bot:
            overwrite = {"id": self.bot_role["id"], "type": 0, "allow": "0", "deny": str(deny_bot)}
            channel["permission_overwrites"] = [overwrite]
        self.guild.extra_channels.append(channel)
        return channel["id"]

    def guild_of(self, member: dict[str, Any]) -> Guild:
        for guild in self.guilds:
            if any(m["user"]["id"] == member["user"]["id"] for m in guild.members):
                return guild
        raise AssertionError(f"{member['user']['username']} is in no server")

    def _guild_of_channel(self, channel_id: str) -> Guild | None:
        return next((g for g in self.guilds if channel_id in g.channel_ids()), None)

    def guild_payload(self, guild: Guild | None = None) -> dict[str, Any]:
        guild = guild or self.guild
        bot_member = p.member(self.bot_user, [guild.roles[1]["id"]])
        members = [bot_member, *guild.members]
        return {
            "id": guild.id,
            "name": "Pitwall Test",
            "icon": None,
            "owner_id": self.owner["id"],
            "unavailable": False,
            "large": False,
            "member_count": len(members),
            "roles": guild.roles,
            "emojis": [],
            "stickers": [],
            "features": [],
            "members": members,
            "channels": [
                p.text_channel(guild.channel_id, guild.id, "general"),
                *guild.extra_channels,
            ],
            "threads": guild.threads,
            "voice_states": [],
            "presences": [],
            "stage_instances": [],
            "guild_scheduled_events": [],
            "soundboard_sounds": [],
            "premium_tier": 0,
            "preferred_locale": "en-US",
            "system_channel_id": None,
            "afk_channel_id": None,
            "afk_timeout": 300,
            "verification_level": 0,
            "default_message_notifications": 0,
            "explicit_content_filter": 0,
            "mfa_level": 0,
            "nsfw_level": 0,
            "joined_at": "2024-01-01T00:00:00+00:00",
        }

    def permissions_of(self, member: dict[str, Any], guild: Guild | None = None) -> int:
        guild = guild or self.guild
        perms = int(guild.roles[0]["permissions"])
        for r in guild.roles:
            if r["id"] in member["roles"]:
                perms |= int(r["permissions"])
        return perms

    # ---- gateway ----
    async def _gateway(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        await ws.send_str(json.dumps({"op": 10, "d": {"heartbeat_interval": 41250}, "s": None, "t": None}))
        async for msg in ws:
            if msg.type != WSMsgType.TEXT:
                continue
            data = json.loads(msg.data)
            op = data["op"]
            if op == 1:
                await ws.send_str(json.dumps({"op": 11, "d": None, "s": None, "t": None}))
            elif op == 2:
                self.identify = data["d"]
                shard, count = data["d"].get("shard") or [0, 1]
                if data["d"].get("token") != self.token:
                    await ws.close(code=4004, message=b"Authentication failed.")
                    break
                if self.require_sharding and count == 1:
                    await ws.close(code=4011, message=b"Sharding required.")
                    break
                self._shards[shard], self.shard_count = ws, count
                mine = [g for g in self.guilds if shard_of(g.id, count) == shard]
                await self._dispatch_to(ws, "READY", self._ready_payload(mine, shard, count))
                for guild in mine:
                    await self._dispatch_to(ws, "GUILD_CREATE", self.guild_payload(guild))
            elif op == 6:
                await self._dispatch_to(ws, "RESUMED", {})
            elif op == 3:  # presence update: nothing to do
                pass
            else:
                self.unhandled.append(f"gateway op {op}")
        self.close_codes.append(ws.close_code)
        return ws

    def _ready_payload(self, guilds: list[Guild], shard: int, count: int) -> dict[str, Any]:
        return {
            "v": 10,
            "user": self.bot_user,
            "session_id": "local-session",
            "resume_gateway_url": self.base_url.replace("http", "ws", 1) + "/gateway/",
            "guilds": [{"id": g.id, "unavailable": True} for g in guilds],
            "application": {"id": self.app_id, "flags": 0},
            "shard": [shard, count],
        }

    async def dispatch(self, event: str, data: dict[str, Any]) -> None:
        """Send a gateway event to the shard that serves its server (DMs go to shard 0)."""
        guild_id = data.get("guild_id") or (data.get("id") if event == "GUILD_CREATE" else None)
        shard = shard_of(guild_id, self.shard_count) if guild_id else 0
        ws = self._shards.get(shard)
        assert ws is not None, f"shard {shard} of the bot is not connected"
        await self._dispatch_to(ws, event, data)

    async def _dispatch_to(self, ws: web.WebSocketResponse, event: str, data: dict[str, Any]) -> None:
        self._seq += 1
        payload = {"op": 0, "s": self._seq, "t": event, "d": data}
        await ws.send_str(json.dumps(payload))  # TEXT frames: discord.py only inflates binary ones

    # ---- REST ----
    async def _rest(self, request: web.Request) -> web.StreamResponse:
        path = "/" + request.match_info["tail"]
        body = await _read_body(request)
        self.requests.append(
            {"method": request.method, "path": path, "query": dict(request.query), "json": body}
        )
        if request.headers.get("Authorization") != f"Bot {self.token}" and not path.startswith(
            ("/interactions/", "/webhooks/")
        ):
            return _json({"message": "401: Unauthorized", "code": 0}, 401)
        try:
            result = self._route(request.method, path.strip("/").split("/"), body or {})
        except Exception as exc:  # a harness bug must fail the test, not hang it
            self.unhandled.append(f"{request.method} {path}: harness error {exc!r}")
            raise
        if result is None:
            self.unhandled.append(f"{request.method} {path}")
            return _json({"message": f"local discord: unhandled {request.method} {path}", "code": 0}, 404)
        data, status = result
        if status == 204:
            return web.Response(status=204)
        return _json(data, status)

    def _route(self, method: str, parts: list[str], body: dict[str, Any]) -> tuple[Any, int] | None:
        head = parts[0]
        if method == "GET" and parts == ["users", "@me"]:
            return self.bot_user, 200
        if method == "GET" and parts == ["oauth2", "applications", "@me"]:
            return self._application(), 200
        if head == "applications" and parts[-1] == "commands" and method == "PUT":
            if self.sync_failures:
                status = self.sync_failures.pop(0)
                return {"message": f"local discord: sync fails with {status}", "code": 0}, status
            self.commands = [
                {**c, "id": p.snowflake(), "application_id": self.app_id, "version": p.snowflake()}
                for c in body
            ]
            return self.commands, 200
        if head == "interactions" and parts[-1] == "callback" and method == "POST":
            return self._callback(parts[1], parts[2], body), 200
        if head == "webhooks" and len(parts) == 3 and method == "POST":
            return self._record_message("followup", body, token=parts[2]), 200
        if head == "webhooks" and len(parts) == 5 and parts[3] == "messages" and method == "PATCH":
            return self._edit_webhook_message(parts[2], parts[4], body), 200
        if head == "webhooks" and len(parts) == 5 and parts[3] == "messages" and method == "DELETE":
            message_id = self._originals.get(parts[2], "") if parts[4] == "@original" else parts[4]
            self.messages.pop(message_id, None)
            self._record(Sent("delete", {"id": message_id}, token=parts[2]))
            return None, 204
        if head == "channels" and len(parts) == 3 and parts[2] == "messages" and method == "POST":
            return self._channel_message(parts[1], body), 200
        if head == "channels" and len(parts) == 4 and parts[2] == "messages" and method == "DELETE":
            self.messages.pop(parts[3], None)
            self._record(Sent("delete", {"id": parts[3]}, channel_id=parts[1]))
            return None, 204
        if head == "channels" and len(parts) == 3 and parts[2] == "typing" and method == "POST":
            return None, 204
        if head == "channels" and len(parts) == 5 and parts[4] == "threads" and method == "POST":
            return self._thread_from_message(parts[1], parts[3], body), 201
        if method == "POST" and parts == ["users", "@me", "channels"]:
            return self._dm_channel(str(body["recipient_id"])), 200
        return None

    def _application(self) -> dict[str, Any]:
        return {
            "id": self.app_id,
            "name": "Pitwall",
            "description": "",
            "icon": None,
            "bot_public": True,
            "bot_require_code_grant": False,
            "owner": self.owner,
            "verify_key": "00",
            "flags": 0,
            "team": None,
        }

    def _callback(self, interaction_id: str, token: str, body: dict[str, Any]) -> dict[str, Any]:
        kind = body.get("type")
        data = body.get("data") or {}
        message_id = p.snowflake()
        out: dict[str, Any] = {
            "interaction": {
                "id": interaction_id,
                "type": 2,
                "response_message_id": message_id,
                "response_message_loading": kind == 5,
                "response_message_ephemeral": bool((data.get("flags") or 0) & EPHEMERAL),
            }
        }
        channel_id = self._interaction_channels.get(token, self.guild.channel_id)
        if kind in (4, 5):
            self._originals[token] = message_id
            msg = self._store(body=data, message_id=message_id, channel_id=channel_id)
            self._record(Sent("callback", body, token=token, channel_id=channel_id, message=msg))
            if kind == 4:
                out["resource"] = {"type": 4, "message": msg}
        else:  # 6 deferred update, 7 update message, 8 autocomplete result
            self._record(Sent("callback", body, token=token, channel_id=channel_id))
        return out

    def _record_message(self, kind: str, body: dict[str, Any], *, token: str) -> dict[str, Any]:
        channel_id = self._interaction_channels.get(token, self.guild.channel_id)
        msg = self._store(body=body, message_id=p.snowflake(), channel_id=channel_id, webhook_id=self.app_id)
        self._record(Sent(kind, body, token=token, channel_id=channel_id, message=msg))
        return msg

    def _edit_webhook_message(self, token: str, which: str, body: dict[str, Any]) -> dict[str, Any]:
        message_id = self._originals.get(token, p.snowflake()) if which == "@original" else which
        channel_id = self._interaction_channels.get(token, self.guild.channel_id)
        old = self.messages.get(message_id, {})
        merged = {**{k: old.get(k) for k in ("content", "embeds", "components", "flags") if k in old}, **body}
        msg = self._store(body=merged, message_id=message_id, channel_id=channel_id, webhook_id=self.app_id)
        kind = "edit_original" if which == "@original" else "edit_followup"
        self._record(Sent(kind, body, token=token, channel_id=channel_id, message=msg))
        return msg

    def _thread_from_message(self, channel_id: str, message_id: str, body: dict[str, Any]) -> dict[str, Any]:
        guild = self._guild_of_channel(channel_id)
        assert guild is not None, f"no server has channel {channel_id}"
        thread = p.thread(message_id, guild.id, channel_id, self.app_id, body["name"])
        guild.threads.append(thread)
        asyncio.get_running_loop().create_task(
            self.dispatch("THREAD_CREATE", {**thread, "newly_created": True})
        )
        return thread

    def _dm_channel(self, user_id: str) -> dict[str, Any]:
        channel_id = self.dm_channels.setdefault(user_id, p.snowflake())
        recipient = next(
            (m["user"] for g in self.guilds for m in g.members if m["user"]["id"] == user_id),
            {"id": user_id, "username": "someone", "discriminator": "0", "avatar": None},
        )
        return {"id": channel_id, "type": 1, "recipients": [recipient], "last_message_id": None}

    def direct_messages(self, member: dict[str, Any]) -> list[Sent]:
        """What the bot sent to `member` privately (in their DM channel)."""
        channel_id = self.dm_channels.get(member["user"]["id"])
        return [s for s in self.sent if channel_id is not None and s.channel_id == channel_id]

    def _channel_message(self, channel_id: str, body: dict[str, Any]) -> dict[str, Any]:
        extra: dict[str, Any] = {}
        if body.get("message_reference"):
            extra = {"message_reference": body["message_reference"], "type": 19}
            ref = self.messages.get(str(body["message_reference"].get("message_id")))
            if ref is not None:
                extra["referenced_message"] = ref
        msg = self._store(body=body, message_id=p.snowflake(), channel_id=channel_id, **extra)
        self._record(Sent("channel_message", body, channel_id=channel_id, message=msg))
        # Real Discord echoes the bot's own message back through the gateway.
        asyncio.get_running_loop().create_task(self.dispatch("MESSAGE_CREATE", msg))
        return msg

    def _store(
        self, *, body: dict[str, Any], message_id: str, channel_id: str, **extra: Any
    ) -> dict[str, Any]:
        guild = self._guild_of_channel(channel_id)
        msg = p.message(
            self.bot_user,
            body.get("content") or "",
            channel_id=channel_id,
            guild_id=guild.id if guild else None,
            message_id=message_id,
            embeds=body.get("embeds") or [],
            components=body.get("components") or [],
            flags=body.get("flags") or 0,
            **extra,
        )
        self.messages[message_id] = msg
        return msg

    def _record(self, sent: Sent) -> None:
        self.sent.append(sent)
        for waiter in list(self._waiters):
            if not waiter.future.done() and waiter.predicate(sent):
                waiter.future.set_result(sent)
                self._waiters.remove(waiter)

    # ---- waiting for the bot ----
    async def wait_for(self, predicate: Callable[[Sent], bool], timeout: float = 30.0) -> Sent:
        """The first thing the bot sent (already, or from now on) for which `predicate` is true."""
        for sent in self.sent:
            if predicate(sent):
                return sent
        future: asyncio.Future[Sent] = asyncio.get_running_loop().create_future()
        waiter = _Waiter(predicate, future)
        self._waiters.append(waiter)
        try:
            return await asyncio.wait_for(future, timeout)
        finally:
            if waiter in self._waiters:
                self._waiters.remove(waiter)

    async def wait_final(
        self, interaction: Interaction, done: Callable[[Sent], bool] | None = None, timeout: float = 60.0
    ) -> Sent:
        """The bot's answer to an interaction: a message callback, or an edit of the deferred original."""

        def is_final(sent: Sent) -> bool:
            if sent.token != interaction.token:
                return False
            final = sent.kind in ("edit_original", "followup") or (
                sent.kind == "callback" and sent.body.get("type") in (4, 7, 8)
            )
            return final and (done is None or done(sent))

        return await self.wait_for(is_final, timeout)

    async def wait_reply(self, to_message_id: str, timeout: float = 60.0) -> Sent:
        """The bot's channel message that replies to `to_message_id`."""

        def is_reply(sent: Sent) -> bool:
            ref = sent.body.get("message_reference") or {}
            return sent.kind == "channel_message" and str(ref.get("message_id")) == to_message_id

        return await self.wait_for(is_reply, timeout)

    # ---- things users do ----
    async def send_message(
        self,
        member: dict[str, Any],
        content: str,
        *,
        channel_id: str | None = None,
        mention_bot: bool = False,
        reply_to: str | None = None,
        direct: bool = False,
    ) -> dict[str, Any]:
        """A user posts a message (in their server's #general unless `channel_id`, or with `direct` to the
        bot privately); with `mention_bot` it starts with the bot's mention."""
        if mention_bot:
            content = f"<@{self.app_id}> {content}"
        guild = None if direct else self.guild_of(member)
        if direct:
            channel_id = self._dm_channel(member["user"]["id"])["id"]
        extra: dict[str, Any] = {}
        if guild is not None:
            extra["member"] = {k: v for k, v in member.items() if k != "user"}
        mentions = [self.bot_user] if mention_bot else []
        if reply_to is not None:
            ref = self.messages[reply_to]
            extra["message_reference"] = {
                "message_id": reply_to,
                "channel_id": ref["channel_id"],
                **({"guild_id": guild.id} if guild else {}),
            }
            extra["referenced_message"] = ref
            extra["type"] = 19
            if ref["author"]["id"] == self.app_id and self.bot_user not in mentions:
                mentions.append(self.bot_user)  # a reply pings the replied-to author by default
        msg = p.message(
            member["user"],
            content,
            channel_id=channel_id or (guild or self.guild).channel_id,
            guild_id=guild.id if guild else None,
            mentions=mentions,
            **extra,
        )
        self.messages[msg["id"]] = msg
        await self.dispatch("MESSAGE_CREATE", msg)
        return msg

    async def create_thread(self, owner: dict[str, Any], name: str) -> str:
        payload = p.thread(p.snowflake(), self.guild.id, self.guild.channel_id, owner["user"]["id"], name)
        self.guild.threads.append(payload)
        await self.dispatch("THREAD_CREATE", {**payload, "newly_created": True})
        return payload["id"]

    def _command(self, name: str) -> dict[str, Any]:
        for c in self.commands:
            if c["name"] == name:
                return c
        raise AssertionError(f"command /{name} was not synced; synced: {[c['name'] for c in self.commands]}")

    def _interaction(
        self, member: dict[str, Any], kind: int, data: dict[str, Any], **extra: Any
    ) -> dict[str, Any]:
        token = "itok-" + p.snowflake()
        guild = self.guild_of(member)
        channel_id = guild.channel_id
        self._interaction_channels[token] = channel_id
        return {
            "id": p.snowflake(),
            "application_id": self.app_id,
            "type": kind,
            "token": token,
            "version": 1,
            "guild_id": guild.id,
            "channel_id": channel_id,
            "channel": {
                "id": channel_id,
                "type": 0,
                "guild_id": guild.id,
                "name": "general",
                "position": 0,
                "permission_overwrites": [],
            },
            "member": {**member, "permissions": str(self.permissions_of(member, guild))},
            "data": data,
            "app_permissions": str(0x7FFFFFFFFFFF),
            "locale": "en-US",
            "guild_locale": "en-US",
            "entitlements": [],
            "authorizing_integration_owners": {"0": guild.id},
            "context": 0,
            "attachment_size_limit": 10 * 1024 * 1024,
            **extra,
        }

    async def _fire(self, payload: dict[str, Any]) -> Interaction:
        await self.dispatch("INTERACTION_CREATE", payload)
        return Interaction(payload["id"], payload["token"], payload)

    async def slash(self, member: dict[str, Any], name: str, /, **options: Any) -> Interaction:
        """A member runs `/name option=value ...` (a subcommand as "group sub", e.g. "feeds add")."""
        return await self._fire(self._interaction(member, 2, self._command_data(name, options)))

    async def autocomplete(self, member: dict[str, Any], name: str, focused: str, value: str) -> Interaction:
        """A member types `value` into option `focused` of `/name` (a subcommand as "group sub")."""
        data = self._command_data(name, {focused: value}, focused=focused)
        return await self._fire(self._interaction(member, 4, data))

    def _command_data(self, name: str, options: dict[str, Any], focused: str | None = None) -> dict[str, Any]:
        """An application command's interaction data; a subcommand's options nest inside it (type 1)."""
        top, *subcommands = name.split()
        cmd = self._command(top)
        values = [p.option(k, v, focused=k == focused) for k, v in options.items()]
        for sub in reversed(subcommands):
            values = [{"name": sub, "type": 1, "options": values}]
        return {"id": cmd["id"], "name": top, "type": 1, "options": values}

    async def click(self, member: dict[str, Any], message: dict[str, Any], custom_id: str) -> Interaction:
        """A member clicks the button `custom_id` under the bot's `message`."""
        data = {"custom_id": custom_id, "component_type": 2}
        return await self._fire(self._interaction(member, 3, data, message=message))


def buttons(message: dict[str, Any]) -> list[dict[str, Any]]:
    """The buttons of a message, in order."""
    return [
        c for row in message.get("components") or [] for c in row.get("components") or [] if c["type"] == 2
    ]


async def _read_body(request: web.Request) -> Any:
    if not request.can_read_body:
        return None
    if request.content_type == "application/json":
        return await request.json()
    if request.content_type.startswith("multipart/"):
        body: dict[str, Any] = {}
        async for part in await request.multipart():  # type: ignore[union-attr]
            body[part.name] = (await part.text()) if part.filename is None else f"<file {part.filename}>"  # type: ignore[union-attr]
        if "payload_json" in body:
            body.update(json.loads(body.pop("payload_json")))
        return body
    return await request.text()


def _json(data: Any, status: int = 200) -> web.Response:
    # discord.py reads the body as JSON only when the content type is exactly application/json.
    return web.Response(
        body=json.dumps(data).encode(), status=status, headers={"Content-Type": "application/json"}
    )
