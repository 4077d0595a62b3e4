#!/usr/bin/env bats
# vgg-predict: the text and JSON formats, every option, torch's reference outputs through
# --from data, split runs, ensembles, atomic -o, failed images and usage errors.
# The nets of tests/data/net are small random-weight VGGs for 64x64 RGB inputs, 10 classes
# labelled "class 0".."class 9", whose default resize is 73 (64 * 256/224).  numpy is not
# needed: .npy streams are read and written with python3's struct.
load test_helper
TOOL=vgg-predict
bats_require_minimum_version 1.5.0

setup() {
	D=$TOP/tests/data
	N=$D/net
	V16=$N/vgg16.safetensors
	V11=$N/vgg11.safetensors
	cd "$BATS_TEST_TMPDIR" || return 1
}

# The Python run by `py`: helpers, then each argument executed as a statement in turn.
#   R: the records of $output (text or JSON lines); O[NAME]: those saved by `keep NAME`.
#   A record is a dict: file, probs {index: prob}, order [index...], labels {index: label},
#   or file and error for a JSON error object.
PYLIB='
import ast, glob, json, math, os, struct, sys
T = os.environ["BATS_TEST_TMPDIR"]
NET = os.environ["N"]

def parse(text):
    recs = []
    for line in text.splitlines():
        if line.startswith("{"):
            d = json.loads(line)
            if "error" in d:
                recs.append({"file": d["file"], "error": d["error"]})
                continue
            top = d["top"]
            recs.append({"file": d["file"], "order": [t["index"] for t in top],
                         "probs": {t["index"]: t["prob"] for t in top},
                         "labels": {t["index"]: t["label"] for t in top}, "json": d})
        else:
            name, *fields = line.split("\t")
            fields = [f.split(":", 2) for f in fields]
            recs.append({"file": name, "order": [int(i) for i, _, _ in fields],
                         "probs": {int(i): float(p) for i, p, _ in fields},
                         "labels": {int(i): l for i, _, l in fields},
                         "text": [p for _, p, _ in fields]})
    return recs

def close(a, b, tol, names=True):
    """Records a and b: the same files (if names), classes and probabilities within tol."""
    assert len(a) == len(b), "%d records against %d" % (len(a), len(b))
    for x, y in zip(a, b):
        if names:
            assert x["file"] == y["file"], "file %r against %r" % (x["file"], y["file"])
        assert x["probs"].keys() == y["probs"].keys(), \
            "%s: classes %s against %s" % (x["file"], sorted(x["probs"]), sorted(y["probs"]))
        worst = max(abs(x["probs"][k] - y["probs"][k]) for k in x["probs"])
        assert worst <= tol, "%s: probabilities differ by %g > %g:\n  %s\n  %s" % (
            x["file"], worst, tol, x["probs"], y["probs"])
    return True

def mean(*runs):
    """The class-wise mean of several runs over all classes (each printed with -k 10)."""
    out = []
    for recs in zip(*runs):
        keys = recs[0]["probs"].keys()
        out.append({"file": recs[0]["file"],
                    "probs": {k: sum(r["probs"][k] for r in recs) / len(recs) for k in keys}})
    return out

def npy_read(path):
    """Every array of a .npy stream: dicts version, descr, fortran, shape, data, hlen."""
    b = open(path, "rb").read()
    arrs, off = [], 0
    while off < len(b):
        assert b[off:off + 6] == b"\x93NUMPY", "%s: no .npy magic at byte %d" % (path, off)
        ver = (b[off + 6], b[off + 7])
        if ver[0] == 1:
            hl, start = struct.unpack("<H", b[off + 8:off + 10])[0], off + 10
        else:
            hl, start = struct.unpack("<I", b[off + 8:off + 12])[0], off + 12
        text = b[start:start + hl].decode("latin1")
        h = ast.literal_eval(text)
        count = math.prod(h["shape"])
        fmt = {"<f4": "f", "<f8": "d", "|u1": "B"}[h["descr"]]
        size = struct.calcsize(fmt) * count
        assert start + hl + size <= len(b), "%s: truncated array at byte %d" % (path, off)
        arrs.append({"version": ver, "descr": h["descr"], "fortran": h["fortran_order"],
                     "shape": tuple(h["shape"]), "hlen": start + hl - off, "header": text,
                     "data": struct.unpack("<%d%s" % (count, fmt), b[start + hl:start + hl + size])})
        off = start + hl + size
    return arrs

def npy_bytes(shape, data, descr="<f4"):
    """One v1.0 array, its header padded to 64 bytes as numpy does."""
    h = "{%r: %r, %r: False, %r: %r, }" % ("descr", descr, "fortran_order", "shape", tuple(shape))
    h += " " * ((-(10 + len(h) + 1)) % 64) + "\n"
    fmt = {"<f4": "f", "<f8": "d"}[descr]
    return (b"\x93NUMPY\x01\x00" + struct.pack("<H", len(h)) + h.encode("latin1") +
            struct.pack("<%d%s" % (len(data), fmt), *data))

def split(src, dst, lead=False, descr="<f4"):
    """The NxCxHxW array of src as N arrays CxHxW (1xCxHxW if lead) back to back in dst."""
    a = npy_read(src)[0]
    n, rest = a["shape"][0], a["shape"][1:]
    one = math.prod(rest)
    with open(dst, "wb") as f:
        for i in range(n):
            f.write(npy_bytes(((1,) if lead else ()) + rest, a["data"][i * one:(i + 1) * one], descr))

def ref(net, kind):
    """the output KIND of torch (prob, fc8, pool5, conv3_1, dense) for the two inputs: a list."""
    a = npy_read("%s/%s.%s.npy" % (NET, net, kind))[0]
    one = math.prod(a["shape"][1:])
    return [a["data"][i * one:(i + 1) * one] for i in range(a["shape"][0])]

def near(x, y, atol, rtol=0.0):
    """Two flat arrays equal within atol + rtol * |y| element-wise."""
    assert len(x) == len(y), "%d values against %d" % (len(x), len(y))
    worst = max(range(len(x)), key=lambda i: abs(x[i] - y[i]) - rtol * abs(y[i]))
    assert abs(x[worst] - y[worst]) <= atol + rtol * abs(y[worst]), \
        "value %d: %r against %r" % (worst, x[worst], y[worst])
    return True

