#!/usr/bin/python3
"""Test files for the .pth reader (lib/torch.c, pickle.c, zip.c), made with Debian's
python3-torch 1.13 (run once, commit the output; test_torch.c reads only the committed
files and needs no torch).

It writes into tests/data/torch/ a tiny net with torchvision's VGG names (features.0,
features.3, classifier.0/3/6; widths 4 and 8, FC 16) saved in each form a user brings:
  vgg.pth                  torch.save's zip serialization, an OrderedDict with _metadata
  vgg-legacy.pth           the legacy serialization (_use_new_zipfile_serialization=False)
  vgg-proto4.pth           zip with pickle protocol 4 (FRAME, MEMOIZE, STACK_GLOBAL)
  vgg-deflate.pth          vgg.pth's records recompressed with deflate
  vgg-zip64.pth            vgg.pth with every size and offset in ZIP64 extra fields, as
                           torch writes them for files over 4 GiB
  vgg-module.pth           DataParallel's "module." prefixes
  vgg-checkpoint.pth       {"epoch", "state_dict", "optimizer"} with SGD momentum tensors
  vgg-model-legacy.pth     {"model": ..., "epoch": ...}, legacy serialization
  vgg-f16.pth, vgg-bf16.pth  half and bfloat16 storages (subnormal halves too)
  vgg-bn.pth, vgg-bn-legacy.pth  batch norm after each conv, with num_batches_tracked
  views.pth, views-legacy.pth  views of shared storages: transposed, sliced with an
                           offset, strided, expanded (stride 0), 0-dim and empty tensors
  old-legacy.pth           written by hand as torch 0.3 wrote torchvision's released
                           files: the 4-argument _rebuild_tensor, 6-tuple persistent ids
                           with view metadata, OrderedDict built from a list of pairs
and hostile or broken ones, every one built from bytes, nothing ever executed:
  evil-global.pth          a pickle calling os.system
  evil-bytes.pth           a pickle calling torch.storage._load_from_bytes
  truncated.pth            the first half of vgg.pth
  truncated-legacy.pth     vgg-legacy.pth without its last 100 bytes
  bad-size.pth             vgg.pth with a record's size pointing past the end of the file
  big-endian.pth           vgg.pth with a "byteorder" record saying "big"
  no-state-dict.pth        {"epoch": 3, "net": state_dict}: a wrapper under no known key
  not-torch.zip            a zip with no data.pkl
EXPECTED.txt holds, for each readable file, what the reader must give, as torch.load sees
it: the state_dict unwrapped from a checkpoint, "module." removed, integer tensors left
out.  Per tensor: name, shape, and over its values in C order (as float32) the sum, the
sum of squares, the sum of (i + 1) * x[i], the first and the last value.
Reruns give the same files but for the legacy ones, whose storage keys are the storages'
memory addresses.
"""
import collections
import io
import math
import os
import pickle
import struct
import zipfile

import torch
import torch.nn as nn
from torchvision.models.vgg import make_layers

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "torch")


class TinyVGG(nn.Module):
    """torchvision's VGG module layout at a toy size: 3x8x8 input, two convs, FC 16."""

    def __init__(self, bn):
        super().__init__()
        self.features = make_layers([4, "M", 8, "M"], batch_norm=bn)
        self.classifier = nn.Sequential(
            nn.Linear(8 * 2 * 2, 16), nn.ReLU(True), nn.Dropout(),
            nn.Linear(16, 16), nn.ReLU(True), nn.Dropout(),
            nn.Linear(16, 10))

    def forward(self, x):
        return self.classifier(torch.flatten(self.features(x), 1))


def tiny(bn=False):
    net = TinyVGG(bn)
    if bn:
        for m in net.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.weight.data.uniform_(0.5, 1.5)
                m.bias.data.normal_()
                m.running_mean.normal_()
                m.running_var.uniform_(0.5, 2)
                m.num_batches_tracked.fill_(7)
    return net


def path(name):
    return os.path.join(OUT, name)


def views():
    base = torch.randn(6, 5)
    return collections.OrderedDict([
        ("transposed", base.t()),
        ("rows", base[2:5]),
        ("strided", base[:, 1:4:2]),
        ("expanded", base[4:5].expand(3, 5)),
        ("scalar", base[3, 4]),
        ("empty", base[1:1]),
        ("whole", base),
        ("count", torch.tensor([3, 1], dtype=torch.int64)),
    ])


def write_zip(dst, records, compression=zipfile.ZIP_STORED):
    """(name, bytes) records in order, dated as torch dates them so reruns give the same
    bytes."""
    with zipfile.ZipFile(dst, "w") as z:
        for name, data in records:
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            z.writestr(info, data, compress_type=compression)


def write_zip_copy(src, dst, compression, extra=()):
    """Copies a torch zip record by record (order kept), optionally adding records."""
    with zipfile.ZipFile(src) as z:
        records = [(info.filename, z.read(info.filename)) for info in z.infolist()]
    write_zip(dst, records + list(extra), compression)


