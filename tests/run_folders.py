"""Run folders as the engine writes them, for tests that need finished runs without training."""
import json
from pathlib import Path

from peftstudio.engine.config import TrainingConfig
from peftstudio.engine.runs.events import EventLog


def write_run(folder: Path, name: str, config: TrainingConfig, losses: list[float], speed: float = 100.0,
              rss: int = 2**30) -> Path:
    """A run folder as the engine writes it: config.json, run.json and a real events.jsonl."""
    run = folder / name
    run.mkdir(parents=True)
    (run / "config.json").write_text(config.to_json())
    (run / "adapter").mkdir()
    (run / "adapter" / "adapter_model.safetensors").write_bytes(b"x" * 1000)
    (run / "checkpoints" / "checkpoint-1").mkdir(parents=True)
    (run / "checkpoints" / "checkpoint-1" / "optimizer.pt").write_bytes(b"y" * 5000)
    log = EventLog(run / "events.jsonl")
    log.emit("status", status="running")
    for step, loss in enumerate(losses, 1):
        log.emit("metrics", step=step, max_steps=len(losses), loss=loss, learning_rate=1e-4, tokens_per_second=speed,
                 process_rss=rss, heartbeat=False)
    log.emit("eval", step=len(losses), eval_loss=losses[-1] * 1.1, perplexity=1.0)
    log.emit("status", status="completed")
    (run / "run.json").write_text(json.dumps({"id": name, "model_name": config.model_name, "status": "completed",
                                              "created": f"2026-01-01T00:00:{len(name):02d}",
                                              "dataset_path": config.dataset_path}))
    return run
