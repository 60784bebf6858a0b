# VINCE and its MoCo baselines (vince.md 2.9, 3): the pretraining behind the seed README's table.
# `make -n vince-pretrain` prints the exact commands. Without DATA they run at toy scale on the
# synth frame store ($(RUN)/frames.h5, 64 px) in a few CPU minutes each; with DATA they run the
# seed's scripts' settings on R2V2 and ImageNet frame stores (days on 8 GPUs: prefix VIDKIT with
# `torchrun --nproc_per_node 8 -m vidkit` and divide --batch-size by 8; --batch-size is per process).
# The end-task probes of these checkpoints (ImageNet, SUN397, Kinetics, OTB) are in mk/endtasks.mk.
#
# Batches count videos: VINCE's 256 images per step are 64 videos x 4 frames.

.PHONY: vince-pretrain vince-large-pretrain vince-single-frame-pretrain moco-pretrain moco-r2v2-pretrain mocov2-pretrain vince-family

ifeq ($(DATA),)
# Toy scale: the synth store, resnet18 at 64 px, a queue a few batches long, and a key encoder
# momentum of 0.99 (0.999 is meant for ~10^6 steps: over 150 it would barely leave its initial weights).
VINCE_R2V2_FRAMES ?= $(RUN)/frames.h5
VINCE_IMAGE_FRAMES ?= $(RUN)/frames.h5
VINCE_SPLIT ?= train01
VINCE_TOY := --size 64 --steps 150 --lr 0.03 --schedule cosine -O queue=256 -O key_momentum=0.99
VINCE_R18 ?= --backbone resnet18 --batch-size 8 $(VINCE_TOY) -O frames=4
VINCE_R50 ?= --backbone resnet18 --batch-size 8 $(VINCE_TOY) -O frames=4 -O dim=128 -O temperature=0.2 -O augmentation=simclr -O self_batch=true
VINCE_SINGLE ?= --backbone resnet18 --batch-size 16 $(VINCE_TOY) -O frames=1 -O pairs=same -O inter_batch=false
MOCO_SEED ?= --backbone resnet18 --batch-size 16 $(VINCE_TOY) -O head=mlp -O dim=64
MOCOV2_IN ?= --backbone resnet18 --batch-size 16 $(VINCE_TOY)

# Issue 18's toy claim: single-frame methods beat random init on a frozen-backbone probe. The
# motion-only synth store cannot show it (a single frame there carries no class), so these runs use
# a second store whose classes also differ by shape (`synth --class-shapes`: colour, background,
# size, position and orientation stay random). Each net pretrains on its train split; `embed`
# takes 8 frames per video of each split, then `linear-probe` fits a logistic regression on the
# train videos' mean features and scores the held-out test videos (the claim), and the build-index/retrieve rules
# score 1-NN retrieval among the train videos (shown in the docs, mixed at this scale). The baseline
# is resnet18 at random init with the same input (random2d: 64 px; random2d48: 48 px, PIRL's toy
# size). The store has 576 train videos because on 144 instance discrimination never beat random init.
SHAPES_SYNTH ?= --classes 12 --train-per-class 48 --test-per-class 8 --frames 32 --size 64
# The recipes above at lr 0.03 and T 0.2 over 600 steps, with crops and flips only (the `crop`
# preset): with the papers' colour jitter and grey, or at lr 0.1, the loss stays at chance at this
# scale (docs/methods.md, Toy-scale claims). The single-frame baseline takes VINCE's settings, one
# frame per video and both views from it.
SHAPES_TOY := --size 64 --steps 600 --lr 0.03 --schedule cosine -O queue=256 -O key_momentum=0.99 -O temperature=0.2 -O augmentation=crop
# VINCE's positives are frames 3 apart (0.12 s at synth's 25 fps): R2V2's 5-s gap, shrunk to fit a
# 32-frame video, puts them 10 frames apart, across the whole clip (docs/methods.md, Toy-scale claims).
SHAPES_VINCE ?= --backbone resnet18 --batch-size 8 $(SHAPES_TOY) -O frames=4 -O gap_seconds=0.12
SHAPES_SINGLE ?= --backbone resnet18 --batch-size 16 $(SHAPES_TOY) -O frames=1 -O pairs=same -O inter_batch=false
SHAPES_MOCOV2 ?= --backbone resnet18 --batch-size 16 $(SHAPES_TOY)
SHAPES_EMBED = --clip-len 1 --clips-per-video 8 $(LOADER) $(COMMON)
SHAPES_NETS += vince vince-single-frame mocov2

