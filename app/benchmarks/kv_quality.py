"""Measurements of the KV cache, shared by the runtime benchmark (in-process llama.cpp).

- `kv_bytes_per_token`: llama.cpp's own size of a sequence's cached state at two lengths;
  the difference per token is what one more cached token costs.
- `compare_kv_types`: perplexity, KL divergence and top-1 agreement of next-token distributions
  for several K/V types vs an f16 cache, over the same text, contexts run in lockstep.
- `compare_eviction`: fill a cache with `prefix` tokens, evict down to a budget (StreamingLLM or
  SirLLM), then teacher-force the continuation and compare with the uncompressed cache.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.runtime.kv_config import RuntimeConfig, resolve_config
from core.runtime.llama_session import LlamaSession


def _log_softmax(rows: np.ndarray) -> np.ndarray:
    rows = rows.astype(np.float64)
    m = rows.max(axis=-1, keepdims=True)
    return rows - (m + np.log(np.exp(rows - m).sum(axis=-1, keepdims=True)))


@dataclass
class Agreement:
    nll_sum: float = 0.0
    kl_sum: float = 0.0
    top1_same: int = 0
    n: int = 0

    def add(self, ref_lp: np.ndarray, lp: np.ndarray, targets: np.ndarray) -> None:
        self.nll_sum += float(-lp[np.arange(len(targets)), targets].sum())
        p = np.exp(ref_lp)
        self.kl_sum += float((p * (ref_lp - lp)).sum())
        self.top1_same += int((ref_lp.argmax(-1) == lp.argmax(-1)).sum())
        self.n += len(targets)

    def summary(self) -> dict[str, float]:
        n = max(1, self.n)
        return {"perplexity": float(np.exp(self.nll_sum / n)), "kl": self.kl_sum / n,
                "top1_agreement": self.top1_same / n, "tokens": self.n}


def session(model: str, **kw) -> LlamaSession:
    return LlamaSession(resolve_config(RuntimeConfig(model, **kw)))


def kv_bytes_per_token(model: str, type_k: str, type_v: str, tokens: list[int],
                       n_short: int = 32) -> float:
    s = session(model, n_ctx=len(tokens) + 64, type_k=type_k, type_v=type_v)
    try:
        s.feed(tokens[:n_short])
        a = s.kv_state_size()
        s.feed(tokens[n_short:])
        b = s.kv_state_size()
        return (b - a) / (len(tokens) - n_short)
    finally:
        s.close()


def _rows(s: LlamaSession, n: int) -> np.ndarray:
    return np.ctypeslib.as_array(s._lc.llama_get_logits(s.ctx.ctx), shape=(n, s.n_vocab)).copy()


def compare_kv_types(model: str, tokens: list[int], types: list[tuple[str, str]],
                     chunk: int = 48) -> dict[str, dict[str, float]]:
    """Teacher-forced next-token distributions for each (K, V) type vs f16/f16."""
    n_ctx = len(tokens) + 64
    ref = session(model, n_ctx=n_ctx, overflow_policy="sirllm")   # sirllm: all-row logits
    others = {f"{k}/{v}": session(model, n_ctx=n_ctx, type_k=k, type_v=v,
                                  overflow_policy="sirllm") for k, v in types}
    stats = {"f16/f16": Agreement(), **{name: Agreement() for name in others}}
    try:
        for i in range(0, len(tokens) - 1, chunk):
            part = tokens[i : i + chunk]
            targets = np.asarray(tokens[i + 1 : i + 1 + len(part)])
            m = len(targets)
            ref.feed(part)
            ref_lp = _log_softmax(_rows(ref, len(part))[:m])
            stats["f16/f16"].add(ref_lp, ref_lp, targets)
            for name, s in others.items():
                s.feed(part)
                stats[name].add(ref_lp, _log_softmax(_rows(s, len(part))[:m]), targets)
    finally:
        for s in [ref, *others.values()]:
            s.close()
    return {name: a.summary() for name, a in stats.items()}


def compare_eviction(model: str, tokens: list[int], prefix: int, keep_fractions: list[float],
                     policies: tuple[str, ...] = ("streaming", "sirllm"),
                     sink: int = 4) -> dict[str, dict[str, float]]:
    """Fill `prefix` tokens, evict to `fraction` of them, teacher-force the rest."""
    n_ctx = len(tokens) + 64
    cont = tokens[prefix:]
    runs = {"full": session(model, n_ctx=n_ctx)}
    for frac in keep_fractions:
        for pol in policies:
            runs[f"{pol}@{int(frac * 100)}%"] = session(
                model, n_ctx=n_ctx, overflow_policy=pol, sink_tokens=sink)
    out: dict[str, dict[str, float]] = {}
    try:
        for name, s in runs.items():
            s.feed(tokens[:prefix])
            if name != "full":
                frac = int(name.split("@")[1][:-1]) / 100
                target = int(prefix * frac)
                slack = int(s.n_ctx * s.cfg.evict_fraction)
                s.evict(need=s.n_ctx - slack - target)
        ref_lp_rows = []
        full = runs["full"]
        for t in cont[:-1]:
            ref_lp_rows.append(_log_softmax(full.last_logits()[None, :])[0])
            full.feed([t])
        ref_lp = np.stack(ref_lp_rows)
        targets = np.asarray(cont[: len(ref_lp_rows)])
        a = Agreement()
        a.add(ref_lp, ref_lp, targets)
        out["full"] = {**a.summary(), "kept": prefix}
        for name, s in runs.items():
            if name == "full":
                continue
            rows = []
            kept = len(s.tokens)
            for t in cont[:-1]:
                rows.append(_log_softmax(s.last_logits()[None, :])[0])
                s.feed([t])
            a = Agreement()
            a.add(ref_lp, np.stack(rows), targets)
            out[name] = {**a.summary(), "kept": kept}
    finally:
        for s in runs.values():
            s.close()
    return out


def eviction_logit_error(model: str, tokens: list[int], keep: int, policy: str,
                         cache_type: str = "f32", *, type_v: str | None = None,
                         flash_attn: bool = False) -> float:
    """Max |logit difference| after evicting to `keep` tokens vs a fresh context fed exactly the
    kept tokens with the same cache types (exact on a 1-layer model up to float rounding for
    f32/f16; a quantized K cache is re-quantized after the shift, which adds its rounding)."""
    n_ctx = len(tokens) + 64
    kw = {"type_k": cache_type, "type_v": type_v or cache_type, "flash_attn": flash_attn}
    s = session(model, n_ctx=n_ctx, overflow_policy=policy, **kw)
    try:
        if not s.cfg.evict_by_shift:
            raise ValueError(f"a {cache_type} K cache is not shifted for this model")
        s.feed(tokens[:-1])
        slack = int(s.n_ctx * s.cfg.evict_fraction)
        s.evict(need=s.n_ctx - slack - keep)
        kept = list(s.tokens)
        s.feed(tokens[-1:])
        after = s.last_logits()
    finally:
        s.close()
    f = session(model, n_ctx=n_ctx, **kw)
    try:
        f.feed(kept + tokens[-1:])
        return float(np.max(np.abs(after - f.last_logits())))
    finally:
        f.close()


@dataclass
class OverflowPause:
    """Seconds one eviction at overflow took, in place (shift) and by re-processing."""
    shift_s: list[float]
    reprocess_s: list[float]
    kept_tokens: int
    n_ctx: int

    def summary(self) -> dict[str, float]:
        shift, rep = min(self.shift_s), min(self.reprocess_s)
        return {"shift_s": shift, "reprocess_s": rep, "ratio": shift / rep if rep else 0.0,
                "kept_tokens": self.kept_tokens, "n_ctx": self.n_ctx,
                "rounds": len(self.shift_s)}


def overflow_pause(model: str, tokens: list[int], n_ctx: int, type_k: str = "q8_0",
                   type_v: str = "q8_0", rounds: int = 2) -> OverflowPause:
    """Fill a context of `n_ctx` tokens, then time the eviction that the next token forces:
    once shifting in place, once re-processing the kept tokens, alternating, same cache types."""
    import time

    shift: list[float] = []
    rep: list[float] = []
    kept = 0
    for _ in range(rounds):
        for reprocess, out in ((False, shift), (True, rep)):
            s = session(model, n_ctx=n_ctx, type_k=type_k, type_v=type_v,
                        reprocess_on_overflow=reprocess)
            try:
                if not reprocess and not s.cfg.evict_by_shift:
                    raise ValueError(f"a {type_k} K cache is not shifted for this model")
                s.feed(tokens[:n_ctx])
                t = time.perf_counter()
                s.evict(need=1)
                out.append(time.perf_counter() - t)
                kept = len(s.tokens)
            finally:
                s.close()
    return OverflowPause(shift, rep, kept, n_ctx)
