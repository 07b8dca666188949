"""The optional language model (PITWALL_LLM_URL: any OpenAI-compatible server, e.g. Ollama, llama.cpp's
server, vLLM): after the quotes are chosen, one request asks it for a one-line answer in the question's
language citing the quotes by number, translations of the quotes in another language, and a verdict whether
the quotes state what was asked. What it says is shown only after `bot.answering.verify` checks it.

The one module that imports `openai`, and only when a model is set. Any failure (server down, slow, an
error status, a refusal, a reply that is not the JSON asked for) leaves the answer as it is without a model,
within the timeout, with one log line; the API key is never logged nor part of an error.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import threading
import time
from dataclasses import dataclass, replace
from typing import Any

from pydantic import SecretStr

from bot.answering.answers import Answer
from bot.answering.verify import (
    MAX_ANSWER_CHARS,
    NOT_STATED,
    STATED,
    ModelReading,
    checked_answer,
    to_translate,
)
from index.errors import UserError

log = logging.getLogger(__name__)

LANGUAGE_NAMES = {"en": "English", "de": "German"}
MAX_REPLY_TOKENS = 1024  # a sentence and up to three translated quotes of at most 480 characters


def reading_schema(answer: Answer) -> dict[str, Any]:
    """The JSON schema of the reply for `answer`: bounded, so that a constrained small model cannot loop
    (a translation only for the quotes to translate, each at most once; a one-line answer)."""
    numbers = to_translate(answer)
    return {
        "type": "object",
        "properties": {
            "answer": {"type": "string", "maxLength": MAX_ANSWER_CHARS},
            "translations": {
                "type": "array",
                "maxItems": len(numbers),
                "items": {
                    "type": "object",
                    "properties": {
                        "n": {"type": "integer", "enum": numbers or [0]},
                        "text": {"type": "string", "maxLength": 1000},
                    },
                    "required": ["n", "text"],
                    "additionalProperties": False,
                },
            },
            "verdict": {"type": "string", "enum": [STATED, NOT_STATED]},
        },
        "required": ["answer", "translations", "verdict"],
        "additionalProperties": False,
    }


class ModelSettingError(UserError):
    """The language-model settings cannot work as given."""


class ModelFailure(Exception):
    """No usable reply from the model; the message says why (never with the API key)."""


@dataclass(frozen=True)
class ModelStatus:
    """For /status: the model's name and how its last request went."""

    model: str
    answered_at: dt.datetime | None  # the last reply that could be read
    failed_at: dt.datetime | None  # the last failure
    failure: str  # why it is failing ("" once it answers again)


def prompt_messages(answer: Answer) -> list[dict[str, str]]:
    """The chat message asking the model to read `answer`'s quotes: instructions, question, quotes."""
    language = LANGUAGE_NAMES.get(answer.language, "English")
    numbers = to_translate(answer)
    translate = (
        f"for each of the quotes {', '.join(f'[{n}]' for n in numbers)}, its faithful {language} translation"
        if numbers
        else "an empty list (every quote is in the question's language already)"
    )
    instructions = (
        "You read numbered quotes from news articles and answer a question from them alone. "
        "Reply with one JSON object and nothing else, with these keys:\n"
        f'"answer": one short sentence in {language} that answers the question using only what the quotes '
        "say, citing each quote it uses by its number in brackets, e.g. [1] or [1][2]. Write names, numbers "
        "and dates exactly as the quotes do. Add nothing the quotes do not say.\n"
        f'"translations": {translate}, as a list of {{"n": number, "text": translation}}.\n'
        '"verdict": "stated" if the quotes state what the question asks, "not stated" if they do not '
        "(for example when they are about the subject but not about the asked fact)."
    )
    quotes = "\n".join(  # a line a quote: a quote across a paragraph break stays under its number
        f"[{c.n}] ({c.title}{', ' + c.published.isoformat() if c.published else ''}) {_one_line(c.quote)}"
        for c in answer.citations
    )
    # one user message: some models (Gemma) have no system role, and some servers drop it
    return [
        {"role": "user", "content": f"{instructions}\n\nQuestion: {answer.question}\n\nQuotes:\n{quotes}"}
    ]


