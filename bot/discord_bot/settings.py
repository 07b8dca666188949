"""Settings of the Discord adapter, read from the environment (and an optional .env) by the entry point."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


class DiscordSettings(BaseSettings):
    """Everything `pitwall bot` needs beyond the answer service. See docs/discord.md."""

    model_config = SettingsConfigDict(
        env_file=".env", extra="ignore", validate_by_name=True, validate_by_alias=True
    )

    token: SecretStr | None = Field(None, alias="DISCORD_TOKEN")
    api_base: str | None = Field(None, alias="PITWALL_DISCORD_API_BASE")
    ask_channels: Annotated[list[int], NoDecode] = Field(
        default_factory=list, alias="PITWALL_DISCORD_ASK_CHANNELS"
    )
    admin_roles: Annotated[list[str], NoDecode] = Field(
        default_factory=list, alias="PITWALL_DISCORD_ADMIN_ROLES"
    )
    rate_limit_per_minute: int = Field(6, ge=1, alias="PITWALL_DISCORD_RATE_LIMIT")
    max_concurrent_per_server: int = Field(4, ge=1, alias="PITWALL_DISCORD_MAX_CONCURRENT")
    feedback_db: Path = Field(Path("data/feedback.sqlite3"), alias="PITWALL_FEEDBACK_DB")
    sync_commands: bool = Field(True, alias="PITWALL_DISCORD_SYNC_COMMANDS")

    @field_validator("ask_channels", "admin_roles", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value
