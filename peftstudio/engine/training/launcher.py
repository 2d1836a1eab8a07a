"""Training on several devices or machines: we launch PyTorch's own distributed runtime and follow it.

The run folder is created first (status CREATED), then `accelerate launch` starts one process per device,
each running the unchanged `python -m peftstudio train --resume RUN_DIR`. The launcher writes into the run
folder the accelerate config (`accelerate_config.yaml`) and the exact command (`launch.sh`), so the run can
be reproduced by hand, on this machine or on a cluster (`cluster_command`). A follower reads the run's
`events.jsonl` as it grows (a short-interval reader) so the CLI progress bar and the GUI dashboard work as
for an in-process run; pause and stop go through the control file (see runs/ranks.py).
"""
from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from peftstudio.engine import atomic, paths
from peftstudio.engine.config import TrainingConfig
from peftstudio.engine.errors import PlainError
from peftstudio.engine.runs import RunFolder, ranks
from peftstudio.engine.runs.events import EventFollower, last_status

LAUNCH_TEMP = re.compile(r"^\.tmp-(?P<pid>\d+)-\d+$")  # a launch's temporary folder (its launcher's pid)
FOLLOW_INTERVAL = 0.2  # seconds between reads of events.jsonl (a read of nothing new costs one stat)


@dataclass
class LaunchPlan:
    num_processes: int  # on this machine
    strategy: str = "ddp"
    num_machines: int = 1
    machine_rank: int = 0
    main_process_ip: str | None = None
    main_process_port: int = 29500

    @classmethod
    def from_config(cls, config: TrainingConfig) -> "LaunchPlan":
        return cls(num_processes=config.num_processes, strategy=config.distributed_strategy)


def accelerate_config(plan: LaunchPlan, config: TrainingConfig):
    """accelerate's own ClusterConfig for the plan (written with its to_yaml_file)."""
    from accelerate.commands.config.config_args import ClusterConfig
    from accelerate.utils import ComputeEnvironment, DistributedType

    fsdp, deepspeed, kind = {}, {}, DistributedType.MULTI_GPU  # MULTI_GPU also runs CPU ranks (gloo)
    if plan.strategy == "fsdp":
        kind = DistributedType.FSDP
        fsdp = {"fsdp_version": 2, "fsdp_auto_wrap_policy": "TRANSFORMER_BASED_WRAP", "fsdp_offload_params": False,
                "fsdp_reshard_after_forward": True, "fsdp_state_dict_type": "SHARDED_STATE_DICT",
                "fsdp_cpu_ram_efficient_loading": True, "fsdp_activation_checkpointing": config.gradient_checkpointing}
    elif plan.strategy in ("zero2", "zero3"):
        kind = DistributedType.DEEPSPEED
        deepspeed = {"zero_stage": 2 if plan.strategy == "zero2" else 3, "offload_optimizer_device": "none",
                     "offload_param_device": "none", "zero3_init_flag": plan.strategy == "zero3",
                     "zero3_save_16bit_model": plan.strategy == "zero3",
                     "gradient_accumulation_steps": config.gradient_accumulation,
                     "gradient_clipping": config.max_grad_norm}
    return ClusterConfig(
        compute_environment=ComputeEnvironment.LOCAL_MACHINE, distributed_type=kind, mixed_precision="no",
        use_cpu=False, debug=False, num_processes=plan.num_processes * plan.num_machines,
        num_machines=plan.num_machines, machine_rank=plan.machine_rank, main_process_ip=plan.main_process_ip,
        main_process_port=plan.main_process_port, rdzv_backend="static", same_network=True,
        fsdp_config=fsdp, deepspeed_config=deepspeed,
    )


def launch_argv(run_dir: Path, config_file: Path) -> list[str]:
    """The command every process group starts with: accelerate's launcher around our unchanged CLI."""
    return [sys.executable, "-m", "accelerate.commands.launch", "--config_file", str(config_file),
            "-m", "peftstudio", "train", "--resume", str(run_dir)]


def cluster_command(run_dir: Path, plan: LaunchPlan) -> str:
    """What to run on each machine of a cluster (same run folder path on shared storage)."""
    ip = plan.main_process_ip or "MAIN_MACHINE_IP"
    parts = ["accelerate", "launch", "--config_file", str(RunFolder(run_dir).accelerate_config_file),
             "--num_machines", str(plan.num_machines), "--machine_rank", "MACHINE_RANK",
             "--num_processes", str(plan.num_processes * plan.num_machines),
             "--main_process_ip", ip, "--main_process_port", str(plan.main_process_port),
             "-m", "peftstudio", "train", "--resume", str(run_dir)]
    return shlex.join(parts).replace("MACHINE_RANK", "$MACHINE_RANK")


