"""The model runtime: llama.cpp in a worker process, KV-cache compression and saved states,
a remote OpenAI-compatible backend, the model manager and constrained generation.

Nothing here imports Qt, and nothing in the app's process imports llama_cpp: only the worker
(core.runtime.worker / llama_session) does.
"""
