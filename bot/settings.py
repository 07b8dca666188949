"""Settings from environment variables (prefix PITWALL_) and an optional .env file, loaded once by the CLI."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from index.embed.embedding import DEFAULT_MODEL, model_id_for
from index.fusion import LEXICAL_WEIGHT
from index.text.chunking import OVERLAP_SENTENCES

SEARCH_RESULTS = 5  # passages `pitwall search` shows unless asked for another number: a screenful
MIN_EVIDENCE = 0.25  # calibrated on XQuAD German and English questions: `pitwall eval --abstention`


class Settings(BaseSettings):
    """The engine and answer settings. The Discord section lives beside the Discord adapter."""

    model_config = SettingsConfigDict(env_prefix="PITWALL_", env_file=".env", extra="ignore")

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

    @property
    def model_id(self) -> str:
        """The id an index records for vectors of this model and backend: the one place it is worked out
        from the settings (`index.embed.embedding.model_id_for`), known without loading the model."""
        return model_id_for(self.embedding_model, self.embedding_backend)
