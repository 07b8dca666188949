"""A local Discord for end-to-end tests: `LocalDiscord` (REST + gateway) and helpers to drive it."""

from tests.discord_harness.loop import BackgroundLoop
from tests.discord_harness.server import Interaction, LocalDiscord, Sent, buttons

__all__ = ["BackgroundLoop", "Interaction", "LocalDiscord", "Sent", "buttons"]
