"""Several devices in the GUI: the 'Use GPUs' setting, and the dashboard following launched processes."""
from __future__ import annotations

import json

from helpers import signature_rows, small_config
from peftstudio.engine.planning.hardware import GPUInfo, HardwareProfile, hardware_profile
from peftstudio.engine.runs.events import Status
from peftstudio.engine.training.session import TrainingSession
from peftstudio.ui.dashboard import DashboardWidget
from peftstudio.ui.wizard.wizard import TrainingWizard
from peftstudio.ui.worker import worker_for

GB = 2**30


def two_gpu_machine() -> HardwareProfile:
    gpus = [GPUInfo(i, "NVIDIA A100-SXM4-40GB", 40 * GB, 38 * GB, "8.0", "12.4", "550") for i in range(2)]
    return HardwareProfile("cpu", 32, 64, 256 * GB, 200 * GB, 1000 * GB, gpus, cuda_available=True,
                           bf16_supported=True)


def test_use_gpus_is_offered_only_with_several_gpus(qtbot):
    wizard = TrainingWizard(two_gpu_machine())
    qtbot.addWidget(wizard)
    wizard.show()
    page = wizard.config_page
    page.initializePage()
    gpus = page.widgets["num_processes"]
    assert gpus.isVisibleTo(page) and gpus.maximum() == 2 and gpus.value() == 1
    batch_alone = wizard.state.config.batch_size
    gpus.setValue(2)
    config = wizard.state.config
    assert config.num_processes == 2
    assert config.batch_size * config.gradient_accumulation * 2 >= batch_alone  # the same examples per update
    assert "2 devices with ddp" in page.why["num_processes"].text()

    cpu_only = TrainingWizard(hardware_profile())
    qtbot.addWidget(cpu_only)
    cpu_only.config_page.initializePage()
    assert not cpu_only.config_page.widgets["num_processes"].isVisibleTo(cpu_only.config_page)


def test_dashboard_follows_a_launched_run_through_pause_and_resume(qtbot, tmp_path):
    dataset = tmp_path / "d.json"
    dataset.write_text(json.dumps(signature_rows()))
    session = TrainingSession.create(small_config(dataset, max_steps=6, batch_size=2, num_processes=2,
                                                  save_steps=100, lora_dropout=0.0))
    worker = worker_for(session)
    assert worker.launches  # two devices: the runner launches one process per device
    dashboard = DashboardWidget(worker)
    qtbot.addWidget(dashboard)
    dashboard.show()
    worker.start()
    qtbot.waitUntil(lambda: bool(dashboard.series.steps) and dashboard.series.steps[-1] >= 1, timeout=300_000)
    dashboard.pause_button.click()
    qtbot.waitUntil(lambda: dashboard.series.status == "paused", timeout=300_000)
    worker.wait()
    paused_step = dashboard.series.steps[-1]
    assert paused_step < 6 and (session.run_dir / "control.json").exists()

    with qtbot.waitSignal(worker.completed, timeout=300_000) as done:
        dashboard.resume_button.click()
    worker.wait()
    assert done.args[0]["steps"] == 6 and dashboard.series.steps[-1] == 6
    assert TrainingSession.open(session.run_dir).status == Status.COMPLETED
    assert (session.run_dir / "accelerate_config.yaml").exists() and (session.run_dir / "launch.sh").exists()
