"""TrainingEstimates: how long, how much energy, money and CO2, how much memory and disk.

Duration comes from a real micro-benchmark on this machine when one is cached for the same model,
hardware and settings (confidence 0.8, range +/-20%); otherwise from a FLOPs model (confidence 0.4,
range 0.5x-2x): about 4 N FLOPs per token for LoRA (forward 2N, backward through the frozen
weights 2N; the LoRA weight gradients are negligible), 6 N with gradient checkpointing (one more
forward), where N counts the parameters used in matrix multiplies, divided by what the device
sustains (peak x an assumed utilization per device class).
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass

from peftstudio.engine.planning.hardware import HardwareProfile
from peftstudio.engine.planning.facts_reader import ModelFacts

CPU_FLOPS_PER_CORE = 50e9  # sustained fp32 training throughput per physical core (measured: ~100 GFLOP/s on 2)
# a validation token costs a forward pass only: 2N of a training token's 4N FLOPs
FORWARD_SHARE = 0.5
CPU_WATTS_PER_CORE = 15.0
GPU_UTILIZATION = 0.35  # typical model FLOPs utilization of LoRA fine-tuning
MPS_FLOPS = 3e12
# bf16 dense peak TFLOP/s by GPU name fragment; unknown GPUs fall back to their compute capability
GPU_PEAK_TFLOPS = {"H200": 989, "H100": 989, "A100": 312, "A10": 125, "L40": 181, "L4": 121, "A6000": 155,
                   "4090": 165, "4080": 97, "3090": 71, "3080": 59, "V100": 112, "T4": 65, "A4000": 77}
CC_PEAK_TFLOPS = {"9": 989, "8": 100, "7": 60}
GPU_WATTS = 300.0
# Stated, not measured here: data parallel on one machine loses about 10% per extra GPU to the gradient
# all-reduce (NVLink/PCIe); ZeRO-2 a little more; FSDP and ZeRO-3 also gather weights every layer.
SCALING_EFFICIENCY = {"ddp": 0.90, "zero2": 0.88, "fsdp": 0.80, "zero3": 0.80}


@dataclass
class TrainingEstimates:
    duration_min: float  # seconds
    duration_expected: float
    duration_max: float
    confidence: float  # 0-1
    source: str  # "benchmark" | "flops"
    steps: int
    gpu_hours: float  # device hours (GPU hours on GPUs, CPU hours on CPUs)
    electricity_kwh: float
    electricity_cost: float
    carbon_kg: float
    peak_memory: float  # bytes
    avg_gpu_utilization: float | None
    disk_space: float  # bytes
    devices: int = 1
    scaling_efficiency: float = 1.0  # share of one device's speed that each extra device adds

    def to_dict(self) -> dict:
        return asdict(self)


def device_flops(hardware: HardwareProfile) -> float:
    if hardware.cuda_available and hardware.gpus:
        name = hardware.gpus[0].name.upper()
        peak = next((tf for key, tf in GPU_PEAK_TFLOPS.items() if key in name), None)
        if peak is None:
            peak = CC_PEAK_TFLOPS.get(hardware.gpus[0].compute_capability.split(".")[0], 30)
        return peak * 1e12 * GPU_UTILIZATION  # one device; parallel_speedup adds the others
    if hardware.mps_available:
        return MPS_FLOPS
    return CPU_FLOPS_PER_CORE * hardware.cpu_cores


def parallel_speedup(devices: int, strategy: str = "ddp") -> float:
    """How much faster N devices train than one: each extra device adds SCALING_EFFICIENCY of one."""
    return 1.0 + (max(1, devices) - 1) * SCALING_EFFICIENCY.get(strategy, 0.8)


def device_watts(hardware: HardwareProfile, devices: int = 1) -> float:
    if hardware.cuda_available and hardware.gpus:
        used = hardware.gpus[: max(1, devices)]
        return sum(g.power_limit_watts or GPU_WATTS for g in used)
    return CPU_WATTS_PER_CORE * hardware.cpu_cores


def flops_per_token(facts: ModelFacts, gradient_checkpointing: bool, loss_share: float = 0.6) -> float:
    matmul = facts.block_linear_parameters
    head = facts.vocab_size * facts.hidden_size * loss_share  # our trainer projects loss tokens only
    return (6.0 if gradient_checkpointing else 4.0) * (matmul + head)


def estimate(facts: ModelFacts, hardware: HardwareProfile, *, tokens_per_epoch: float, epochs: float, steps: int, gradient_checkpointing: bool, peak_memory: float, lora_parameters: int,
             save_total: int, price_per_kwh: float, carbon_per_kwh: float,
             measured_tokens_per_second: float | None = None, devices: int = 1,
             strategy: str = "ddp", time_factor: float = 1.0, startup_seconds: float = 0.0,
             evaluation_tokens: float = 0.0) -> TrainingEstimates:
    """`time_factor` and `startup_seconds` are the adapter method's (planning/method_costs.py): DoRA's slower
    steps, PiSSA's SVD before the first step. `evaluation_tokens`: the validation tokens the run reads without
    training on them (planner.evaluation_tokens), each at a forward pass's share of a training token's cost."""
    work = tokens_per_epoch * epochs + FORWARD_SHARE * evaluation_tokens
    if measured_tokens_per_second:
        seconds = work / measured_tokens_per_second
        low, high, confidence, source = 0.8, 1.2, 0.8, "benchmark"
    else:
        seconds = work * flops_per_token(facts, gradient_checkpointing) / device_flops(hardware)
        low, high, confidence, source = 0.5, 2.0, 0.4, "flops"
    # a benchmark or the FLOPs model measure one device; more devices divide the time by their speed-up
    speedup = parallel_speedup(devices, strategy)
    seconds = max(seconds * time_factor / speedup + startup_seconds, 1e-6)
    hours = seconds / 3600 * max(1, devices)
    kwh = device_watts(hardware, devices) * seconds / 3600 / 1000
    # a checkpoint holds the adapter (4 B/param) and AdamW's two moments (8 B/param); plus the final adapter
    disk = (save_total * 12 + 4) * lora_parameters + 20 * 2**20
    return TrainingEstimates(
        duration_min=seconds * low, duration_expected=seconds, duration_max=seconds * high, confidence=confidence,
        source=source, steps=steps, gpu_hours=hours, electricity_kwh=kwh, electricity_cost=kwh * price_per_kwh,
        carbon_kg=kwh * carbon_per_kwh, peak_memory=peak_memory,
        avg_gpu_utilization=GPU_UTILIZATION if hardware.cuda_available else None, disk_space=disk,
        devices=max(1, devices), scaling_efficiency=SCALING_EFFICIENCY.get(strategy, 0.8) if devices > 1 else 1.0,
    )


def format_duration(seconds: float) -> str:
    if seconds < 90:
        return f"{math.ceil(seconds)} s"
    if seconds < 5400:
        return f"{math.ceil(seconds / 60)} min"
    return f"{seconds / 3600:.1f} h"


# ---- the estimates in words, for the windows and the command line -------------------------------------------
SOURCE_WORDS = {"benchmark": "measured on this machine", "flops": "estimated from the model's size"}
METHOD_NAMES = {"lora": "LoRA", "qlora": "QLoRA", "dora": "DoRA", "full": "Full fine-tuning"}


def method_name(method: str) -> str:
    return METHOD_NAMES.get(method, method)


def time_text(e: "TrainingEstimates") -> str:
    return (f"about {format_duration(e.duration_expected)} (likely between {format_duration(e.duration_min)} and "
            f"{format_duration(e.duration_max)}; {SOURCE_WORDS.get(e.source, e.source)})")


def energy_text(e: "TrainingEstimates", price_per_kwh: float) -> str:
    """kWh and cost; the price is the user's own setting, so the cost is in their currency, whatever it is."""
    return (f"{e.electricity_kwh:.3f} kWh, costing about {e.electricity_cost:.2f} at your electricity price "
            f"({price_per_kwh:g} per kWh)")
