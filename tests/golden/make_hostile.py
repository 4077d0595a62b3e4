#!/usr/bin/python3
"""Hostile files made by hand for the tests of the readers' limits (run once, commit the
output; it needs no torch: the pickles name torch's globals through stand-ins).

It writes into tests/data/hostile/:
  torch/shared-deflated.pth  a zip .pth whose one storage, 8 MB of zeros, is deflated to
                             8 KB and shared by 500 one-element tensors: read naively, each
                             tensor inflates the whole storage again, 4 GB in all
"""
import collections
import os
import pickle
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
    with open(path + ".pkl", "wb") as f:
        Pickler(f, protocol=2).dump(state)
    with zipfile.ZipFile(path, "w") as z:
        z.write(path + ".pkl", "archive/data.pkl", zipfile.ZIP_STORED)
        z.writestr(zipfile.ZipInfo("archive/data/0"), bytes(4 * numel),
                   zipfile.ZIP_DEFLATED, 9)
        z.writestr("archive/version", "3\n")
    os.remove(path + ".pkl")


os.makedirs(os.path.join(OUT, "torch"), exist_ok=True)
shared_deflated(os.path.join(OUT, "torch", "shared-deflated.pth"))
