"""Writes our weights format (vgg-weights(5)) from Python with no library but numpy: used by
the golden and benchmark scripts to turn torch models into files the C side reads."""
import json
import struct

import numpy as np

# torchvision's `features` indices of each conv, by config (batch-norm variants shift them).
CONFIGS = {
    "vgg11": [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "vgg13": [64, 64, "M", 128, 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "vgg16": [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M",
              512, 512, 512, "M"],
    "vgg19": [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M",
              512, 512, 512, 512, "M"],
}


def write(path, tensors, metadata):
    """tensors: (name, array) pairs in order; metadata: str -> str."""
    header, offset = {"__metadata__": metadata}, 0
    for name, array in tensors:
        header[name] = {"dtype": "F32", "shape": list(array.shape),
                        "data_offsets": [offset, offset + array.size * 4]}
        offset += array.size * 4
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for _, array in tensors:
            f.write(np.ascontiguousarray(array, dtype="<f4").tobytes())


def from_torchvision(name, state, bn=False):
    """Our tensors and config text for torchvision's vgg11/13/16/19 (and _bn) state_dict."""
    tensors, text = [], []
    index, block, conv = 0, 1, 0
    for item in CONFIGS[name]:
        if item == "M":
            text.append("maxpool")
            index += 1
            block, conv = block + 1, 0
            continue
        conv += 1
        ours = "conv%d_%d" % (block, conv)
        text.append("conv3-%d%s" % (item, " BN" if bn else ""))
        for part in ("weight", "bias"):
            tensors.append((ours + "." + part, state["features.%d.%s" % (index, part)].numpy()))
        if bn:
            for part in ("weight", "bias", "running_mean", "running_var"):
                tensors.append((ours + ".bn." + part,
                                state["features.%d.%s" % (index + 1, part)].numpy()))
        index += 3 if bn else 2
    for layer, fc in zip((0, 3, 6), ("fc6", "fc7", "fc8")):
        for part in ("weight", "bias"):
            tensors.append((fc + "." + part, state["classifier.%d.%s" % (layer, part)].numpy()))
    classes = state["classifier.6.weight"].shape[0]
    text += ["FC-4096", "FC-4096", "FC-%d" % classes, "soft-max"]
    return tensors, "input 224x224x3\n" + "\n".join(text) + "\n"