$(RUN)/shapes/splits/classInd.txt:
	$(VIDKIT) synth $(RUN)/shapes --class-shapes $(SHAPES_SYNTH) --seed $(SEED)
$(RUN)/shapes-frames.h5: $(RUN)/shapes/splits/classInd.txt
	$(VIDKIT) extract-frames $(RUN)/shapes/videos -o $@ --annotations $(RUN)/shapes/splits --dataset ucf101 --size 64 --workers $(EXTRACT_WORKERS)

$(RUN)/vince-shapes.pt: $(RUN)/shapes-frames.h5
	$(VIDKIT) pretrain --method vince $< $(SHAPES_VINCE) --split train01 $(call train_to,$(RUN)/vince-shapes.part.pt)
	mv $(RUN)/vince-shapes.part.pt $@
$(RUN)/vince-single-frame-shapes.pt: $(RUN)/shapes-frames.h5
	$(VIDKIT) pretrain --method vince $< $(SHAPES_SINGLE) --split train01 $(call train_to,$(RUN)/vince-single-frame-shapes.part.pt)
	mv $(RUN)/vince-single-frame-shapes.part.pt $@
$(RUN)/mocov2-shapes.pt: $(RUN)/shapes-frames.h5
	$(VIDKIT) pretrain --method mocov2 $< $(SHAPES_MOCOV2) --split train01 $(call train_to,$(RUN)/mocov2-shapes.part.pt)
	mv $(RUN)/mocov2-shapes.part.pt $@

# Features of each split, then the Makefile's $(RUN)/%.index and $(RUN)/%-retrieval.json recipes
# (static pattern rules, so that `random2d-shapes-*` does not fall to the Makefile's random2d-% rule).
define shapes_retrieval
$(RUN)/emb/$(1)-shapes-train01.h5 $(RUN)/emb/$(1)-shapes-test01.h5: $(RUN)/emb/$(1)-shapes-%.h5: $(2)
	$$(VIDKIT) embed $$^ -o $$@ --split $$* $(3) $$(SHAPES_EMBED)
$(RUN)/$(1)-shapes.index: $(RUN)/emb/$(1)-shapes-train01.h5
$(RUN)/$(1)-shapes-retrieval.json: $(RUN)/$(1)-shapes.index $(RUN)/emb/$(1)-shapes-test01.h5
$(RUN)/$(1)-shapes-probe.json: $(RUN)/emb/$(1)-shapes-train01.h5 $(RUN)/emb/$(1)-shapes-test01.h5
	$$(VIDKIT) linear-probe $$^ --json > $$@.part
	mv $$@.part $$@
endef
$(foreach m,$(SHAPES_NETS),$(eval $(call shapes_retrieval,$(m),$(RUN)/$(m)-shapes.pt $(RUN)/shapes-frames.h5)))
$(eval $(call shapes_retrieval,random2d,$(RUN)/shapes-frames.h5,--backbone resnet18 --size 64))
$(eval $(call shapes_retrieval,random2d48,$(RUN)/shapes-frames.h5,--backbone resnet18 --size 48))

ALL_CLAIMS += examples/claims/vince.json
ALL_CLAIM_OUTPUTS += $(foreach m,$(SHAPES_NETS) random2d random2d48,$(RUN)/$(m)-shapes-retrieval.json $(RUN)/$(m)-shapes-probe.json)
else
# Full scale: frame stores of R2V2 (`vidkit scrape r2v2` lays it out) and of ImageNet's train folder.
R2V2 ?= $(DATA)/r2v2
IMAGENET ?= $(DATA)/imagenet
VINCE_R2V2_FRAMES ?= $(RUN)/r2v2-frames.h5
VINCE_IMAGE_FRAMES ?= $(RUN)/imagenet-frames.h5
VINCE_SPLIT ?= train
VINCE_WARMUP := --warmup-steps 500
# train_vince.sh: R18, B 256 images, lr 0.03, E 64, K 65536, T 0.07, StandardVideo, step at 120/160 of 200 x 5000 steps.
VINCE_R18 ?= --backbone resnet18 --size 224 --batch-size 64 --lr 0.03 --steps 1000000 --schedule step $(VINCE_WARMUP) -O frames=4 -O dim=64 -O temperature=0.07 -O queue=65536 -O augmentation=standard
# train_vince_large.sh: R50, B 896 images, lr 0.105, E 128, T 0.2, SimCLR augmentation, self-batch term, cosine over 200 x 1430 steps.
VINCE_R50 ?= --backbone resnet50 --size 224 --batch-size 224 --lr 0.105 --steps 286000 --schedule cosine $(VINCE_WARMUP) -O frames=4 -O dim=128 -O temperature=0.2 -O queue=65536 -O augmentation=simclr -O self_batch=true
# train_single_frame_r2v2.sh: N 1, both views of one frame, MoCo loss, B 256, step schedule, 200 x 5000 steps.
VINCE_SINGLE ?= --backbone resnet18 --size 224 --batch-size 256 --lr 0.03 --steps 1000000 --schedule step $(VINCE_WARMUP) -O frames=1 -O pairs=same -O inter_batch=false -O dim=64 -O temperature=0.07 -O augmentation=standard
# train_moco_baseline.sh: the seed's MoCo (MLP head, E 64), MoCo v1 augmentation, cosine over 200 x 1400 steps.
MOCO_SEED ?= --backbone resnet18 --size 224 --batch-size 256 --lr 0.03 --steps 280000 --schedule cosine $(VINCE_WARMUP) -O head=mlp -O dim=64 -O temperature=0.07 -O queue=65536 -O augmentation=moco-v1
# train_moco_v2.sh: R50 on ImageNet, MoCo v2 settings, cosine over 200 x 5005 steps.
MOCOV2_IN ?= --backbone resnet50 --size 224 --batch-size 256 --lr 0.03 --steps 1001000 --schedule cosine $(VINCE_WARMUP)

