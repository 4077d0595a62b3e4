#!/usr/bin/python3
"""Hostile files made by hand for the tests of the readers' limits (run once, commit the
output; it needs no torch: the pickles name torch's globals through stand-ins).

It writes into tests/data/hostile/:
  torch/shared-deflated.pth  a zip .pth whose one storage, 8 MB of zeros, is deflated to
                             8 KB and shared by 500 one-element tensors: read naively, each
                             tensor inflates the whole storage again, 4 GB in all
  safetensors/big-input.safetensors  448 bytes of weights for a net whose input is
                             20000x20000: a GAP head has no weights in proportion to it,
                             and vgg-predict would resize and run every image at that size
"""
import collections
import io
import json
import os
import pickle
import struct
import sys
import types
import zipfile

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "hostile")


def stand_ins():
    """torch.FloatStorage and torch._utils._rebuild_tensor_v2 as the pickler names them."""
    torch = types.ModuleType("torch")
    utils = types.ModuleType("torch._utils")
    sys.modules["torch"], sys.modules["torch._utils"] = torch, utils

    class FloatStorage:
        pass

    def _rebuild_tensor_v2(*args):
        raise RuntimeError("never called")

    FloatStorage.__module__, FloatStorage.__qualname__ = "torch", "FloatStorage"
    _rebuild_tensor_v2.__module__ = "torch._utils"
    _rebuild_tensor_v2.__qualname__ = "_rebuild_tensor_v2"
    torch.FloatStorage, utils._rebuild_tensor_v2 = FloatStorage, _rebuild_tensor_v2
    return FloatStorage, _rebuild_tensor_v2


def shared_deflated(path, numel=2 << 20, tensors=500):
    storage_type, rebuild = stand_ins()

    class Storage:
        pass

    storage = Storage()
    pid = ("storage", storage_type, "0", "cpu", numel)

    class Tensor:
        def __init__(self, offset):
            self.offset = offset

        def __reduce__(self):
            return (rebuild, (storage, self.offset, (1,), (1,), False,
                              collections.OrderedDict()))

    class Pickler(pickle.Pickler):
        def persistent_id(self, obj):
            return pid if obj is storage else None

    state = collections.OrderedDict(("t%d" % i, Tensor(i)) for i in range(tensors))
    data = io.BytesIO()
    Pickler(data, protocol=2).dump(state)
    with zipfile.ZipFile(path, "w") as z:
        for name, value, method in (("data.pkl", data.getvalue(), zipfile.ZIP_STORED),
                                    ("data/0", bytes(4 * numel), zipfile.ZIP_DEFLATED),
                                    ("version", b"3\n", zipfile.ZIP_STORED)):
            z.writestr(zipfile.ZipInfo("archive/" + name), value, method, 9)


def big_input(path):
    header = {"__metadata__": {"vgg.config": "input 20000x20000x1 conv3-1 avgpool FC-2"}}
    for name, shape, begin, end in (("conv1_1.weight", [1, 1, 3, 3], 0, 36),
                                    ("conv1_1.bias", [1], 36, 40),
                                    ("fc1.weight", [2, 1], 40, 48), ("fc1.bias", [2], 48, 56)):
        header[name] = {"dtype": "F32", "shape": shape, "data_offsets": [begin, end]}
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + struct.pack("<14f", *[0.1] * 14))


for kind in ("torch", "safetensors"):
    os.makedirs(os.path.join(OUT, kind), exist_ok=True)
shared_deflated(os.path.join(OUT, "torch", "shared-deflated.pth"))
big_input(os.path.join(OUT, "safetensors", "big-input.safetensors"))
