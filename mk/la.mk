# Video LA + IDT prior (Tokmakov et al., ECCV-W 2020; docs/methods.md "IR and LA"): the seed's
# three pretraining stages, its fine-tuning protocol, and plain video LA as the paper's baseline.
#   IR warm-up -> cluster-idt (the IDT prior) -> LA with the prior -> the tune stage -> finetune
# `make -n vla-reproduce` prints every command; without DATA it runs at toy scale on synth's
# motion classes (a few minutes on a CPU), with DATA at the seed's settings. Artefacts: $(RUN)/vla/.
#   vla-pretrain   the four checkpoints (ir, la-idt, la-tune, la-plain)
#   vla-retrieval  retrieval of test clips among train clips for each, and for the random init
#   vla-finetune   the seed's fine-tuning protocol on the tune-stage and the plain-LA checkpoints
#   vla-reproduce  all of the above
.PHONY: vla-pretrain vla-retrieval vla-finetune vla-reproduce

VLA := $(RUN)/vla
ifeq ($(PROFILE),toy)
# Toy scale: 3D ResNet-18 on 48 px, 8-frame clips; no flips (synth's classes are directions); 16
# clusters of ~96 videos for the bank and the IDT k-means, so that the union of 3 clusterings is
# a small part of the bank, as the seed's 3 x 6000 clusters of 240k videos were (with 4 clusters
# most videos are close to each other and LA is satisfied by collapsing them).
VLA_BACKBONE ?= resnet3d_18
VLA_INPUT ?= --size 48 --clip-len 8
VLA_IR ?= --epochs 30 --batch-size 16 --lr 0.03 -O flip=false
VLA_LA ?= --epochs 15 --batch-size 16 --lr 0.03 -O flip=false
VLA_TUNE ?= --epochs 5 --batch-size 16 --lr 0.03 -O flip=false
VLA_BANK_K ?= 16
VLA_IDT ?= --k 16 --num-c 3 --fit-videos 48 --gmm-k 16
VLA_FINETUNE ?= --freeze-until 2 --epochs 10 --batch-size 8 --lr 0.01 --weight-decay 1e-3 --schedule cosine --test-clips 5
else
# The seed's configs (video_la_idt.md 5-9): IR 40 epochs, batch 128; LA 200 epochs, batch 256 (lr
# x0.1 at 80 % and 95 %); tune 25 epochs; 6000 clusters x 3; 16 x 112 x 112 clips. Fine-tuning:
# ft_begin_index 2 (UCF101; HMDB51 used 3: VLA_FREEZE=3), 40 epochs, batch 128, wd 1e-3, plateau
# (patience 5), flips, 5 test clips; lr 0.01 with plain momentum takes the seed's steady-state
# step (its lr 0.1 with dampening 0.9).
VLA_BACKBONE ?= resnet3d_18
VLA_INPUT ?= --size 112 --clip-len 16
VLA_IR ?= --epochs 40 --batch-size 128 --lr 0.03
VLA_LA ?= --epochs 200 --batch-size 256 --lr 0.03
VLA_TUNE ?= --epochs 25 --batch-size 256 --lr 0.03
VLA_BANK_K ?= 6000
VLA_IDT ?= --k 6000 --num-c 3 --fit-videos 3500 --gmm-k 256
VLA_FREEZE ?= 2
VLA_FINETUNE ?= --freeze-until $(VLA_FREEZE) --epochs 40 --batch-size 128 --lr 0.01 --weight-decay 1e-3 --schedule plateau --patience 5 --flip --test-clips 5
endif
VLA_TRAIN = $(RUN)/frames.h5 --backbone $(VLA_BACKBONE) $(VLA_INPUT) --split train01

# Stage 4: the IDT prior, k-means of every video's dense-trajectory Fisher vector (resumable).
$(VLA)/clusters.h5: $(RUN)/frames.h5
	@mkdir -p $(@D)
	$(VIDKIT) cluster-idt $< -o $@ $(VLA_IDT) --workers $(EXTRACT_WORKERS) --seed $(SEED)

# Stage 5: instance recognition from scratch.
$(VLA)/ir.pt: $(RUN)/frames.h5
	@mkdir -p $(@D)
	$(VIDKIT) pretrain --method ir $(VLA_TRAIN) $(VLA_IR) $(call train_to,$(VLA)/ir.part.pt)
	mv $(VLA)/ir.part.pt $@

