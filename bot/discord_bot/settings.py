"""Settings of the Discord adapter, read from the environment (and an optional .env) by the entry point."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import NoDecode, SettingsConfigDict

from bot.settings import ENV_FILE, EnvFileSettings
from index.errors import UserError


class DiscordSettings(EnvFileSettings):
    """Everything `pitwall bot` needs beyond the answer service. See docs/discord.md."""

    model_config = SettingsConfigDict(
        env_file=ENV_FILE,
        extra="ignore",
        validate_by_name=True,
        validate_by_alias=True,
        allow_inf_nan=False,
    )

    token: SecretStr | None = Field(None, alias="DISCORD_TOKEN")
    api_base: str | None = Field(None, alias="PITWALL_DISCORD_API_BASE")
    ask_channels: Annotated[list[int], NoDecode] = Field(
        default_factory=list, alias="PITWALL_DISCORD_ASK_CHANNELS"
    )
    admin_roles: Annotated[list[int], NoDecode] = Field(
        default_factory=list, alias="PITWALL_DISCORD_ADMIN_ROLES"
    )
    admin_users: Annotated[list[int], NoDecode] = Field(
        default_factory=list, alias="PITWALL_DISCORD_ADMIN_USERS"
    )
    rate_limit_per_minute: int = Field(6, ge=1, alias="PITWALL_DISCORD_RATE_LIMIT")
    max_concurrent_per_server: int = Field(4, ge=1, alias="PITWALL_DISCORD_MAX_CONCURRENT")
    queue_per_server: int = Field(50, ge=0, alias="PITWALL_DISCORD_QUEUE")
    shutdown_grace_seconds: float = Field(8.0, ge=0, le=600, alias="PITWALL_DISCORD_SHUTDOWN_GRACE")
    feedback_db: Path = Field(Path("data/feedback.sqlite3"), alias="PITWALL_FEEDBACK_DB")
    sync_commands: bool = Field(True, alias="PITWALL_DISCORD_SYNC_COMMANDS")
    sync_guild: int | None = Field(None, alias="PITWALL_DISCORD_SYNC_GUILD")
    shard_count: int | None = Field(None, ge=1, alias="PITWALL_SHARD_COUNT")
    shard_ids: Annotated[list[int], NoDecode] = Field(default_factory=list, alias="PITWALL_SHARD_IDS")

    @field_validator("ask_channels", "admin_roles", "admin_users", "shard_ids", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        if isinstance(value, str):
            parts = [part.strip() for part in value.split(",") if part.strip()]
            bad = [part for part in parts if not part.isdigit()]
            if bad:
                raise ValueError(
                    f"takes comma-separated numeric ids (in Discord: Developer Mode, then right-click > "
                    f"Copy ID), not {', '.join(bad)}"
                )
            return [int(part) for part in parts]
        return value

    @model_validator(mode="after")
    def _shards(self) -> DiscordSettings:
        if self.shard_ids and self.shard_count is None:
            raise ValueError("PITWALL_SHARD_IDS needs PITWALL_SHARD_COUNT (the total over all processes)")
        wrong = [i for i in self.shard_ids if self.shard_count is not None and i >= self.shard_count]
        if wrong:
            raise ValueError(
                f"PITWALL_SHARD_IDS {wrong} out of range: shard ids run from 0 to "
                f"PITWALL_SHARD_COUNT - 1 = {(self.shard_count or 1) - 1}"
            )
        return self

    def require_token(self) -> str:
        """The bot token, or a UserError that says where to put it."""
        token = self.token.get_secret_value().strip() if self.token else ""
        if not token:
            raise UserError(
                "DISCORD_TOKEN is not set. Put the bot token from the Discord Developer Portal in the "
                "environment or in .env; see docs/discord.md."
            )
        return token
