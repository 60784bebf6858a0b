# VINCE's end tasks (vince.md 6.3, 6.5; docs/probes.md) for any set of checkpoints: the seed
# README's table, one row per checkpoint. `make -n endtasks CKPTS="a.pt b.pt"` prints the exact
# commands.
#
#   make endtasks CKPTS="out/toy/tce.pt random-resnet18"         every task of every row, and the table
#   make endtasks-table                                            $(RUN)/endtasks/table.md
#
# A row is a checkpoint file, or random-NAME for a random-init backbone (random-resnet18,
# random-resnet50: the seed table's baselines). Its results go to $(RUN)/endtasks/<stem>-<task>.json
# (tasks: imagenet, sun397, kinetics; otb from mk/tracking.mk). The table has the seed's columns
# (ImageNet, SUN, Kinetics, OTB precision, OTB success) and leaves a cell blank where its task was
# not run. ENDTASKS chooses the tasks.
#
# Without DATA every task runs at toy scale on the synth frame store: the image probes on single
# frames (synth classes differ only by motion, so a single frame is at chance by construction: a
# pipeline check, not a score) and the LSTM probe on 10-frame sequences. With DATA the seed's
# settings (the --probe presets) run on frame stores of ImageNet, SUN397 and Kinetics-400:
#   DATA/imagenet/{train,val}/<wnid>/<image>              (ImageFolder, as the seed)
#   DATA/sun397/all_data/<l>/<class>/<image>, DATA/sun397/train_test/{Training,Testing}_01.txt
#   DATA/kinetics/videos/..., DATA/kinetics/annotations/*.csv (kinetics_400 CSVs: train, val)

ENDTASKS_DIR ?= $(RUN)/endtasks
ENDTASKS ?= imagenet sun397 kinetics $(if $(wildcard mk/tracking.mk),otb)

ifeq ($(DATA),)
CKPTS ?= random-resnet18 $(RUN)/tce.pt
IMAGENET_FRAMES ?= $(RUN)/frames.h5
SUN397_FRAMES ?= $(RUN)/frames.h5
KINETICS_FRAMES ?= $(RUN)/frames.h5
IMAGENET_SPLITS ?= --train-split train01 --test-split test01
SUN397_SPLITS ?= --train-split train01 --test-split test01
KINETICS_SPLITS ?= --train-split train01 --test-split test01
# The presets' optimisers and schedules, shortened, at 64 px (the LSTM needs ~100 epochs of 4 steps here).
IMAGENET_PROBE ?= --epochs 10 --batch-size 16 --size 64
SUN397_PROBE ?= --epochs 10 --batch-size 16 --size 64
KINETICS_PROBE ?= --epochs 100 --batch-size 16 --size 64
else
CKPTS ?= random-resnet18 $(RUN)/vince.pt
IMAGENET ?= $(DATA)/imagenet
SUN397 ?= $(DATA)/sun397
KINETICS ?= $(DATA)/kinetics
IMAGENET_FRAMES ?= $(ENDTASKS_DIR)/imagenet-frames.h5
SUN397_FRAMES ?= $(ENDTASKS_DIR)/sun397-frames.h5
KINETICS_FRAMES ?= $(ENDTASKS_DIR)/kinetics-frames.h5
IMAGENET_SPLITS ?= --train-split train --test-split val
SUN397_SPLITS ?= --sun397-splits $(SUN397)/train_test --fold 1
KINETICS_SPLITS ?= --train-split train --test-split val
# The seed's settings are the presets' defaults (docs/probes.md); only the input size is given.
IMAGENET_PROBE ?= --size 224
SUN397_PROBE ?= --size 224
KINETICS_PROBE ?= --size 224

$(IMAGENET_FRAMES):
	$(VIDKIT) extract-frames $(IMAGENET)/train $(IMAGENET)/val -o $@ --dataset imagefolder --size 256 --workers $(EXTRACT_WORKERS)
$(SUN397_FRAMES):
	$(VIDKIT) extract-frames $(SUN397)/all_data -o $@ --dataset imagefolder --size 256 --workers $(EXTRACT_WORKERS)
# Kinetics frames at 10 fps, as the seed cached them (vince.md 5.4): the probe's 10 frames are 1 s.
$(KINETICS_FRAMES):
	$(VIDKIT) extract-frames $(KINETICS)/videos -o $@ --annotations $(KINETICS)/annotations --dataset kinetics --size 256 --fps 10 --workers $(EXTRACT_WORKERS)
endif

# A row's stem, model arguments (a checkpoint, or --backbone NAME for random-NAME) and prerequisites.
endtask_stem = $(basename $(notdir $(1)))
endtask_model = $(if $(filter random-%,$(1)),--backbone $(patsubst random-%,%,$(1)),$(1))
endtask_ckpt = $(filter-out random-%,$(1))

# The rules of one row (expanded once per checkpoint in CKPTS).
define ENDTASK_ROW
$(ENDTASKS_DIR)/$(call endtask_stem,$(1))-imagenet.json: $(call endtask_ckpt,$(1)) $(IMAGENET_FRAMES)
	@mkdir -p $$(@D)
	$(VIDKIT) finetune $(call endtask_model,$(1)) $(IMAGENET_FRAMES) --probe imagenet $(IMAGENET_SPLITS) $(IMAGENET_PROBE) $$(call train_to,$(ENDTASKS_DIR)/$(call endtask_stem,$(1))-imagenet.pt) --json > $$@
$(ENDTASKS_DIR)/$(call endtask_stem,$(1))-sun397.json: $(call endtask_ckpt,$(1)) $(SUN397_FRAMES)
	@mkdir -p $$(@D)
	$(VIDKIT) finetune $(call endtask_model,$(1)) $(SUN397_FRAMES) --probe sun397 $(SUN397_SPLITS) $(SUN397_PROBE) $$(call train_to,$(ENDTASKS_DIR)/$(call endtask_stem,$(1))-sun397.pt) --json > $$@
$(ENDTASKS_DIR)/$(call endtask_stem,$(1))-kinetics.json: $(call endtask_ckpt,$(1)) $(KINETICS_FRAMES)
	@mkdir -p $$(@D)
	$(VIDKIT) finetune $(call endtask_model,$(1)) $(KINETICS_FRAMES) --probe kinetics-lstm $(KINETICS_SPLITS) $(KINETICS_PROBE) -o $(ENDTASKS_DIR)/$(call endtask_stem,$(1))-kinetics.pt --force $(LOADER) $(COMMON) --json > $$@
endef
$(foreach c,$(CKPTS),$(eval $(call ENDTASK_ROW,$(c))))

ENDTASK_RESULTS = $(foreach c,$(CKPTS),$(foreach t,$(ENDTASKS),$(ENDTASKS_DIR)/$(call endtask_stem,$(c))-$(t).json))

$(ENDTASKS_DIR)/table.md: $(ENDTASK_RESULTS) examples/endtask_table.py
	$(PY) examples/endtask_table.py $(ENDTASKS_DIR) $(foreach c,$(CKPTS),$(call endtask_stem,$(c))) > $@

.PHONY: endtasks endtasks-table endtasks-imagenet endtasks-sun397 endtasks-kinetics
endtasks: $(ENDTASKS_DIR)/table.md
endtasks-table: $(ENDTASKS_DIR)/table.md
endtasks-imagenet endtasks-sun397 endtasks-kinetics: endtasks-%:
	$(MAKE) --no-print-directory $(foreach c,$(CKPTS),$(ENDTASKS_DIR)/$(call endtask_stem,$(c))-$*.json)
