#!/usr/bin/python3
"""Writes a full-size VGG-16 with torchvision's random initialisation as our weights file,
for the benchmarks (no weights can be downloaded here)."""
import json
import struct
import sys

import numpy as np
import torchvision

FEATURES = [0, 2, 5, 7, 10, 12, 14, 17, 19, 21, 24, 26, 28]
NAMES = ["conv1_1", "conv1_2", "conv2_1", "conv2_2", "conv3_1", "conv3_2", "conv3_3",
         "conv4_1", "conv4_2", "conv4_3", "conv5_1", "conv5_2", "conv5_3"]

state = torchvision.models.vgg16().state_dict()
tensors = []
for index, name in zip(FEATURES, NAMES):
    for part in ("weight", "bias"):
        tensors.append((name + "." + part, state["features.%d.%s" % (index, part)].numpy()))
for index, name in zip((0, 3, 6), ("fc6", "fc7", "fc8")):
    for part in ("weight", "bias"):
        tensors.append((name + "." + part, state["classifier.%d.%s" % (index, part)].numpy()))
header, offset = {"__metadata__": {"vgg.config": open(sys.argv[2]).read(), "vgg.name": "vgg16"}}, 0
for name, array in tensors:
    header[name] = {"dtype": "F32", "shape": list(array.shape),
                    "data_offsets": [offset, offset + array.nbytes]}
    offset += array.nbytes
text = json.dumps(header).encode()
text += b" " * (-len(text) % 8)
with open(sys.argv[1], "wb") as f:
    f.write(struct.pack("<Q", len(text)) + text)
    for _, array in tensors:
        f.write(np.ascontiguousarray(array, dtype="<f4").tobytes())