def weights(src, dst, classes=None, labels=True):
    """A copy of the safetensors file src with fc8 cut to its first classes rows, or without
    its vgg.labels."""
    b = open(src, "rb").read()
    n = struct.unpack("<Q", b[:8])[0]
    h, data = json.loads(b[8:8 + n]), b[8 + n:]
    meta = h.pop("__metadata__")
    old = h["fc8.bias"]["shape"][0]
    classes = classes or old
    meta["vgg.config"] = meta["vgg.config"].replace("FC-%d\n" % old, "FC-%d\n" % classes)
    if labels:
        meta["vgg.labels"] = "\n".join(meta["vgg.labels"].split("\n")[:classes])
    else:
        del meta["vgg.labels"]
    out, blob = {"__metadata__": meta}, b""
    for k, v in h.items():
        t, shape = data[v["data_offsets"][0]:v["data_offsets"][1]], v["shape"]
        if k.startswith("fc8."):
            t, shape = t[:len(t) // old * classes], [classes] + shape[1:]
        out[k] = {"dtype": v["dtype"], "shape": shape,
                  "data_offsets": [len(blob), len(blob) + len(t)]}
        blob += t
    hdr = json.dumps(out).encode()
    hdr += b" " * (-len(hdr) % 8)
    open(dst, "wb").write(struct.pack("<Q", len(hdr)) + hdr + blob)

def ppm(path, rows):
    """rows: lists of (r, g, b)."""
    with open(path, "wb") as f:
        f.write(b"P6\n%d %d\n255\n" % (len(rows[0]), len(rows)))
        f.write(bytes(v for row in rows for px in row for v in px))

try:
    R = parse(sys.stdin.read())
except Exception:
    R = None
O = {os.path.basename(p)[:-4]: parse(open(p).read()) for p in glob.glob(T + "/*.out")}
bad = 0
for stmt in sys.argv[1:]:
    try:
        exec(stmt, globals())
    except AssertionError as e:
        bad = 1
        print("failed: %s\n  %s" % (stmt, e), file=sys.stderr)
sys.exit(bad)
'

# py STATEMENT...: runs each Python STATEMENT with the helpers above; fails on an assert.
py() {
	N=$N python3 -c "$PYLIB" "$@" <<<"${output-}"
}

# keep NAME: saves $output for py's O["NAME"].
keep() {
	printf '%s\n' "$output" >"$BATS_TEST_TMPDIR/$1.out"
}



# The inputs of tests/data/net as two 3x64x64 arrays back to back in split.npy.
make_split() {
	py "split('$N/input.npy', 'split.npy')"
}

# asym.ppm (74x73 noise), mirror.ppm (it mirrored) and sym.ppm (left-right symmetric).
# At 74x73 the resize to 73 keeps the size and the 64x64 centre crop starts 5 columns in
# from either side, so mirroring the file is mirroring the crop.
make_ppms() {
	py 'import random
random.seed(7)
rows = [[tuple(random.randrange(256) for _ in range(3)) for x in range(74)] for y in range(73)]
ppm("asym.ppm", rows)
ppm("mirror.ppm", [r[::-1] for r in rows])
ppm("sym.ppm", [r[:37] + r[:37][::-1] for r in rows])'
}

# ---- the text format ----

@test "text: the path, then -k fields index:probability:label, 6 decimals, sorted, sum <= 1" {
	cd "$D"
	run -0 --separate-stderr vgg-predict -m "$V16" photo.jpg small.ppm small-rgb.png
	assert_equal "$stderr" ''
	assert_equal "${#lines[@]}" 3
	local field='	[0-9]:[01]\.[0-9]{6}:class [0-9]'
	assert_line --index 0 --regexp "^photo\.jpg($field){5}\$"
	assert_line --index 1 --regexp "^small\.ppm($field){5}\$"
	assert_line --index 2 --regexp "^small-rgb\.png($field){5}\$"
	py 'assert [r["file"] for r in R] == ["photo.jpg", "small.ppm", "small-rgb.png"]' \
		'for r in R:
    p = [r["probs"][i] for i in r["order"]]
    assert p == sorted(p, reverse=True), p
    assert sum(p) <= 1 + 1e-6, sum(p)
    assert len(set(r["order"])) == 5, r["order"]
    assert all(r["labels"][i] == "class %d" % i for i in r["order"]), r["labels"]'
	# --model is -m; the same pixels as PPM and PNG give the same line
	run -0 vgg-predict --model "$V16" small.ppm small-rgb.png
	assert_equal "${lines[0]#small.ppm}" "${lines[1]#small-rgb.png}"
}

@test "-k 10 and --top 10: all 10 classes, summing to 1 within 1e-5; -k 3; -k 50 gives 10" {
	local model
	for model in vgg11 A-LRN C vgg16 vgg16_bn; do
		run -0 vgg-predict -m "$N/$model.safetensors" -k 10 "$D/photo.jpg" "$D/photo-gray.jpg"
		keep "all-$model"
	done
	py 'for name in ("vgg11", "A-LRN", "C", "vgg16", "vgg16_bn"):
    assert len(O["all-" + name]) == 2, name
    for r in O["all-" + name]:
        assert sorted(r["order"]) == list(range(10)), (name, r["order"])
        assert abs(sum(r["probs"].values()) - 1) <= 1e-5, (name, sum(r["probs"].values()))
        p = [r["probs"][i] for i in r["order"]]
        assert p == sorted(p, reverse=True), (name, p)'
	keep k10
	run -0 vgg-predict -m "$N/vgg16_bn.safetensors" --top 10 "$D/photo.jpg" "$D/photo-gray.jpg"
	keep top10
	run -0 vgg-predict -m "$N/vgg16_bn.safetensors" -k 50 "$D/photo.jpg" "$D/photo-gray.jpg"
	keep k50
	run -0 vgg-predict -m "$N/vgg16_bn.safetensors" -k 3 "$D/photo.jpg" "$D/photo-gray.jpg"
	py 'assert O["k10"] == O["top10"] == O["k50"]' \
		'for r, full in zip(R, O["k10"]):
    assert r["order"] == full["order"][:3], (r["order"], full["order"])
    assert r["text"] == full["text"][:3]'
	run -0 vgg-predict -m "$V16" -k 1 "$D/photo.jpg"
	assert_output --regexp '^[^	]+	[0-9]:[01]\.[0-9]{6}:class [0-9]$'
}

@test "weights without vgg.labels: empty labels in text, null in --json" {
	py "weights('$V11', 'nolabels.safetensors', labels=False)"
	run -0 vgg-predict -m nolabels.safetensors -k 10 "$D/photo.jpg"
	assert_output --regexp '^[^	]+(	[0-9]:[01]\.[0-9]{6}:){10}$'
	keep nolabels
	run -0 vgg-predict -m "$V11" -k 10 "$D/photo.jpg"
	py 'close(R, O["nolabels"], 0)'
	run -0 vgg-predict -m nolabels.safetensors -k 2 --json "$D/photo.jpg"
	py 'assert [t["label"] for t in R[0]["json"]["top"]] == [None, None]'
}

# ---- torch's reference outputs, through --from data ----

@test "--from data refuses the 2x3x64x64 input.npy: exit 1, 'expected a CxHxW array'" {
	run -1 --separate-stderr vgg-predict -m "$V16" --from data "$N/input.npy"
	assert_output ''
	assert_equal "${#stderr_lines[@]}" 1
	assert_equal "$stderr" "vgg-predict: '$N/input.npy#0': expected a CxHxW array"
	# with --json, in its place as an error object
	run -1 --separate-stderr vgg-predict -m "$V16" --json --from data "$N/input.npy"
	py 'assert R == [{"file": "'"$N"'/input.npy#0", "error": "'"'$N/input.npy#0'"': expected a CxHxW array"}], R'
}

@test "--from data on the inputs as two 3x64x64 arrays: torch's NAME.prob.npy for every net" {
	make_split
	local model
	for model in vgg11 A-LRN C vgg16 vgg16_bn; do
		run -0 --separate-stderr vgg-predict -m "$N/$model.safetensors" --from data -k 10 -j split.npy
		assert_equal "$stderr" ''
		keep "$model"
	done
	py 'for name in ("vgg11", "A-LRN", "C", "vgg16", "vgg16_bn"):
    assert [r["file"] for r in O[name]] == ["split.npy#0", "split.npy#1"], O[name]
    for r, want in zip(O[name], ref(name, "prob")):
        best = max(range(10), key=lambda k: want[k])
        assert r["order"][0] == best, (name, r["order"], want)
        near([r["probs"][k] for k in range(10)], want, 1e-5)'
	# the text format's top class and probability, too
	run -0 vgg-predict -m "$V16" --from data -k 1 - <split.npy
	py 'for r, want in zip(R, ref("vgg16", "prob")):
    best = max(range(10), key=lambda k: want[k])
    assert r["file"] in ("-#0", "-#1") and r["order"] == [best], (r, want)
    assert abs(r["probs"][best] - want[best]) <= 1e-5, (r, want)'
}

@test "--from data: 1x3x64x64 arrays (as torch tensors come) and float64 give the same" {
	make_split
	run -0 vgg-predict -m "$V16" --from data -k 10 -j split.npy
	keep f4
	py "split('$N/input.npy', 'lead.npy', lead=True)" "split('$N/input.npy', 'f8.npy', descr='<f8')" \
		'assert npy_read("lead.npy")[0]["shape"] == (1, 3, 64, 64)'
	run -0 vgg-predict -m "$V16" --from data -k 10 -j lead.npy
	py 'close(R, O["f4"], 1e-6, names=False)'
	run -0 vgg-predict -m "$V16" --from data -k 10 -j f8.npy
	py 'close(R, O["f4"], 1e-6, names=False)'
}

@test "--from data --layer pool5, conv3_1, fc8: torch's reference arrays for every net" {
	make_split
	local model layer
	for model in vgg11 A-LRN C vgg16 vgg16_bn; do
		for layer in pool5 conv3_1 fc8; do
			vgg-predict -m "$N/$model.safetensors" --from data --layer "$layer" -o "$model.$layer.npy" split.npy
		done
	done
	py 'for name in ("vgg11", "A-LRN", "C", "vgg16", "vgg16_bn"):
    for layer in ("pool5", "conv3_1", "fc8"):
        a = npy_read("%s.%s.npy" % (name, layer))
        assert len(a) == 2, (name, layer)
        for got, want in zip(a, ref(name, layer)):
            try:
                near(got["data"], want, 1e-4, 1e-4)
            except AssertionError as e:
                raise AssertionError("%s %s: %s" % (name, layer, e))'
}

@test "--dense --from data on 96x96 inputs: torch's 2x2 map (dense.npy), its soft-max averaged" {
	py "split('$N/dense.input.npy', 'dsplit.npy')"
	run -0 vgg-predict -m "$V16" --dense --from data --layer fc8 -o map.npy dsplit.npy
	py 'a = npy_read("map.npy")' 'assert [x["shape"] for x in a] == [(10, 2, 2)] * 2' \
		'for got, want in zip(a, ref("vgg16", "dense")):
    near(got["data"], want, 1e-4, 1e-4)'
	run -0 vgg-predict -m "$V16" -d --from data -k 10 -j dsplit.npy
	py 'for r, logits in zip(R, ref("vgg16", "dense")):
    want = [0.0] * 10
    for pos in range(4):
        col = [logits[k * 4 + pos] for k in range(10)]
        z = sum(math.exp(v - max(col)) for v in col)
        for k in range(10):
            want[k] += math.exp(col[k] - max(col)) / z / 4
    near([r["probs"][k] for k in range(10)], want, 1e-5)
    assert r["json"]["protocol"]["dense"] is True'
}

# ---- inputs ----

@test "IMAGE '-' reads one image from stdin, named '-'" {
	run -0 vgg-predict -m "$V16" -k 10 "$D/photo.jpg"
	keep path
	run -0 --separate-stderr vgg-predict -m "$V16" -k 10 - <"$D/photo.jpg"
	assert_equal "${#lines[@]}" 1
	assert_output --regexp '^-	'
	assert_equal "${output#-}" "$(cut -f2- <<<"${lines[0]}" | sed 's/^/\t/')"
	py 'close(R, O["path"], 0, names=False)'
	# among paths, in its place
	run -0 vgg-predict -m "$V16" -k 1 "$D/small.ppm" - "$D/small.pgm" <"$D/photo.jpg"
	assert_equal "${#lines[@]}" 3
	assert_line --index 0 --regexp "^$D/small\.ppm	"
	assert_line --index 1 --regexp '^-	'
	assert_line --index 2 --regexp "^$D/small\.pgm	"
	# a PNG too
	run -0 vgg-predict -m "$V16" -k 10 - <"$D/small-rgb.png"
	keep png
	run -0 vgg-predict -m "$V16" -k 10 "$D/small-rgb.png"
	py 'close(R, O["png"], 0, names=False)'
}

@test "no IMAGE: paths from stdin, one per line, in order; blank lines skipped, CRLF tolerated" {
	cd "$D"
	run -0 vgg-predict -m "$V16" -k 3 photo.jpg small.ppm small.pgm small-rgb.png
	local want=$output
	keep want
	run -1 --separate-stderr vgg-predict -m "$V16" -k 3 \
		< <(printf 'photo.jpg\r\n\n\nsmall.ppm\n\r\n  \nsmall.pgm\r\nsmall-rgb.png')
	# a line of spaces is not blank: a path that does not exist (and no newline at the end)
	assert_output "$want"
	assert_equal "${#stderr_lines[@]}" 1
	assert_regex "$stderr" "^vgg-predict: cannot open '  ': "
	run -0 vgg-predict -m "$V16" -k 3 < <(printf 'photo.jpg\r\n\nsmall.ppm\nsmall.pgm\nsmall-rgb.png\n')
	assert_output "$want"
	# in groups with --batch: batched, conv3's have tiles enough for Winograd's kernel, whose
	# rounding can move the last digit
	run -0 vgg-predict -m "$V16" -k 3 -b 3 < <(printf 'photo.jpg\nsmall.ppm\nsmall.pgm\nsmall-rgb.png\n')
	py 'close(R, O["want"], 1e-5)' 'assert [r["file"] for r in R] == [r["file"] for r in O["want"]]'
	# nothing on stdin: nothing out
	run -0 --separate-stderr vgg-predict -m "$V16" </dev/null
	assert_output ''
	assert_equal "$stderr" ''
}

@test "no IMAGE: each result comes out before stdin ends" {
	mkfifo in out
	timeout 30 vgg-predict -m "$V16" -k 1 <in >out 2>/dev/null 3>&- &
	local pid=$! first second
	# read-write opens of the FIFOs never block, whatever happened to the tool
	exec 4<>in 5<>out
	echo "$D/photo.jpg" >&4
	read -t 20 -r first <&5 || fail "no result while stdin is open"
	echo "$D/small.ppm" >&4
	exec 4>&-
	read -t 20 -r second <&5 || fail "no second result"
	exec 5<&-
	wait "$pid"
	assert_regex "$first" "^$D/photo\.jpg	[0-9]:"
	assert_regex "$second" "^$D/small\.ppm	[0-9]:"
}

# ---- images that fail ----

@test "a nonexistent file among good ones: the others printed, one line on stderr, exit 1" {
	run -1 --separate-stderr vgg-predict -m "$V16" "$D/photo.jpg" nope.jpg "$D/small.ppm"
	assert_equal "${#lines[@]}" 2
	assert_line --index 0 --regexp "^$D/photo\.jpg	"
	assert_line --index 1 --regexp "^$D/small\.ppm	"
	assert_equal "${#stderr_lines[@]}" 1
	assert_equal "$stderr" "vgg-predict: cannot open 'nope.jpg': No such file or directory"
}

@test "a text file named .jpg: 'not a JPEG, PNG or PNM file'; a truncated JPEG: named, exit 1" {
	printf 'just some text\n' >text.jpg
	head -c 2000 "$D/photo.jpg" >cut.jpg
	run -1 --separate-stderr vgg-predict -m "$V16" text.jpg "$D/small.ppm" cut.jpg "$D/small.pgm"
	assert_equal "${#lines[@]}" 2
	assert_line --index 0 --regexp "^$D/small\.ppm	"
	assert_line --index 1 --regexp "^$D/small\.pgm	"
	assert_equal "${#stderr_lines[@]}" 2
	assert_equal "${stderr_lines[0]}" "vgg-predict: cannot decode 'text.jpg': not a JPEG, PNG or PNM file"
	assert_regex "${stderr_lines[1]}" "^vgg-predict: cannot decode 'cut\.jpg': .+"
	# alone, each fails with nothing on stdout
	run -1 --separate-stderr vgg-predict -m "$V16" cut.jpg
	assert_output ''
	assert_regex "$stderr" "'cut\.jpg'"
	run -1 --separate-stderr vgg-predict -m "$V16" - <text.jpg
	assert_output ''
	assert_equal "$stderr" "vgg-predict: cannot decode '-': not a JPEG, PNG or PNM file"
	# an empty file
	: >empty.png
	run -1 --separate-stderr vgg-predict -m "$V16" empty.png
	assert_output ''
	assert_regex "$stderr" "^vgg-predict: .*'empty\.png'"
}

@test "--json: a failed image is {file, error} in its place, also with --batch 3" {
	printf 'not an image' >bad.jpg
	local args=("$D/photo.jpg" bad.jpg "$D/small.ppm" nope.png "$D/small.pgm")
	local b
	for b in 1 3; do
		run -1 --separate-stderr vgg-predict -m "$V16" --json --batch "$b" "${args[@]}"
		assert_equal "${#lines[@]}" 5
		assert_equal "${#stderr_lines[@]}" 2
		assert_regex "${stderr_lines[0]}" "^vgg-predict: cannot decode 'bad\.jpg': "
		assert_regex "${stderr_lines[1]}" "^vgg-predict: cannot open 'nope\.png': "
		py 'assert [r["file"] for r in R] == ["'"$D"'/photo.jpg", "bad.jpg", "'"$D"'/small.ppm", "nope.png", "'"$D"'/small.pgm"]' \
			'assert sorted(R[1]) == ["error", "file"] and sorted(R[3]) == ["error", "file"]' \
			'assert R[1]["error"] == "cannot decode '"'bad.jpg'"': not a JPEG, PNG or PNM file", R[1]' \
			'assert R[3]["error"].startswith("cannot open '"'nope.png'"'"), R[3]' \
			'assert all("top" in R[i]["json"] for i in (0, 2, 4))'
	done
}

@test "an image too small for dense evaluation fails alone (--dense --scales 40)" {
	run -1 --separate-stderr vgg-predict -m "$V16" -d -s 40 "$D/photo.jpg"
	assert_output ''
	assert_equal "${#stderr_lines[@]}" 1
	assert_regex "$stderr" "^vgg-predict: '$D/photo\.jpg': input too small"
}

@test "VGG_MAX_PIXELS: an image over it fails, one at it passes" {
	# photo.jpg is 129x97 = 12513 pixels, more than its resize to 97x73 or the net's 64x64
	VGG_MAX_PIXELS=12513 run -0 vgg-predict -m "$V16" "$D/photo.jpg"
	VGG_MAX_PIXELS=12512 run -1 --separate-stderr vgg-predict -m "$V16" "$D/photo.jpg"
	assert_output ''
	assert_regex "$stderr" "'$D/photo\.jpg': 129x97 is 12513 pixels, over the limit of 12512"
}

@test "VGG_MAX_PIXELS holds an image's resize and the net's input to it too" {
	# small.ppm's 63x47 = 2961 pixels resize to 97x73 = 7081 for the net's 64x64 = 4096.
	VGG_MAX_PIXELS=7081 run -0 vgg-predict -m "$V16" "$D/small.ppm"
	VGG_MAX_PIXELS=7080 run -1 --separate-stderr vgg-predict -m "$V16" "$D/small.ppm"
	assert_equal "$stderr" "vgg-predict: '$D/small.ppm': a 63x47 image with its shorter side \
resized to 73 would be 97x73, over the limit of 7080 pixels (VGG_MAX_PIXELS)"
	VGG_MAX_PIXELS=4095 run -1 --separate-stderr vgg-predict -m "$V16" "$D/small.ppm"
	assert_equal "$stderr" "vgg-predict: '$V16': its input of 64x64 is 4096 pixels, over the \
limit of 4095 (VGG_MAX_PIXELS)"
	# 448 bytes declaring a 20000x20000 input behind a GAP head (tests/golden/make_hostile.py)
	local big=$TOP/tests/data/hostile/safetensors/big-input.safetensors
	run -1 --separate-stderr vgg-predict -m "$big" "$D/small.ppm"
	assert_equal "$stderr" "vgg-predict: '$big': its input of 20000x20000 is 400000000 pixels, \
over the limit of 100000000 (VGG_MAX_PIXELS)"
}

@test "VGG_MAX_PIXELS not a number: exit 1 before any image is read, one line" {
	VGG_MAX_PIXELS=x run -1 --separate-stderr vgg-predict -m "$V16" "$D/small.ppm" "$D/small.pgm"
	assert_output ''
	assert_equal "$stderr" "vgg-predict: '$V16': VGG_MAX_PIXELS must be a whole number above 0, \
not 'x'"
}

# ---- --json ----

@test "--json and -j: one object per line: file, top (index, label, prob), default protocol" {
	cd "$D"
	run -0 vgg-predict -m "$V16" -k 10 photo.jpg small.ppm
	keep text
	run -0 --separate-stderr vgg-predict -m "$V16" -k 10 --json photo.jpg small.ppm
	assert_equal "${#lines[@]}" 2
	local line
	for line in "${lines[@]}"; do
		python3 -c 'import json, sys; json.loads(sys.argv[1])' "$line"
	done
	py 'for r in R:
    d = r["json"]
    assert sorted(d) == ["file", "protocol", "top"], sorted(d)
    assert len(d["top"]) == 10
    assert all(sorted(t) == ["index", "label", "prob"] for t in d["top"]), d["top"]
    assert all(t["label"] == "class %d" % t["index"] for t in d["top"])
    assert d["protocol"] == {"crop": "center", "scales": [73], "flip": False, "dense": False,
                             "models": 1}, d["protocol"]' \
		'assert [r["file"] for r in R] == ["photo.jpg", "small.ppm"]' \
		'close(R, O["text"], 5e-7)' \
		'for r, t in zip(R, O["text"]):
    assert r["order"] == t["order"]
    assert ["%.6f" % r["probs"][i] for i in r["order"]] == t["text"]'
	local long=$output
	run -0 vgg-predict -m "$V16" -k 10 -j photo.jpg small.ppm
	assert_output "$long"
}

@test "--json protocol reflects --dense --scales 64,96 --flip -m A -m B" {
	run -0 vgg-predict --dense --scales 64,96 --flip -m "$V16" -m "$N/C.safetensors" -j "$D/photo.jpg"
	py 'assert R[0]["json"]["protocol"] == {"crop": "none", "scales": [64, 96], "flip": True,
                                     "dense": True, "models": 2}, R[0]["json"]["protocol"]'
	run -0 vgg-predict -d -c center -s 80 -m "$V16" -j "$D/photo.jpg"
	py 'assert R[0]["json"]["protocol"] == {"crop": "center", "scales": [80], "flip": False,
                                     "dense": True, "models": 1}, R[0]["json"]["protocol"]'
}

