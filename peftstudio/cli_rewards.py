"""`peftstudio rewards DATASET --reward ... [--model M] [--json]`: the reward preview before a GRPO run."""
from __future__ import annotations

import json
import sys
from pathlib import Path

from peftstudio.cli import print_error, quiet_libraries
from peftstudio.cli_train import reward_overrides
from peftstudio.engine.config import TrainingConfig
from peftstudio.engine.errors import PlainError
from peftstudio.engine.training import preview_rewards


def rewards_command(args) -> int:
    quiet_libraries()
    try:
        overrides = {"dataset_path": str(Path(args.dataset).expanduser().resolve()), "training_method": "grpo",
                     **reward_overrides(args)}
        if args.model:
            overrides["model_name"] = args.model
        config = TrainingConfig().merged(overrides).check()
        preview = preview_rewards(config, prompts=args.prompts, generations=args.generations,
                                 max_new_tokens=args.max_new_tokens)
    except PlainError as error:
        print_error(error, args.json)
        return 1
    if args.json:
        print(json.dumps({"ok": True, **preview}, indent=2))
        return 0
    for item in preview["prompts"]:
        print(f"row {item['row']}: {item['prompt'][:70]}")
        for answer in item["answers"]:
            scores = ", ".join(f"{k} {v:.2f}" for k, v in answer["rewards"].items())
            print(f"  {answer['total']:.2f}  [{scores}]  {answer['text'][:60]!r}")
    print(f"mean reward {preview['mean_reward']:.3f}")
    for warning in preview["warnings"]:
        print(f"warning: {warning}", file=sys.stderr)
    return 0
