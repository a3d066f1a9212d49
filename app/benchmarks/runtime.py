"""`engram bench runtime [--model PATH] [--json]`: the model runtime's figures, measured in one run.

Without --model it writes a random-weight GGUF of Qwen2.5-0.5B's shape (24 layers, hidden 896,
14 heads, 2 KV heads; Q8_0) into the cache folder, so timings mean something without real
weights. With --model (e.g. the starter model) it also measures real-weights quality: KV cache
types and eviction policies vs an uncompressed f16 cache.
"""
from __future__ import annotations

import json
import os
import platform
import tempfile
import time
from pathlib import Path
from typing import Any

from app.cli import print_json

SHARED_LOCOMO = Path(__file__).resolve().parents[2].parent / "shared/data/locomo-dev/locomo_dev2.json"


def register(sub) -> None:
    p = sub.add_parser("runtime", help="model runtime: speed, KV bytes, resume, eviction")
    p.add_argument("--model", help="a GGUF file (default: a generated Qwen2.5-0.5B-shaped one)")
    p.add_argument("--starter", action="store_true", help="use the starter model (Gemma 3 270M)")
    p.add_argument("--json", action="store_true")
    p.add_argument("--quick", action="store_true", help="smaller sizes (a smoke run)")
    p.set_defaults(func=run)


def dialogue_turns() -> list[tuple[str, str]]:
    """A fixed dialogue: LoCoMo's dev split when ../shared has it, else a built-in text."""
    if SHARED_LOCOMO.exists():
        data = json.loads(SHARED_LOCOMO.read_text("utf-8"))
        conv = data[0]["conversation"]
        turns = []
        for i in range(1, 40):
            for t in conv.get(f"session_{i}", []):
                turns.append((t["speaker"], t["text"]))
        return turns
    base = ("I went to the garden this morning and planted tomatoes with my sister. "
            "We talked about the trip to Paris next spring and the book club on Friday.")
    return [("A" if i % 2 else "B", f"{base} ({i})") for i in range(400)]


def dialogue_text() -> str:
    return "\n".join(f"{s}: {t}" for s, t in dialogue_turns())


def _model(args, ctx, notes: list[str]) -> Path:
    if args.model:
        return Path(args.model)
    if args.starter:
        from core.runtime.starter_model import ensure_starter_model

        return ensure_starter_model(ctx.layout.models_dir)
    from app.benchmarks.synthetic_gguf import QWEN05B_SHAPE, write_gguf

    path = ctx.layout.cache_dir / "bench" / "random-qwen2.5-0.5b-shape-q8_0.gguf"
    if not path.exists():
        t = time.perf_counter()
        write_gguf(path, QWEN05B_SHAPE, seed=0, name="random Qwen2.5-0.5B shape")
        notes.append(f"generated {path.name} in {time.perf_counter() - t:.0f} s")
    return path


def _raw_decode_tps(model: str, prompt: str, n: int, n_ctx: int) -> float:
    import llama_cpp

    llm = llama_cpp.Llama(model, n_ctx=n_ctx, n_batch=512, n_ubatch=512, verbose=False,
                          type_k=1, type_v=1, swa_full=True, seed=1)
    try:
        toks = llm.tokenize(prompt.encode())
        gen = llm.generate(toks, temp=0.7, top_p=0.95)
        next(gen)
        t = time.perf_counter()
        for _ in range(n - 1):
            next(gen)
        dt = time.perf_counter() - t
        gen.close()
        return (n - 1) / dt
    finally:
        llm.close()


def _engram_decode_tps(model: str, prompt: str, n: int, n_ctx: int) -> float:
    from core.base.llm import GenerationParams
    from core.runtime.kv_config import RuntimeConfig
    from core.runtime.local_llm import LocalLLM

    with LocalLLM(model, RuntimeConfig(model, n_ctx=n_ctx)) as llm:
        llm.count_tokens("warm up")                      # start the worker, load the model
        times: list[float] = []
        _, st = llm.complete(prompt, GenerationParams(max_tokens=n, ignore_eos=True, seed=1),
                             on_token=lambda p: times.append(time.perf_counter()))
        return (st.completion_tokens - 1) / (times[-1] - times[0])


def measure_throughput(model: str, n: int, rounds: int) -> dict[str, float]:
    prompt = dialogue_text()[:300]
    raw, eng = [], []
    for _ in range(rounds):
        raw.append(_raw_decode_tps(model, prompt, n, 1024))
        eng.append(_engram_decode_tps(model, prompt, n, 1024))
    return {"raw_tokens_per_s": max(raw), "engram_tokens_per_s": max(eng),
            "ratio": max(eng) / max(raw), "tokens": n, "rounds": rounds}


