"""The planner for GRPO: memory and time grow with the answers per prompt and their length, and it chooses both
(the answer length from a length reward's window)."""
from dataclasses import replace

from peftstudio.engine.config import TrainingConfig
from peftstudio.engine.models import DEMO_MODEL_ID
from peftstudio.engine.planning import plan
from peftstudio.engine.planning.catalog import catalog_entry
from peftstudio.engine.planning.hardware import GPUInfo, HardwareProfile
from peftstudio.engine.planning.planner import DatasetSummary, estimates_for
from peftstudio.engine.planning.profiles import get_profile
from peftstudio.engine.wizard_model import WizardModel

FACTS = catalog_entry(DEMO_MODEL_ID).facts
PROMPTS = DatasetSummary(examples=200, tokens_mean=30, tokens_p95=50, loss_tokens_per_epoch=0)
GB = 2**30
CPU = HardwareProfile("cpu", 8, 16, 32 * GB, 28 * GB, 100 * GB)
GPU = HardwareProfile("cpu", 8, 16, 64 * GB, 60 * GB, 100 * GB,
                      [GPUInfo(0, "NVIDIA H100", 80 * GB, 78 * GB, "9.0", "12.4", "550")], cuda_available=True,
                      bf16_supported=True)


def grpo_plan(hardware=CPU, **config):
    return plan(FACTS, hardware, PROMPTS, get_profile("skill-checker"),
                TrainingConfig(training_method="grpo", **config))


def test_memory_and_time_grow_with_the_answers_and_their_length():
    from peftstudio.engine.planning import Settings

    base = grpo_plan().config
    estimate = lambda **change: estimates_for(FACTS, CPU, replace(base, **change), PROMPTS, "fp32",  # noqa: E731
                                              Settings())
    two, eight = estimate(num_generations=2), estimate(num_generations=8)
    short, long = estimate(max_completion_length=32), estimate(max_completion_length=256)
    assert eight.peak_memory > two.peak_memory and eight.duration_expected > 3 * two.duration_expected
    assert long.peak_memory > short.peak_memory and long.duration_expected > 2 * short.duration_expected
    sft = estimates_for(FACTS, CPU, replace(base, training_method="sft"), PROMPTS, "fp32", Settings())
    assert estimate().duration_expected > sft.duration_expected  # generating and scoring answers costs time


def test_the_planner_chooses_the_group_and_the_answer_length():
    cpu, gpu = grpo_plan(), grpo_plan(GPU)
    assert (cpu.config.num_generations, gpu.config.num_generations) == (4, 8)
    assert cpu.config.max_completion_length < gpu.config.max_completion_length
    windowed = grpo_plan(rewards=["length:min=5,max=20"])
    assert windowed.config.max_completion_length == 44  # 20 words ~ 28 tokens, and 16 to see answers run over
    assert "up to 20 words" in windowed.reasons["max_completion_length"]
    assert "answers per prompt" in windowed.reasons["num_generations"]
    assert "prompts x 4 answers" in windowed.reasons["batch_size"]
    assert cpu.config.learning_rate == 2e-5  # the profile's, not a preference method's
    assert cpu.feasible and cpu.config.problems() == []


def test_the_checker_use_case_chooses_grpo_and_a_dataset_does_not_undo_it():
    model = WizardModel(CPU)
    model.profile_chosen("skill-checker")
    assert model.learns_from_checker
    model.dataset_inspected(None, None)  # any dataset: the use case decides the method
    assert model.state.config.training_method == "grpo"
    model.profile_chosen("chatbot")
    assert model.state.config.training_method == "sft"
