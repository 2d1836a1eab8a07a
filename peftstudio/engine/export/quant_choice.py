"""Which GGUF type keeps what the model learned: a small model loses more to 4 bits than a 7B one.

The verification measures each file's top-1 agreement with the model in memory (export/verify.py). Below
KEEPS_BEHAVIOUR a file answers noticeably differently: the 135M demo trained 2 steps agreed 85% at q4_k_m
(llama.cpp's own quantizer: 83%) and answered "What is the capital of France?" with "L'Etoile, la
Marseillaise, la femme," where the model in memory said "The capital of France is Paris.". With the type left to PEFT
Studio, the export then tries the next larger types in turn and keeps the smallest that agrees enough; with a
type the user chose, the file is kept and the report says so plainly and names what to do instead.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

KEEPS_BEHAVIOUR = 0.90  # top-1 agreement with the model in memory that a file must reach to keep its answers
LADDER = ("q4_k_m", "q5_k_m", "q6_k", "q8_0")  # smallest first; q8_0 practically keeps the original's answers


@dataclass
class QuantAdvice:
    threshold: float
    first: str  # the type asked for (or the default)
    chosen: str | None  # the type written when PEFT Studio chose; None when the user's type was kept
    recommended: str | None  # the smallest type measured to keep the agreement (None if none was measured)
    tried: list[dict] = field(default_factory=list)  # per type: quant, top1_agreement, mean_kl, probe answer

    def to_dict(self) -> dict:
        return {"threshold": self.threshold, "first": self.first, "chosen": self.chosen,
                "recommended": self.recommended, "tried": self.tried}


def agreement(report) -> float | None:
    return report.agreement["top1_agreement"] if report is not None and report.agreement else None


def keeps_behaviour(report) -> bool:
    """True unless the file was measured and agrees with the model less than KEEPS_BEHAVIOUR."""
    measured = agreement(report)
    return measured is None or measured >= KEEPS_BEHAVIOUR


def trial(quant: str, report) -> dict:
    return {"quant": quant, "top1_agreement": agreement(report),
            "mean_kl": report.agreement["mean_kl"] if report.agreement else None,
            "probe_answer": report.sample_answer}


def larger_types(quant: str) -> list[str]:
    return list(LADDER[LADDER.index(quant) + 1:]) if quant in LADDER else []


def climb(first: str, first_report, try_type: Callable[[str], object]) -> tuple[QuantAdvice, str]:
    """Try larger types until one keeps the agreement; `try_type(quant)` writes and verifies one, returning its
    report. Returns the advice and the type to keep (the smallest that agreed, else the most faithful tried)."""
    advice = QuantAdvice(KEEPS_BEHAVIOUR, first, None, None, [trial(first, first_report)])
    kept = first
    for quant in larger_types(first):
        report = try_type(quant)
        advice.tried.append(trial(quant, report))
        kept = quant
        if report is not None and report.loaded and keeps_behaviour(report):
            advice.recommended = quant
            break
    advice.chosen = kept
    return advice, kept


def plain_advice(first: str, first_report) -> QuantAdvice:
    """The user's own type fell short: say so, and name the types that usually keep more."""
    return QuantAdvice(KEEPS_BEHAVIOUR, first, None, None, [trial(first, first_report)])


def advice_sentence(advice: QuantAdvice) -> str:
    """The finding in words, for the report's summary (the CLI prints it; the dialog shows it)."""
    first = advice.tried[0]
    text = (f"At {advice.first} the file picks your model's next word only {first['top1_agreement']:.0%} of the "
            f"time, below the {advice.threshold:.0%} that keeps what it learned (small models lose more to "
            f"4 bits). ")
    if advice.chosen is not None and advice.chosen != advice.first:
        kept = next(t for t in advice.tried if t["quant"] == advice.chosen)
        text += (f"So {advice.chosen} was written instead: it agrees {kept['top1_agreement']:.0%} of the time"
                 + ("" if advice.recommended else f", the most of the types tried (none reached "
                    f"{advice.threshold:.0%})") + ".")
    else:
        larger = ", ".join(larger_types(advice.first)) or "f16"
        text += (f"Export again without choosing a type to let PEFT Studio pick the smallest that keeps it, or "
                 f"choose a larger one ({larger}).")
    return text