def zip_with_pickle(dst, root, pkl):
    write_zip(dst, [(root + "/data.pkl", pkl), (root + "/version", b"3\n")])


def unicode_op(s):
    b = s.encode()
    return b"X" + struct.pack("<I", len(b)) + b


def evil_pickles():
    """Protocol-2 pickles written opcode by opcode: a GLOBAL, an argument, REDUCE."""
    system = (b"\x80\x02" + b"cos\nsystem\n" + unicode_op("echo pwned") + b"\x85R.")
    from_bytes = (b"\x80\x02}(" + unicode_op("w") + b"ctorch.storage\n_load_from_bytes\n"
                  + b"C\x04abcd\x85Ru.")
    return system, from_bytes


# The torch 0.3 form: persistent ids carry view metadata, tensors use _rebuild_tensor.
class OldStorage:
    def __init__(self, type_, key, numel, view=None):
        self.type, self.key, self.numel, self.view = type_, key, numel, view


class OldTensor:
    def __init__(self, storage, offset, size, stride):
        self.args = (storage, offset, size, stride)

    def __reduce__(self):
        return torch._utils._rebuild_tensor, self.args


class PairsDict:
    """Pickles as Python 2's OrderedDict did: OrderedDict([[key, value], ...])."""

    def __init__(self, items):
        self.items = items

    def __reduce__(self):
        return collections.OrderedDict, ([[k, v] for k, v in self.items],)


class OldPickler(pickle.Pickler):
    def persistent_id(self, obj):
        if isinstance(obj, OldStorage):
            return ("storage", obj.type, obj.key, "cpu", obj.numel, obj.view)
        return None


def old_legacy(dst):
    """Two root storages; one tensor reads a view (offset 5, 10 elements) of the first."""
    g = torch.Generator().manual_seed(5)
    a = torch.randn(20, generator=g)
    b = torch.randn(6, generator=g)
    sa = OldStorage(torch.FloatStorage, "140001", 20)
    sv = OldStorage(torch.FloatStorage, "140001", 20, ("140077", 5, 10))
    sb = OldStorage(torch.FloatStorage, "99", 6)
    obj = PairsDict([
        ("features.0.weight", OldTensor(sa, 0, (2, 2, 1, 1), (2, 1, 1, 1))),
        ("features.0.bias", OldTensor(sv, 2, (2, 3), (3, 1))),
        ("classifier.0.weight", OldTensor(sb, 0, (3, 2), (1, 3))),
    ])
    f = io.BytesIO()
    for header in (0x1950a86a20f9469cfc6c, 1001,
                   {"protocol_version": 1001, "little_endian": True,
                    "type_sizes": {"short": 2, "int": 4, "long": 4}}):
        pickle.dump(header, f, protocol=2)
    OldPickler(f, protocol=2).dump(obj)
    pickle.dump(sorted(["140001", "99"]), f, protocol=2)
    for t in sorted([("140001", a), ("99", b)]):
        f.write(struct.pack("<q", t[1].numel()))
        f.write(t[1].numpy().astype("<f4").tobytes())
    with open(dst, "wb") as out:
        out.write(f.getvalue())


def zip64_extras(src, dst):
    """Rewrites torch's central directory with sizes and offsets in ZIP64 extra fields
    (after an unrelated extra block) and an end record pointing to the ZIP64 one."""
    data = open(src, "rb").read()
    end = data.rindex(b"PK\x05\x06")
    count, _, cd_offset = struct.unpack_from("<HII", data, end + 10)
    pos, cd = cd_offset, b""
    for _ in range(count):
        record = bytearray(data[pos:pos + 46])
        csize, usize = struct.unpack_from("<II", record, 20)
        n, m, k = struct.unpack_from("<HHH", record, 28)
        offset = struct.unpack_from("<I", record, 42)[0]
        name, rest = data[pos + 46:pos + 46 + n], data[pos + 46 + n:pos + 46 + n + m + k]
        extra = (b"UT\x05\x00\x01\x00\x00\x00\x00"
                 + struct.pack("<HHQQQ", 1, 24, usize, csize, offset))
        struct.pack_into("<IIHH", record, 20, 0xffffffff, 0xffffffff, n, m + len(extra))
        struct.pack_into("<I", record, 42, 0xffffffff)
        cd += bytes(record) + name + rest[:m] + extra + rest[m:]
        pos += 46 + n + m + k
    body = data[:cd_offset]
    end64 = struct.pack("<4sQHHIIQQQQ", b"PK\x06\x06", 44, 45, 45, 0, 0, count, count,
                        len(cd), cd_offset)
    locator = struct.pack("<4sIQI", b"PK\x06\x07", 0, len(body) + len(cd), 1)
    end = struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, 0xffff, 0xffff, 0xffffffff,
                      0xffffffff, 0)
    open(dst, "wb").write(body + cd + end64 + locator + end)


def patch_size(src, dst, entry_suffix, size):
    """Sets a central-directory record's sizes to `size`."""
    data = bytearray(open(src, "rb").read())
    pos = 0
    while True:
        pos = data.index(b"PK\x01\x02", pos)
        n = struct.unpack_from("<H", data, pos + 28)[0]
        if data[pos + 46:pos + 46 + n].decode().endswith(entry_suffix):
            struct.pack_into("<II", data, pos + 20, size, size)
            break
        pos += 4
    open(dst, "wb").write(bytes(data))