# ---- --batch and --threads ----

@test "--batch 1 and --batch 3 (-b 3) give the same results for 4 images" {
	local imgs=("$D/photo.jpg" "$D/small.ppm" "$D/photo-gray.jpg" "$D/small-palette.png")
	run -0 vgg-predict -m "$V16" -k 10 -j --batch 1 "${imgs[@]}"
	keep b1
	run -0 vgg-predict -m "$V16" -k 10 -j --batch 3 "${imgs[@]}"
	keep b3
	run -0 vgg-predict -m "$V16" -k 10 -j -b 3 "${imgs[@]}"
	py 'close(O["b1"], O["b3"], 1e-6)' 'close(R, O["b3"], 0)' 'assert len(R) == 4'
	# more than there are images, and with a dense scale where sizes differ
	run -0 vgg-predict -m "$V16" -k 10 -j -b 8 "${imgs[@]}"
	py 'close(O["b1"], R, 1e-6)'
	run -0 vgg-predict -m "$V16" -k 10 -j -d -b 1 "${imgs[@]}"
	keep d1
	run -0 vgg-predict -m "$V16" -k 10 -j -d -b 4 "${imgs[@]}"
	py 'close(O["d1"], R, 1e-6)'
}

@test "-t 1 and --threads 2 give the same probabilities" {
	local imgs=("$D/photo.jpg" "$D/small.ppm" "$D/photo-gray.jpg" "$D/small-palette.png")
	run -0 vgg-predict -m "$V16" -k 10 -j -t 1 "${imgs[@]}"
	keep t1
	run -0 vgg-predict -m "$V16" -k 10 -j --threads 2 "${imgs[@]}"
	# float32 GEMMs sum in an order that depends on the thread count: vgg16 differs by up
	# to about 1e-6 between 1 and 2 threads, so the bound is 1e-5
	py 'close(O["t1"], R, 1e-5)' 'assert len(R) == 4'
	run -0 vgg-predict -m "$V16" -k 10 -j -t 1 "${imgs[@]}"
	py 'close(O["t1"], R, 0)'
}

