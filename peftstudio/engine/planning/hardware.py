"""HardwareProfile: what this machine can train with, read in well under 2 s and cached for 5 minutes.

CPU and RAM come from psutil, NVIDIA GPUs from NVML (nvidia-ml-py), Apple GPUs from the platform.
torch is deliberately not imported (it takes seconds): CUDA is usable where NVML sees a GPU and a
driver, bf16 where the compute capability is 8.0 or newer. No GPU and no NVML library are normal.
"""
from __future__ import annotations

import json
import platform
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import psutil

from peftstudio.engine import atomic, paths

CACHE_SECONDS = 300


@dataclass
class GPUInfo:
    index: int
    name: str
    memory_total: int  # bytes
    memory_available: int
    compute_capability: str  # "9.0"
    cuda_version: str  # the driver's CUDA version, "12.4"
    driver_version: str
    temperature: int | None = None
    utilization: int | None = None
    power_limit_watts: float | None = None

    @property
    def bf16(self) -> bool:
        try:
            return float(self.compute_capability) >= 8.0
        except ValueError:
            return False


@dataclass
class HardwareProfile:
    cpu_model: str
    cpu_cores: int  # physical
    cpu_threads: int
    ram_total: int
    ram_available: int
    disk_free: int  # at the data folder
    gpus: list[GPUInfo] = field(default_factory=list)
    cuda_available: bool = False
    mps_available: bool = False
    bf16_supported: bool = False
    timestamp: float = 0.0

    @property
    def device(self) -> str:
        return "cuda" if self.cuda_available else "mps" if self.mps_available else "cpu"

    @property
    def device_memory(self) -> int:
        """Memory the training device can use: the first GPU's free memory, else available RAM."""
        if self.cuda_available and self.gpus:
            return self.gpus[0].memory_available
        return self.ram_available

    def to_dict(self) -> dict:
        data = asdict(self)
        data["device"] = self.device
        return data

    @classmethod
    def from_dict(cls, data: dict) -> "HardwareProfile":
        data = {k: v for k, v in data.items() if k != "device"}
        data["gpus"] = [GPUInfo(**g) for g in data.get("gpus", [])]
        return cls(**data)


def cpu_model_name() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown CPU"


def nvidia_gpus() -> list[GPUInfo]:
    """Every NVIDIA GPU via NVML; [] where there is no driver or library (NVMLError_LibraryNotFound)."""
    try:
        import pynvml
    except ImportError:
        return []
    try:
        pynvml.nvmlInit()
    except pynvml.NVMLError:
        return []
    gpus = []
    try:
        driver = _text(pynvml.nvmlSystemGetDriverVersion())
        cuda = pynvml.nvmlSystemGetCudaDriverVersion()
        cuda_version = f"{cuda // 1000}.{(cuda % 1000) // 10}"
        for index in range(pynvml.nvmlDeviceGetCount()):
            handle = pynvml.nvmlDeviceGetHandleByIndex(index)
            memory = pynvml.nvmlDeviceGetMemoryInfo(handle)
            major, minor = pynvml.nvmlDeviceGetCudaComputeCapability(handle)
            gpus.append(GPUInfo(
                index=index, name=_text(pynvml.nvmlDeviceGetName(handle)), memory_total=int(memory.total),
                memory_available=int(memory.free), compute_capability=f"{major}.{minor}", cuda_version=cuda_version,
                driver_version=driver, temperature=_optional(pynvml.nvmlDeviceGetTemperature, handle,
                                                             pynvml.NVML_TEMPERATURE_GPU),
                utilization=_optional(lambda h: pynvml.nvmlDeviceGetUtilizationRates(h).gpu, handle),
                power_limit_watts=_optional(lambda h: pynvml.nvmlDeviceGetPowerManagementLimit(h) / 1000, handle),
            ))
    finally:
        try:
            pynvml.nvmlShutdown()
        except pynvml.NVMLError:
            pass
    return gpus


def _text(value) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _optional(reader, *args):
    try:
        return reader(*args)
    except Exception:  # noqa: BLE001 - a reading some GPUs do not support
        return None


def mps_available() -> bool:
    return platform.system() == "Darwin" and platform.machine() == "arm64"


def detect_hardware() -> HardwareProfile:
    memory = psutil.virtual_memory()
    gpus = nvidia_gpus()
    return HardwareProfile(
        cpu_model=cpu_model_name(), cpu_cores=psutil.cpu_count(logical=False) or 1,
        cpu_threads=psutil.cpu_count(logical=True) or 1, ram_total=memory.total, ram_available=memory.available,
        disk_free=shutil.disk_usage(paths.data_dir()).free, gpus=gpus, cuda_available=bool(gpus),
        mps_available=mps_available(), bf16_supported=bool(gpus) and all(g.bf16 for g in gpus),
        timestamp=time.time(),
    )


def hardware_profile(max_age: float = CACHE_SECONDS, cache_file: Path | None = None) -> HardwareProfile:
    """The cached profile when younger than `max_age` seconds, else a fresh one (and cache it)."""
    try:
        cache_file = cache_file or paths.cache_dir() / "hardware.json"
        data = json.loads(cache_file.read_text(encoding="utf-8"))
        if time.time() - data["timestamp"] < max_age:
            return HardwareProfile.from_dict(data)
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        pass
    profile = detect_hardware()
    if cache_file is not None:
        atomic.write_cache(cache_file, json.dumps(profile.to_dict()))
    return profile