def _one_line(text: str) -> str:
    return " ".join(text.split())


def parse_reading(text: str) -> ModelReading:
    """The model's reply as a ModelReading; ValueError when it holds no JSON object. Lenient with the
    rest: code fences, text around the object, translations as a list or a mapping, verdict spellings."""
    text = re.sub(r"^\s*```(?:json)?|```\s*$", "", text.strip())
    start, end = text.find("{"), text.rfind("}")
    if start < 0 or end < start:
        raise ValueError("the reply holds no JSON object")
    data = json.loads(text[start : end + 1], strict=False)  # strict=False: raw newlines in strings
    if not isinstance(data, dict):
        raise ValueError("the reply is not a JSON object")
    answer = data.get("answer")
    return ModelReading(
        answer.strip() if isinstance(answer, str) else "",
        _translations(data.get("translations")),
        _verdict(data.get("verdict")),
    )


def _translations(value: object) -> dict[int, str]:
    pairs: list[tuple[object, object]] = []
    if isinstance(value, list):
        pairs = [
            (item.get("n"), item.get("text", item.get("translation")))
            for item in value
            if isinstance(item, dict)
        ]
    elif isinstance(value, dict):
        pairs = list(value.items())
    found = {}
    for n, text in pairs:
        try:
            number = int(str(n).strip("[] "))
        except ValueError:
            continue
        if isinstance(text, str) and text.strip():
            found[number] = text.strip()
    return found


def _verdict(value: object) -> str:
    words = re.sub(r"[\s_-]+", " ", str(value or "")).strip().lower()
    return {STATED: STATED, NOT_STATED: NOT_STATED, "unstated": NOT_STATED}.get(words, "")