def write_launch_files(run_dir: Path, config: TrainingConfig, plan: LaunchPlan | None = None) -> list[str]:
    """Save the accelerate config and the launch command in the run folder; return the local command."""
    folder = RunFolder(run_dir)
    plan = plan or LaunchPlan.from_config(config)
    config_file = folder.accelerate_config_file
    accelerate_config(plan, config).to_yaml_file(str(config_file))
    argv = launch_argv(run_dir, config_file)
    script = ["#!/bin/sh", "# Written by PEFT Studio: reproduces this run outside the app.",
              "# On this machine:", shlex.join(["accelerate", *argv[3:]]), "",
              "# On a cluster: run this on every machine, MACHINE_RANK 0 on the main one:",
              "# " + cluster_command(run_dir, LaunchPlan(plan.num_processes, plan.strategy, max(2, plan.num_machines),
                                                          main_process_ip=plan.main_process_ip)), ""]
    folder.launch_script.write_text("\n".join(script), encoding="utf-8")
    os.chmod(folder.launch_script, 0o755)
    return argv


@dataclass
class LaunchedRun:
    """A run whose processes were started by `start`: follow its events, pause, stop, wait."""

    run_dir: Path
    process: subprocess.Popen
    follower: EventFollower
    scratch: Path | None = None  # the launch's temporary folder, removed once its processes have ended

    def read_events(self) -> list[dict]:
        return self.follower.read_new()

    def running(self) -> bool:
        return self.process.poll() is None

    def pause(self) -> None:
        ranks.request(self.run_dir, "pause")

    def stop(self) -> None:
        ranks.request(self.run_dir, "stop")

    def kill(self) -> None:
        import signal

        try:
            os.killpg(self.process.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass

    def wait(self, on_event: Callable[[dict], None], interval: float = FOLLOW_INTERVAL) -> int:
        """Hand each new event to `on_event` until the processes exit; returns the launcher's exit code."""
        while True:
            done = self.process.poll() is not None
            for event in self.read_events():
                on_event(event)
            if done:
                if self.scratch is not None:
                    shutil.rmtree(self.scratch, ignore_errors=True)
                return self.process.returncode
            time.sleep(interval)


def neutral_folder() -> str:
    """A working folder for launched processes that holds no importable code of anyone's."""
    folder = paths.cache_dir() / "launch"
    folder.mkdir(parents=True, exist_ok=True)
    return str(folder)


def start(run_dir: Path, config: TrainingConfig) -> LaunchedRun:
    """Launch the run's processes; their output goes to launcher.log in the run folder."""
    run_dir = Path(run_dir)
    if getattr(sys, "frozen", False):
        raise PlainError(
            title="Several GPUs need the installed version",
            what="This one-file build of PEFT Studio trains on one device.",
            why="Multi-GPU training starts one Python process per GPU through accelerate, which needs Python.",
            actions=["Set 'Use GPUs' to 1 to train on one GPU with this build.",
                     "Install PEFT Studio from source (make run) to train on several GPUs."],
            help_topic="troubleshooting")
    argv = write_launch_files(run_dir, config)
    ranks.clear_requests(run_dir)
    follower = EventFollower(RunFolder(run_dir).events_file)  # from here on: what the new processes write
    # PYTHONSAFEPATH and a neutral working folder: `python -m` puts the working folder first on sys.path,
    # and a run folder is data that anyone may have written a `peftstudio.py` or `torch.py` into
    # a temporary folder of the launch's own: torch's elastic agent leaves /tmp/torchelastic_* behind otherwise
    atomic.remove_abandoned(Path(neutral_folder()), LAUNCH_TEMP)
    scratch = Path(neutral_folder()) / f".tmp-{os.getpid()}-{time.monotonic_ns()}"
    scratch.mkdir()
    env = dict(os.environ, PEFTSTUDIO_LAUNCHED="1", PYTHONUNBUFFERED="1", HF_HUB_DISABLE_TELEMETRY="1",
               PYTHONSAFEPATH="1", TMPDIR=str(scratch), TEMP=str(scratch), TMP=str(scratch))
    try:
        with open(RunFolder(run_dir).launch_log, "ab") as log:
            process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=neutral_folder(),
                                       start_new_session=True)  # Ctrl+C in a terminal reaches us, not the ranks
    except BaseException:
        shutil.rmtree(scratch, ignore_errors=True)
        raise
    return LaunchedRun(run_dir, process, follower, scratch)


def final_status(run_dir: Path) -> str | None:
    return last_status(RunFolder(run_dir).events_file)


def launched_here() -> bool:
    """True inside a process started by `start` (a rank): it trains instead of launching again."""
    return bool(os.environ.get("PEFTSTUDIO_LAUNCHED")) or ranks.is_distributed()
