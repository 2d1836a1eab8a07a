"""Exporting runs: Hugging Face (adapter, merged), GGUF, Ollama, LM Studio, each verified by loading it back."""