class LanguageModel:
    """A client of one model on an OpenAI-compatible server, safe to share between threads."""

    def __init__(self, url: str, model: str, api_key: SecretStr, timeout: float) -> None:
        if not model:
            raise ModelSettingError(
                "PITWALL_LLM_URL is set but PITWALL_LLM_MODEL is not: name the model the server runs, "
                "e.g. PITWALL_LLM_MODEL=llama3.2"
            )
        if not re.match(r"https?://", url):
            raise ModelSettingError(
                f"PITWALL_LLM_URL must be an http(s) address such as http://localhost:11434/v1, got {url!r}"
            )
        import openai

        self.model = model
        self.timeout = timeout
        self._key = api_key.get_secret_value()
        self._openai = openai
        self._client = openai.OpenAI(
            base_url=url,
            api_key=self._key or "none",  # local servers want no key; the client wants one
            timeout=timeout,
            max_retries=0,
        )
        self._schema = True  # ask for JSON by schema until the server refuses that
        self._state_lock = threading.Lock()
        self._answered_at: dt.datetime | None = None
        self._failed_at: dt.datetime | None = None
        self._failure = ""

    def read(self, answer: Answer) -> Answer:
        """`answer` read by the model and verified; `answer` itself (outcome "failed") when the model
        gives no usable reply within the timeout. Abstentions are returned as they are."""
        if answer.abstained or not answer.citations:
            return answer
        outcome: list[ModelReading | BaseException] = []
        done = threading.Event()

        def request() -> None:
            try:
                outcome.append(self._reading(answer, time.monotonic() + self.timeout))
            except BaseException as error:  # noqa: BLE001 - handed to the asking thread
                outcome.append(error)
            finally:
                done.set()

        # a daemon thread, so that the answer comes at the timeout even from a server that trickles bytes,
        # and a process never waits at exit for a request it gave up on
        threading.Thread(target=request, name="pitwall-llm", daemon=True).start()
        if not done.wait(self.timeout):
            return self._failed(answer, f"no reply within {self.timeout:g} s")
        reading = outcome[0]
        if isinstance(reading, ModelFailure):
            return self._failed(answer, str(reading))
        if isinstance(reading, BaseException):  # whatever broke, the asker gets the answer without it
            return self._failed(answer, f"{type(reading).__name__}: {reading}")
        with self._state_lock:
            if self._failure:
                log.info("language model %s answers again", self.model)
            self._answered_at, self._failure = dt.datetime.now(dt.UTC), ""
        checked, dropped = checked_answer(answer, reading, self.model)
        if dropped:
            log.info("language model %s: dropped %s", self.model, self._redacted(dropped))
        return checked

    def status(self) -> ModelStatus:
        with self._state_lock:
            return ModelStatus(self.model, self._answered_at, self._failed_at, self._failure)

    def _reading(self, answer: Answer, deadline: float) -> ModelReading:
        try:
            text = self._complete(prompt_messages(answer), reading_schema(answer), deadline)
        except self._openai.APITimeoutError:
            raise ModelFailure(f"no reply within {self.timeout:g} s") from None
        except self._openai.APIConnectionError as error:
            raise ModelFailure(f"cannot reach the server ({error.__cause__ or error})") from None
        except self._openai.APIStatusError as error:
            said = " ".join(str(error.message).split())[:300]
            raise ModelFailure(f"the server answered {error.status_code}: {said}") from None
        try:
            return parse_reading(text)
        except ValueError as error:
            raise ModelFailure(f"the reply is not the JSON asked for ({error})") from None

    def _complete(self, messages: list[dict[str, str]], schema: dict[str, Any], deadline: float) -> str:
        kwargs: dict[str, Any] = {
            "model": self.model,
            "messages": messages,
            "temperature": 0,
            "max_tokens": MAX_REPLY_TOKENS,
        }
        if self._schema:
            named = {"name": "pitwall_reading", "schema": schema, "strict": True}
            try:
                return self._content(
                    self._client.chat.completions.create(
                        **kwargs, response_format={"type": "json_schema", "json_schema": named}
                    )
                )
            except self._openai.APIStatusError as error:
                if not _refuses_json_schema(error):
                    raise
                self._schema = False
                log.info("the language model server refuses json_schema; asking for json_object")
        # JSON mode; the schema goes along (llama-cpp-python's server constrains the reply by it) and is in
        # the prompt for servers that ignore it
        remaining = max(deadline - time.monotonic(), 0.1)
        return self._content(
            self._client.with_options(timeout=remaining).chat.completions.create(
                **kwargs, response_format={"type": "json_object", "schema": schema}
            )
        )

    def _content(self, completion: Any) -> str:
        if not completion.choices:
            raise ModelFailure("the reply has no choices")
        choice = completion.choices[0]
        refusal = getattr(choice.message, "refusal", None)
        if refusal or choice.finish_reason == "content_filter":
            raise ModelFailure(f"the model refused ({refusal or 'content filter'})")
        if not choice.message.content:
            raise ModelFailure("the reply is empty")
        return choice.message.content

    def _failed(self, answer: Answer, reason: str) -> Answer:
        reason = self._redacted(reason)
        with self._state_lock:
            repeated = self._failure == reason
            self._failed_at, self._failure = dt.datetime.now(dt.UTC), reason
        if repeated:  # one line per outage, not one per question
            log.debug("language model %s: %s", self.model, reason)
        else:
            log.warning("language model %s: %s; answering without it", self.model, reason)
        return replace(answer, model=self.model, model_outcome="failed")

    def _redacted(self, text: str) -> str:
        return text.replace(self._key, "[API key]") if self._key else text


def _refuses_json_schema(error: Exception) -> bool:
    """The server does not know `response_format` json_schema: a 400 or 422 (OpenAI-like servers), or
    any error naming it (llama-cpp-python's server answers 500)."""
    status = getattr(error, "status_code", 0)
    said = str(getattr(error, "message", ""))
    return status in (400, 422) or "json_schema" in said or "response_format" in said