@test "--profile: a line per layer run on stderr, the same classes, and VGG_CONV=im2col agrees" {
	local imgs=("$D/photo.jpg" "$D/small.ppm" "$D/photo-gray.jpg")
	run -0 vgg-predict -m "$V16" -k 10 -j "${imgs[@]}"
	keep plain
	run -0 --separate-stderr vgg-predict -m "$V16" -k 10 -j -b 2 --profile "${imgs[@]}"
	py 'close(O["plain"], R, 1e-5)'
	[ "${stderr_lines[0]}" = "vgg-predict: profile of '$V16', 2 passes" ]
	[[ "${stderr_lines[1]}" =~ ^layer\ +ms/pass\ +GFLOP/s\ +share$ ]]
	# 22 layers (13 conv, 5 pool, 3 FC, soft-max), then the total
	[ "${#stderr_lines[@]}" -eq 25 ]
	[[ "${stderr_lines[2]}" =~ ^conv1_1\ +[0-9]+\.[0-9]{3}\ +[0-9]+\.[0-9]\ +[0-9]+\.[0-9]%$ ]]
	[[ "${stderr_lines[4]}" =~ ^pool1\ +[0-9]+\.[0-9]{3}\ +-\ +[0-9]+\.[0-9]%$ ]]
	[[ "${stderr_lines[24]}" =~ ^total\ +[0-9]+\.[0-9]{3}\ +[0-9]+\.[0-9]\ +100\.0%$ ]]
	# --layer stops at pool5: the layers after it are not listed
	run -0 --separate-stderr vgg-predict -m "$V16" --profile -l pool5 -o f.npy "$D/photo.jpg"
	[ "${#stderr_lines[@]}" -eq 21 ]
	[[ "${stderr_lines[19]}" =~ ^pool5\  ]]
	run -0 env VGG_CONV=im2col vgg-predict -m "$V16" -k 10 -j "${imgs[@]}"
	py 'close(O["plain"], R, 1e-5)'
}

# ---- --scales, --flip, --crop, --dense ----

@test "--scales 73,73 and -s 73 equal the default (the weights' resize, 73); -s 64 differs" {
	local imgs=("$D/photo.jpg" "$D/small.ppm" "$D/photo-gray.jpg")
	run -0 vgg-predict -m "$V16" -k 10 -j "${imgs[@]}"
	keep default
	py 'assert all(r["json"]["protocol"]["scales"] == [73] for r in R)'
	run -0 vgg-predict -m "$V16" -k 10 -j --scales 73,73 "${imgs[@]}"
	py 'close(R, O["default"], 1e-6)' 'assert R[0]["json"]["protocol"]["scales"] == [73, 73]'
	run -0 vgg-predict -m "$V16" -k 10 -j -s 73 "${imgs[@]}"
	py 'close(R, O["default"], 1e-6)'
	run -0 vgg-predict -m "$V16" -k 10 -j -s 64 "${imgs[@]}"
	keep s64
	py 'assert R[0]["json"]["protocol"]["scales"] == [64]' \
		'assert max(abs(R[0]["probs"][k] - O["default"][0]["probs"][k]) for k in range(10)) > 1e-4'
	# two scales average the posteriors of each
	run -0 vgg-predict -m "$V16" -k 10 -j -s 64,73 "${imgs[@]}"
	py 'close(R, mean(O["s64"], O["default"]), 1e-6)'
}

@test "--flip: a symmetric image gives the unflipped result; -f averages image and mirror" {
	make_ppms
	run -0 vgg-predict -m "$V16" -k 10 -j sym.ppm
	keep plain
	run -0 vgg-predict -m "$V16" -k 10 -j --flip sym.ppm
	py 'close(R, O["plain"], 1e-6)' 'assert R[0]["json"]["protocol"]["flip"] is True'
	run -0 vgg-predict -m "$V16" -k 10 -j asym.ppm mirror.ppm
	keep both
	py 'assert max(abs(R[0]["probs"][k] - R[1]["probs"][k]) for k in range(10)) > 1e-4'
	run -0 vgg-predict -m "$V16" -k 10 -f asym.ppm mirror.ppm
	py 'm = mean([O["both"][0]], [O["both"][1]])[0]' \
		'for r in R:
    assert max(abs(r["probs"][k] - m["probs"][k]) for k in range(10)) <= 1e-6, (r, m)'
}

@test "--crop none without --dense: exit 2" {
	check_usage_error -m "$V16" --crop none "$D/photo.jpg"
	assert_equal "${stderr_lines[0]}" "vgg-predict: --crop none needs --dense: the FC layers take a fixed size"
	check_usage_error -m "$V16" -c none "$D/photo.jpg"
}

