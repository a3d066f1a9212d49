"""`RemoteLLM`: the `core.base.llm.LLM` interface over an OpenAI-compatible HTTP endpoint
(llama.cpp's server, llama-cpp-python's server, vLLM, Ollama, LM Studio).

Only the standard library is used. Streaming reads server-sent events; stopping closes the
connection. Token counts use the server's /extras/tokenize (llama-cpp-python) or /tokenize
(llama.cpp) when available, else the model-free estimate from core.base.llm.
"""
from __future__ import annotations

import json
import logging
import threading
import time
import urllib.error
import urllib.request
from typing import Any

from core.base.llm import (
    ChatMessage,
    GenerationParams,
    GenerationStats,
    StreamCallback,
    approx_tokens,
)
from core.runtime.errors import RemoteModelError
from core.runtime.stats import RuntimeStats

log = logging.getLogger(__name__)


class RemoteLLM:
    def __init__(self, base_url: str, model: str = "", api_key: str = "", *,
                 n_ctx: int = 4096, timeout: float = 120.0, kind: str = "auto") -> None:
        url = base_url.rstrip("/")
        if not url.startswith(("http://", "https://")):
            raise RemoteModelError(f"The server address must start with http:// or https://: "
                                   f"{base_url}")
        self.base = url if url.endswith("/v1") else url + "/v1"
        self.model = model
        self.api_key = api_key
        self.n_ctx = n_ctx
        self.timeout = timeout
        # a chat endpoint serves an instruct model unless the user says otherwise
        self._kind = "base" if kind == "base" else "instruct"
        self._stop = threading.Event()
        self._tokenize_path: str | None = None
        self._last_tps = 0.0

    @property
    def name(self) -> str:
        return self.model or self.base

    @property
    def kind(self) -> str:
        return self._kind

    def context_size(self) -> int:
        return self.n_ctx

    def stop(self) -> None:
        self._stop.set()

    def live_stats(self) -> RuntimeStats:
        return RuntimeStats(model=self.name, backend="remote", loaded=True, n_ctx=self.n_ctx,
                            tokens_per_second=self._last_tps)

    # -- HTTP ----------------------------------------------------------------------------
    def _request(self, path: str, body: dict[str, Any] | None = None, *, root: bool = False):
        base = self.base[: -len("/v1")] if root else self.base
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(base + path, data=data, method="POST" if data else "GET")
        req.add_header("Content-Type", "application/json")
        if self.api_key:
            req.add_header("Authorization", f"Bearer {self.api_key}")
        try:
            return urllib.request.urlopen(req, timeout=self.timeout)
        except urllib.error.HTTPError as exc:
            detail = exc.read(300).decode("utf-8", "replace").strip()
            raise RemoteModelError(f"The model server answered {exc.code}: {detail}") from exc
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise RemoteModelError(f"Cannot reach the model server at {base}: {reason}") from exc

    def models(self) -> list[str]:
        with self._request("/models") as resp:
            return [m.get("id", "") for m in json.load(resp).get("data", [])]

    def count_tokens(self, text: str) -> int:
        for path, root in ((self._tokenize_path, True),) if self._tokenize_path else (
                ("/extras/tokenize", True), ("/tokenize", True)):
            if path == "none":
                break
            try:
                body = {"input": text, "model": self.model} if "extras" in path else {
                    "content": text}
                with self._request(path, body, root=root) as resp:
                    out = json.load(resp)
                self._tokenize_path = path
                return len(out.get("tokens", []))
            except (RemoteModelError, ValueError):
                continue
        self._tokenize_path = "none"
        return approx_tokens(text)

    def _body(self, params: GenerationParams) -> dict[str, Any]:
        body: dict[str, Any] = {"max_tokens": params.max_tokens,
                                "temperature": 0.7 if params.temperature is None else params.temperature,
                                "top_p": params.top_p,
                                "stream": True}
        if self.model:
            body["model"] = self.model
        if params.stop:
            body["stop"] = params.stop
        if params.seed is not None:
            body["seed"] = params.seed
        if params.json_schema:
            body["response_format"] = {"type": "json_object", "schema": params.json_schema}
        elif params.grammar:
            body["grammar"] = params.grammar
        return body

    def chat(self, messages: list[ChatMessage], params: GenerationParams | None = None, *,
             on_token: StreamCallback | None = None,
             session: str | None = None) -> tuple[str, GenerationStats]:
        params = params or GenerationParams()
        body = self._body(params)
        body["messages"] = [{"role": m.role, "content": m.content} for m in messages]
        return self._stream("/chat/completions", body, on_token, chat=True)

    def complete(self, prompt: str, params: GenerationParams | None = None, *,
                 on_token: StreamCallback | None = None,
                 session: str | None = None) -> tuple[str, GenerationStats]:
        body = self._body(params or GenerationParams())
        body["prompt"] = prompt
        return self._stream("/completions", body, on_token, chat=False)

    def _stream(self, path: str, body: dict[str, Any], on_token: StreamCallback | None,
                chat: bool) -> tuple[str, GenerationStats]:
        self._stop.clear()
        stats = GenerationStats(finish_reason="length")
        t0 = time.perf_counter()
        t_first = None
        pieces: list[str] = []
        resp = self._request(path, body)
        try:
            for raw in resp:
                line = raw.decode("utf-8", "replace").strip()
                if not line.startswith("data:"):
                    continue
                data = line[5:].strip()
                if data == "[DONE]":
                    break
                try:
                    event = json.loads(data)
                except ValueError:
                    continue
                if "error" in event:
                    raise RemoteModelError(f"The model server failed: {event['error']}")
                choice = (event.get("choices") or [{}])[0]
                text = (choice.get("delta") or {}).get("content") if chat else choice.get("text")
                if text:
                    if t_first is None:
                        t_first = time.perf_counter()
                        stats.seconds_to_first_token = t_first - t0
                    pieces.append(text)
                    stats.completion_tokens += 1
                    if (on_token is not None and on_token(text)) or self._stop.is_set():
                        stats.stopped, stats.finish_reason = True, "cancelled"
                        break
                if choice.get("finish_reason"):
                    stats.finish_reason = choice["finish_reason"]
                usage = event.get("usage") or {}
                stats.prompt_tokens = usage.get("prompt_tokens", stats.prompt_tokens)
        except OSError as exc:
            raise RemoteModelError(f"The connection to the model server broke: {exc}") from exc
        finally:
            resp.close()
        if t_first is not None and stats.completion_tokens > 1:
            stats.tokens_per_second = (stats.completion_tokens - 1) / max(
                1e-9, time.perf_counter() - t_first)
            self._last_tps = stats.tokens_per_second
        return "".join(pieces), stats
