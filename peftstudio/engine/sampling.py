"""How an answer is sampled, declared once: the playground's form, `peftstudio chat`'s flags, llama.cpp's chat
(GGUF files) and the exported Ollama Modelfile all read these declarations and their names in each engine."""
from __future__ import annotations

from dataclasses import asdict, dataclass

from peftstudio.engine.settings import declare, settings_of


@dataclass
class Sampling:
    temperature: float = declare(0.0, "Temperature", "float",
                                 "0 gives the same answer every time; higher is more varied.", "from 0 to 2",
                                 minimum=0, maximum=2, decimals=2, step=0.1)
    top_p: float = declare(0.9, "Top-p", "float", "Only the likeliest words that together make up this share are "
                           "drawn from (when the temperature is above 0).", "from 0 to 1", minimum=0, maximum=1,
                           decimals=2, step=0.05)
    top_k: int = declare(50, "Top-k", "int", "Only this many of the likeliest words are drawn from (0: all).",
                         "a whole number from 0 to 1000", minimum=0, maximum=1000)
    max_new_tokens: int = declare(128, "Max new tokens", "int", "The longest answer, in tokens.",
                                  "a whole number from 1 to 4096", minimum=1, maximum=4096)
    repetition_penalty: float = declare(1.1, "Repetition penalty", "float",
                                        "Above 1 makes repeating the same words less likely.", "from 1 to 2",
                                        minimum=1, maximum=2, decimals=2, step=0.05)
    system_prompt: str | None = declare(None, "System prompt", "text",
                                        "Instructions the model reads before every conversation (optional).",
                                        "any text, or nothing", optional=True, allow_empty=True)

    def llama_cpp(self) -> dict:
        """The keywords of llama-cpp-python's create_chat_completion."""
        return {LLAMA_CPP[name]: value for name, value in asdict(self).items() if name in LLAMA_CPP}

    def ollama(self) -> dict:
        """Ollama's Modelfile PARAMETERs."""
        return {OLLAMA[name]: value for name, value in asdict(self).items() if name in OLLAMA}


# each setting's name in the other engines (the system prompt travels as a message or SYSTEM instead)
LLAMA_CPP = {"temperature": "temperature", "top_p": "top_p", "top_k": "top_k", "max_new_tokens": "max_tokens",
             "repetition_penalty": "repeat_penalty"}
OLLAMA = {"temperature": "temperature", "top_p": "top_p", "top_k": "top_k", "max_new_tokens": "num_predict",
          "repetition_penalty": "repeat_penalty"}


def sampling_settings():
    """Every sampling setting's declaration, in the form's order."""
    return settings_of(Sampling)



def cli_flag(name: str) -> str:
    return "--" + name.replace("_", "-")