@test "--dense alone works and crops nothing; -d --crop center is the plain run; -c centre" {
	run -0 --separate-stderr vgg-predict -m "$V16" -k 10 -j --dense "$D/photo.jpg"
	assert_equal "$stderr" ''
	keep dense
	py 'assert R[0]["json"]["protocol"]["crop"] == "none" and R[0]["json"]["protocol"]["dense"]' \
		'assert abs(sum(R[0]["probs"].values()) - 1) <= 1e-5'
	run -0 vgg-predict -m "$V16" -k 10 -j -d -c none "$D/photo.jpg"
	py 'close(R, O["dense"], 0)'
	run -0 vgg-predict -m "$V16" -k 10 -j "$D/photo.jpg"
	keep plain
	py 'assert max(abs(R[0]["probs"][k] - O["dense"][0]["probs"][k]) for k in range(10)) > 1e-4'
	# a dense run over the 64x64 centre crop is a 1x1 map: the plain run
	run -0 vgg-predict -m "$V16" -k 10 -j -d --crop center "$D/photo.jpg"
	py 'close(R, O["plain"], 1e-6)' 'assert R[0]["json"]["protocol"]["crop"] == "center"'
	run -0 vgg-predict -m "$V16" -k 10 -j -c centre "$D/photo.jpg"
	py 'close(R, O["plain"], 0)'
	run -0 vgg-predict -m "$V16" -k 10 -j -c center "$D/photo.jpg"
	py 'close(R, O["plain"], 0)'
}

# ---- --layer and --output ----

@test "--layer pool5: one .npy array (v1.0, <f4, 32x2x2) per image, as --from data gives it" {
	run -0 bash -c 'vgg-predict -m "$1" --layer pool5 "$2" "$3" >pool5.npy' _ "$V16" "$D/photo.jpg" "$D/small.ppm"
	py 'a = npy_read("pool5.npy")' 'assert len(a) == 2' \
		'for x in a:
    assert x["version"] == (1, 0), x["version"]
    assert x["descr"] == "<f4" and x["fortran"] is False, x["header"]
    assert x["shape"] == (32, 2, 2), x["shape"]
    assert x["hlen"] % 64 == 0 and x["header"].endswith("\n"), x["header"]
    assert min(x["data"]) >= 0' \
		'assert open("pool5.npy", "rb").read(8) == b"\x93NUMPY\x01\x00"'
	# -l is --layer
	vgg-predict -m "$V16" -l pool5 "$D/photo.jpg" "$D/small.ppm" >short.npy
	cmp pool5.npy short.npy
	# the layer name in any case
	vgg-predict -m "$V16" -l POOL5 "$D/photo.jpg" "$D/small.ppm" >upper.npy
	cmp pool5.npy upper.npy
	# a failed image has no array
	run -1 bash -c 'vgg-predict -m "$1" --layer pool5 "$2" nope.jpg "$3" >some.npy' _ "$V16" "$D/photo.jpg" "$D/small.ppm"
	cmp pool5.npy some.npy
}

@test "--layer conv3_1 is taken before the ReLU: negative values; fc7 is 64x1x1" {
	vgg-predict -m "$V16" --layer conv3_1 "$D/photo.jpg" >conv.npy
	vgg-predict -m "$V16" --layer fc7 "$D/photo.jpg" >fc7.npy
	vgg-predict -m "$V16" --layer pool3 "$D/photo.jpg" >pool3.npy
	py 'a = npy_read("conv.npy")' 'assert len(a) == 1 and a[0]["shape"] == (16, 16, 16), a[0]["shape"]' \
		'assert min(a[0]["data"]) < 0 < max(a[0]["data"])' \
		'f = npy_read("fc7.npy")[0]' 'assert f["shape"] == (64, 1, 1), f["shape"]' \
		'p = npy_read("pool3.npy")[0]' 'assert p["shape"] == (16, 8, 8) and min(p["data"]) >= 0'
	# with --dense, an FC layer is a map
	vgg-predict -m "$V16" -d --layer fc8 -s 96 "$D/photo.jpg" >map.npy
	py 'a = npy_read("map.npy")' 'assert len(a) == 1 and a[0]["shape"][0] == 10 and a[0]["shape"][1] > 1, a[0]["shape"]'
}

@test "--layer to a terminal is refused: exit 2 (under script)" {
	command -v script >/dev/null || skip "script is not installed"
	script -qec true /dev/null >/dev/null 2>&1 </dev/null || skip "script cannot make a terminal here"
	run -2 script -qec "vgg-predict -m '$V16' --layer pool5 '$D/photo.jpg'" /dev/null </dev/null
	assert_output --partial "vgg-predict: --layer writes binary .npy: give -o FILE or a pipe"
	assert_output --partial "Try 'vgg-predict --help' for more information."
	# with -o, a terminal on stdout is fine
	run -0 script -qec "vgg-predict -m '$V16' --layer pool5 -o '$BATS_TEST_TMPDIR/t.npy' '$D/photo.jpg'" /dev/null </dev/null
	py 'assert npy_read("t.npy")[0]["shape"] == (32, 2, 2)'
}

@test "-o FILE: the stdout stream, renamed into place, no FILE.tmp.* left, mode from the umask" {
	vgg-predict -m "$V16" --layer pool5 "$D/photo.jpg" "$D/small.ppm" >stdout.npy
	(umask 022 && vgg-predict -m "$V16" --layer pool5 -o out.npy "$D/photo.jpg" "$D/small.ppm")
	cmp stdout.npy out.npy
	run -0 stat -c %A out.npy
	assert_output '-rw-r--r--'
	(umask 077 && vgg-predict -m "$V16" -l pool5 --output private.npy "$D/photo.jpg" "$D/small.ppm")
	cmp stdout.npy private.npy
	run -0 stat -c %A private.npy
	assert_output '-rw-------'
	# over an existing file
	echo old >out.npy
	(umask 022 && vgg-predict -m "$V16" --layer pool5 -o out.npy "$D/photo.jpg" "$D/small.ppm")
	cmp stdout.npy out.npy
	# a failed image: the others are written, exit 1
	run -1 vgg-predict -m "$V16" --layer pool5 -o some.npy "$D/photo.jpg" nope.jpg
	py 'assert len(npy_read("some.npy")) == 1'
	run -0 ls -A
	refute_output --partial '.tmp.'
}

@test "-o FILE: FILE keeps its old content until the run ends, the stream growing beside it" {
	echo old >out.npy
	mkfifo in
	timeout 30 vgg-predict -m "$V16" --layer pool5 -o out.npy <in >/dev/null 2>&1 3>&- &
	local pid=$! tmp
	exec 4<>in
	echo "$D/photo.jpg" >&4
	for _ in $(seq 100); do
		tmp=$(compgen -G 'out.npy.tmp.*') && break
		sleep 0.1
	done
	[ -n "$tmp" ] || fail "no out.npy.tmp.* while the run goes on"
	assert_equal "$(cat out.npy)" old
	echo "$D/small.ppm" >&4
	exec 4>&-
	wait "$pid"
	[ ! -e "$tmp" ] || fail "$tmp left behind"
	py 'assert [a["shape"] for a in npy_read("out.npy")] == [(32, 2, 2)] * 2'
}

@test "-o into a missing directory: exit 1, cannot write" {
	check_bad_input -m "$V16" --layer pool5 -o no/such/dir/out.npy "$D/photo.jpg"
	assert_regex "$stderr" "cannot write 'no/such/dir/out\.npy'"
}

@test "-o without --layer, --json with --layer: exit 2" {
	check_usage_error -m "$V16" -o out.npy "$D/photo.jpg"
	assert_equal "${stderr_lines[0]}" "vgg-predict: --output goes with --layer"
	check_usage_error -m "$V16" --output out.npy "$D/photo.jpg"
	check_usage_error -m "$V16" --json --layer pool5 -o out.npy "$D/photo.jpg"
	assert_equal "${stderr_lines[0]}" "vgg-predict: --json describes classes; --layer writes .npy arrays"
	[ ! -e out.npy ]
}

@test "--layer or --from an unknown layer: exit 1 before any image; --layer before --from: exit 1" {
	check_bad_input -m "$V16" --layer conv9_9 -o out.npy "$D/photo.jpg"
	assert_equal "$stderr" "vgg-predict: '$V16': no layer 'conv9_9'"
	[ ! -e out.npy ]
	check_bad_input -m "$V16" --from conv9_9 pool5.npy
	assert_equal "$stderr" "vgg-predict: '$V16': no layer 'conv9_9'"
	check_bad_input -m "$V16" --from fc6 --layer pool5 pool5.npy
	assert_equal "$stderr" "vgg-predict: --layer pool5 does not come after --from fc6"
	check_bad_input -m "$V16" --from pool5 --layer pool5 pool5.npy
	# vgg16 has no LRN layer
	check_bad_input -m "$V16" --layer norm1 "$D/photo.jpg"
}

# ---- taps after the ReLU, several layers in one run ----

@test "--layer relu1_1 ... relu7: slices of torchvision's vgg19 features (taps goldens)" {
	py "split('$D/taps/input.npy', 'tsplit.npy')"
	local taps=(relu1_1 relu2_1 relu3_1 relu4_1 relu5_1 relu5_4 conv3_1 pool5 relu6 fc7 relu7)
	local args=() t
	for t in "${taps[@]}"; do
		args+=(-l "$t")
	done
	run -0 --separate-stderr vgg-predict -m "$D/taps/vgg19.safetensors" --from data "${args[@]}" \
		-o 'tap-%s.npy' tsplit.npy
	assert_equal "$stderr" ''
	py 'for t in "'"${taps[*]}"'".split():
    got, want = npy_read("tap-%s.npy" % t), npy_read("'"$D"'/taps/vgg19.%s.npy" % t)[0]
    one = math.prod(want["shape"][1:])
    assert len(got) == 2 and got[0]["shape"] == want["shape"][1:], (t, got[0]["shape"])
    for i in range(2):
        try:
            near(got[i]["data"], want["data"][i * one:(i + 1) * one], 1e-4, 1e-4)
        except AssertionError as e:
            raise AssertionError("%s, input %d: %s" % (t, i, e))'
}

