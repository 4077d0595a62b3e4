#!/usr/bin/python3
"""Writes a full-size VGG (default vgg16) with torchvision's random initialisation as our
weights file, for the benchmarks (no weights can be downloaded here), and the same weights
as a torch .pth when asked.
Usage: make_weights.py OUT.safetensors [vgg11|vgg13|vgg16|vgg19 [OUT.pth]]"""
import os
import sys

import torch
import torchvision

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "golden"))
import vggweights  # noqa: E402

name = sys.argv[2] if len(sys.argv) > 2 else "vgg16"
model = getattr(torchvision.models, name)()
tensors, text = vggweights.from_torchvision(name, model.state_dict())
vggweights.write(sys.argv[1], tensors, {"vgg.config": text, "vgg.name": name,
                                        "vgg.label_list": "imagenet"})
if len(sys.argv) > 3:
    torch.save(model.state_dict(), sys.argv[3])
