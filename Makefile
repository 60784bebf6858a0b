# vidkit: set-up, tests, benchmarks and reproductions. `make -n <target>` prints the exact commands.
.DELETE_ON_ERROR:
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
VIDKIT ?= $(PY) -m vidkit
DEMO ?= out/demo
SEED ?= 0
DEVICE ?= auto
# torch and torchvision as this machine serves them from local disk; override for other platforms.
TORCH_SPEC ?= torch==2.14.1 torchvision==0.29.1

.PHONY: help install demo test test-fast lint bench docs clean

help:
	@echo "make demo       install into $(VENV) and run the main job on built-in toy data"
	@echo "make test       install into $(VENV) and run the whole test suite"
	@echo "make test-fast  the suite without the slow end-to-end tests"
	@echo "make lint       ruff: lint rules, import order, formatting, no heavy imports in vidkit/cli"
	@echo "make bench      speed benchmarks (ratios against baselines run alongside)"
	@echo "make docs       regenerate docs/cli.md and the method tables of docs/methods.md"
	@echo "make ucf101-iic-retrieval DATA=...   and the other reproductions: docs/reproducing.md"
	@echo "make clean      remove $(DEMO), out/toy, $(BENCH) and caches (not real-data runs)"

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet $(TORCH_SPEC)
	$(PY) -m pip install --quiet -e '.[test,bench]'
	touch $@

install: $(VENV)/.installed

# The main job on the built-in toy data: the whole reproduction set below at toy scale, then the
# comparison table. Under 15 minutes on a 2-core CPU, install included; `--device auto` takes a GPU.
demo: install
	$(MAKE) --no-print-directory report DATA= RUN=$(DEMO) SEED=$(SEED) DEVICE=$(DEVICE)
	@echo
	@cat $(DEMO)/table.md
	@echo
	@echo "8 classes, 32 test videos: chance is 12.5% top-1, one video is 3.1 points. After a few CPU minutes"
	@echo "on toy data the table shows that every step runs, not which method is better (docs/reproducing.md)."
	@echo "t-SNE pictures of the test videos: $(DEMO)/tsne/*.png"

test: install
	$(PY) -m pytest -q --runslow

test-fast: install
	$(PY) -m pytest -q

LINTED := vidkit tests bench examples
lint: install
	$(PY) -m ruff check $(LINTED)
	$(PY) -m ruff format --check $(LINTED)

# Every benchmark, then one table of all their ratios (out/bench/summary.md).
BENCH ?= out/bench
bench: install
	@mkdir -p $(BENCH) && rm -f $(BENCH)/ratios.jsonl
	$(PY) bench/extract.py --ratios $(BENCH)/ratios.jsonl
	$(PY) bench/idt.py --ratios $(BENCH)/ratios.jsonl
	$(PY) bench/train.py --ratios $(BENCH)/ratios.jsonl
	$(PY) bench/retrieve.py --ratios $(BENCH)/ratios.jsonl
	$(PY) bench/tsne.py --ratios $(BENCH)/ratios.jsonl
	$(PY) bench/store_scale.py --ratios $(BENCH)/ratios.jsonl
	$(PY) bench/loader.py --ratios $(BENCH)/ratios.jsonl
	$(PY) bench/ratios.py $(BENCH)/ratios.jsonl > $(BENCH)/summary.md
	@echo && cat $(BENCH)/summary.md
	@$(PY) -c "import torch; print('GPU:', torch.cuda.get_device_name(0) if torch.cuda.is_available() else 'none here; the loader ratios compare with CPU training (bench/loader.py --device cuda on a GPU)')"

docs: install
	$(PY) -m vidkit.cli.reference > docs/cli.md.tmp && mv docs/cli.md.tmp docs/cli.md
	$(PY) -m vidkit.cli.reference methods < docs/methods.md > docs/methods.md.tmp && mv docs/methods.md.tmp docs/methods.md

clean:
	rm -rf $(DEMO) out/toy $(BENCH) .pytest_cache .hypothesis