def measure_kv_bytes(model: str, info, tokens: list[int]) -> dict[str, Any]:
    from app.benchmarks.kv_quality import kv_bytes_per_token

    out = {}
    for t in ("f16", "q8_0", "q4_0"):
        measured = kv_bytes_per_token(model, t, t, tokens)
        formula = info.kv_bytes_per_token(t, t)
        out[t] = {"measured": round(measured, 1), "formula": formula,
                  "ratio": round(measured / formula, 4)}
    return out


def _conversation(llm, target_tokens: int):
    from core.base.llm import ChatMessage

    msgs = [ChatMessage("system", "You are Engram, a helpful assistant with a memory.")]
    for speaker, text in dialogue_turns():
        msgs.append(ChatMessage("user" if len(msgs) % 2 else "assistant", f"{speaker}: {text}"))
        if len(msgs) % 10 == 0 and llm.count_tokens(llm.render(msgs)) >= target_tokens:
            break
    if msgs[-1].role != "user":
        msgs.append(ChatMessage("user", "Let us go on."))
    return msgs


def measure_resume(model: str, n_tokens: int) -> dict[str, Any]:
    from core.base.llm import ChatMessage, GenerationParams
    from core.runtime.kv_config import RuntimeConfig
    from core.runtime.local_llm import LocalLLM

    cfg = RuntimeConfig(model, n_ctx=n_tokens + 512, type_k="f16", type_v="f16")
    p = GenerationParams(max_tokens=1, seed=1, ignore_eos=True)
    with tempfile.TemporaryDirectory() as kv:
        with LocalLLM(model, cfg, kv_state_dir=kv) as a:
            msgs = _conversation(a, n_tokens)
            reply, first = a.chat(msgs, p, session="bench")
        state_bytes = sum(f.stat().st_size for f in Path(kv).iterdir())
        msgs2 = msgs + [ChatMessage("assistant", reply or "ok"),
                        ChatMessage("user", "What did we talk about?")]
        # Both workers are warm (weights paged in, compute graphs built), as in an app where
        # the model is already loaded when the user reopens a conversation.
        warm = GenerationParams(max_tokens=2, seed=1)
        with LocalLLM(model, cfg, kv_state_dir=kv) as b:
            b.complete("Warm up.", warm)
            _, resumed = b.chat(msgs2, p, session="bench")
        with LocalLLM(model, cfg) as c:
            c.complete("Warm up.", warm)
            _, fresh = c.chat(msgs2, p)
    return {"conversation_tokens": first.prompt_tokens, "state_file_bytes": state_bytes,
            "resume_ttft_s": resumed.seconds_to_first_token,
            "resume_cached_tokens": resumed.cached_tokens,
            "reprocess_ttft_s": fresh.seconds_to_first_token,
            "ratio": resumed.seconds_to_first_token / fresh.seconds_to_first_token}


def measure_eviction_correctness(tmp: Path) -> dict[str, float]:
    """Logits after an in-place eviction vs a fresh context fed the kept tokens, on 1-layer
    models: head size 32 (f32/f16 K) and head size 64 (quantized K, flash attention on)."""
    import numpy as np

    from app.benchmarks.kv_quality import eviction_logit_error
    from app.benchmarks.synthetic_gguf import ModelShape, write_gguf, write_tiny_gguf

    one = str(write_tiny_gguf(tmp / "one-layer.gguf", n_layers=1))
    hd64 = str(write_gguf(tmp / "one-layer-hd64.gguf", ModelShape(
        n_layers=1, n_embd=128, n_head=2, n_head_kv=2, n_ff=128, n_vocab=512)))
    toks = [1] + np.random.default_rng(0).integers(5, 500, 400).tolist()
    out = {f"{pol}_{ct}": eviction_logit_error(one, toks, 120, pol, ct)
           for pol in ("streaming", "sirllm") for ct in ("f32", "f16")}
    for ct in ("q8_0", "q4_0"):
        out[f"streaming_{ct}_flash_attn_hd64"] = eviction_logit_error(
            hd64, toks, 120, "streaming", ct, flash_attn=True)
    return out


def measure_overflow_pause(model: str, tokens: list[int], n_ctx: int,
                           rounds: int) -> dict[str, Any]:
    """The pause when the context overflows with the default q8_0/q8_0 cache: evicting in place
    vs re-processing the kept tokens, alternating in one run."""
    from app.benchmarks.kv_quality import overflow_pause

    load_before = _loadavg()
    res = overflow_pause(model, tokens, n_ctx, "q8_0", "q8_0", rounds=rounds).summary()
    res["loadavg"] = f"{load_before} -> {_loadavg()}"
    return res


def _loadavg() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "n/a"


