"""The export formats and GGUF types, declared once: the command line's choices and help, the export dialog, the
size estimates, the GGUF writer, llama.cpp's reference quantizer and the verification's tolerances all read
these two tables."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ExportFormat:
    name: str
    meaning: str  # for the CLI's help and the export dialog
    gguf: bool  # a GGUF file (for llama.cpp, Ollama, LM Studio): the GGUF type applies
    tolerance: float | None = None  # largest max |logit difference| when loaded back (GGUF: the type's)


@dataclass(frozen=True)
class GGUFType:
    name: str
    bits_per_weight: float  # on average over the file's mix of tensor types
    meaning: str
    llama_file_type: int  # llama.cpp's LLAMA_FTYPE_* (gguf.LlamaFileType has the same numbers)
    tolerance: float  # largest max |logit difference| against the model in memory
    k_quant: str | None = None  # the GGML type of most tensors in llama.cpp's K-quant mix
    more_bits_mix: bool = False  # the _M mixes: attention V and FFN down in Q6_K on some layers
    min_agreement: float | None = None  # lossy types: least top-1 agreement without llama.cpp measured beside it

    @property
    def lossy(self) -> bool:
        return self.min_agreement is not None

    def estimated_bytes(self, parameters: int) -> int:
        """Rough file size before export (the mixes keep a few tensors at higher precision)."""
        return int(parameters * self.bits_per_weight / 8) + 8_000_000


FORMATS = {f.name: f for f in (
    ExportFormat("hf", "the adapter alone, for transformers and peft", gguf=False, tolerance=1e-3),
    ExportFormat("hf-merged", "a full model with the adapter merged in, for transformers", gguf=False, tolerance=1e-3),
    ExportFormat("gguf", "one GGUF file, for llama.cpp and the apps built on it", gguf=True),
    ExportFormat("ollama", "a GGUF file with its Modelfile, for Ollama", gguf=True),
    ExportFormat("lmstudio", "a GGUF file in LM Studio's folder layout", gguf=True),
)}
GGUF_FORMATS = tuple(name for name, f in FORMATS.items() if f.gguf)

# best default first; the tolerances for q8_0 and below allow for lossy weights, whose top next token must agree
GGUF_TYPES = {t.name: t for t in (
    GGUFType("q4_k_m", 4.85, "about 4.8 bits per weight; what Ollama and LM Studio download by default",
             llama_file_type=15, tolerance=8.0, k_quant="Q4_K", more_bits_mix=True, min_agreement=0.6),
    GGUFType("q5_k_m", 5.7, "about 5.7 bits per weight; a little closer to the original than q4_k_m",
             llama_file_type=17, tolerance=6.0, k_quant="Q5_K", more_bits_mix=True, min_agreement=0.7),
    GGUFType("q6_k", 6.6, "about 6.6 bits per weight; nearly the original's answers",
             llama_file_type=18, tolerance=4.0, k_quant="Q6_K", min_agreement=0.8),
    GGUFType("q8_0", 8.5, "8.5 bits per weight; practically the original's answers",
             llama_file_type=7, tolerance=3.0),
    GGUFType("f16", 16.0, "16 bits per weight; the original's answers, twice q8_0's size",
             llama_file_type=1, tolerance=0.25),
    GGUFType("f32", 32.0, "32 bits per weight; exact, mostly for checking", llama_file_type=0, tolerance=1e-3),
)}
QUANTS = tuple(GGUF_TYPES)
DEFAULT_QUANT = "q4_k_m"  # what Ollama and LM Studio download by default
LOSSY = frozenset(name for name, t in GGUF_TYPES.items() if t.lossy)


def tolerance(key: str) -> float:
    """The logit tolerance for an export format (hf, hf-merged) or a GGUF type."""
    return GGUF_TYPES[key].tolerance if key in GGUF_TYPES else FORMATS[key].tolerance
