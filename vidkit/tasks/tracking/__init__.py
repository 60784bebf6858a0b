"""SiamFC tracking on a frozen backbone, VINCE's tracking end task (Gordon et al. 2020; vince.md 6.3-6.5).

- `backbone`: the frozen spatial feature map, layers 3 and 4 dilated (output stride 8);
- `siamfc`: the constants, the model (1x1 adapters, cross-correlation), focal loss, the engine task;
- `pairs`: crops, labels and the pair sampling of GOT-10k sequences;
- `tracker`: inference (3 scales, penalty, Hann window, upsampled response, size update);
- `metrics`: OTB precision and success as the got10k toolkit defines them (torch-free);
- `train`, `evaluate`: the cores of `vidkit track train` and `vidkit track eval`.
"""