@test "relu3_1 is conv3_1 with its negatives zeroed; relu8 does not exist; --from relu3_1" {
	vgg-predict -m "$V16" -l conv3_1 -l relu3_1 -l pool5 -o '%s.npy' "$D/photo.jpg" "$D/small.ppm"
	py 'c, r = npy_read("conv3_1.npy"), npy_read("relu3_1.npy")' 'assert len(c) == len(r) == 2' \
		'for x, y in zip(c, r):
    assert min(x["data"]) < 0 and list(y["data"]) == [max(v, 0.0) for v in x["data"]]'
	# resuming after the ReLU gives what resuming before it gives
	vgg-predict -m "$V16" --from relu3_1 -l pool5 -o resumed.npy relu3_1.npy
	py 'for a, b in zip(npy_read("pool5.npy"), npy_read("resumed.npy")):
    near(a["data"], b["data"], 1e-5, 1e-5)'
	# RELU6 in any case; fc8 is the last layer and has no ReLU
	vgg-predict -m "$V16" -l RELU6 -o relu6.npy "$D/photo.jpg"
	py 'a = npy_read("relu6.npy")[0]' 'assert a["shape"] == (64, 1, 1) and min(a["data"]) >= 0'
	check_bad_input -m "$V16" -l relu8 "$D/photo.jpg"
	assert_equal "$stderr" "vgg-predict: '$V16': no layer 'relu8': fc8 has no ReLU"
	check_bad_input -m "$V16" -l relu3_9 "$D/photo.jpg"
	assert_equal "$stderr" "vgg-predict: '$V16': no layer 'relu3_9'"
	check_bad_input -m "$V16" --from relu3_1 -l relu2_2 relu3_1.npy
	assert_equal "$stderr" "vgg-predict: --layer relu2_2 does not come after --from relu3_1"
}

@test "several --layer to one stream: each image's arrays in the order of the options" {
	run -0 bash -c 'vgg-predict -m "$1" -l relu3_1 -l conv1_1 -l fc7 "$2" "$3" >both.npy' \
		_ "$V16" "$D/photo.jpg" "$D/small.ppm"
	vgg-predict -m "$V16" -l relu3_1 -l conv1_1 -l fc7 -o both.o.npy "$D/photo.jpg" "$D/small.ppm"
	cmp both.npy both.o.npy
	vgg-predict -m "$V16" -l conv1_1 -o conv1_1.npy "$D/photo.jpg" "$D/small.ppm"
	vgg-predict -m "$V16" -l fc7 -o fc7.npy "$D/photo.jpg" "$D/small.ppm"
	vgg-predict -m "$V16" -l relu3_1 -o relu3_1.npy "$D/photo.jpg" "$D/small.ppm"
	py 'a = npy_read("both.npy")' \
		'assert [x["shape"] for x in a] == [(16, 16, 16), (4, 64, 64), (64, 1, 1)] * 2, a' \
		'one = [npy_read(n + ".npy") for n in ("relu3_1", "conv1_1", "fc7")]' \
		'assert [x["data"] for x in a] == [one[k][i]["data"] for i in range(2) for k in range(3)]'
	# a failed image has no arrays at all
	run -1 bash -c 'vgg-predict -m "$1" -l relu3_1 -l conv1_1 -l fc7 "$2" nope.jpg "$3" >some.npy' \
		_ "$V16" "$D/photo.jpg" "$D/small.ppm"
	cmp both.npy some.npy
}

@test "-o with %s: one file per layer, written whole; one %s and no other %; a layer once" {
	check_bad_input -m "$V16" -l relu1_1 -l pool5 -o 'out/x-%s.npy' "$D/photo.jpg"
	assert_equal "$stderr" "vgg-predict: cannot write 'out/x-relu1_1.npy': No such file or directory"
	mkdir out
	vgg-predict -m "$V16" -l relu1_1 -l pool5 -o 'out/x-%s.npy' "$D/photo.jpg"
	run ls out
	assert_output $'x-pool5.npy\nx-relu1_1.npy'
	check_usage_error -m "$V16" -l pool5 -o 'a%d.npy' "$D/photo.jpg"
	assert_equal "${stderr_lines[0]}" "vgg-predict: --output 'a%d.npy': one %s for the layer's name, no other %"
	check_usage_error -m "$V16" -l pool5 -o '%s-%s.npy' "$D/photo.jpg"
	check_usage_error -m "$V16" -l pool5 -o '100%' "$D/photo.jpg"
	check_usage_error -m "$V16" -l relu1_1 -l pool5 -l RELU1_1 "$D/photo.jpg"
	assert_equal "${stderr_lines[0]}" "vgg-predict: --layer 'RELU1_1' is given twice"
	# an unknown layer among them: exit 1 before any file is made
	check_bad_input -m "$V16" -l relu1_1 -l conv9_9 -o 'new-%s.npy' "$D/photo.jpg"
	run ls
	refute_output --partial new-
}

# ---- weights on stdin: -m - ----

@test "-m - reads the weights from stdin: the file's classes and activations" {
	run -0 vgg-predict -m "$V16" -k 10 "$D/photo.jpg" "$D/small.ppm"
	keep file
	run -0 --separate-stderr vgg-predict -m - -k 10 "$D/photo.jpg" "$D/small.ppm" <"$V16"
	assert_equal "$stderr" ''
	assert_equal "$output" "$(cat file.out)"
	# through a pipe, which cannot be mapped
	run -0 bash -c 'cat "$1" | vgg-predict -m - -k 10 "$2" "$3"' _ "$V16" "$D/photo.jpg" "$D/small.ppm"
	assert_equal "$output" "$(cat file.out)"
	# with --layer, and in an ensemble
	vgg-predict -m "$V16" -l pool5 -o a.npy "$D/photo.jpg"
	cat "$V16" | vgg-predict -m - -l pool5 -o b.npy "$D/photo.jpg"
	cmp a.npy b.npy
	run -0 vgg-predict -m "$V16" -m "$V11" -k 10 "$D/photo.jpg"
	keep two
	run -0 bash -c 'cat "$1" | vgg-predict -m "$2" -m - -k 10 "$3"' _ "$V11" "$V16" "$D/photo.jpg"
	py 'close(R, O["two"], 1e-6)'
	# --from FILE with the weights on stdin
	vgg-predict -m "$V16" -l pool5 -o p.npy "$D/photo.jpg"
	run -0 vgg-predict -m - -k 10 --from pool5 p.npy <"$V16"
	py 'close(R, O["file"][:1], 1e-6, names=False)'
}

@test "vgg-convert PTH -o - | vgg-predict -m - IMAGE: the converted file's results" {
	local pth=$TOP/tests/data/convert/vgg11.zip.pth
	vgg-convert "$pth" -o conv.safetensors 2>/dev/null
	run -0 vgg-predict -m conv.safetensors -k 10 "$D/photo.jpg" "$D/small.ppm"
	keep file
	run -0 --separate-stderr bash -c 'vgg-convert "$1" -o - | vgg-predict -m - -k 10 "$2" "$3"' \
		_ "$pth" "$D/photo.jpg" "$D/small.ppm"
	assert_equal "$output" "$(cat file.out)"
	assert_equal "$stderr" "vgg-convert: '$pth' (pytorch) holds a custom VGG: see vgg-inspect of the output"
	# and on through a layer split, all in pipes
	run -0 bash -c 'vgg-convert "$1" -o - 2>/dev/null | vgg-predict -m - -l pool5 "$2" "$3" |
		vgg-predict -m conv.safetensors --from pool5 -k 10' _ "$pth" "$D/photo.jpg" "$D/small.ppm"
	py 'close(R, O["file"], 1e-6, names=False)'
}

@test "-m - and stdin's other uses: exit 2 before anything is read" {
	check_usage_error -m - - <"$V16"
	assert_equal "${stderr_lines[0]}" "vgg-predict: -m - and IMAGE '-' both read stdin"
	check_usage_error -m - <"$V16"
	assert_equal "${stderr_lines[0]}" "vgg-predict: -m - reads the weights from stdin: give the images as arguments"
	check_usage_error -m - -m "$V11" -m - "$D/photo.jpg" <"$V16"
	assert_equal "${stderr_lines[0]}" "vgg-predict: -m - (weights on stdin) may be given once"
	check_usage_error -m - --from pool5 <"$V16"
	assert_equal "${stderr_lines[0]}" "vgg-predict: -m - reads the weights from stdin: give the .npy files as arguments"
	check_usage_error -m - --from pool5 p.npy - <"$V16"
	assert_equal "${stderr_lines[0]}" "vgg-predict: -m - and FILE '-' both read stdin"
}