def run(args, ctx) -> int:
    from app.benchmarks.kv_quality import compare_eviction, compare_kv_types, session
    from core.runtime.gguf_info import read_gguf_info

    notes: list[str] = []
    model_path = _model(args, ctx, notes)
    info = read_gguf_info(model_path)
    model = str(model_path)
    quick = args.quick
    real = bool(args.model or args.starter)
    t_all = time.perf_counter()
    res: dict[str, Any] = {
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(),
                    "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
                                        / 2**30, 1), "gpu": "none"},
        "model": {"path": model, "description": info.describe(), "layers": info.n_layers,
                  "kv_heads": info.n_head_kv, "head_dim": info.head_dim,
                  "random_weights": not real}}
    tok = session(model, n_ctx=4096)
    text_tokens = tok.tokenize(dialogue_text())
    tok.close()
    res["throughput"] = measure_throughput(model, 33 if quick else 128, 1 if quick else 2)
    res["kv_bytes_per_token"] = measure_kv_bytes(model, info, text_tokens[: 160 if quick else 544])
    res["resume"] = measure_resume(model, 300 if quick else 2000)
    with tempfile.TemporaryDirectory() as tmp:
        res["eviction_correctness_max_abs_logit_diff"] = measure_eviction_correctness(Path(tmp))
    if info.head_dim % 64 == 0:
        n_ctx = 512 if quick else 2048
        res["overflow_pause_q8_0"] = measure_overflow_pause(
            model, (text_tokens * 4)[:n_ctx], n_ctx, 1 if quick else 3)
    else:
        notes.append(f"overflow pause not measured: head size {info.head_dim} cannot be shifted "
                     f"with a quantized K cache in this build")
    if real:
        n = 300 if quick else 1000
        res["kv_types_vs_f16"] = compare_kv_types(
            model, text_tokens[:n], [("q8_0", "q8_0"), ("q4_0", "q4_0"), ("f16", "q8_0"),
                                     ("f16", "q4_0")])
        res["eviction_vs_full"] = compare_eviction(
            model, text_tokens[: (400 if quick else 1024)], 300 if quick else 768, [0.5, 0.25])
    else:
        res["eviction_vs_full"] = compare_eviction(
            model, text_tokens[: (300 if quick else 1088)], 240 if quick else 1024, [0.5])
    res["seconds"] = round(time.perf_counter() - t_all, 1)
    res["notes"] = notes
    if args.json:
        print_json(res)
    else:
        _print(res)
    return 0


def _print(r: dict[str, Any]) -> None:
    m = r["machine"]
    print(f"machine: {m['cpus']} cores, {m['memory_gib']} GiB, no GPU; model: "
          f"{r['model']['description']}{' (random weights)' if r['model']['random_weights'] else ''}")
    t = r["throughput"]
    print(f"decode tokens/s: Engram runtime {t['engram_tokens_per_s']:.1f} / raw llama-cpp-python "
          f"{t['raw_tokens_per_s']:.1f} = {t['ratio']:.3f} (target >= 0.97)")
    for k, v in r["kv_bytes_per_token"].items():
        print(f"KV bytes/token {k}: measured {v['measured']:.1f} / formula {v['formula']:.1f} = "
              f"{v['ratio']:.4f} (target 1.00 +- 0.03)")
    s = r["resume"]
    print(f"resume {s['conversation_tokens']} tokens: TTFT {s['resume_ttft_s']:.3f} s from saved "
          f"state ({s['state_file_bytes'] / 1e6:.1f} MB) / {s['reprocess_ttft_s']:.2f} s "
          f"re-processing = {s['ratio']:.4f} (target <= 0.05)")
    for k, v in r["eviction_correctness_max_abs_logit_diff"].items():
        print(f"eviction correctness (1-layer, {k}): max |logit diff| {v:.2e}")
    if "overflow_pause_q8_0" in r:
        o = r["overflow_pause_q8_0"]
        print(f"overflow pause, q8_0/q8_0, context {o['n_ctx']} full, {o['kept_tokens']} kept: "
              f"in place {o['shift_s'] * 1000:.1f} ms / re-processing {o['reprocess_s']:.2f} s "
              f"= {o['ratio']:.1e} (best of {o['rounds']}; load average {o['loadavg']})")
    for name, v in r.get("kv_types_vs_f16", {}).items():
        print(f"KV {name:10} ppl {v['perplexity']:.3f}  KL {v['kl']:.4f}  "
              f"top-1 {v['top1_agreement']:.1%}")
    for name, v in r["eviction_vs_full"].items():
        print(f"eviction {name:14} kept {v['kept']:5}  ppl {v['perplexity']:.3f}  "
              f"KL {v['kl']:.4f}  top-1 {v['top1_agreement']:.1%}")
    print(f"total {r['seconds']} s" + (f"; {'; '.join(r['notes'])}" if r["notes"] else ""))
