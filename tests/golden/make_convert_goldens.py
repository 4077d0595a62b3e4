#!/usr/bin/python3
"""Golden files for vgg-convert, made with Debian's python3-torch (run once, commit the
output; the tests need no torch).  Reduced-width nets with torchvision's module layout
(`features.N`, `classifier.0/3/6`; see make_net_goldens.py) are saved into
tests/data/convert/ in each form a user brings:
  vgg11.zip.pth          torch.save's zip serialization (torch >= 1.6)
  vgg11.legacy.pth       the legacy serialization, as torchvision's released files
  vgg11.module.pth       DataParallel's "module." prefixes
  vgg11.checkpoint.pth   {"epoch", "state_dict", "optimizer"-free} checkpoint dict
  vgg16_bn.zip.pth       batch norm, with num_batches_tracked
  vgg11.hub.safetensors  a hub's safetensors with torchvision names
  vgg11.timm.safetensors timm's names: pre_logits.fc1 holds fc6 as a conv, head.fc is fc8
  NAME.fc8.npy           torch's logits for input.npy (2x3x64x64), to compare with
"""
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_net_goldens as nets  # noqa: E402
import vggweights  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "convert")


def model(cfg, bn):
    features, classifier, _, _, _ = nets.build(nets.CONFIGS[cfg], bn, nets.SIZE, False)
    nets.randomise(features, classifier)
    net = torch.nn.Sequential()
    net.add_module("features", features)
    net.add_module("flatten", torch.nn.Flatten())
    net.add_module("classifier", classifier)
    return net.eval()


def state(net):
    """The state_dict without the Flatten, as torchvision's VGG has it."""
    return {k: v for k, v in net.state_dict().items()}


def main():
    nets.WIDTH_DIV = 32  # half the width of make_net_goldens' nets: these files come six times
    torch.manual_seed(1409)
    os.makedirs(OUT, exist_ok=True)
    x = torch.from_numpy(np.load(os.path.join(OUT, "..", "net", "input.npy")))
    for cfg, bn in (("vgg11", False), ("vgg16", True)):
        name = cfg + ("_bn" if bn else "")
        net = model(cfg, bn)
        with torch.no_grad():
            np.save(os.path.join(OUT, name + ".fc8.npy"), net(x).numpy())
        sd = state(net)
        torch.save(sd, os.path.join(OUT, name + ".zip.pth"))
        if bn:
            continue
        torch.save(sd, os.path.join(OUT, name + ".legacy.pth"),
                   _use_new_zipfile_serialization=False)
        torch.save({"module." + k: v for k, v in sd.items()},
                   os.path.join(OUT, name + ".module.pth"))
        torch.save({"epoch": 3, "state_dict": sd}, os.path.join(OUT, name + ".checkpoint.pth"))
        vggweights.write(os.path.join(OUT, name + ".hub.safetensors"),
                         [(k, v.numpy()) for k, v in sd.items()], {"format": "pt"})
        timm = [(k, v.numpy()) for k, v in sd.items() if k.startswith("features.")]
        fc6 = sd["classifier.0.weight"]
        side = int(round((fc6.shape[1] / sd["features.%d.weight" % max(
            int(k.split(".")[1]) for k in sd if k.startswith("features."))].shape[0]) ** 0.5))
        timm += [("pre_logits.fc1.weight", fc6.reshape(fc6.shape[0], -1, side, side).numpy()),
                 ("pre_logits.fc1.bias", sd["classifier.0.bias"].numpy()),
                 ("pre_logits.fc2.weight", sd["classifier.3.weight"][:, :, None, None].numpy()),
                 ("pre_logits.fc2.bias", sd["classifier.3.bias"].numpy()),
                 ("head.fc.weight", sd["classifier.6.weight"].numpy()),
                 ("head.fc.bias", sd["classifier.6.bias"].numpy())]
        vggweights.write(os.path.join(OUT, name + ".timm.safetensors"), timm, {"format": "pt"})


if __name__ == "__main__":
    main()
