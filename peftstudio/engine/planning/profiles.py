"""Use-case profiles: plain-language starting points that set every technical parameter.

Nine built-in profiles (the seed's six, "Teach a skill with a checker", which trains with GRPO, "Teach an agent
to call tools" and "Answer in JSON"), and user profiles saved as JSON in the data folder.
"""
from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path

from peftstudio.engine import atomic, paths
from peftstudio.engine.errors import PlainError


@dataclass
class ProfileConfig:
    lora_r: int
    lora_alpha: int
    lora_dropout: float
    target_modules: list[str]
    learning_rate: float  # for the reference effective batch of 16; the planner scales it
    epochs: float
    warmup_ratio: float
    max_seq_length: int
    effective_batch_size: int = 16


@dataclass
class ProfileRequirements:
    min_gpu_memory: int  # bytes, for the smallest sensible model of this use case
    recommended_dataset_size: int  # examples


@dataclass
class OptimizationProfile:
    id: str
    name: str
    description: str
    use_case: str
    icon: str  # a name under peftstudio/resources/icons
    config: ProfileConfig
    requirements: ProfileRequirements
    example_prompts: list[str] = field(default_factory=list)
    system_prompt: str | None = None
    temperature: float = 0.7  # suggested for the playground
    builtin: bool = True
    training_method: str = "sft"  # grpo: the use case learns from a checker's scores, not written answers

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "OptimizationProfile":
        data = dict(data)
        data["config"] = ProfileConfig(**data["config"])
        data["requirements"] = ProfileRequirements(**data["requirements"])
        return cls(**data)


GB = 2**30
ALL = ["all-linear"]

BUILTIN_PROFILES: list[OptimizationProfile] = [
    OptimizationProfile(
        "chatbot", "Chatbot assistant", "A helpful assistant that follows your tone and answers in conversation. "
        "Best with example dialogues.", "conversation", "chat",
        ProfileConfig(16, 32, 0.05, ALL, 2e-4, 3, 0.03, 1024), ProfileRequirements(4 * GB, 500),
        ["Hi! What can you help me with today?", "Can you explain that again more simply?",
         "Write a short, friendly reply to a customer asking about delivery times."],
        system_prompt="You are a helpful, friendly assistant."),
    OptimizationProfile(
        "code-generation", "Code generation", "Writes and explains code in your style or for your library. Keeps "
        "long contexts and learns precise syntax.", "code", "code",
        ProfileConfig(32, 64, 0.05, ALL, 1e-4, 3, 0.03, 2048), ProfileRequirements(8 * GB, 1000),
        ["Write a Python function that checks whether a string is a palindrome.",
         "Explain what this code does: `sorted(d.items(), key=lambda kv: kv[1])`",
         "Fix the bug: `for i in range(len(xs)): if xs[i] = 0: print(i)`"], temperature=0.2),
    OptimizationProfile(
        "summarization", "Text summarization", "Turns long documents into short, faithful summaries. Needs room "
        "for long inputs, learns a compact output style.", "summarization", "summary",
        ProfileConfig(16, 32, 0.05, ALL, 2e-4, 2, 0.03, 2048), ProfileRequirements(8 * GB, 500),
        ["Summarize in two sentences: The city council met on Monday to discuss the new park...",
         "Give me the three key points of this email: ...",
         "Write a one-line headline for this article: ..."], temperature=0.3),
    OptimizationProfile(
        "question-answering", "Question answering", "Answers factual questions about your domain accurately and "
        "briefly. Lower learning rate to keep the model's knowledge intact.", "qa", "question",
        ProfileConfig(16, 32, 0.05, ALL, 1e-4, 3, 0.05, 1024), ProfileRequirements(4 * GB, 300),
        ["What is the return policy for damaged items?", "Who should I contact about a billing error?",
         "How long does the warranty last?"], temperature=0.2),
    OptimizationProfile(
        "creative-writing", "Creative writing", "Stories, poems and marketing copy in a voice of your choosing. "
        "Higher rank to capture style; varied outputs.", "creative", "pen",
        ProfileConfig(32, 64, 0.1, ALL, 2e-4, 3, 0.03, 1024), ProfileRequirements(4 * GB, 300),
        ["Write a short poem about the sea at night.", "Begin a mystery story set in a lighthouse.",
         "Write a product description for a hand-made wooden chair."], temperature=0.9),
    OptimizationProfile(
        "domain-adaptation", "Domain adaptation", "Teaches the model your field's vocabulary and facts (medicine, "
        "law, internal docs). General-purpose settings.", "domain", "book",
        ProfileConfig(16, 32, 0.05, ALL, 2e-4, 2, 0.03, 1024), ProfileRequirements(4 * GB, 1000),
        ["Explain this term from our field in plain words: ...", "What are the main steps of our process for ...?",
         "Summarize our guidelines on ..."], temperature=0.5),
    # GRPO moves a LoRA adapter with small steps (the peers' GRPO recipes use 5e-6..5e-5): 4e-5 at the planner's
    # reference of 16 per update is 2e-5 at this profile's 4 prompts (each answered num_generations times, so an
    # update already scores 16-32 answers); one pass over the prompts
    OptimizationProfile(
        "skill-checker", "Teach a skill with a checker", "No written answers needed: the model tries, a checker "
        "scores each try (valid JSON, the right number, under 40 words), and it learns what passes.", "skill",
        "check", ProfileConfig(16, 32, 0.0, ALL, 4e-5, 1, 0.05, 512, effective_batch_size=4), ProfileRequirements(4 * GB, 200),
        ["Reply in JSON with the keys name and age: Anna is 31.", "What is 17 * 3? Answer with the number.",
         "Describe the sea in under 20 words."], temperature=0.7, training_method="grpo"),
    # an agent learns the calls' exact shape (names, JSON arguments) more than new knowledge: a moderate rank,
    # and room for the tool list, which the model reads before every conversation
    OptimizationProfile(
        "tool-calling", "Teach an agent to call tools", "Calls the right function with valid arguments, and none "
        "when none is needed. Needs conversations with tools (OpenAI, ShareGPT or Hermes layout).", "agent",
        "tools", ProfileConfig(16, 32, 0.05, ALL, 2e-4, 3, 0.03, 2048), ProfileRequirements(4 * GB, 300),
        ["What is the weather in Oslo right now?", "Set a timer for ten minutes.", "Thanks, that is all."],
        temperature=0.0),
    OptimizationProfile(
        "json-answers", "Answer in JSON", "Replies with valid JSON only, in the shape your examples use: data "
        "extraction, form filling, replies for a program. The scorecard checks every answer parses.", "json",
        "json", ProfileConfig(16, 32, 0.05, ALL, 2e-4, 3, 0.03, 1024), ProfileRequirements(4 * GB, 300),
        ["Extract the name and age as JSON: Anna is 31 and lives in Oslo.",
         "Give the order as JSON with item and quantity: two coffees, please.",
         "Turn into JSON with title and year: The Matrix came out in 1999."],
        temperature=0.0),
]


