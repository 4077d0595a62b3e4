#!/usr/bin/python3
"""Full-size check against Debian's torchvision (too large to commit as goldens; run by
hand, or by tests/bats when torch is installed): vgg11, vgg16 and vgg16_bn with random
weights, written in our format, run by vgg-predict on the same inputs.  Prints one line
per check and exits 1 if any fails: logits within 1e-4 of the max, top-5 identical,
features slices (conv3_1 before its ReLU, pool5) and dense evaluation at 256x256; and
vgg-convert --to pytorch of our file loads into torchvision's model (strict) unchanged.
Usage: check_full_size.py BUILD_DIR"""
import io
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch
import torch.nn.functional as F
import torchvision

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vggweights  # noqa: E402

BUILD = sys.argv[1]
failed = 0


def run(args, stdin):
    out = subprocess.run([os.path.join(BUILD, "vgg-predict")] + args, input=stdin,
                         capture_output=True, check=True).stdout
    f, arrays = io.BytesIO(out), []
    while f.tell() < len(out):
        arrays.append(np.load(f))
    return np.stack(arrays)


def stream(x):
    f = io.BytesIO()
    for a in x:
        np.save(f, a.numpy())
    return f.getvalue()


def check(what, ours, theirs, top5=False):
    global failed
    err = float(np.abs(ours - theirs).max() / np.abs(theirs).max())
    ok = err < 1e-4
    if top5:
        same = all((np.argsort(-o)[:5] == np.argsort(-t)[:5]).all()
                   for o, t in zip(ours.reshape(len(ours), -1), theirs.reshape(len(theirs), -1)))
        ok &= same
    failed += not ok
    print("%s %s: relative error %.2g%s" % ("ok" if ok else "FAIL", what, err,
                                           ", top-5 identical" if top5 else ""))


torch.manual_seed(16)
with tempfile.TemporaryDirectory() as tmp:
    for name, bn in (("vgg11", False), ("vgg16", False), ("vgg16", True)):
        label = name + ("_bn" if bn else "")
        model = getattr(torchvision.models, label)().eval()
        if bn:
            for m in model.features:
                if isinstance(m, torch.nn.BatchNorm2d):
                    torch.nn.init.uniform_(m.weight, 0.5, 1.5)
                    torch.nn.init.normal_(m.bias, 0, 0.1)
                    m.running_mean.normal_(0, 0.2)
                    m.running_var.uniform_(0.5, 2.0)
        tensors, text = vggweights.from_torchvision(name, model.state_dict(), bn)
        path = os.path.join(tmp, label + ".safetensors")
        vggweights.write(path, tensors, {"vgg.config": text, "vgg.name": label})
        x = torch.randn(2, 3, 224, 224)
        with torch.no_grad():
            logits = model(x).numpy()
            convs = [i for i, m in enumerate(model.features) if isinstance(m, torch.nn.Conv2d)]
            # conv3_1 is the fifth conv in vgg16, the third in vgg11; its tap follows its BN.
            c31 = convs[4 if name == "vgg16" else 2] + (1 if bn else 0)
            conv31 = model.features[:c31 + 1](x).numpy()
            pool5 = model.features(x)
            xd = torch.randn(1, 3, 256, 256)
            fmap = model.features(xd)
            cl = model.classifier
            y = F.relu(F.conv2d(fmap, cl[0].weight.view(4096, 512, 7, 7), cl[0].bias))
            y = F.relu(F.conv2d(y, cl[3].weight[:, :, None, None], cl[3].bias))
            dense = F.conv2d(y, cl[6].weight[:, :, None, None], cl[6].bias).numpy()
        m = ["-m", path, "--from", "data", "--layer"]
        check(label + " fc8 logits", run(m + ["fc8"], stream(x)).reshape(2, -1), logits, True)
        check(label + " conv3_1", run(m + ["conv3_1"], stream(x)), conv31)
        check(label + " pool5", run(m + ["pool5"], stream(x)), pool5.numpy())
        check(label + " dense fc8 at 256x256",
              run(["--dense"] + m + ["fc8"], stream(xd)), dense)
        pth = os.path.join(tmp, label + ".pth")
        subprocess.run([os.path.join(BUILD, "vgg-convert"), "--to", "pytorch", path, "-o", pth],
                       check=True, capture_output=True)
        again = getattr(torchvision.models, label)().eval()
        again.load_state_dict(torch.load(pth))
        with torch.no_grad():
            check(label + " --to pytorch loads into torchvision", again(x).numpy(), logits)
sys.exit(1 if failed else 0)