@test "-m - with a short, overlong or foreign stream: exit 1, one line naming '-'" {
	local size header
	size=$(wc -c <"$V16")
	header=$(od -An -tu8 -N8 "$V16" | tr -d ' ')
	head -c $((8 + header + 100)) "$V16" >cut
	check_bad_input -m - "$D/photo.jpg" <cut
	assert_equal "$stderr" "vgg-predict: '-': not a valid safetensors file: the stream ends after $((8 + header + 100)) bytes, its header calls for $size"
	head -c 1000 "$V16" >short
	check_bad_input -m - "$D/photo.jpg" <short
	assert_equal "$stderr" "vgg-predict: '-': not a valid safetensors file: header length exceeds the file"
	{ cat "$V16"; printf x; } >long
	check_bad_input -m - "$D/photo.jpg" <long
	assert_equal "$stderr" "vgg-predict: '-': not a valid safetensors file: bytes after the last tensor"
	check_bad_input -m - "$D/photo.jpg" <"$D/photo.jpg"
	assert_regex "$stderr" "^vgg-predict: '-': not a valid safetensors file: "
	check_bad_input -m - "$D/photo.jpg" </dev/null
	assert_equal "$stderr" "vgg-predict: '-': not a valid safetensors file: shorter than its 8-byte header length"
}

# ---- split runs: --layer, then --from ----

@test "split at pool5: --layer pool5 | --from pool5 gives the single run's probabilities, -#0, -#1" {
	run -0 vgg-predict -m "$V16" -k 10 "$D/photo.jpg" "$D/small.ppm"
	keep whole
	run -0 --separate-stderr bash -c 'vgg-predict -m "$1" --layer pool5 "$2" "$3" |
		vgg-predict -m "$1" --from pool5 -k 10' _ "$V16" "$D/photo.jpg" "$D/small.ppm"
	assert_equal "$stderr" ''
	assert_equal "${#lines[@]}" 2
	assert_line --index 0 --regexp '^-#0	'
	assert_line --index 1 --regexp '^-#1	'
	py 'close(R, O["whole"], 1e-6, names=False)'
	# identical text but for the names
	assert_equal "$(cut -f2- <<<"$output")" "$(cut -f2- "$BATS_TEST_TMPDIR/whole.out")"
}

@test "split at conv3_1 and fc6 (the ReLU applied on resume), in vgg16, vgg16_bn and A-LRN" {
	local model layer
	for model in vgg16 vgg16_bn A-LRN; do
		run -0 vgg-predict -m "$N/$model.safetensors" -k 10 "$D/photo.jpg" "$D/small.ppm"
		keep "$model"
		for layer in conv3_1 fc6 conv1_1 fc7 fc8; do
			run -0 bash -c 'vgg-predict -m "$1" --layer "$4" "$2" "$3" |
				vgg-predict -m "$1" --from "$4" -k 10' _ "$N/$model.safetensors" "$D/photo.jpg" "$D/small.ppm" "$layer"
			keep "$model.$layer"
		done
	done
	py 'for name in ("vgg16", "vgg16_bn", "A-LRN"):
    for layer in ("conv3_1", "fc6", "conv1_1", "fc7", "fc8"):
        split = O[name + "." + layer]
        assert [r["file"] for r in split] == ["-#0", "-#1"], (name, layer, split)
        try:
            close(split, O[name], 1e-6, names=False)
        except AssertionError as e:
            raise AssertionError("%s split at %s: %s" % (name, layer, e))'
	# A-LRN's norm1
	run -0 bash -c 'vgg-predict -m "$1" --layer norm1 "$2" | vgg-predict -m "$1" --from norm1 -k 10' \
		_ "$N/A-LRN.safetensors" "$D/small.ppm"
	keep lrn
	run -0 vgg-predict -m "$N/A-LRN.safetensors" -k 10 "$D/small.ppm"
	py 'close(R, O["lrn"], 1e-6, names=False)'
}

@test "--from conv3_1 --layer pool5 writes what --layer pool5 writes" {
	vgg-predict -m "$V16" --layer conv3_1 -o conv.npy "$D/photo.jpg" "$D/small.ppm"
	vgg-predict -m "$V16" --layer pool5 -o direct.npy "$D/photo.jpg" "$D/small.ppm"
	vgg-predict -m "$V16" --from conv3_1 --layer pool5 -o resumed.npy conv.npy
	py 'for a, b in zip(npy_read("direct.npy"), npy_read("resumed.npy")):
    assert a["shape"] == b["shape"] == (32, 2, 2)
    near(a["data"], b["data"], 1e-5, 1e-5)' \
		'assert len(npy_read("resumed.npy")) == 2'
}

@test "--from FILE...: results named FILE#N, '-' among them, a missing file, bad arrays" {
	vgg-predict -m "$V16" --layer pool5 -o p.npy "$D/photo.jpg" "$D/small.ppm"
	vgg-predict -m "$V16" --layer conv3_1 -o c.npy "$D/photo.jpg" "$D/small.ppm"
	run -0 vgg-predict -m "$V16" -k 1 --from pool5 p.npy - p.npy <p.npy
	assert_equal "${#lines[@]}" 6
	assert_equal "$(cut -f1 <<<"$output" | tr '\n' ' ')" 'p.npy#0 p.npy#1 -#0 -#1 p.npy#0 p.npy#1 '
	# a missing file: exit 1, the others read
	run -1 --separate-stderr vgg-predict -m "$V16" -k 1 --from pool5 nope.npy p.npy
	assert_equal "${#lines[@]}" 2
	assert_equal "$stderr" "vgg-predict: cannot open 'nope.npy': No such file or directory"
	run -1 --separate-stderr vgg-predict -m "$V16" -k 1 -j --from pool5 nope.npy p.npy
	py 'assert R[0]["file"] == "nope.npy" and "error" in R[0] and len(R) == 3, R'
	# arrays of the wrong shape fail one by one, the next are read
	run -1 --separate-stderr vgg-predict -m "$V16" -k 1 --from pool5 c.npy p.npy
	assert_equal "$(cut -f1 <<<"$output" | tr '\n' ' ')" 'p.npy#0 p.npy#1 '
	assert_equal "${#stderr_lines[@]}" 2
	assert_regex "${stderr_lines[0]}" "^vgg-predict: 'c\.npy#0': "
	assert_regex "${stderr_lines[1]}" "^vgg-predict: 'c\.npy#1': "
	# a truncated stream: its first array, then the file ends in an error
	head -c $(($(stat -c %s p.npy) - 10)) p.npy >cut.npy
	run -1 --separate-stderr vgg-predict -m "$V16" -k 1 --from pool5 cut.npy p.npy
	assert_equal "$(cut -f1 <<<"$output" | tr '\n' ' ')" 'cut.npy#0 p.npy#0 p.npy#1 '
	assert_equal "${#stderr_lines[@]}" 1
	assert_regex "$stderr" "^vgg-predict: .*cut\.npy"
	# not .npy at all
	run -1 --separate-stderr vgg-predict -m "$V16" --from pool5 "$D/photo.jpg"
	assert_output ''
	assert_regex "$stderr" "photo\.jpg"
}

# ---- ensembles ----

@test "-m vgg16 -m vgg11: the mean of the two single-model runs" {
	local imgs=("$D/photo.jpg" "$D/small.ppm" "$D/photo-gray.jpg")
	run -0 vgg-predict -m "$V16" -k 10 -j "${imgs[@]}"
	keep a
	run -0 vgg-predict -m "$V11" -k 10 -j "${imgs[@]}"
	keep b
	run -0 vgg-predict -m "$V16" -m "$V11" -k 10 -j "${imgs[@]}"
	py 'close(R, mean(O["a"], O["b"]), 1e-5)' 'assert R[0]["json"]["protocol"]["models"] == 2'
	run -0 vgg-predict --model "$V16" --model "$V11" -k 10 "${imgs[@]}"
	py 'close(R, mean(O["a"], O["b"]), 1e-5)'
	# three models, one given twice
	run -0 vgg-predict -m "$V16" -m "$V11" -m "$V11" -k 10 "${imgs[@]}"
	py 'close(R, mean(O["a"], O["b"], O["b"]), 1e-5)'
}

@test "an ensemble of models with different class counts: exit 1 before any image" {
	py "weights('$V11', 'seven.safetensors', classes=7)"
	# alone, the 7-class model is the soft-max of vgg11's first 7 scores
	run -0 vgg-predict -m seven.safetensors -k 10 -j "$D/photo.jpg"
	keep seven
	run -0 vgg-predict -m "$V11" -k 10 -j "$D/photo.jpg"
	py 'p, q = R[0]["probs"], O["seven"][0]["probs"]' 'assert sorted(q) == list(range(7))' \
		'z = sum(p[k] for k in range(7))' 'near([q[k] for k in range(7)], [p[k] / z for k in range(7)], 1e-5)'
	check_bad_input -m "$V11" -m seven.safetensors "$D/photo.jpg"
	assert_equal "$stderr" "vgg-predict: 'seven.safetensors' has 7 classes, '$V11' 10: an ensemble needs the same classes"
}

# ---- usage errors: exit 2 ----

@test "no -m: exit 2" {
	check_usage_error "$D/photo.jpg"
	assert_equal "${stderr_lines[0]}" "vgg-predict: no model given (-m WEIGHTS)"
	check_usage_error
}

