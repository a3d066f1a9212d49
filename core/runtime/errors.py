"""Errors of the model runtime. Each message is fit for a person to read."""
from __future__ import annotations

from core.base.errors import EngramError


class ModelFileError(EngramError):
    """The GGUF file is missing, corrupt, truncated or of an unsupported kind."""


class ModelLoadError(EngramError):
    """llama.cpp refused the model or the settings (e.g. an impossible KV cache type)."""


class WorkerCrashedError(EngramError):
    """The model worker process died (segfault, out of memory, killed). The next request
    starts a new one."""


class GenerationError(EngramError):
    """The model could not produce a reply (bad grammar, context too small, server error)."""


class StructuredAnswerError(GenerationError):
    """A structured (JSON) answer could not be read or does not match its schema."""


class RemoteModelError(GenerationError):
    """The OpenAI-compatible server could not be reached or answered with an error."""


class DownloadError(EngramError):
    """A model download failed or its checksum did not match."""
