# The papers' released weights, evaluated as the reproductions evaluate vidkit's own runs
# (docs/checkpoints.md). Give the downloaded files; `make -n TARGET` prints the exact commands.
#   make released-iic-retrieval DATA=/data/ucf101 IIC_RELEASED=ckpt_epoch_240.pth
#       IIC's R3D SSL release: import, embed RGB and residual clips, joint retrieval (IIC reports
#       top-1 36.5 with merge on UCF101 split 1)
#   make released-iic-finetune DATA=/data/ucf101 IIC_RELEASED_FT=r3d_ft.pth
#       IIC's fine-tuned R3D: import and test (IIC reports 72.7 % on UCF101 split 1)
#   make released-import RELEASED=file.pth RELEASED_FROM=tce    any file, into $(RUN)/released.pt
.PHONY: released-iic-retrieval released-iic-finetune released-import

IIC_RELEASED ?=
IIC_RELEASED_FT ?=
RELEASED ?=
RELEASED_FROM ?=

$(RUN)/released-iic.pt: $(IIC_RELEASED)
	$(if $<,,$(error give IIC_RELEASED=path/to/IIC's SSL checkpoint))
	$(VIDKIT) import-checkpoint $< -o $@ --from iic
$(RUN)/released-iic-ft.pt: $(IIC_RELEASED_FT)
	$(if $<,,$(error give IIC_RELEASED_FT=path/to/IIC's fine-tuned checkpoint))
	$(VIDKIT) import-checkpoint $< -o $@ --from iic

# The same embedding, index and retrieval rules as IIC's reproduction (Makefile), on the imported weights.
$(RUN)/emb/released-iic-rgb-%.h5: $(RUN)/released-iic.pt $(RUN)/frames.h5
	$(VIDKIT) embed $^ -o $@ --split $* --modality rgb --pooling iic $(EMBED)
$(RUN)/emb/released-iic-res-%.h5: $(RUN)/released-iic.pt $(RUN)/frames.h5
	$(VIDKIT) embed $^ -o $@ --split $* --modality res --pooling iic $(EMBED)
$(RUN)/released-iic.index: $(call gallery,released-iic-rgb released-iic-res)
$(RUN)/released-iic-retrieval.json: $(RUN)/released-iic.index $(call queries,released-iic-rgb released-iic-res)

$(RUN)/released-iic-finetune.json: $(RUN)/released-iic-ft.pt $(RUN)/frames.h5
	$(VIDKIT) finetune $^ --test-only --test-clips 10 $(LOADER) $(COMMON) --json > $@

released-iic-retrieval: $(RUN)/released-iic-retrieval.json
released-iic-finetune: $(RUN)/released-iic-finetune.json
released-import:
	$(if $(RELEASED),,$(error give RELEASED=path/to/a paper's checkpoint))
	$(VIDKIT) import-checkpoint $(RELEASED) -o $(RUN)/released.pt $(if $(RELEASED_FROM),--from $(RELEASED_FROM)) --json
