"""SQLite record of the answers the bot gave (for follow-ups and feedback) and the votes on them."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import sqlite3
import uuid
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path

from bot.answering.answers import Answer

VOTES = ("helpful", "unhelpful", "wrong_quote")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS answers (
    id TEXT PRIMARY KEY,
    question TEXT NOT NULL,
    citations TEXT NOT NULL,
    channel_id INTEGER,
    message_id INTEGER,
    question_message_id INTEGER,
    created TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS answers_message ON answers (message_id);
CREATE INDEX IF NOT EXISTS answers_question_message ON answers (question_message_id);
CREATE INDEX IF NOT EXISTS answers_channel ON answers (channel_id, created);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS votes (
    answer_id TEXT NOT NULL REFERENCES answers (id),
    user_hash TEXT NOT NULL,
    vote TEXT NOT NULL,
    created TEXT NOT NULL,
    PRIMARY KEY (answer_id, user_hash)
);
"""


@dataclass(frozen=True)
class AnswerRecord:
    id: str
    question: str


def new_answer_id() -> str:
    return uuid.uuid4().hex[:16]


def hash_user(user_id: int) -> str:
    return hashlib.sha256(str(user_id).encode()).hexdigest()


class AnswerStore:
    """Blocking SQLite calls: the bot runs them with `asyncio.to_thread`. One connection per call."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as db:
            db.executescript(_SCHEMA)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        with closing(sqlite3.connect(self.path, timeout=10)) as db, db:
            yield db

    def record_answer(
        self,
        answer_id: str,
        answer: Answer,
        *,
        channel_id: int | None,
        message_id: int | None = None,
        question_message_id: int | None = None,
    ) -> None:
        citations = [
            {"n": c.n, "article_id": c.article_id, "title": c.title, "url": c.url, "quote": c.quote}
            for c in answer.citations
        ]
        with self._connect() as db:
            db.execute(
                "INSERT INTO answers VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    answer_id,
                    answer.question,
                    json.dumps(citations, ensure_ascii=False),
                    channel_id,
                    message_id,
                    question_message_id,
                    _now(),
                ),
            )

    def set_message(self, answer_id: str, message_id: int) -> None:
        with self._connect() as db:
            db.execute("UPDATE answers SET message_id = ? WHERE id = ?", (message_id, answer_id))

    def answer_for_message(self, message_id: int) -> AnswerRecord | None:
        """The answer the bot posted as `message_id`, or the one it gave to the question `message_id`."""
        with self._connect() as db:
            row = db.execute(
                "SELECT id, question FROM answers WHERE message_id = ? OR question_message_id = ? LIMIT 1",
                (message_id, message_id),
            ).fetchone()
        return AnswerRecord(*row) if row else None

    def answer_posted_as(self, message_id: int) -> AnswerRecord | None:
        """The answer the bot posted as message `message_id`."""
        with self._connect() as db:
            row = db.execute(
                "SELECT id, question FROM answers WHERE message_id = ? LIMIT 1", (message_id,)
            ).fetchone()
        return AnswerRecord(*row) if row else None

    def latest_in_channel(self, channel_id: int) -> AnswerRecord | None:
        with self._connect() as db:
            row = db.execute(
                "SELECT id, question FROM answers WHERE channel_id = ? "
                "ORDER BY created DESC, rowid DESC LIMIT 1",
                (channel_id,),
            ).fetchone()
        return AnswerRecord(*row) if row else None

    def meta(self, key: str) -> str | None:
        """A value the bot keeps between runs (e.g. the hash of the last synced command tree)."""
        with self._connect() as db:
            row = db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def set_meta(self, key: str, value: str) -> None:
        with self._connect() as db:
            db.execute(
                "INSERT INTO meta VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (key, value),
            )

    def record_vote(self, answer_id: str, user_id: int, vote: str) -> bool:
        """Store (or change) the user's vote on an answer; False if the answer is unknown."""
        if vote not in VOTES:
            raise ValueError(f"unknown vote {vote!r}; expected one of {', '.join(VOTES)}")
        with self._connect() as db:
            if db.execute("SELECT 1 FROM answers WHERE id = ?", (answer_id,)).fetchone() is None:
                return False
            db.execute(
                "INSERT INTO votes VALUES (?, ?, ?, ?) ON CONFLICT (answer_id, user_hash) "
                "DO UPDATE SET vote = excluded.vote, created = excluded.created",
                (answer_id, hash_user(user_id), vote, _now()),
            )
        return True


def export_feedback(db_path: Path) -> list[dict]:
    """Every vote with its question and citations, oldest first (for `pitwall feedback --json`)."""
    if not Path(db_path).exists():
        return []
    with closing(sqlite3.connect(db_path)) as db:
        rows = db.execute(
            "SELECT v.answer_id, a.question, a.citations, v.vote, v.user_hash, v.created "
            "FROM votes v JOIN answers a ON a.id = v.answer_id ORDER BY v.created, v.rowid"
        ).fetchall()
    return [
        {
            "answer_id": answer_id,
            "question": question,
            "citations": json.loads(citations),
            "vote": vote,
            "user_sha256": user_hash,
            "time": created,
        }
        for answer_id, question, citations, vote, user_hash, created in rows
    ]


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="microseconds")
