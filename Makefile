# vidkit: set-up, tests, benchmarks and reproductions. `make -n <target>` prints the exact commands.
.DELETE_ON_ERROR:
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
VIDKIT ?= $(PY) -m vidkit
DEMO ?= out/demo
SEED ?= 0
# torch and torchvision as this machine serves them from local disk; override for other platforms.
TORCH_SPEC ?= torch==2.14.1 torchvision==0.29.1

.PHONY: help install demo test test-fast bench clean

help:
	@echo "make demo       install into $(VENV) and run the main job on built-in toy data"
	@echo "make test       install into $(VENV) and run the whole test suite"
	@echo "make test-fast  the suite without the slow end-to-end tests"
	@echo "make bench      speed benchmarks (ratios against baselines run alongside)"
	@echo "make clean      remove $(DEMO) and caches"

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet $(TORCH_SPEC)
	$(PY) -m pip install --quiet -e '.[test,bench]'
	touch $@

install: $(VENV)/.installed

# The main job on toy data: a labelled dataset, its frame store, TCE pretraining, features of the test split.
demo: install
	$(VIDKIT) synth $(DEMO)/synth --seed $(SEED)
	$(VIDKIT) extract-frames $(DEMO)/synth/videos -o $(DEMO)/frames.h5 --annotations $(DEMO)/synth/splits --dataset ucf101 --flow
	$(VIDKIT) info $(DEMO)/frames.h5
	$(VIDKIT) pretrain --method tce $(DEMO)/frames.h5 -o $(DEMO)/tce.pt --backbone resnet18 --size 64 --steps 60 --batch-size 16 --schedule cosine --no-rotation --seed $(SEED)
	$(VIDKIT) embed $(DEMO)/tce.pt $(DEMO)/frames.h5 -o $(DEMO)/tce_test.h5 --split test01 --json

test: install
	$(PY) -m pytest -q --runslow

test-fast: install
	$(PY) -m pytest -q

bench: install
	$(PY) bench/extract.py
	$(PY) bench/train.py
	$(PY) bench/retrieve.py
	$(PY) bench/tsne.py

clean:
	rm -rf $(DEMO) .pytest_cache .hypothesis
