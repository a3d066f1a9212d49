"""The shipped model catalogue, what fits a machine, and catalogue downloads from a local HTTP
server on 127.0.0.1 (resume after a cut, a wrong checksum refused, size + header checks)."""
from __future__ import annotations

import hashlib
import json
import socket
from pathlib import Path

import pytest

from app.benchmarks.synthetic_gguf import ModelShape, write_gguf
from core.runtime.catalogue import (
    FITS,
    TIGHT,
    TOO_BIG,
    CatalogueError,
    assess,
    assess_all,
    find_entry,
    load_catalogue,
    parse_size,
)
from core.runtime.downloads import cancel_download, download_entry, partial_path
from core.runtime.errors import DownloadError
from core.runtime.gguf_info import read_gguf_info
from core.runtime.machine import GIB, GpuDevice, MachineMemory
from tests.runtime.local_http import RangeHandler, serve_folder

GB = 10**9


def test_shipped_catalogue_is_complete_and_sourced():
    entries = load_catalogue()
    assert len(entries) >= 8
    names = {e.name for e in entries}
    assert {"qwen2.5-0.5b-instruct", "llama-3.1-8b-instruct"} <= names
    for e in entries:
        assert e.instruct and e.url.startswith("https://huggingface.co/")
        assert e.url.endswith("/" + e.file_name)
        assert e.licence and e.licence_url.startswith(("https://", "http://"))
        assert any("size" in k for k in e.sources) and any("layers" in k for k in e.sources)
        assert e.sha256 or "No checksum" in e.sha256_note      # never a silent gap
        lo, hi = e.size_range
        assert 0.3 * GB < lo < hi < 6 * GB and e.trained_context >= 32768
        if e.sha256:                   # a checksum belongs to one revision: pinned in the URL
            assert "/resolve/main/" not in e.url
    sizes = [e.size_bytes for e in entries]
    assert min(sizes) < 0.5 * GB and max(sizes) > 4.5 * GB         # about 0.5B to 8B


def test_sizes_keep_the_precision_the_page_showed():
    assert parse_size("398 MB") == (398_000_000, 500_000)
    assert parse_size("2.02 GB") == (2_020_000_000, 5_000_000)
    with pytest.raises(CatalogueError, match="Unreadable size"):
        parse_size("about 2 gigs")


def test_memory_uses_the_runtimes_kv_formula(tmp_path):
    """The catalogue's KV figure equals what the runtime reports for a GGUF of that shape."""
    e = find_entry("qwen2.5-0.5b-instruct", load_catalogue())
    shape = ModelShape(n_layers=e.n_layers, n_embd=64 * 2, n_head=2, n_head_kv=e.n_head_kv,
                       n_ff=64, n_vocab=300)
    # head size 64 = n_embd / n_head, as in Qwen2.5 0.5B
    info = read_gguf_info(write_gguf(tmp_path / "shape.gguf", shape))
    for t in ("f16", "q8_0", "q4_0"):
        assert e.kv_bytes(4096, t, t) == int(info.kv_bytes_per_token(t, t) * 4096)
    assert e.memory_needed(4096) == e.size_bytes + e.kv_bytes(4096)


def _machine(total_gb: float, free_gb: float | None, gpus=()) -> MachineMemory:
    return MachineMemory(int(total_gb * GIB), None if free_gb is None else int(free_gb * GIB),
                         list(gpus))


def test_what_fits_a_small_laptop_and_why_not():
    entries = load_catalogue()
    small = find_entry("qwen2.5-0.5b-instruct", entries)
    big = find_entry("llama-3.1-8b-instruct", entries)
    m = _machine(4, 3)
    ok, no = assess(small, m), assess(big, m)
    assert ok.status == FITS and "free" in ok.reason
    assert no.status == TOO_BIG
    assert "too big" in no.reason and "4.29 GB of RAM" in no.reason and "KV cache" in no.reason
    ranked = assess_all(entries, m)
    statuses = [f.status for f in ranked]
    assert statuses == sorted(statuses, key=[FITS, TIGHT, TOO_BIG].index)   # what fits first
    assert ranked[0].status == FITS and ranked[-1].status == TOO_BIG


def test_enough_ram_but_too_little_free_is_tight():
    big = find_entry("qwen2.5-7b-instruct", load_catalogue())
    f = assess(big, _machine(16, 3))
    assert f.status == TIGHT and "close other programs" in f.reason


def test_a_gpu_with_room_holds_the_whole_model():
    big = find_entry("llama-3.1-8b-instruct", load_catalogue())
    f = assess(big, _machine(4, 2, [GpuDevice("Test GPU", 12 * GB, 12 * GB)]))
    assert f.status == FITS and "fits on the GPU" in f.reason
    part = assess(big, _machine(16, 14, [GpuDevice("Test GPU", 3 * GB, 4 * GB)]))
    assert part.status == FITS and "of 32 layers on the GPU" in part.on_gpu


