"""Settings from environment variables (prefix PITWALL_) and an optional .env file, loaded once by the CLI.

`.env` is read only when it is a regular file (a pipe there would block every command); one that is not
UTF-8 or has a line python-dotenv cannot parse is an error naming the file and line. No float setting
takes nan or an infinity.
"""

from __future__ import annotations

import io
import logging
import os
import stat
from importlib import metadata
from pathlib import Path
from typing import Any, Literal

from dotenv.parser import parse_stream
from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from index.embed.embedding import DEFAULT_MODEL, model_id_for
from index.errors import UserError
from index.fusion import LEXICAL_WEIGHT
from index.store.lease import LEASE_SECONDS
from index.text.chunking import OVERLAP_SENTENCES

SEARCH_RESULTS = 5  # passages `pitwall search` shows unless asked for another number: a screenful
MIN_EVIDENCE = 0.25  # calibrated on XQuAD German and English questions: `pitwall eval --abstention`
ENV_FILE = Path(".env")
_MAX_ENV_FILE_BYTES = 1_000_000


def _version() -> str:
    try:
        return metadata.version("pitwall")
    except metadata.PackageNotFoundError:  # run from a checkout that was never installed
        return "0.1.0"


class SettingsFileError(UserError):
    """The .env file cannot be read as settings."""