$(VINCE_R2V2_FRAMES):
	$(VIDKIT) extract-frames $(R2V2)/train -o $@ --dataset r2v2 --size 256 --workers $(EXTRACT_WORKERS)
$(VINCE_IMAGE_FRAMES):
	$(VIDKIT) extract-frames $(IMAGENET)/train -o $@ --dataset imagefolder --size 256 --workers $(EXTRACT_WORKERS)
endif

# VINCE R18 on R2V2 (the README's "VINCE" rows).
$(RUN)/vince.pt: $(VINCE_R2V2_FRAMES)
	$(VIDKIT) pretrain --method vince $< $(VINCE_R18) --split $(VINCE_SPLIT) $(call train_to,$(RUN)/vince.part.pt)
	mv $(RUN)/vince.part.pt $@

# VINCE R50 "large" on R2V2.
$(RUN)/vince-large.pt: $(VINCE_R2V2_FRAMES)
	$(VIDKIT) pretrain --method vince $< $(VINCE_R50) --split $(VINCE_SPLIT) $(call train_to,$(RUN)/vince-large.part.pt)
	mv $(RUN)/vince-large.part.pt $@

# MoCo on single R2V2 frames ("MoCo-R2V2" with the seed's single-frame script).
$(RUN)/vince-single-frame.pt: $(VINCE_R2V2_FRAMES)
	$(VIDKIT) pretrain --method vince $< $(VINCE_SINGLE) --split $(VINCE_SPLIT) $(call train_to,$(RUN)/vince-single-frame.part.pt)
	mv $(RUN)/vince-single-frame.part.pt $@

# The seed's MoCo baseline on ImageNet frames ("MoCo-IN") and on R2V2 ("MoCo-R2V2").
$(RUN)/moco-in.pt: $(VINCE_IMAGE_FRAMES)
	$(VIDKIT) pretrain --method moco $< $(MOCO_SEED) --split $(VINCE_SPLIT) $(call train_to,$(RUN)/moco-in.part.pt)
	mv $(RUN)/moco-in.part.pt $@
$(RUN)/moco-r2v2.pt: $(VINCE_R2V2_FRAMES)
	$(VIDKIT) pretrain --method moco $< $(MOCO_SEED) -O pairs=same --split $(VINCE_SPLIT) $(call train_to,$(RUN)/moco-r2v2.part.pt)
	mv $(RUN)/moco-r2v2.part.pt $@

# MoCo v2 on ImageNet frames (the R50 rows' recipe).
$(RUN)/mocov2-in.pt: $(VINCE_IMAGE_FRAMES)
	$(VIDKIT) pretrain --method mocov2 $< $(MOCOV2_IN) --split $(VINCE_SPLIT) $(call train_to,$(RUN)/mocov2-in.part.pt)
	mv $(RUN)/mocov2-in.part.pt $@

vince-pretrain: $(RUN)/vince.pt
vince-large-pretrain: $(RUN)/vince-large.pt
vince-single-frame-pretrain: $(RUN)/vince-single-frame.pt
moco-pretrain: $(RUN)/moco-in.pt
moco-r2v2-pretrain: $(RUN)/moco-r2v2.pt
mocov2-pretrain: $(RUN)/mocov2-in.pt
vince-family: vince-pretrain vince-large-pretrain vince-single-frame-pretrain moco-pretrain moco-r2v2-pretrain mocov2-pretrain
