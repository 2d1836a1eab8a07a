from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st

from peftstudio.engine.planning.catalog import CATALOG, catalog_entry
from peftstudio.engine.planning.hardware import GPUInfo, HardwareProfile
from peftstudio.engine.planning.memory_model import weight_bytes
from peftstudio.engine.planning.facts_reader import ModelFacts
from peftstudio.engine.planning.planner import BUDGET_SHARE, DatasetSummary, Settings, plan
from peftstudio.engine.planning.profiles import BUILTIN_PROFILES, get_builtin

GB = 2**30
GPU_NAMES = ["NVIDIA H100 80GB HBM3", "NVIDIA A100-SXM4-40GB", "NVIDIA GeForce RTX 4090", "Tesla T4",
             "NVIDIA GeForce RTX 3060", "Some Future GPU"]


@st.composite
def hardware(draw, gpu=None):
    has_gpu = draw(st.booleans()) if gpu is None else gpu
    gpus = []
    if has_gpu:
        total = draw(st.integers(4, 80)) * GB
        cc = draw(st.sampled_from(["7.5", "8.0", "8.6", "8.9", "9.0"]))
        gpus = [GPUInfo(i, draw(st.sampled_from(GPU_NAMES)), total, int(total * draw(st.floats(0.5, 1.0))), cc,
                        "12.4", "550.1") for i in range(draw(st.integers(1, 4)))]
    ram = draw(st.integers(16, 512)) * GB
    cores = draw(st.integers(4, 128))
    return HardwareProfile("cpu", cores, cores * 2, ram, int(ram * draw(st.floats(0.3, 0.95))), 500 * GB, gpus,
                           cuda_available=bool(gpus), bf16_supported=bool(gpus) and all(g.bf16 for g in gpus))


datasets = st.builds(lambda n, mean, p95: DatasetSummary(n, mean, max(int(mean), p95), int(n * mean * 0.5)),
                     st.integers(100, 1_000_000), st.floats(20, 1500), st.integers(20, 8000))
models = st.sampled_from([e.facts for e in CATALOG])
profiles = st.sampled_from(BUILTIN_PROFILES)


# **Feature: simplified-llm-optimization, Property 3: Smart defaults calculation**
@settings(max_examples=100, deadline=None)
@given(hardware(), datasets, models, profiles)
def test_defaults_are_valid_and_fit_for_any_hardware_model_and_dataset(hw, data, facts, profile):
    result = plan(facts, hw, data, profile)
    config = result.config
    assert config.problems() == []
    assert config.batch_size >= 1 and config.gradient_accumulation >= 1 and config.learning_rate > 0
    assert config.precision == "auto" and result.device == hw.device
    if result.feasible:
        assert result.memory.total <= BUDGET_SHARE * hw.device_memory
    else:
        assert result.explanation and "needs about" in result.explanation
    assert set(result.reasons) >= {"lora_r", "batch_size", "learning_rate", "max_seq_length", "quantization"}


# **Feature: simplified-llm-optimization, Property 5: Quantization auto-enable on insufficient memory**
@settings(max_examples=100, deadline=None)
@given(hardware(gpu=True), datasets, models)
def test_quantization_switches_on_when_the_weights_do_not_fit(hw, data, facts):
    result = plan(facts, hw, data, get_builtin("chatbot"))
    precision = "bf16" if hw.bf16_supported else "fp16"
    budget = BUDGET_SHARE * hw.device_memory
    if weight_bytes(facts, precision, None) > budget:
        assert result.config.quantization in ("8bit", "4bit") and result.config.peft_method == "qlora"
    if result.config.quantization is None:
        assert weight_bytes(facts, precision, None) <= budget


def test_cpu_never_quantizes_and_explains_what_does_not_fit():
    cpu = HardwareProfile("cpu", 2, 2, 24 * GB, 23 * GB, 100 * GB)
    facts = catalog_entry("meta-llama/Llama-3.1-8B-Instruct").facts
    result = plan(facts, cpu, DatasetSummary(1000, 200, 500, 100_000), get_builtin("chatbot"))
    assert not result.feasible and result.config.quantization is None
    assert "Nearest setting that fits: Smaller model (Llama 3.2 3B)" in result.explanation


# **Feature: simplified-llm-optimization, Property 1: Use case selection configures all parameters**
@settings(max_examples=100, deadline=None)
@given(profiles, hardware(), datasets)
def test_choosing_a_use_case_sets_every_technical_parameter(profile, hw, data):
    facts = catalog_entry("HuggingFaceTB/SmolLM2-135M-Instruct").facts
    config = plan(facts, hw, data, profile).config
    p = profile.config
    assert (config.lora_r, config.lora_alpha, config.lora_dropout) == (p.lora_r, p.lora_alpha, p.lora_dropout)
    assert config.target_modules == p.target_modules and len(config.target_modules) > 0
    assert config.learning_rate > 0 and config.epochs > 0 and config.batch_size > 0
    assert config.max_seq_length >= 128 and config.warmup_steps >= 0


