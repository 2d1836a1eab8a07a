"""`peftstudio hardware` and `peftstudio plan`: what this machine has, and the settings that fit it."""
from __future__ import annotations

import json
import sys
from pathlib import Path

from peftstudio.cli import print_error, quiet_libraries
from peftstudio.engine.config import TrainingConfig
from peftstudio.engine.errors import PlainError
from peftstudio.engine.planning import (
    SOURCE_WORDS,
    Settings,
    cached_throughput,
    dataset_summary,
    get_profile,
    hardware_profile,
    model_facts,
    plan,
    summary_line,
)
from peftstudio.engine.training import run_micro_benchmark


def hardware_command(args) -> int:
    profile = hardware_profile(max_age=0 if args.refresh else 300)
    if args.json:
        print(json.dumps(profile.to_dict()))
        return 0
    print(f"CPU: {profile.cpu_model} ({profile.cpu_cores} cores, {profile.cpu_threads} threads)")
    print(f"RAM: {profile.ram_total / 2**30:.1f} GB ({profile.ram_available / 2**30:.1f} GB free); "
          f"disk free: {profile.disk_free / 2**30:.0f} GB")
    for gpu in profile.gpus:
        print(f"GPU {gpu.index}: {gpu.name}, {gpu.memory_total / 2**30:.0f} GB ({gpu.memory_available / 2**30:.0f} GB "
              f"free), compute {gpu.compute_capability}, CUDA {gpu.cuda_version}, driver {gpu.driver_version}")
    if not profile.gpus:
        print("GPU: none found" + (" (Apple GPU available)" if profile.mps_available else "") +
              " - training runs on the CPU; small models work well.")
    return 0


def plan_command(args) -> int:
    quiet_libraries()

    try:
        profile = get_profile(args.profile)
        facts = model_facts(args.model)
        hardware = hardware_profile()
        dataset = Path(args.dataset).expanduser().resolve()
        data = dataset_summary(dataset, args.model, None)
        base = TrainingConfig(model_name=args.model, dataset_path=str(dataset))
        settings = Settings(args.price, args.carbon)
        result = plan(facts, hardware, data, profile, base, settings)
        measured = cached_throughput(result.config, hardware)
        if args.benchmark and measured is None and result.feasible:
            print("Measuring a few real training steps on this machine...", file=sys.stderr)
            measured = run_micro_benchmark(result.config, hardware)
        if measured:
            result = plan(facts, hardware, data, profile, base, settings, measured_tokens_per_second=measured)
    except PlainError as error:
        print_error(error, args.json)
        return 1
    if args.json:
        print(json.dumps(result.to_dict(), default=str))
    else:
        c = result.config
        print(f"{facts.model_id} on {result.device.upper()} with the {profile.name} profile: "
              f"{'fits' if result.feasible else 'does NOT fit'}; {summary_line(result)} "
              f"({SOURCE_WORDS.get(result.estimates.source, result.estimates.source)})")
        if result.explanation:
            print(result.explanation)
        for name, why in result.reasons.items():
            print(f"  {name} = {getattr(c, name)}: {why}")
        e = result.estimates
        print(f"  energy {e.electricity_kwh:.3f} kWh, cost {e.electricity_cost:.3f}, CO2 {e.carbon_kg:.3f} kg, "
              f"disk {e.disk_space / 2**20:.0f} MB")
        print("Alternatives:")
        for alt in result.alternatives:
            print(f"  - {alt.title}: {alt.tradeoff}")
    return 0 if result.feasible else 1
