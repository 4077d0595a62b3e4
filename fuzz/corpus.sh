#!/bin/sh
# corpus.sh [DIR]: the seed corpus of every harness, DIR/NAME/ (default fuzz/corpus/NAME/),
# assembled from the test files under tests/data, the crashing inputs kept under
# tests/data/hostile, and a few tiny files made here.  It is not kept in git: the test files
# are.  Seeds over 128 KB (32 KB for images) are left out, as libFuzzer runs small inputs
# faster and mutates them better.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
data=$top/tests/data
out=${1:-$top/fuzz/corpus}

# seed NAME FILE...: copies the files that exist into NAME's corpus, up to $max bytes each.
max=131072
seed() {
	name=$1
	shift
	mkdir -p "$out/$name"
	for f in "$@"; do
		[ -f "$f" ] && [ "$(wc -c <"$f")" -le $max ] || continue
		cp "$f" "$out/$name/$(printf '%s' "${f#"$top"/}" | tr / _)"
	done
}

# Images decode in time proportional to their pixels: small ones make a faster fuzzer.
max=32768
seed image "$data"/*.jpg "$data"/*.png "$data"/*.p?m "$data"/golden/* \
	"$data"/train/dir/*/* "$data"/preprocess/*.p?m "$top"/share/vgg/samples/*
max=131072
seed safetensors "$data"/*/*.safetensors
seed npy "$data"/*/*.npy
seed torch "$data"/torch/*.pth "$data"/convert/*.pth
seed zip "$data"/torch/*.pth "$data"/torch/*.zip "$data"/convert/*.pth
seed caffe "$data"/caffe/*.caffemodel
seed prototxt "$data"/caffe/*.prototxt
seed config "$top"/share/vgg/*.cfg "$top"/share/vgg/models/*.cfg "$data"/darknet/net.cfg
seed idx "$data"/train/idx/*
seed list "$data"/train/list.txt "$data"/train/idx/*
seed darknet
seed pickle "$data"/torch/*legacy*.pth
for d in "$data"/hostile/*/; do
	[ -d "$d" ] && seed "$(basename "$d")" "$d"*
done

python3 - "$out" "$data" <<'PY'
import glob, gzip, json, os, struct, sys, zipfile
out, data = sys.argv[1], sys.argv[2]

def put(name, file, raw):
    with open(os.path.join(out, name, file), "wb") as f:
        f.write(raw)

# The pickles of the zip-form .pth files, on their own.
for path in glob.glob(os.path.join(data, "torch", "*.pth")):
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as z:
            for n in z.namelist():
                if n.endswith("/data.pkl"):
                    put("pickle", os.path.basename(path) + ".pkl", z.read(n))

# Darknet files end with the byte that picks fuzz_darknet.c's config: 0 for net.cfg's,
# 1 for "input 2x2x1 conv1-1 BN FC-2" (5 floats for the conv, 10 for the FC layer).
for path in glob.glob(os.path.join(data, "darknet", "*.weights")):
    put("darknet", os.path.basename(path), open(path, "rb").read() + b"\0")
floats = struct.pack("<15f", *[0.5 + i for i in range(15)])
put("darknet", "tiny-v2", struct.pack("<iiiQ", 0, 2, 0, 1000) + floats + b"\1")
put("darknet", "tiny-v1", struct.pack("<iiiI", 0, 1, 0, 1000) + floats + b"\1")

# A tiny weights file that vgg_net_new accepts, metadata and all.
values = [0.25 * i for i in range(10)]
header = {"__metadata__": {"vgg.config": "input 2x2x1 FC-2 soft-max", "vgg.labels": "a\nb",
                           "vgg.mean": "0.5,0.5,0.5", "vgg.crop": "2x2", "vgg.order": "BGR"},
          "fc6.weight": {"dtype": "F32", "shape": [2, 4], "data_offsets": [0, 32]},
          "fc6.bias": {"dtype": "F16", "shape": [2], "data_offsets": [32, 36]}}
text = json.dumps(header).encode()
text += b" " * (-len(text) % 8)
put("safetensors", "tiny", struct.pack("<Q", len(text)) + text +
    struct.pack("<8f", *values[:8]) + struct.pack("<2e", *values[8:]))

# IDX images and labels, plain and gzip'd.
images = bytes([0, 0, 8, 3]) + struct.pack(">III", 2, 3, 2) + bytes(range(12))
labels = bytes([0, 0, 8, 1]) + struct.pack(">I", 2) + bytes([1, 0])
for name in ("idx", "list"):
    put(name, "images", images)
    put(name, "images.gz", gzip.compress(images))
put("idx", "labels", labels)
put("idx", "labels.gz", gzip.compress(labels))
put("list", "relative", b"a.png 0\n  b c.jpg\t3 \n\n/abs/d.ppm 1\r\n")
PY
