# train_data.bash: the tiny data sets vgg-train's tests train on.

# make_data DIR: DIR/classes/{bottom,top}/N.pgm (bright in the bottom or the top half,
# with noise: classes that survive horizontal flips), DIR/list.txt naming the same images, and DIR/t-images-idx3-ubyte with its
# labels file holding them as IDX.
make_data() {
	python3 - "$1" <<'EOF'
import os, random, struct, sys
top = sys.argv[1]
random.seed(3)
images, labels = [], []
for label, name in enumerate(("bottom", "top")):
    os.makedirs(os.path.join(top, "classes", name), exist_ok=True)
    for i in range(24):
        px = bytes(min(255, max(0, (200 if (y >= 4) == (label == 0) else 40) +
                               random.randint(-30, 30)))
                   for y in range(8) for x in range(8))
        with open(os.path.join(top, "classes", name, "%02d.pgm" % i), "wb") as f:
            f.write(b"P5\n8 8\n255\n" + px)
        images.append(px)
        labels.append(label)
with open(os.path.join(top, "list.txt"), "w") as f:
    for label, name in enumerate(("bottom", "top")):
        for i in range(24):
            f.write("classes/%s/%02d.pgm %d\n" % (name, i, label))
with open(os.path.join(top, "t-images-idx3-ubyte"), "wb") as f:
    f.write(struct.pack(">IIII", 0x803, len(images), 8, 8) + b"".join(images))
with open(os.path.join(top, "t-labels-idx1-ubyte"), "wb") as f:
    f.write(struct.pack(">II", 0x801, len(labels)) + bytes(labels))
EOF
}

# rel_diff A B: the largest difference between same-named tensors of two weights files,
# relative to the largest value of each tensor in A; both must hold the same tensors.
rel_diff() {
	python3 - "$1" "$2" <<'EOF'
import json, struct, sys
def tensors(path):
    data = open(path, "rb").read()
    n = struct.unpack("<Q", data[:8])[0]
    head = json.loads(data[8:8 + n])
    head.pop("__metadata__", None)
    out = {}
    for name, t in head.items():
        a, b = t["data_offsets"]
        out[name] = struct.unpack("<%df" % ((b - a) // 4), data[8 + n + a:8 + n + b])
    return out
a, b = tensors(sys.argv[1]), tensors(sys.argv[2])
assert sorted(a) == sorted(b), (sorted(a), sorted(b))
worst = 0.0
for name, x in a.items():
    top = max(abs(v) for v in x) or 1.0
    worst = max(worst, max(abs(u - v) for u, v in zip(x, b[name])) / top)
print("%.3g" % worst)
EOF
}
