import time

import pynvml
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from peftstudio.engine.planning import hardware as hw_module
from peftstudio.engine.planning.hardware import detect_hardware, hardware_profile


class FakeNVML:
    """NVML's API surface as PEFT Studio uses it, for machines without NVIDIA hardware."""

    NVMLError = pynvml.NVMLError
    NVML_TEMPERATURE_GPU = 0

    def __init__(self, gpus):
        self.gpus = gpus

    def nvmlInit(self):
        pass

    def nvmlShutdown(self):
        pass

    def nvmlSystemGetDriverVersion(self):
        return "550.54"

    def nvmlSystemGetCudaDriverVersion(self):
        return 12040

    def nvmlDeviceGetCount(self):
        return len(self.gpus)

    def nvmlDeviceGetHandleByIndex(self, i):
        return self.gpus[i]

    def nvmlDeviceGetMemoryInfo(self, g):
        return type("Memory", (), {"total": g["total"], "free": g["free"], "used": g["total"] - g["free"]})

    def nvmlDeviceGetCudaComputeCapability(self, g):
        return g["cc"]

    def nvmlDeviceGetName(self, g):
        return g["name"].encode()

    def nvmlDeviceGetTemperature(self, g, sensor):
        return 55

    def nvmlDeviceGetUtilizationRates(self, g):
        return type("Util", (), {"gpu": 30})

    def nvmlDeviceGetPowerManagementLimit(self, g):
        raise pynvml.NVMLError_NotSupported()  # some GPUs really do not report it


# **Feature: simplified-llm-optimization, Property 4: Hardware detection completeness**
@settings(max_examples=100, deadline=None)
@given(st.lists(st.fixed_dictionaries({
    "name": st.sampled_from(["NVIDIA A100-SXM4-80GB", "NVIDIA GeForce RTX 3090", "Tesla T4"]),
    "total": st.integers(4, 80).map(lambda g: g * 2**30), "free": st.integers(1, 4).map(lambda g: g * 2**30),
    "cc": st.sampled_from([(7, 5), (8, 0), (8, 6), (9, 0)])}), max_size=8))
def test_every_profile_has_valid_memory_cores_and_ram(gpus):
    with pytest.MonkeyPatch.context() as patch:
        patch.setitem(__import__("sys").modules, "pynvml", FakeNVML(gpus))
        profile = detect_hardware()
    assert profile.cpu_cores >= 1 and profile.cpu_threads >= profile.cpu_cores
    assert profile.ram_total > 0 and 0 < profile.ram_available <= profile.ram_total and profile.disk_free > 0
    assert len(profile.gpus) == len(gpus) and profile.cuda_available == bool(gpus)
    for info, raw in zip(profile.gpus, gpus):
        assert info.memory_total == raw["total"] and info.memory_available == raw["free"]
        assert info.compute_capability == f"{raw['cc'][0]}.{raw['cc'][1]}" and info.cuda_version == "12.4"
        assert info.power_limit_watts is None and info.temperature == 55
    assert profile.device_memory > 0
    assert profile.bf16_supported == (bool(gpus) and all(g["cc"][0] >= 8 for g in gpus))


def test_no_nvidia_library_is_a_normal_cpu_machine(monkeypatch):
    def missing():
        raise pynvml.NVMLError_LibraryNotFound()

    monkeypatch.setattr(pynvml, "nvmlInit", missing)
    profile = detect_hardware()
    assert profile.gpus == [] and profile.device == "cpu" and profile.device_memory == profile.ram_available


def test_profile_is_cached_for_five_minutes(tmp_path):
    cache = tmp_path / "hw.json"
    first = hardware_profile(cache_file=cache)
    time.sleep(0.01)
    assert hardware_profile(cache_file=cache).timestamp == first.timestamp
    assert hardware_profile(max_age=0, cache_file=cache).timestamp > first.timestamp
    assert hw_module.CACHE_SECONDS == 300
