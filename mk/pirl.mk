# PIRL with the jigsaw pretext (docs/methods.md): the paper's objective on ImageNet frames, and the
# VINCE seed's jigsaw run (train_vince_jigsaw.sh, vince.md 2.9) on R2V2. `make -n pirl-pretrain`
# prints the exact commands. Without DATA both run at toy scale on the synth frame store
# ($(RUN)/frames.h5, 64 px) in a few CPU minutes; with DATA at the papers' settings on the frame
# stores that mk/vince.mk builds (`extract-frames --dataset imagefolder` / `--dataset r2v2`).
# These stores are named here too: mk/*.mk files are read in sorted order, this one before vince.mk.

.PHONY: pirl-pretrain pirl-seed-pretrain pirl-family

ifeq ($(DATA),)
PIRL_IMAGE_FRAMES ?= $(RUN)/frames.h5
PIRL_R2V2_FRAMES ?= $(RUN)/frames.h5
PIRL_SPLIT ?= train01
# Toy scale: resnet18 at 48 px (16-px tiles), a short cosine run.
PIRL_IN ?= --backbone resnet18 --size 48 --batch-size 16 --steps 150 --lr 0.03 --schedule cosine
PIRL_SEED ?= --backbone resnet18 --size 48 --batch-size 16 --steps 150 --lr 0.03 --schedule cosine -O objective=seed -O head=mlp -O dim=64 -O queue=256 -O augmentation=jigsaw

# PIRL on the class-shapes store for issue 18's kNN claim; mk/vince.mk makes the store and scores
# every net in SHAPES_NETS against resnet18 at random init (at 48 px for this one: random2d48).
# Its toy recipe takes the single-frame nets' crop-and-flip augmentation for both branches, and
# InfoNCE at T 0.2 for the binary NCE, which diverges on a bank of 576 images (docs/methods.md).
SHAPES_NETS += pirl
SHAPES_PIRL ?= --backbone resnet18 --size 48 --batch-size 16 --steps 600 --lr 0.03 --schedule cosine -O augmentation=crop -O jigsaw_augmentation=crop -O loss=infonce -O temperature=0.2
$(RUN)/pirl-shapes.pt: $(RUN)/shapes-frames.h5
	$(VIDKIT) pretrain --method pirl $< $(SHAPES_PIRL) --split train01 $(call train_to,$(RUN)/pirl-shapes.part.pt)
	mv $(RUN)/pirl-shapes.part.pt $@
else
PIRL_IMAGE_FRAMES ?= $(RUN)/imagenet-frames.h5
PIRL_R2V2_FRAMES ?= $(RUN)/r2v2-frames.h5
PIRL_SPLIT ?= train
# PIRL (VISSL's config): R50, 225-px jigsaw crops, batch 1024, lr 0.12, cosine over 800 epochs of
# ImageNet (1251 steps each), 32000 memory-bank negatives, lambda 0.5, T 0.07.
PIRL_IN ?= --backbone resnet50 --size 225 --batch-size 1024 --lr 0.12 --steps 1000800 --schedule cosine -O objective=pirl -O negatives=32000 -O weight=0.5 -O temperature=0.07 -O dim=128
# train_vince_jigsaw.sh: R18, 225 px, B 256, lr 0.03, E 64, K 65536, T 0.07, cosine over 200 x 5000 steps.
PIRL_SEED ?= --backbone resnet18 --size 225 --batch-size 256 --lr 0.03 --steps 1000000 --schedule cosine --warmup-steps 500 -O objective=seed -O head=mlp -O dim=64 -O temperature=0.07 -O queue=65536 -O augmentation=jigsaw
endif

# PIRL's own objective on ImageNet frames.
$(RUN)/pirl-in.pt: $(PIRL_IMAGE_FRAMES)
	$(VIDKIT) pretrain --method pirl $< $(PIRL_IN) --split $(PIRL_SPLIT) $(call train_to,$(RUN)/pirl-in.part.pt)
	mv $(RUN)/pirl-in.part.pt $@

# The seed's jigsaw variant on R2V2.
$(RUN)/pirl-seed-r2v2.pt: $(PIRL_R2V2_FRAMES)
	$(VIDKIT) pretrain --method pirl $< $(PIRL_SEED) --split $(PIRL_SPLIT) $(call train_to,$(RUN)/pirl-seed-r2v2.part.pt)
	mv $(RUN)/pirl-seed-r2v2.part.pt $@

pirl-pretrain: $(RUN)/pirl-in.pt
pirl-seed-pretrain: $(RUN)/pirl-seed-r2v2.pt
pirl-family: pirl-pretrain pirl-seed-pretrain
