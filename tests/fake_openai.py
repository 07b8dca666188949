"""A local OpenAI-compatible server for tests: POST /v1/chat/completions answers what the test says.

`FakeModelServer.reply` sets the next replies: a JSON reading (dict), raw text (str), a status code, a
delay, or a function of the request's messages. Every request is kept (headers and body) for asserts.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Content = dict | str | Callable[[list[dict[str, str]]], dict | str]


@dataclass
class Behaviour:
    content: Content = ""
    status: int = 200
    delay: float = 0.0
    refusal: str | None = None
    schema_refused: bool = False  # answer 400 to response_format json_schema (an older server)


@dataclass
class Request:
    headers: dict[str, str]
    body: dict[str, Any]


@dataclass
class FakeModelServer:
    behaviour: Behaviour = field(default_factory=Behaviour)
    requests: list[Request] = field(default_factory=list)

    def __post_init__(self) -> None:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
                server.requests.append(Request({k.lower(): v for k, v in self.headers.items()}, body))
                b = server.behaviour
                time.sleep(b.delay)
                if b.schema_refused and body.get("response_format", {}).get("type") == "json_schema":
                    return self._send(400, {"error": {"message": "json_schema is not supported"}})
                if b.status != 200:  # a careless server that echoes the request's headers
                    message = f"the model crashed serving {dict(self.headers)}"
                    return self._send(b.status, {"error": {"message": message}})
                content = b.content(body["messages"]) if callable(b.content) else b.content
                text = content if isinstance(content, str) else json.dumps(content, ensure_ascii=False)
                message = {"role": "assistant", "content": None if b.refusal else text, "refusal": b.refusal}
                self._send(200, completion(body.get("model", ""), message))

            def _send(self, status: int, payload: dict) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # the client gave up
                    self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def reply(self, content: Content = "", **behaviour: Any) -> None:
        self.behaviour = Behaviour(content, **behaviour)

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def completion(model: str, message: dict) -> dict:
    return {
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "created": 0,
        "model": model,
        "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
    }


def quotes_of(messages: list[dict[str, str]]) -> dict[int, str]:
    """The numbered quotes of Pitwall's request, as the model reads them."""
    quotes = {}
    for line in messages[-1]["content"].split("Quotes:\n", 1)[1].splitlines():
        number, rest = line.split("]", 1)
        quotes[int(number.strip("["))] = rest.split(") ", 1)[1]
    return quotes