@test "unknown options: exit 2" {
	check_usage_error -m "$V16" --bogus "$D/photo.jpg"
	assert_equal "${stderr_lines[0]}" "vgg-predict: unknown option '--bogus'"
	check_usage_error -m "$V16" -x "$D/photo.jpg"
	assert_equal "${stderr_lines[0]}" "vgg-predict: unknown option '-x'"
	check_usage_error -m "$V16" -k
	assert_equal "${stderr_lines[0]}" "vgg-predict: option '-k' needs a value"
	check_usage_error -m
	check_usage_error -m "$V16" --layer
}

@test "bad values: -k 0, --batch 0, -t 0, --scales a / 256, / ,5 / 0, --crop sideways: exit 2" {
	check_usage_error -m "$V16" -k 0 "$D/photo.jpg"
	assert_equal "${stderr_lines[0]}" "vgg-predict: --top '0': expected a whole number from 1 to 1000000"
	check_usage_error -m "$V16" --top x "$D/photo.jpg"
	check_usage_error -m "$V16" --batch 0 "$D/photo.jpg"
	assert_equal "${stderr_lines[0]}" "vgg-predict: --batch '0': expected a whole number from 1 to 4096"
	check_usage_error -m "$V16" -b 4097 "$D/photo.jpg"
	check_usage_error -m "$V16" -t 0 "$D/photo.jpg"
	check_usage_error -m "$V16" --threads 1025 "$D/photo.jpg"
	local v
	for v in a '256,' ,5 0 '' 256,,384 65537 1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17; do
		check_usage_error -m "$V16" --scales "$v" "$D/photo.jpg"
		assert_equal "${stderr_lines[0]}" "vgg-predict: --scales '$v': expected up to 16 sizes like 256,384,512"
	done
	check_usage_error -m "$V16" -s a "$D/photo.jpg"
	check_usage_error -m "$V16" --crop sideways "$D/photo.jpg"
	assert_equal "${stderr_lines[0]}" "vgg-predict: --crop 'sideways': expected center or none"
	check_usage_error -m "$V16" -c '' "$D/photo.jpg"
}

@test "--layer or --from with two -m, two scales or --flip: exit 2" {
	check_usage_error -m "$V16" -m "$V11" --layer pool5 "$D/photo.jpg"
	assert_equal "${stderr_lines[0]}" "vgg-predict: --layer and --from take one model, one scale and no --flip"
	check_usage_error -m "$V16" --layer pool5 --flip "$D/photo.jpg"
	check_usage_error -m "$V16" --layer pool5 -s 64,96 "$D/photo.jpg"
	check_usage_error -m "$V16" -m "$V11" --from pool5 p.npy
	check_usage_error -m "$V16" --from pool5 -f p.npy
	# one scale is fine
	run -0 bash -c 'vgg-predict -m "$1" --layer pool5 -s 96 "$2" >one.npy' _ "$V16" "$D/photo.jpg"
	py 'assert npy_read("one.npy")[0]["shape"] == (32, 2, 2)'
}

@test "'-' given twice: exit 2" {
	check_usage_error -m "$V16" - - </dev/null
	assert_equal "${stderr_lines[0]}" "vgg-predict: '-' (an image on stdin) may be given once"
	check_usage_error -m "$V16" - "$D/photo.jpg" - <"$D/photo.jpg"
}

# ---- weights that cannot be loaded: exit 1 ----

@test "a missing weights file: exit 1, cannot open; a corrupt one: exit 1 naming it" {
	check_bad_input -m nope.safetensors "$D/photo.jpg"
	assert_equal "$stderr" "vgg-predict: cannot open 'nope.safetensors': No such file or directory"
	printf 'abc' >corrupt.safetensors
	check_bad_input -m corrupt.safetensors "$D/photo.jpg"
	assert_regex "$stderr" "^vgg-predict: 'corrupt\.safetensors': "
	head -c 1000 "$V16" >cut.safetensors
	check_bad_input -m cut.safetensors "$D/photo.jpg"
	assert_regex "$stderr" "^vgg-predict: 'cut\.safetensors': "
	# the second of an ensemble
	check_bad_input -m "$V16" -m corrupt.safetensors "$D/photo.jpg"
	assert_regex "$stderr" "'corrupt\.safetensors'"
	# an image is not a weights file
	check_bad_input -m "$D/photo.jpg" "$D/photo.jpg"
	assert_regex "$stderr" "photo\.jpg"
}

# ---- help, version, the man page ----

@test "-h and --help: usage on stdout naming every option, exit 0" {
	local opt long
	for opt in -h --help; do
		run -0 --separate-stderr vgg-predict "$opt"
		assert_equal "$stderr" ''
		assert_line --index 0 'Usage: vgg-predict -m WEIGHTS [OPTION]... [IMAGE]...'
		assert_line --regexp '^  -m, --model WEIGHTS '
		assert_line --regexp '^  -k, --top N '
		assert_line --regexp '^  -j, --json '
		assert_line --regexp '^  -d, --dense '
		assert_line --regexp '^  -s, --scales Q,\.\.\. '
		assert_line --regexp '^  -f, --flip '
		assert_line --regexp '^  -c, --crop MODE '
		assert_line --regexp '^  -b, --batch N '
		assert_line --regexp '^  -t, --threads N '
		assert_line --regexp '^  -l, --layer NAME '
		assert_line --regexp '^  -o, --output FILE '
		assert_line --regexp '^      --from NAME '
		assert_line --regexp '^      --profile '
		assert_line --regexp '^  -h, --help '
		assert_line --regexp '^  -V, --version '
	done
	for long in model top json dense scales flip crop batch threads layer output from profile help version; do
		grep -q -- "--$long\b" <<<"$output" || fail "--help does not list --$long"
	done
	# --help wins over a missing -m and the options after it
	run -0 vgg-predict --help --bogus
	run -0 vgg-predict -k 3 --help
	assert_line --index 0 --partial 'Usage: vgg-predict'
}

@test "-V and --version: 'vgg-predict (vgg) 0.1.0'" {
	run -0 --separate-stderr vgg-predict -V
	assert_output 'vgg-predict (vgg) 0.1.0'
	assert_equal "$stderr" ''
	run -0 vgg-predict --version
	assert_output 'vgg-predict (vgg) 0.1.0'
}

@test "man/vgg-predict.1 documents every option" {
	local page=$TOP/man/vgg-predict.1 opt
	[ -f "$page" ] || skip "man/vgg-predict.1 is not written yet"
	for opt in 'm' 'k' 'j' 'd' 's' 'f' 'c' 'b' 't' 'l' 'o' 'h' 'V'; do
		grep -qE "^\\\\fB\\\\-$opt\\\\fR, |^\\.BR \\\\-$opt \", \"" "$page" ||
			fail "man page: no entry for -$opt"
	done
	for opt in model top json dense scales flip crop batch threads layer output from help version; do
		grep -qE "\\\\-\\\\-$opt\b" "$page" || fail "man page: no --$opt"
	done
	grep -q '^\\fB\\-\\-from\\fR \\fINAME\\fR' "$page"
	grep -q '^\.B VGG_MAX_PIXELS' "$page"
}

@test "man/vgg-predict.1: mandoc -Tlint is silent" {
	command -v mandoc >/dev/null || skip "mandoc is not installed"
	[ -f "$TOP/man/vgg-predict.1" ] || skip "man/vgg-predict.1 is not written yet"
	run -0 mandoc -Tlint "$TOP/man/vgg-predict.1"
	assert_output ''
}

@test "-F and --fast-decode: a large JPEG decoded at reduced size gives nearly the same result" {
	run -0 vgg-predict -m "$V16" -k 10 "$D/large.jpg"
	local exact=$output
	run -0 vgg-predict -m "$V16" -F -k 10 "$D/large.jpg"
	local fast=$output
	run -0 vgg-predict -m "$V16" --fast-decode -k 10 "$D/large.jpg"
	assert_output "$fast"
	[ "$fast" != "$exact" ] || fail "--fast-decode changed nothing on a 1200x900 JPEG"
	# every class's probability moves by less than 0.01
	run -0 python3 -c '
import sys
def probs(line):
    return {f.split(":")[0]: float(f.split(":")[1]) for f in line.split("\t")[1:]}
a, b = probs(sys.argv[1]), probs(sys.argv[2])
print(max(abs(a[k] - b[k]) for k in a) < 0.01)' "$exact" "$fast"
	assert_output True
	# small images are decoded as usual
	run -0 vgg-predict -m "$V16" -k 10 "$D/photo.jpg"
	local small=$output
	run -0 vgg-predict -m "$V16" -F -k 10 "$D/photo.jpg"
	assert_output "$small"
}

@test "the shipped default model classifies each shipped sample as its file name says" {
	local model=$TOP/share/vgg/models/fashion-mnist.safetensors sample label want
	run -0 vgg-predict -m "$model" -k 1 "$TOP"/share/vgg/samples/*.png
	[ "${#lines[@]}" -eq 10 ] || fail "expected 10 samples, got ${#lines[@]}"
	for line in "${lines[@]}"; do
		sample=${line%%$'\t'*}
		want=$(basename "$sample" .png)
		label=${line##*:}
		label=$(echo "$label" | tr 'A-Z/ ' 'a-z--')
		[ "$label" = "$want" ] || fail "$sample classified as '$label'"
	done
}
