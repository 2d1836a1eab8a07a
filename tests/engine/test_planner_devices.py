"""The planner with several devices: per-device batch, memory per device by strategy, stated scaling."""
from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from peftstudio.engine.planning.catalog import CATALOG
from peftstudio.engine.config import DISTRIBUTED_STRATEGIES, TrainingConfig
from peftstudio.engine.planning.estimates import SCALING_EFFICIENCY, parallel_speedup
from peftstudio.engine.planning.hardware import GPUInfo, HardwareProfile
from peftstudio.engine.planning.memory_model import estimate_memory
from peftstudio.engine.planning.planner import BUDGET_SHARE, DatasetSummary, device_budget, plan
from peftstudio.engine.planning.profiles import BUILTIN_PROFILES

GB = 2**30


def gpu_machine(count: int, memory_gb: int = 80) -> HardwareProfile:
    gpus = [GPUInfo(i, "NVIDIA H100 80GB HBM3", memory_gb * GB, int(memory_gb * GB * 0.95), "9.0", "12.4", "550")
            for i in range(count)]
    return HardwareProfile("cpu", 64, 128, 512 * GB, 400 * GB, 2000 * GB, gpus, cuda_available=True,
                           bf16_supported=True)


@settings(max_examples=100, deadline=None)
@given(devices=st.integers(1, 8), strategy=st.sampled_from(DISTRIBUTED_STRATEGIES),
       facts=st.sampled_from([e.facts for e in CATALOG]), profile=st.sampled_from(BUILTIN_PROFILES),
       examples=st.integers(200, 100_000))
def test_effective_batch_is_kept_across_devices_and_fits_each_device(devices, strategy, facts, profile, examples):
    hw = gpu_machine(8)
    data = DatasetSummary(examples, 300.0, 700, examples * 150)
    base = TrainingConfig(num_processes=devices, distributed_strategy=strategy)
    result = plan(facts, hw, data, profile, base)
    config = result.config
    target = profile.config.effective_batch_size
    assert config.num_processes == devices and config.problems() == []
    # the profile's effective batch is reached with the fewest accumulation steps
    assert config.effective_batch_size >= target
    assert config.gradient_accumulation == max(1, -(-target // (config.batch_size * devices)))
    if result.feasible:
        assert result.memory.total <= BUDGET_SHARE * device_budget(hw, devices)
    if devices > 1:
        assert result.estimates.devices == devices
        assert result.estimates.scaling_efficiency == SCALING_EFFICIENCY[strategy]
        assert f"{SCALING_EFFICIENCY[strategy]:.0%}" in result.reasons["num_processes"]


@settings(max_examples=100, deadline=None)
@given(devices=st.integers(2, 64), facts=st.sampled_from([e.facts for e in CATALOG]),
       batch=st.integers(1, 8), seq=st.sampled_from([256, 512, 2048]))
def test_sharding_divides_what_each_strategy_shards(devices, facts, batch, seq):
    def memory(strategy, n):
        return estimate_memory(facts, batch_size=batch, seq_len=seq, r=16, target_modules=["all-linear"],
                               precision="bf16", quantization=None, gradient_checkpointing=False, device="cuda",
                               devices=n, strategy=strategy)

    one, ddp, zero2, zero3, fsdp = memory("ddp", 1), memory("ddp", devices), memory("zero2", devices), \
        memory("zero3", devices), memory("fsdp", devices)
    assert ddp.weights == one.weights and ddp.lora_state == one.lora_state  # every device holds everything
    assert zero2.weights == one.weights and zero2.lora_state < one.lora_state
    assert abs(zero3.weights - one.weights / devices) < 1 and abs(zero3.lora_state - one.lora_state / devices) < 1
    assert fsdp.weights == zero3.weights
    assert ddp.activations == one.activations == zero3.activations  # activations are per device anyway
    assert one.total >= zero2.total >= zero3.total


@settings(max_examples=100, deadline=None)
@given(devices=st.integers(1, 16), strategy=st.sampled_from(DISTRIBUTED_STRATEGIES))
def test_more_devices_are_faster_but_not_perfectly(devices, strategy):
    hw = gpu_machine(16)
    facts = CATALOG[0].facts
    data = DatasetSummary(5000, 300.0, 700, 5000 * 150)
    one = plan(facts, hw, data, BUILTIN_PROFILES[0], TrainingConfig(num_processes=1))
    many = plan(facts, hw, data, BUILTIN_PROFILES[0], TrainingConfig(num_processes=devices,
                                                                       distributed_strategy=strategy))
    speedup = one.estimates.duration_expected / many.estimates.duration_expected
    assert abs(speedup - parallel_speedup(devices, strategy)) < 1e-6 * speedup
    assert speedup <= devices and (devices == 1 or speedup > 1)


def test_cpu_processes_share_the_memory():
    hw = HardwareProfile("cpu", 2, 2, 24 * GB, 20 * GB, 100 * GB, [])
    assert device_budget(hw, 2) == hw.device_memory / 2