# Stage 6: LA with the IDT clusters, fixed, from IR's weights and memory bank.
$(VLA)/la-idt.pt: $(VLA)/ir.pt $(VLA)/clusters.h5
	$(VIDKIT) pretrain --method la $(VLA_TRAIN) --init $< --clusters $(VLA)/clusters.h5 $(VLA_LA) $(call train_to,$(VLA)/la-idt.part.pt)
	mv $(VLA)/la-idt.part.pt $@

# Stage 7: k-means every epoch on [memory bank | Fisher vector], from stage 6.
$(VLA)/la-tune.pt: $(VLA)/la-idt.pt $(VLA)/clusters.h5
	$(VIDKIT) pretrain --method la $(VLA_TRAIN) --init $< --clusters $(VLA)/clusters.h5 -O tune=true -O kmeans_k=$(VLA_BANK_K) $(VLA_TUNE) $(call train_to,$(VLA)/la-tune.part.pt)
	mv $(VLA)/la-tune.part.pt $@

# The paper's baseline, plain video LA: k-means on the memory bank alone every epoch, from IR.
$(VLA)/la-plain.pt: $(VLA)/ir.pt
	$(VIDKIT) pretrain --method la $(VLA_TRAIN) --init $< -O kmeans_k=$(VLA_BANK_K) $(VLA_LA) $(call train_to,$(VLA)/la-plain.part.pt)
	mv $(VLA)/la-plain.part.pt $@

# Retrieval (train clips the gallery, test clips the queries) on the backbones' pooled features.
VLA_MODELS := ir la-idt la-tune la-plain
define vla_embed
$(RUN)/emb/vla-$(1)-%.h5: $(VLA)/$(1).pt $(RUN)/frames.h5
	$(VIDKIT) embed $$^ -o $$@ --split $$* $(EMBED)
$(RUN)/vla-$(1).index: $(RUN)/emb/vla-$(1)-train01.h5
$(RUN)/vla-$(1)-retrieval.json: $(RUN)/vla-$(1).index $(RUN)/emb/vla-$(1)-test01.h5
endef
$(foreach m,$(VLA_MODELS),$(eval $(call vla_embed,$(m))))
$(RUN)/emb/vla-random-%.h5: $(RUN)/frames.h5
	$(VIDKIT) embed $< -o $@ --split $* --backbone $(VLA_BACKBONE) $(VLA_INPUT) $(EMBED)
$(RUN)/vla-random.index: $(RUN)/emb/vla-random-train01.h5
$(RUN)/vla-random-retrieval.json: $(RUN)/vla-random.index $(RUN)/emb/vla-random-test01.h5

# The seed's fine-tuning protocol (stem and stages below VLA_FREEZE frozen).
$(VLA)/%-finetune.json: $(VLA)/%.pt $(RUN)/frames.h5
	$(VIDKIT) finetune $^ $(VLA_FINETUNE) $(call train_to,$(VLA)/$*-finetune.pt) --json > $@

vla-pretrain: $(foreach m,$(VLA_MODELS),$(VLA)/$(m).pt)
vla-retrieval: $(foreach m,random $(VLA_MODELS),$(RUN)/vla-$(m)-retrieval.json)
vla-finetune: $(VLA)/la-tune-finetune.json $(VLA)/la-plain-finetune.json
vla-reproduce: vla-pretrain vla-retrieval vla-finetune

# The demo's claims (`make demo-all`; examples/claims/la.json): how well each LA checkpoint's own
# clusterings of the train videos agree with their classes (examples/cluster_agreement.py), and
# retrieval of the tuned checkpoint against plain LA.
$(VLA)/%-clusters.json: $(VLA)/%.pt $(RUN)/frames.h5
	$(RUN_PY) examples/cluster_agreement.py $(RUN)/frames.h5 --checkpoint $< > $@.tmp && mv $@.tmp $@
ALL_CLAIMS += examples/claims/la.json
ALL_CLAIM_OUTPUTS += $(VLA)/la-idt-clusters.json $(VLA)/la-plain-clusters.json \
	$(RUN)/vla-la-tune-retrieval.json $(RUN)/vla-la-plain-retrieval.json
