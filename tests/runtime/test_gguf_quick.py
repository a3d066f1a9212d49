"""The fast header reader used for listings gives what `read_gguf_info` gives (same values, same
refusals), without parsing every vocabulary string."""
from __future__ import annotations

import pytest

from app.benchmarks.synthetic_gguf import QWEN05B_SHAPE, TINY, ModelShape, write_gguf
from core.runtime.errors import ModelFileError
from core.runtime.gguf_info import read_gguf_info
from core.runtime.gguf_quick import quick_gguf_info


def test_same_info_as_the_gguf_package(tmp_path, tiny_gguf):
    files = [tiny_gguf,
             write_gguf(tmp_path / "gqa.gguf", ModelShape(n_layers=3, n_embd=256, n_head=4,
                                                          n_head_kv=2, n_ff=256, n_vocab=900,
                                                          weight_type="q8_0")),
             write_gguf(tmp_path / "split" / "s.gguf", TINY, split_max_tensors=6),
             write_gguf(tmp_path / "notemplate.gguf", TINY, chat_template=None)]
    for f in files:
        assert quick_gguf_info(f) == read_gguf_info(f)


@pytest.mark.model
def test_same_info_for_the_starter_model_and_much_faster(starter_gguf):
    import time

    t = time.process_time()
    quick = quick_gguf_info(starter_gguf)
    quick_s = time.process_time() - t
    t = time.process_time()
    slow = read_gguf_info(starter_gguf)
    slow_s = time.process_time() - t
    assert quick == slow and quick.vocab_size == 262144 and quick.head_dim == 256
    assert quick_s < slow_s / 5          # measured here: 0.02 s against 9.8 s of CPU


def test_same_refusals(tmp_path, tiny_gguf):
    data = tiny_gguf.read_bytes()
    cases = {
        "text.gguf": b"hello, I am not a model at all",
        "version.gguf": b"GGUF" + (9).to_bytes(4, "little") + data[8:],
        "truncated.gguf": data[: len(data) // 2],
        "header-cut.gguf": data[:300],
        "short.gguf": b"GG",
    }
    for name, content in cases.items():
        p = tmp_path / name
        p.write_bytes(content)
        with pytest.raises(ModelFileError) as slow:
            read_gguf_info(p)
        with pytest.raises(ModelFileError) as quick:
            quick_gguf_info(p)
        if name == "truncated.gguf":   # the gguf package cannot even map it; this says why
            assert f"is truncated: {len(content)} bytes on disk" in str(quick.value)
            assert "truncated" in str(slow.value)
        else:
            assert str(quick.value) == str(slow.value), name
    with pytest.raises(ModelFileError, match="not found"):
        quick_gguf_info(tmp_path / "missing.gguf")


def test_qwen_shaped_model(tmp_path):
    shape = ModelShape(**{**QWEN05B_SHAPE.__dict__, "n_layers": 2, "n_vocab": 32000})
    p = write_gguf(tmp_path / "q.gguf", shape)
    assert quick_gguf_info(p) == read_gguf_info(p)


def test_falls_back_to_the_full_reader_when_gguf_info_grows(tiny_gguf, monkeypatch):
    """If GGUFInfo gains a field this reader does not fill, it answers with read_gguf_info
    (right, if slow) instead of failing."""
    import dataclasses

    from core.runtime import gguf_info, gguf_quick

    @dataclasses.dataclass(frozen=True)
    class Grown(gguf_info.GGUFInfo):
        new_field: str = dataclasses.field(default=dataclasses.MISSING)   # required

    calls = []
    monkeypatch.setattr(gguf_quick, "GGUFInfo", Grown)
    monkeypatch.setattr(gguf_info, "read_gguf_info", lambda p: calls.append(p) or "full")
    assert quick_gguf_info(tiny_gguf) == "full" and calls == [tiny_gguf]