def expected_tensors(obj):
    """What the reader must give: the rules of lib/torch.c, applied to torch.load's result."""
    if isinstance(obj, dict):
        for key in ("state_dict", "model_state_dict", "model"):
            if isinstance(obj.get(key), dict):
                obj = obj[key]
                break
    names = list(obj.keys())
    if names and all(n.startswith("module.") for n in names):
        obj = collections.OrderedDict((n[len("module."):], v) for n, v in obj.items())
    return [(n, t) for n, t in obj.items() if t.dtype.is_floating_point]


def describe(name, t):
    x = [float(v) for v in t.float().contiguous().view(-1).tolist()]
    shape = " ".join(str(d) for d in t.shape)
    return "t %s %d%s%s %.17g %.17g %.17g %.9g %.9g" % (
        name, t.dim(), " " if shape else "", shape, math.fsum(x),
        math.fsum(v * v for v in x), math.fsum((i + 1) * v for i, v in enumerate(x)),
        x[0] if x else 0, x[-1] if x else 0)


def main():
    torch.manual_seed(1511)
    os.makedirs(OUT, exist_ok=True)
    sd = tiny().state_dict()
    bn = tiny(bn=True).state_dict()
    legacy = {"_use_new_zipfile_serialization": False}

    torch.save(sd, path("vgg.pth"))
    torch.save(sd, path("vgg-legacy.pth"), **legacy)
    torch.save(sd, path("vgg-proto4.pth"), pickle_protocol=4)
    write_zip_copy(path("vgg.pth"), path("vgg-deflate.pth"), zipfile.ZIP_DEFLATED)
    zip64_extras(path("vgg.pth"), path("vgg-zip64.pth"))
    torch.save(nn.DataParallel(tiny()).state_dict(), path("vgg-module.pth"))

    net = tiny()
    opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
    net(torch.randn(2, 3, 8, 8)).sum().backward()
    opt.step()
    torch.save({"epoch": 3, "state_dict": net.state_dict(), "optimizer": opt.state_dict()},
               path("vgg-checkpoint.pth"))
    torch.save({"model": tiny().state_dict(), "epoch": 9}, path("vgg-model-legacy.pth"),
               **legacy)

    half = tiny().half().state_dict()
    # subnormal halves (the smallest, and one that needs a shift of 2), the largest, -0
    half["classifier.6.bias"][:4] = torch.tensor([2.0 ** -24, -2.0 ** -16, 65504, -0.0])
    torch.save(half, path("vgg-f16.pth"))
    net = tiny()
    torch.save(net.to(torch.bfloat16).state_dict(), path("vgg-bf16.pth"))
    torch.save(bn, path("vgg-bn.pth"))
    torch.save(bn, path("vgg-bn-legacy.pth"), **legacy)
    v = views()
    torch.save(v, path("views.pth"))
    torch.save(v, path("views-legacy.pth"), **legacy)
    old_legacy(path("old-legacy.pth"))

    system, from_bytes = evil_pickles()
    zip_with_pickle(path("evil-global.pth"), "evil-global", system)
    zip_with_pickle(path("evil-bytes.pth"), "evil-bytes", from_bytes)
    data = open(path("vgg.pth"), "rb").read()
    open(path("truncated.pth"), "wb").write(data[:len(data) // 2])
    data = open(path("vgg-legacy.pth"), "rb").read()
    open(path("truncated-legacy.pth"), "wb").write(data[:-100])
    patch_size(path("vgg.pth"), path("bad-size.pth"), "/data/0", 0x7ffffff0)
    write_zip_copy(path("vgg.pth"), path("big-endian.pth"), zipfile.ZIP_STORED,
                   [("vgg/byteorder", b"big")])
    torch.save({"epoch": 3, "net": {"w": torch.ones(2)}}, path("no-state-dict.pth"))
    write_zip(path("not-torch.zip"), [("readme.txt", b"not a model\n")])

    good = ["vgg.pth", "vgg-legacy.pth", "vgg-proto4.pth", "vgg-deflate.pth", "vgg-zip64.pth",
            "vgg-module.pth", "vgg-checkpoint.pth", "vgg-model-legacy.pth", "vgg-f16.pth",
            "vgg-bf16.pth", "vgg-bn.pth", "vgg-bn-legacy.pth", "views.pth",
            "views-legacy.pth", "old-legacy.pth"]
    lines = ["# made by tests/golden/make_torch_goldens.py: per file its tensors as torch.load",
             "# gives them; t NAME NDIM DIMS... SUM SUMSQ WEIGHTED_SUM FIRST LAST"]
    for name in good:
        tensors = expected_tensors(torch.load(path(name)))
        lines.append("file %s %d" % (name, len(tensors)))
        lines.extend(describe(n, t) for n, t in tensors)
    with open(path("EXPECTED.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
