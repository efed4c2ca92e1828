"""Describing the machine a figure was measured on."""

from __future__ import annotations

import os
import platform
import time


def machine_info() -> dict:
    """CPU count and model, memory, GPU (if any), OS, Python, torch and library versions."""
    import torch

    from .._version import __version__

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem_gb = None
    try:
        mem_gb = round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)
    except (ValueError, OSError, AttributeError):
        pass
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    return {
        "cpu": cpu,
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "memory_gb": mem_gb,
        "gpu": gpu,
        "os": platform.platform(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "llmseqrec": __version__,
    }


def machine_line(info: dict) -> str:
    """One line for a results table."""
    gpu = info.get("gpu") or "no GPU"
    return f"{info.get('cpu_count')} CPU cores ({info.get('cpu')}), {info.get('memory_gb')} GiB RAM, {gpu}; torch {info.get('torch')}, llmseqrec {info.get('llmseqrec')}"


def _cpu_times():
    try:
        with open("/proc/stat") as f:
            fields = [float(x) for x in f.readline().split()[1:]]
    except OSError:
        return None
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0.0)  # idle + iowait
    return sum(fields), idle


def machine_load(window: float = 1.0) -> dict:
    """Load averages and the share of all cores busy while the caller sleeps ``window``
    seconds: what other processes use (the load average also counts the caller's own
    previous work)."""
    load1, load5, load15 = os.getloadavg() if hasattr(os, "getloadavg") else (None,) * 3
    before = _cpu_times()
    time.sleep(window)
    after = _cpu_times()
    busy = None
    if before and after and after[0] > before[0]:
        busy = 1.0 - (after[1] - before[1]) / (after[0] - before[0])
    return {"load1": load1, "load5": load5, "load15": load15, "busy_share": busy}