def test_unknown_name_says_what_to_do():
    with pytest.raises(CatalogueError, match="engram models list"):
        find_entry("llama-9", load_catalogue())


def test_catalogue_and_fitting_open_no_connection(monkeypatch):
    def refuse(*a, **kw):
        raise AssertionError("network used")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    assess_all(load_catalogue(), _machine(8, 6))


# -- downloads against a local server --------------------------------------------------------
@pytest.fixture
def served(tmp_path):
    """A generated GGUF served on 127.0.0.1, and a catalogue entry pointing at it."""
    root = tmp_path / "served"
    root.mkdir()
    model = write_gguf(root / "test-model-Q8_0.gguf",
                       ModelShape(n_layers=3, n_embd=128, n_head=2, n_head_kv=2, n_ff=256,
                                  n_vocab=600))
    srv = serve_folder(root)
    data = model.read_bytes()

    def make_catalogue(**over) -> Path:
        entry = {
            "name": "test-model", "display_name": "Test model", "family": "Test",
            "parameters": "1M", "quantization": "Q8_0", "architecture": "llama",
            "trained_context": 4096, "n_layers": 3, "n_head_kv": 2, "head_dim": 64,
            "file_name": model.name,
            "url": f"https://127.0.0.1:{srv.server_address[1]}/{model.name}",
            "size": f"{len(data) / 1e6:.3g} MB", "sha256": hashlib.sha256(data).hexdigest(),
            "licence": "test", "licence_url": "https://example.invalid/licence",
            "sources": {"file, size": "generated by the test", "layers": "the test"}}
        entry.update(over)
        path = tmp_path / f"catalogue-{len(list(tmp_path.glob('catalogue-*')))}.json"
        path.write_text(json.dumps({"models": [entry]}))
        return path

    def entry(**over):
        e = load_catalogue(make_catalogue(**over))[0]
        # the catalogue demands https; the local server speaks http
        return type(e)(**{**e.to_dict(), "url": e.url.replace("https://", "http://")})

    yield entry, data
    srv.shutdown()
    srv.server_close()
    RangeHandler.cut_after = None


def test_download_resumes_after_a_cut_and_verifies(served, tmp_path):
    entry, data = served
    e = entry()
    dest = tmp_path / "models"
    RangeHandler.cut_after = 40_000
    with pytest.raises(DownloadError, match="resume"):
        download_entry(e, dest, chunk=4096)
    assert partial_path(dest, e.file_name).stat().st_size == 40_000
    RangeHandler.cut_after = None
    seen: list[int] = []
    path = download_entry(e, dest, progress=lambda p: seen.append(p.done), chunk=8192)
    assert path.read_bytes() == data and not partial_path(dest, e.file_name).exists()
    assert 40_000 < seen[0] <= 40_000 + 8192 and seen[-1] == len(data)   # resumed
    assert read_gguf_info(path).n_layers == 3


def test_wrong_checksum_is_refused_and_the_partial_removed(served, tmp_path):
    entry, _ = served
    e = entry(sha256="0" * 64)
    dest = tmp_path / "models"
    with pytest.raises(DownloadError) as err:
        download_entry(e, dest)
    msg = str(err.value)
    assert "Checksum mismatch" in msg and "expected sha256 000000000000" in msg
    assert "deleted" in msg
    assert not (dest / e.file_name).exists() and not partial_path(dest, e.file_name).exists()


def test_without_checksum_size_and_header_verify_the_file(served, tmp_path):
    entry, data = served
    ok = entry(sha256="", sha256_note="No checksum was found for this file.")
    assert download_entry(ok, tmp_path / "a").read_bytes() == data
    wrong_shape = entry(sha256="", n_layers=32)
    with pytest.raises(DownloadError, match="header says llama with 3 layers"):
        download_entry(wrong_shape, tmp_path / "b")
    assert not (tmp_path / "b" / ok.file_name).exists()
    wrong_size = entry(sha256="", size="5.00 GB")
    with pytest.raises(DownloadError, match="the catalogue expects 5.00 GB"):
        download_entry(wrong_size, tmp_path / "c")
    assert not any((tmp_path / "c").iterdir())


def test_pause_keeps_the_partial_and_cancel_removes_it(served, tmp_path):
    entry, _ = served
    e = entry()
    dest = tmp_path / "models"
    with pytest.raises(DownloadError, match="paused"):
        done: list[int] = [0]
        download_entry(e, dest, chunk=4096, progress=lambda p: done.append(p.done),
                       should_stop=lambda: done[-1] >= 8192)
    part = partial_path(dest, e.file_name)
    assert part.exists() and part.stat().st_size >= 8192
    assert cancel_download(dest, e.file_name) and not part.exists()
    assert not cancel_download(dest, e.file_name)