# ---------------------------------------------------------------------------------------------
# Reproductions (docs/reproducing.md). One rule per artefact, every flag spelled out: `make -n
# ucf101-iic-retrieval DATA=/data/ucf101` prints the exact commands.
#
# DATA is a folder in the layout `vidkit synth` writes: DATA/videos/<Class>/<video> and DATA/splits
# (the official lists: classInd.txt, trainlist01.txt, testlist01.txt, ...). Point VIDEOS and SPLITS
# elsewhere to override. Without DATA the toy dataset is generated, and every run is scaled to
# minutes on a CPU; with DATA the papers' settings apply. RUN is where the artefacts go.
DATA ?=
DATASET ?= ucf101
EXTRACT_WORKERS ?= 2
ifeq ($(DATA),)
RUN ?= out/toy
VIDEOS ?= $(RUN)/synth/videos
SPLITS ?= $(RUN)/synth/splits
FORMAT := ucf101
FRAMES_FROM := $(RUN)/synth/splits/classInd.txt
# Toy scale: 8 motion classes, 64 train / 32 test videos of 32 frames at 64 px. Loading in the
# training process is faster than DataLoader workers at this size.
LOADER_WORKERS ?= 0
FRAME_SIZE ?= 64
TCE_BACKBONE ?= resnet18
TCE_SIZE ?= 64
TCE_PRETRAIN ?= --steps 150 --batch-size 16 --lr 0.03 --schedule cosine
IIC_BACKBONE ?= tiny
IIC_SIZE ?= 64
IIC_CLIP ?= 16
IIC_PRETRAIN ?= --steps 500 --batch-size 16 --lr 0.01 --schedule cosine -O normalize=true
CLIPS_PER_VIDEO ?= 4
TCE_FINETUNE ?= --epochs 10 --batch-size 8 --lr 0.01 --schedule cosine
IIC_FINETUNE ?= --epochs 40 --batch-size 8 --lr 0.1 --schedule cosine
else
RUN ?= out/$(DATASET)
VIDEOS ?= $(DATA)/videos
SPLITS ?= $(DATA)/splits
FORMAT := $(DATASET)
FRAMES_FROM :=
LOADER_WORKERS ?= 8
# The papers' settings (iic.md, tce.md). TCE trained at 224 px: FRAME_SIZE=256 TCE_SIZE=224.
FRAME_SIZE ?= 128
TCE_BACKBONE ?= resnet18
TCE_SIZE ?= 112
TCE_PRETRAIN ?= --epochs 50 --batch-size 100 --lr 0.03 --schedule step
IIC_BACKBONE ?= r3d
IIC_SIZE ?= 112
IIC_CLIP ?= 16
IIC_PRETRAIN ?= --epochs 240 --batch-size 16 --lr 0.01 --schedule step
CLIPS_PER_VIDEO ?= 10
TCE_FINETUNE ?= --epochs 150 --batch-size 25 --lr 0.01 --schedule step
IIC_FINETUNE ?= --epochs 150 --batch-size 16 --lr 0.001 --schedule plateau
endif
COMMON = --device $(DEVICE) --seed $(SEED)
LOADER = --workers $(LOADER_WORKERS)
# The output and shared flags of a training run. A killed pretrain/finetune leaves its checkpoint
# (pretrain: *.part.pt) behind, and the same make line then adds --resume.
train_to = -o $(1) $(LOADER) $(COMMON)$(if $(wildcard $(1)), --resume)
# The random-init twins take the method's backbone and input size.
RANDOM2D = --backbone $(TCE_BACKBONE) --size $(TCE_SIZE)
RANDOM3D = --backbone $(IIC_BACKBONE) --size $(IIC_SIZE) --clip-len $(IIC_CLIP)
# Keep every artefact, features included, once made (make would delete pattern-rule intermediates).
.SECONDARY:

.PHONY: reproduce report tce-retrieval tce-finetune tce-tsne iic-retrieval iic-finetune iic-tsne baselines

$(RUN)/synth/splits/classInd.txt:
	$(VIDKIT) synth $(RUN)/synth --classes 8 --train-per-class 8 --test-per-class 4 --frames 32 --size 64 --seed $(SEED)

$(RUN)/frames.h5: $(FRAMES_FROM)
	$(VIDKIT) extract-frames $(VIDEOS) -o $@ --annotations $(SPLITS) --dataset $(FORMAT) --size $(FRAME_SIZE) --workers $(EXTRACT_WORKERS)

$(RUN)/tce.pt: $(RUN)/frames.h5
	$(VIDKIT) pretrain --method tce $< --backbone $(TCE_BACKBONE) --size $(TCE_SIZE) $(TCE_PRETRAIN) --split train01 $(call train_to,$(RUN)/tce.part.pt)
	mv $(RUN)/tce.part.pt $@

$(RUN)/iic.pt: $(RUN)/frames.h5
	$(VIDKIT) pretrain --method iic $< --backbone $(IIC_BACKBONE) --size $(IIC_SIZE) --clip-len $(IIC_CLIP) -O view2=res -O intra_negatives=repeat $(IIC_PRETRAIN) --split train01 $(call train_to,$(RUN)/iic.part.pt)
	mv $(RUN)/iic.part.pt $@

# Features of a split (the stem's last word): TCE and its random-init twin embed frames of clips
# (a 2D net averages them), IIC and its twin RGB and residual clips, pooled as IIC retrieves.
EMBED = --clips-per-video $(CLIPS_PER_VIDEO) $(LOADER) $(COMMON)
$(RUN)/emb/tce-%.h5: $(RUN)/tce.pt $(RUN)/frames.h5
	$(VIDKIT) embed $^ -o $@ --split $* $(EMBED)
$(RUN)/emb/random2d-%.h5: $(RUN)/frames.h5
	$(VIDKIT) embed $< -o $@ --split $* $(RANDOM2D) $(EMBED)
$(RUN)/emb/iic-rgb-%.h5: $(RUN)/iic.pt $(RUN)/frames.h5
	$(VIDKIT) embed $^ -o $@ --split $* --modality rgb --pooling iic $(EMBED)
$(RUN)/emb/iic-res-%.h5: $(RUN)/iic.pt $(RUN)/frames.h5
	$(VIDKIT) embed $^ -o $@ --split $* --modality res --pooling iic $(EMBED)