# **Feature: simplified-llm-optimization, Property 10: Training estimates include confidence intervals**
# **Feature: simplified-llm-optimization, Property 17: Cost estimates completeness**
@settings(max_examples=100, deadline=None)
@given(hardware(), datasets, models, profiles, st.floats(0, 1), st.floats(0, 2), st.none() | st.floats(1, 1e5))
def test_estimates_have_a_range_and_costs(hw, data, facts, profile, price, carbon, measured):
    result = plan(facts, hw, data, profile, settings=Settings(price, carbon), measured_tokens_per_second=measured)
    e = result.estimates
    assert 0 < e.duration_min <= e.duration_expected <= e.duration_max
    assert 0 < e.confidence <= 1 and e.source == ("benchmark" if measured else "flops")
    assert e.gpu_hours > 0 and e.electricity_kwh > 0
    assert abs(e.electricity_cost - e.electricity_kwh * price) < 1e-9
    assert abs(e.carbon_kg - e.electricity_kwh * carbon) < 1e-9
    assert e.peak_memory == result.memory.total and e.disk_space > 0


# **Feature: simplified-llm-optimization, Property 18: Configuration alternatives suggestion**
@settings(max_examples=100, deadline=None)
@given(hardware(), datasets, models, profiles)
def test_at_least_one_faster_or_leaner_alternative(hw, data, facts, profile):
    result = plan(facts, hw, data, profile)
    assert result.alternatives
    base = result.estimates
    for alt in result.alternatives:
        assert alt.tradeoff.endswith(".") and alt.title
        assert alt.estimates.duration_expected <= base.duration_expected
        assert alt.estimates.peak_memory <= base.peak_memory
        faster = alt.estimates.duration_expected < base.duration_expected
        leaner = alt.estimates.peak_memory < base.peak_memory
        assert faster or leaner, alt.title


def test_learning_rate_scales_with_the_effective_batch():
    facts = catalog_entry("HuggingFaceTB/SmolLM2-135M-Instruct").facts
    hw = HardwareProfile("cpu", 8, 16, 64 * GB, 60 * GB, 100 * GB)
    data = DatasetSummary(1000, 100, 200, 50_000)
    small = replace(get_builtin("chatbot"), config=replace(get_builtin("chatbot").config, effective_batch_size=4))
    assert plan(facts, hw, data, small).config.learning_rate == 1e-4
    assert plan(facts, hw, data, get_builtin("chatbot")).config.learning_rate == 2e-4


def test_tiny_datasets_get_more_epochs_and_huge_ones_one():
    facts = catalog_entry("HuggingFaceTB/SmolLM2-135M-Instruct").facts
    hw = HardwareProfile("cpu", 8, 16, 64 * GB, 60 * GB, 100 * GB)
    assert plan(facts, hw, DatasetSummary(50, 100, 200, 2500), get_builtin("chatbot")).config.epochs == 6
    assert plan(facts, hw, DatasetSummary(100_000, 100, 200, 5e6), get_builtin("chatbot")).config.epochs == 1


def test_checkpointing_turns_on_when_activations_do_not_fit():
    facts = ModelFacts("m", "llama", 32, 4096, 32, 8, 14336, 128256, False, max_position=8192)
    gpu = HardwareProfile("cpu", 8, 16, 64 * GB, 60 * GB, 100 * GB,
                          [GPUInfo(0, "NVIDIA GeForce RTX 4090", 24 * GB, 24 * GB, "8.9", "12.4", "550")], True,
                          bf16_supported=True)
    result = plan(facts, gpu, DatasetSummary(1000, 1500, 4000, 10**6), get_builtin("code-generation"))
    assert result.feasible and result.config.gradient_checkpointing and result.config.quantization


def test_the_plan_counts_what_each_adapter_method_costs():
    from peftstudio.engine.config import TrainingConfig
    from peftstudio.engine.planning.method_costs import DORA_TIME

    facts = catalog_entry("HuggingFaceTB/SmolLM2-135M-Instruct").facts
    cpu = HardwareProfile("cpu", 8, 8, 64 * GB, 60 * GB, 100 * GB)
    data = DatasetSummary(2000, 200, 400, 200_000)
    profile = get_builtin("chatbot")

    def planned(**settings):
        return plan(facts, cpu, data, profile, TrainingConfig(**settings))

    lora, dora = planned(), planned(use_dora=True)
    assert dora.config.use_dora  # the user's choice survives the planning
    assert dora.memory.method > 0 and dora.memory.total > lora.memory.total
    same_batch = replace(dora.config, batch_size=lora.config.batch_size,
                         gradient_accumulation=lora.config.gradient_accumulation,
                         gradient_checkpointing=lora.config.gradient_checkpointing)
    from peftstudio.engine.planning.planner import estimates_for

    slower = estimates_for(facts, cpu, same_batch, data, "fp32", Settings()).duration_expected
    assert slower == __import__("pytest").approx(lora.estimates.duration_expected * DORA_TIME, rel=1e-6)
    embeddings = planned(train_embeddings="all")
    assert embeddings.memory.method >= facts.vocab_size * facts.hidden_size * 16  # one tied copy, trained
    pissa = planned(lora_init="pissa")
    assert pissa.estimates.duration_expected > lora.estimates.duration_expected  # the SVD before the first step
    assert pissa.memory.method > 0  # on the CPU the rewritten weights sit beside the mapped file
    for free in ({"use_rslora": True}, {"loraplus_lr_ratio": 16.0}, {"neftune_noise_alpha": 5.0}):
        assert planned(**free).memory.total == lora.memory.total