def checked_env_file(path: Path = ENV_FILE) -> Path | None:
    """`path` when it is a regular file of KEY=value lines in UTF-8; None when there is none or it is not
    a regular file (a pipe, a folder: not read, and said in a warning); SettingsFileError naming the file
    and line when it cannot be decoded or parsed."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        return None
    except OSError as error:
        raise SettingsFileError(f"cannot read the settings file {path}: {error.strerror}") from None
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            logging.getLogger("pitwall").warning("%s is not a regular file: its settings are not read", path)
            return None
        data = handle.read(_MAX_ENV_FILE_BYTES + 1)
    if len(data) > _MAX_ENV_FILE_BYTES:
        raise SettingsFileError(f"the settings file {path} is over {_MAX_ENV_FILE_BYTES:,} bytes")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise SettingsFileError(
            f"the settings file {path} is not UTF-8 (line {line}): save it as UTF-8"
        ) from None
    for binding in parse_stream(io.StringIO(text)):
        if binding.error:  # the line itself is not shown: it may hold a token
            raise SettingsFileError(
                f"the settings file {path} has a line python-dotenv cannot parse (line "
                f"{binding.original.line}): write KEY=value, quoting values with spaces or quotes"
            )
    return path


class EnvFileSettings(BaseSettings):
    """Settings read from the environment and `.env`, the file checked first (`checked_env_file`)."""

    def __init__(self, **values: Any) -> None:
        values.setdefault("_env_file", checked_env_file())
        super().__init__(**values)


class Settings(EnvFileSettings):
    """The engine and answer settings. The Discord section lives beside the Discord adapter."""

    model_config = SettingsConfigDict(
        env_prefix="PITWALL_", env_file=ENV_FILE, extra="ignore", allow_inf_nan=False
    )

    corpus_dir: Path = Field(Path("corpus"), description="Folder of article files, read recursively.")
    index_dir: Path = Field(Path(".index"), description="Where the index is published.")
    embedding_model: str = Field(DEFAULT_MODEL, description="sentence-transformers model name or path.")
    embedding_backend: Literal["torch", "onnx", "onnx-int8"] = Field(
        "onnx-int8", description="How the model runs: torch, ONNX Runtime (fp32), or ONNX Runtime with int8."
    )
    query_prompt: str | None = Field(None, description="Prefix for questions (default: the model's own).")
    passage_prompt: str | None = Field(None, description="Prefix for passages (default: the model's own).")
    chunk_overlap_sentences: int = Field(
        OVERLAP_SENTENCES, ge=0, le=5, description="Sentences shared by neighbouring chunks."
    )
    chunk_target_tokens: int | None = Field(
        None,
        ge=16,
        description="Preferred chunk size in word pieces (default: the model's limit, at most 256).",
    )
    store: Literal["faiss", "milvus"] = Field(
        "faiss",
        description="Where the index lives: `faiss` (files in the index folder, loaded by each process) or "
        "`milvus` (Milvus collections; docs/scaling.md).",
    )
    milvus_uri: str = Field(
        "",
        description="Milvus: a file path ending in .db runs Milvus Lite in this process, http://host:19530 "
        "talks to a Milvus server or cluster (default: milvus.db in the index folder).",
    )
    milvus_token: SecretStr = Field(
        SecretStr(""), description="Milvus: the token (user:password) of a server."
    )
    milvus_collection: str = Field(
        "pitwall",
        pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,150}$",
        description="Milvus: the prefix of the index's collections and the name of its alias.",
    )
    lease_seconds: float = Field(
        LEASE_SECONDS,
        ge=1.0,
        le=3600.0,
        description="How long a build's lease lasts unless renewed (every third of it): a build that died "
        "blocks others at most this long (index/store/lease.py, docs/scaling.md).",
    )
    lexical_weight: float = Field(
        LEXICAL_WEIGHT,
        ge=0.0,
        le=1.0,
        description="Weight of BM25 in hybrid search for a question whose words the index all knows; "
        "scaled down by the share it knows (see index/fusion.py).",
    )
    min_evidence: float = Field(
        MIN_EVIDENCE,
        description="Evidence below which Pitwall says the articles don't cover a question (calibrated with "
        "`pitwall eval --abstention`).",
    )
    # Feeds and article links (`pitwall feeds`, `fetch`, `add`; bot/feeds.py): README "Following the news".
    feeds_db: Path = Field(
        Path("data/feeds.sqlite3"), description="Subscriptions and fetch state (SQLite, beside feedback)."
    )
    feed_refresh_minutes: int = Field(
        30, ge=0, description="`pitwall bot` fetches every feed this often (0: never; cron can run `fetch`)."
    )
    fetch_allow_private: bool = Field(
        False,
        description="Fetch from loopback, private, link-local and reserved addresses (refused by default: "
        "a feed must not make Pitwall read the machine's own network).",
    )
    fetch_host_delay_seconds: float = Field(
        1.0, ge=0, le=3600, description="Seconds between two requests to the same host."
    )
    fetch_max_bytes: int = Field(
        5_000_000, ge=1_000, description="Largest response read (after decompression); larger ones fail."
    )
    fetch_timeout_seconds: float = Field(
        30.0, gt=0, le=600, description="Longest wait for one response, from connecting to its last byte."
    )
    fetch_max_retry_wait_seconds: float = Field(
        60.0,
        ge=0,
        le=3600,
        description="A 429 or 503 whose Retry-After is at most this is waited out and retried once; a "
        "longer one fails the feed until then.",
    )
    fetch_user_agent: str = Field(
        f"Pitwall/{_version()} (news archive bot)",
        min_length=1,
        description="Sent with every request; add a contact address for site owners.",
    )

    llm_url: str = Field(
        "",
        description="An OpenAI-compatible server whose language model writes a one-line answer, translates "
        "quotes and judges whether they state what was asked (e.g. http://localhost:11434/v1 for Ollama); "
        "unset: no model (README: Answers from a language model).",
    )
    llm_model: str = Field("", description="The model the server runs, e.g. llama3.2 or gemma3.")
    llm_api_key: SecretStr = Field(SecretStr(""), description="The server's API key, if it wants one.")
    llm_timeout: float = Field(
        20.0, gt=0, le=600, description="Seconds to wait for the model before answering without it."
    )

    @property
    def model_id(self) -> str:
        """The id an index records for vectors of this model and backend: the one place it is worked out
        from the settings (`index.embed.embedding.model_id_for`), known without loading the model."""
        return model_id_for(self.embedding_model, self.embedding_backend)