$(RUN)/emb/random3d-rgb-%.h5: $(RUN)/frames.h5
	$(VIDKIT) embed $< -o $@ --split $* $(RANDOM3D) --modality rgb --pooling iic $(EMBED)
$(RUN)/emb/random3d-res-%.h5: $(RUN)/frames.h5
	$(VIDKIT) embed $< -o $@ --split $* $(RANDOM3D) --modality res --pooling iic $(EMBED)

# Retrieval (IIC's protocol): train videos are the gallery, test videos the queries; IIC and its
# twin join their RGB and residual features per video.
gallery = $(patsubst %,$(RUN)/emb/%-train01.h5,$(1))
queries = $(patsubst %,$(RUN)/emb/%-test01.h5,$(1))
$(RUN)/tce.index: $(call gallery,tce)
$(RUN)/random2d.index: $(call gallery,random2d)
$(RUN)/iic.index: $(call gallery,iic-rgb iic-res)
$(RUN)/random3d.index: $(call gallery,random3d-rgb random3d-res)
$(RUN)/%.index:
	$(VIDKIT) build-index $^ -o $@ --normalize each --metric cosine --kind flat --seed $(SEED)

$(RUN)/tce-retrieval.json: $(RUN)/tce.index $(call queries,tce)
$(RUN)/random2d-retrieval.json: $(RUN)/random2d.index $(call queries,random2d)
$(RUN)/iic-retrieval.json: $(RUN)/iic.index $(call queries,iic-rgb iic-res)
$(RUN)/random3d-retrieval.json: $(RUN)/random3d.index $(call queries,random3d-rgb random3d-res)
$(RUN)/%-retrieval.json:
	$(VIDKIT) retrieve $^ --k 1,5,10,20,50 --out $(RUN)/$*-neighbours.csv --json > $@

# Fine-tuning for action recognition: TCE's stack of differences, IIC's residual clips.
$(RUN)/tce-finetune.json: $(RUN)/tce.pt $(RUN)/frames.h5
	$(VIDKIT) finetune $^ --modality diff-stack --clip-len 5 $(TCE_FINETUNE) $(call train_to,$(RUN)/tce-finetune.pt) --json > $@
$(RUN)/random2d-finetune.json: $(RUN)/frames.h5
	$(VIDKIT) finetune $< $(RANDOM2D) --modality diff-stack --clip-len 5 $(TCE_FINETUNE) $(call train_to,$(RUN)/random2d-finetune.pt) --json > $@
$(RUN)/iic-finetune.json: $(RUN)/iic.pt $(RUN)/frames.h5
	$(VIDKIT) finetune $^ --modality res $(IIC_FINETUNE) $(call train_to,$(RUN)/iic-finetune.pt) --json > $@
$(RUN)/random3d-finetune.json: $(RUN)/frames.h5
	$(VIDKIT) finetune $< $(RANDOM3D) --modality res $(IIC_FINETUNE) $(call train_to,$(RUN)/random3d-finetune.pt) --json > $@

# t-SNE maps of the test videos' features, one colour per class.
$(RUN)/tsne/%.png: $(RUN)/emb/%-test01.h5
	@mkdir -p $(@D)
	$(VIDKIT) tsne $< -o $@ --color-by label --perplexity 10 --iterations 500 --title "$* features of the test videos" $(COMMON)

$(RUN)/table.md: $(foreach m,random2d tce random3d iic,$(RUN)/$(m)-retrieval.json $(RUN)/$(m)-finetune.json)
	$(PY) examples/results_table.py --k 1,5 \
	    "random init ($(TCE_BACKBONE))=$(RUN)/random2d-retrieval.json,$(RUN)/random2d-finetune.json" \
	    "TCE ($(TCE_BACKBONE))=$(RUN)/tce-retrieval.json,$(RUN)/tce-finetune.json" \
	    "random init ($(IIC_BACKBONE))=$(RUN)/random3d-retrieval.json,$(RUN)/random3d-finetune.json" \
	    "IIC ($(IIC_BACKBONE), rgb+res)=$(RUN)/iic-retrieval.json,$(RUN)/iic-finetune.json" > $@

tce-retrieval: $(RUN)/tce-retrieval.json
tce-finetune: $(RUN)/tce-finetune.json
tce-tsne: $(RUN)/tsne/tce.png
iic-retrieval: $(RUN)/iic-retrieval.json
iic-finetune: $(RUN)/iic-finetune.json
iic-tsne: $(RUN)/tsne/iic-rgb.png
baselines: $(foreach m,random2d random3d,$(RUN)/$(m)-retrieval.json $(RUN)/$(m)-finetune.json)
report: $(RUN)/table.md $(foreach m,random2d tce random3d-rgb iic-rgb,$(RUN)/tsne/$(m).png)
reproduce: report

# ucf101-iic-retrieval, hmdb51-tce-finetune, ...: the same rules with DATASET set (outputs in out/DATASET).
ucf101-% hmdb51-%: install
	$(MAKE) --no-print-directory $* DATASET=$(firstword $(subst -, ,$@))
