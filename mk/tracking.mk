# SiamFC tracking on a frozen backbone, VINCE's OTB end task (vince.md 6.3-6.4; docs/tasks.md), for
# any set of checkpoints. `make -n track CKPTS="a.pt random-resnet18"` prints the exact commands.
#
#   make track                      train a tracker per row of CKPTS, score it on OTB, and the centre prior
#   make track CKPTS="x.pt random-resnet50" DATA=/data   the seed's settings on GOT-10k and OTB-2015
#
# A row is a checkpoint file, or random-NAME for a random-init backbone (random-resnet18,
# random-resnet50). Its tracker goes to $(TRACK_DIR)/<stem>-siamfc.pt, the OTB toolkit's result files
# to $(TRACK_DIR)/<stem>-otb/, and the scores to $(TRACK_DIR)/<stem>-otb.json (keys otb_precision,
# otb_success, fps: the row's OTB cells in mk/endtasks.mk's table). centre-prior-otb.json scores a box
# that stays at the first frame's box.
#
# Without DATA: synth tracking sequences (16 training sequences in the GOT-10k layout, 6 held-out ones
# in the OTB layout, 48 frames of 128 px) and a toy-scale tracker (64 px exemplar, 128 px search, 4
# epochs of batch 8 at lr 0.002). With DATA: GOT-10k's train split at DATA/got10k/train and OTB-2015 at
# DATA/otb100 (override GOT10K and OTB), and the seed's settings (the command's defaults: 40 epochs,
# batch 256, Adam lr 0.01, 120/255 px crops).

TRACK_DIR ?= $(if $(ENDTASKS_DIR),$(ENDTASKS_DIR),$(RUN)/endtasks)
CKPTS ?= random-resnet18 $(RUN)/tce.pt

ifeq ($(DATA),)
TRACK_SYNTH ?= $(RUN)/track
GOT10K ?= $(TRACK_SYNTH)/got10k/train
OTB ?= $(TRACK_SYNTH)/otb
TRACK_DATA := $(GOT10K)/list.txt
TRACK_TRAIN ?= --epochs 4 --batch-size 8 --lr 0.002 --exemplar-size 64 --instance-size 128
$(TRACK_SYNTH)/got10k/train/list.txt:
	$(VIDKIT) synth $(TRACK_SYNTH) --tracking --train-per-class 16 --test-per-class 6 --frames 48 --size 128 --seed $(SEED)
else
GOT10K ?= $(DATA)/got10k/train
OTB ?= $(DATA)/otb100
TRACK_DATA :=
TRACK_TRAIN ?=
endif

track_stem = $(basename $(notdir $(1)))
track_model = $(if $(filter random-%,$(1)),--backbone $(patsubst random-%,%,$(1)),$(1))
track_ckpt = $(filter-out random-%,$(1))

define TRACK_ROW
$(TRACK_DIR)/$(call track_stem,$(1))-siamfc.pt: $(call track_ckpt,$(1)) $(TRACK_DATA)
	$(VIDKIT) track train $(call track_model,$(1)) $(GOT10K) -o $$@ $(TRACK_TRAIN) $(LOADER) $(COMMON) --force
$(TRACK_DIR)/$(call track_stem,$(1))-otb.json: $(TRACK_DIR)/$(call track_stem,$(1))-siamfc.pt $(TRACK_DATA)
	$(VIDKIT) track eval $$< $(OTB) -o $(TRACK_DIR)/$(call track_stem,$(1))-otb --device $(DEVICE) --json > $$@
endef
$(foreach c,$(CKPTS),$(eval $(call TRACK_ROW,$(c))))

$(TRACK_DIR)/centre-prior-otb.json: $(TRACK_DATA)
	@mkdir -p $(@D)
	$(VIDKIT) track eval --static $(OTB) -o $(TRACK_DIR)/centre-prior-otb --json > $@

.PHONY: track
track: $(foreach c,$(CKPTS),$(TRACK_DIR)/$(call track_stem,$(c))-otb.json) $(TRACK_DIR)/centre-prior-otb.json
	@$(PY) -c "import json, sys; [print(f'{p}: precision {d[\"otb_precision\"]:.3f}  success {d[\"otb_success\"]:.3f}  {d[\"fps\"]:.1f} fps') for p in sys.argv[1:] for d in [json.load(open(p))]]" $^