def test_examples_longer_than_the_context_are_cut_unless_rope_scaling_is_on():
    from peftstudio.engine.config import TrainingConfig

    facts = replace(catalog_entry("HuggingFaceTB/SmolLM2-135M-Instruct").facts, max_position=2048)
    cpu = HardwareProfile("cpu", 8, 8, 64 * GB, 60 * GB, 100 * GB)
    data = DatasetSummary(500, 3000, 3500, 500_000)
    cut = plan(facts, cpu, data, get_builtin("chatbot"), TrainingConfig())
    assert cut.config.max_seq_length == 2048
    assert "RoPE scaling" in cut.reasons["max_seq_length"] and "cut" in cut.reasons["max_seq_length"]
    scaled = plan(facts, cpu, data, get_builtin("chatbot"), TrainingConfig(rope_scaling="yarn"))
    assert scaled.config.max_seq_length >= 3500 and "YaRN" in scaled.reasons["max_seq_length"]
    assert "by 1.75x" in scaled.reasons["max_seq_length"]
    per_sequence = lambda p: p.memory.activations / p.config.batch_size  # noqa: E731
    assert per_sequence(scaled) > per_sequence(cut)  # the longer sequences are planned in memory


def test_preference_runs_are_planned_with_two_sequences_and_the_use_cases_defaults():
    from peftstudio.engine.config import TrainingConfig
    from peftstudio.engine.planning.method_costs import PREFERENCE_TIME

    facts = catalog_entry("HuggingFaceTB/SmolLM2-135M-Instruct").facts
    cpu = HardwareProfile("cpu", 8, 8, 64 * GB, 60 * GB, 100 * GB)
    data = DatasetSummary(2000, 200, 400, 200_000)
    sft = plan(facts, cpu, data, get_builtin("question-answering"), TrainingConfig())
    dpo = plan(facts, cpu, data, get_builtin("question-answering"), TrainingConfig(training_method="dpo"))
    assert dpo.config.training_method == "dpo" and dpo.config.preference_beta == 0.2
    assert "keeps close" in dpo.reasons["preference_beta"] and "DPO" in dpo.reasons["learning_rate"]
    same = replace(dpo.config, batch_size=sft.config.batch_size, gradient_checkpointing=False)
    from peftstudio.engine.planning.planner import memory_of

    assert memory_of(facts, same, "fp32", "cpu").activations == 2 * memory_of(
        facts, replace(same, training_method="sft"), "fp32", "cpu").activations
    assert PREFERENCE_TIME["orpo"] < PREFERENCE_TIME["dpo"]  # no reference pass
    creative = plan(facts, cpu, data, get_builtin("creative-writing"), TrainingConfig(training_method="simpo"))
    assert creative.config.preference_beta == 1.0  # SimPO's 2.0, halved: style may move further


def test_the_plan_counts_the_validation_passes():
    """A short run's evaluations are a large share of its time (a sweep's trials): the planner counts the base
    model's loss (at most 64 examples), every scheduled evaluation and a final one after an unscheduled last step."""
    from peftstudio.engine.config import TrainingConfig
    from peftstudio.engine.planning.estimates import FORWARD_SHARE
    from peftstudio.engine.planning.planner import estimates_for, evaluation_tokens

    facts = catalog_entry("HuggingFaceTB/SmolLM2-135M-Instruct").facts
    cpu = HardwareProfile("cpu", 2, 2, 16 * GB, 12 * GB, 100 * GB)
    data = DatasetSummary(200, 100.0, 300, 10_000)  # 20 validation examples at 10%
    every_2 = TrainingConfig(max_steps=12, validation_split=0.1, eval_strategy="steps", eval_steps=2)
    assert evaluation_tokens(every_2, data, 12, 1.0) == 100.0 * (20 + 6 * 20)  # 6 evaluations end on step 12
    every_5 = replace(every_2, eval_steps=5)
    assert evaluation_tokens(every_5, data, 12, 1.0) == 100.0 * (20 + 3 * 20)  # steps 5, 10 and the final
    assert evaluation_tokens(replace(every_2, validation_split=0.0), data, 12, 1.0) == 0.0
    big = DatasetSummary(5000, 100.0, 300, 10_000)
    assert evaluation_tokens(replace(every_2, eval_strategy="no"), big, 12, 1.0) == 100.0 * 64  # the base only

    def seconds(config):
        return estimates_for(facts, cpu, config, data, "fp32", Settings(), 100.0).duration_expected

    trained = 12 * every_2.effective_batch_size * 100.0  # max_steps x examples per step x tokens per example
    assert abs(seconds(every_2) - (trained + FORWARD_SHARE * 14_000) / 100.0) < 1e-6
    assert abs(seconds(replace(every_2, eval_strategy="no")) - (trained + FORWARD_SHARE * 2_000) / 100.0) < 1e-6
