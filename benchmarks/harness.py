"""What every benchmark here shares: how it times, how it summarizes, what it records.

* **Side by side.** All variants of one setting are timed in the same
  process, interleaved: each round times every variant once, in an order
  rotated from round to round, so that slow drifts of a shared machine (other
  jobs, clock changes) hit every variant alike.
* **Ratios per round.** A variant's time is divided by the reference's time
  *of the same round* (a copy of the array, or a training step without
  dropout), and the minimum, median and maximum of these ratios over the
  rounds are reported, next to the same statistics of the milliseconds.
* **One sample = a loop.** Each sample runs the call enough times to last at
  least ``min_seconds`` (after one untimed call), so timer resolution and
  dispatch jitter are small against it.
* **Page faults.** Each sample also counts the process's minor page faults
  per call (``getrusage``). When a call's buffers (its output or its
  temporaries) are mapped fresh from the operating system, every page is
  faulted in and zeroed on that call, which costs time that no cost model of
  the program shows; the counts say how many pages that was.
* **What ran where.** :func:`machine_info` records the CPU model, the cores
  this process may use, the versions of jax, jaxlib, flax, equinox, optax and
  torch, torch's thread count and ``XLA_FLAGS``.
"""

from __future__ import annotations

import importlib
import os
import platform
import resource
import statistics
import time
from typing import Any, Callable, Mapping

__all__ = ["Sampler", "interleaved", "machine_info", "spread", "summarize"]


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as handle:
            first_cpu = handle.read().split("\n\n")[0].splitlines()
        fields = {key.strip(): value.strip() for key, value in (line.split(":", 1) for line in first_cpu if ":" in line)}
        model, family, number = fields.get("model name", ""), fields.get("cpu family"), fields.get("model")
        flags = fields.get("flags", "").split()
        isa = "AVX-512" if "avx512f" in flags else "AVX2" if "avx2" in flags else "no AVX2"
        return f"{model} (family {family}, model {number}, {isa})" if family else model
    except OSError:
        return platform.processor() or platform.machine()


def _version(module: str) -> str | None:
    try:
        return importlib.import_module(module).__version__
    except ImportError:
        return None


def machine_info() -> dict[str, Any]:
    """The machine and the software a measurement was taken with."""
    import jax

    info: dict[str, Any] = {
        "cpu": _cpu_model(),
        "cpu_cores_usable": len(os.sched_getaffinity(0)),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "jax_backend": jax.default_backend(),
        "jax_device": jax.devices()[0].device_kind,
        "jax_device_count": jax.device_count(),
        "xla_flags": os.environ.get("XLA_FLAGS", ""),
        "versions": {name: _version(name) for name in ("jax", "jaxlib", "flax", "equinox", "optax", "torch", "numpy")},
        "torch_threads": None,
    }
    try:
        import torch

        info["torch_threads"] = torch.get_num_threads()
    except ImportError:
        pass
    info["summary"] = (
        f"{info['cpu']}, {info['cpu_cores_usable']} cores, jax {info['versions']['jax']} "
        f"({info['jax_backend']}: {info['jax_device']})"
    )
    return info


class Sampler:
    """Times ``call`` (which returns something ``sync`` waits for) in loops of at least ``min_seconds``."""

    def __init__(self, call: Callable[[], Any], sync: Callable[[Any], Any], min_seconds: float = 0.05) -> None:
        self.call, self.sync = call, sync
        sync(call())  # compile and warm up
        start = time.perf_counter()
        sync(call())
        once = max(time.perf_counter() - start, 1e-6)
        self.loops = max(1, int(min_seconds / once))
        self.faults: list[float] = []

    def __call__(self) -> float:
        """Milliseconds per call, averaged over one loop (minor page faults per call go to ``faults``)."""
        # One untimed call first: after another variant ran, the allocator
        # may have to fault in fresh pages for this one's buffers.
        self.sync(self.call())
        faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        start = time.perf_counter()
        for _ in range(self.loops):
            out = self.call()
        self.sync(out)
        elapsed = time.perf_counter() - start
        self.faults.append((resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults) / self.loops)
        return elapsed / self.loops * 1e3


def interleaved(samplers: Mapping[str, Callable[[], float]], repeats: int) -> dict[str, list[float]]:
    """``repeats`` rounds; each round samples every sampler once, in a rotated order."""
    names = list(samplers)
    times: dict[str, list[float]] = {name: [] for name in names}
    for round_ in range(repeats):
        shift = round_ % len(names)
        for name in names[shift:] + names[:shift]:
            times[name].append(samplers[name]())
    return times


def spread(values: list[float], digits: int = 4, *, rounds: bool = False) -> dict[str, Any]:
    """``{"min", "median", "max"}`` of ``values``, rounded; with ``rounds``, also every value."""
    out: dict[str, Any] = {
        "min": round(min(values), digits),
        "median": round(statistics.median(values), digits),
        "max": round(max(values), digits),
    }
    if rounds:
        out["rounds"] = [round(value, digits) for value in values]
    return out


def summarize(times: list[float], reference: list[float]) -> dict[str, dict[str, float]]:
    """Milliseconds and per-round ratios to ``reference`` (same rounds), each as min/median/max.

    The ratios keep every round's value as well (``ratio["rounds"]``, in round order).
    """
    if len(times) != len(reference):
        raise ValueError(f"{len(times)} samples against {len(reference)} reference samples")
    ratios = [t / r for t, r in zip(times, reference)]
    return {"ms": spread(times), "ratio": spread(ratios, 3, rounds=True)}
