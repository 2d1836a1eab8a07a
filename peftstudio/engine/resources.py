"""Resource readings for the metric stream: CPU, RAM, this process, and NVIDIA GPUs via NVML."""
from __future__ import annotations

import os

import psutil

_nvml_ready: bool | None = None


def _nvml():
    """The NVML module, or None where there is no NVIDIA driver (a normal case, not an error)."""
    global _nvml_ready
    try:
        import pynvml
    except ImportError:
        return None
    if _nvml_ready is None:
        try:
            pynvml.nvmlInit()
            _nvml_ready = True
        except pynvml.NVMLError:
            _nvml_ready = False
    return pynvml if _nvml_ready else None


def gpu_readings() -> list[dict]:
    nvml = _nvml()
    if nvml is None:
        return []
    readings = []
    for index in range(nvml.nvmlDeviceGetCount()):
        handle = nvml.nvmlDeviceGetHandleByIndex(index)
        memory = nvml.nvmlDeviceGetMemoryInfo(handle)
        try:
            utilization = nvml.nvmlDeviceGetUtilizationRates(handle).gpu
        except nvml.NVMLError:
            utilization = None
        try:
            temperature = nvml.nvmlDeviceGetTemperature(handle, nvml.NVML_TEMPERATURE_GPU)
        except nvml.NVMLError:
            temperature = None
        readings.append({"index": index, "utilization": utilization, "memory_used": memory.used,
                         "memory_total": memory.total, "temperature": temperature})
    return readings


_THIS_PROCESS: psutil.Process | None = None


def _process_cpu_share() -> float:
    """This process's CPU use as a share of the whole machine (0-100), since the previous reading."""
    global _THIS_PROCESS
    if _THIS_PROCESS is None or _THIS_PROCESS.pid != os.getpid():
        _THIS_PROCESS = psutil.Process(os.getpid())
    return _THIS_PROCESS.cpu_percent(interval=None) / (psutil.cpu_count() or 1)


def resource_readings() -> dict:
    memory = psutil.virtual_memory()
    gpus = gpu_readings()
    return {
        "cpu_percent": psutil.cpu_percent(interval=None),
        "process_cpu_percent": _process_cpu_share(),
        "ram_used": memory.total - memory.available,
        "ram_total": memory.total,
        "process_rss": psutil.Process(os.getpid()).memory_info().rss,
        "gpu_utilization": [g["utilization"] for g in gpus],
        "gpu_memory_used": [g["memory_used"] for g in gpus],
        "gpu_memory_total": [g["memory_total"] for g in gpus],
        "gpu_temperature": [g["temperature"] for g in gpus],
    }