def user_profiles_dir() -> Path:
    folder = paths.data_dir() / "profiles"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def save_user_profile(profile: OptimizationProfile) -> Path:
    if not re.fullmatch(r"[a-z0-9][a-z0-9-]{0,62}", profile.id) or get_builtin(profile.id):
        raise PlainError(
            title="This profile name cannot be used",
            what=f"'{profile.id}' is not a valid profile id or is taken by a built-in profile.",
            why="Profile ids are short lower-case names made of letters, digits and dashes.",
            actions=["Choose another name, for example my-support-bot.", "Edit the existing profile instead."],
            help_topic="settings",
        )
    profile.builtin = False
    return atomic.write_json(user_profiles_dir() / f"{profile.id}.json", profile.to_dict())


def get_builtin(profile_id: str) -> OptimizationProfile | None:
    return next((p for p in BUILTIN_PROFILES if p.id == profile_id), None)


def all_profiles() -> list[OptimizationProfile]:
    users = []
    for file in sorted(user_profiles_dir().glob("*.json")):
        try:
            users.append(OptimizationProfile.from_dict(json.loads(file.read_text(encoding="utf-8"))))
        except (ValueError, TypeError, KeyError):
            continue  # a damaged user profile is skipped, never fatal
    return BUILTIN_PROFILES + users


def get_profile(profile_id: str) -> OptimizationProfile:
    found = next((p for p in all_profiles() if p.id == profile_id), None)
    if found is None:
        raise PlainError(
            title="Unknown use-case profile",
            what=f"There is no profile called '{profile_id}'.",
            why="Profiles are the built-in use cases or ones you saved.",
            actions=[f"Use one of: {', '.join(p.id for p in all_profiles())}.",
                     "Create a custom profile in the wizard's first step."],
            help_topic="settings",
        )
    return found


# ---- preference runs (DPO, ORPO, SimPO, KTO) -----------------------------------------------------------
@dataclass(frozen=True)
class PreferenceDefaults:
    beta: float
    learning_rate: float
    reason: str


# Starting points for LoRA preference runs (TRL's documented defaults for beta; learning rates an order of
# magnitude above full fine-tuning's 5e-7..5e-6, as is usual for LoRA adapters), adjusted per use case.
METHOD_DEFAULTS = {"dpo": (0.1, 5e-5), "orpo": (0.1, 8e-5), "simpo": (2.0, 5e-5), "kto": (0.1, 5e-5)}
# use cases where answers must stay exact keep closer to the version they start from; open-ended ones move further
PROFILE_BETA = {"code-generation": (2.0, "code and facts must stay exact, so the model keeps close to the version "
                                         "it starts from"),
                "question-answering": (2.0, "answers must stay accurate, so the model keeps close to the version "
                                            "it starts from"),
                "creative-writing": (0.5, "style is the point, so the model may move further toward your taste")}


def preference_defaults(method: str, profile_id: str | None = None) -> PreferenceDefaults:
    """Beta and learning rate for a preference run, with the reason in words."""
    beta, learning_rate = METHOD_DEFAULTS[method]
    factor, why = PROFILE_BETA.get(profile_id or "", (1.0, "the usual starting point for this method"))
    return PreferenceDefaults(round(beta * factor, 4), learning_rate, f"beta {beta * factor:g}: {why}")
