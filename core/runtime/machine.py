"""What this machine has for a model: RAM (total and free now) and, with a GPU build of
llama.cpp, each GPU's free and total memory.

GPUs are found through ggml's own device list (`ggml_backend_dev_*`, the same list llama.cpp
offloads to), so a CPU-only build reports none even on a machine with a GPU. The app's process
never imports llama.cpp: `probe_gpus()` asks a short-lived child process; the model worker,
which has llama.cpp loaded anyway, calls `gpu_devices()` directly.
"""
from __future__ import annotations

import logging
import os
from dataclasses import asdict, dataclass, field

log = logging.getLogger(__name__)
GIB = 1 << 30
# kept for the operating system, Engram itself (Qt, the embedding model) and the compute
# buffers llama.cpp adds on top of weights + KV cache
SYSTEM_RESERVE_BYTES = 2 * GIB
_GPU_TYPES = (1, 2)          # ggml_backend_dev_type: 0 CPU, 1 GPU, 2 integrated GPU / accel


@dataclass(frozen=True)
class GpuDevice:
    name: str
    free_bytes: int
    total_bytes: int


@dataclass
class MachineMemory:
    total_ram: int
    available_ram: int | None          # free right now (None where the OS does not say)
    gpus: list[GpuDevice] = field(default_factory=list)

    @property
    def ram_budget(self) -> int:
        """What a model may use at most on this machine, leaving the system its share."""
        return max(0, self.total_ram - SYSTEM_RESERVE_BYTES)

    @property
    def free_vram(self) -> int:
        return max((g.free_bytes for g in self.gpus), default=0)

    def to_dict(self) -> dict:
        return asdict(self)


def ram_info() -> tuple[int, int | None]:
    """(total, available) bytes of RAM; available is None where it cannot be read."""
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            fields = {line.split(":")[0]: int(line.split()[1]) * 1024 for line in f
                      if line.split(":")[0] in ("MemTotal", "MemAvailable")}
        return fields["MemTotal"], fields.get("MemAvailable")
    except (OSError, KeyError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"), None
    except (ValueError, OSError, AttributeError):
        return 8 * GIB, None       # Windows without psutil: a modest guess, said in the UI


def gpu_devices(llama_cpp=None) -> list[GpuDevice]:
    """GPUs in ggml's device list, with free/total memory (call where llama.cpp is loaded)."""
    import ctypes

    if llama_cpp is None:
        import llama_cpp
    if not llama_cpp.llama_supports_gpu_offload():
        return []
    from llama_cpp import _ggml

    lib = _ggml.libggml
    lib.ggml_backend_dev_count.restype = ctypes.c_size_t
    lib.ggml_backend_dev_get.restype = ctypes.c_void_p
    lib.ggml_backend_dev_get.argtypes = [ctypes.c_size_t]
    lib.ggml_backend_dev_type.restype = ctypes.c_int
    lib.ggml_backend_dev_type.argtypes = [ctypes.c_void_p]
    lib.ggml_backend_dev_name.restype = ctypes.c_char_p
    lib.ggml_backend_dev_name.argtypes = [ctypes.c_void_p]
    lib.ggml_backend_dev_memory.argtypes = [ctypes.c_void_p, ctypes.POINTER(ctypes.c_size_t),
                                            ctypes.POINTER(ctypes.c_size_t)]
    out: list[GpuDevice] = []
    for i in range(lib.ggml_backend_dev_count()):
        dev = lib.ggml_backend_dev_get(i)
        if lib.ggml_backend_dev_type(dev) not in _GPU_TYPES:
            continue
        free, total = ctypes.c_size_t(), ctypes.c_size_t()
        lib.ggml_backend_dev_memory(dev, ctypes.byref(free), ctypes.byref(total))
        if total.value:
            out.append(GpuDevice((lib.ggml_backend_dev_name(dev) or b"GPU").decode(),
                                 int(free.value), int(total.value)))
    return out


_probe_cache: list[GpuDevice] | None = None


def _probe_child(lanes) -> None:
    from core.base.worker_client import run_child

    run_child(lanes, lambda op, args, kwargs, emit: [asdict(g) for g in gpu_devices()])


def probe_gpus(timeout: float = 60.0) -> list[GpuDevice]:
    """`gpu_devices()` in a spawned child process (cached for this process); [] when it
    fails. Spawned like the model worker, so it works in the bundled app too."""
    global _probe_cache
    if _probe_cache is not None:
        return _probe_cache
    from core.base.errors import EngramError
    from core.base.worker_client import WorkerClient

    probe = WorkerClient(_probe_child, "engram-gpu-probe", what="The GPU probe",
                         died=EngramError, unknown=lambda name, msg: EngramError(f"{name}: {msg}"))
    found: list[GpuDevice] = []
    try:
        found = [GpuDevice(**g) for g in probe.call("probe", timeout=timeout)]
    except Exception as exc:  # noqa: BLE001 (no GPU figure is better than no model list)
        log.warning("could not probe for GPUs: %s", str(exc).strip().splitlines()[0])
    finally:
        probe.close(timeout=1.0)
    _probe_cache = found
    return found


def machine_memory(*, with_gpus: bool = True) -> MachineMemory:
    total, available = ram_info()
    return MachineMemory(total, available, probe_gpus() if with_gpus else [])
