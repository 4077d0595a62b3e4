#!/usr/bin/env bats
# vgg-inspect: every option, the paper's reference figures, JSON, golden text, errors,
# and the examples of its man page.
load test_helper
TOOL=vgg-inspect
bats_require_minimum_version 1.5.0

# The table's total line and summary line for one model.
check_table_totals() { # MODEL PARAMS(with commas) GMACS(3 decimals)
	run -0 vgg-inspect "$1"
	assert_line --regexp "^total +${2} +[0-9,]+ +[0-9.]+ [KMG]iB$"
	assert_line --regexp "^[0-9.]+ M parameters \([0-9.]+ MiB as float32\), ${3} G multiply-adds per image$"
}



# check_json_totals MODEL:PARAMS:GMACS...: each model's --json totals, in one python3 run;
# the per-layer figures must also add up to the totals.
check_json_totals() {
	local spec
	for spec in "$@"; do
		vgg-inspect --json "${spec%%:*}" >"$BATS_TEST_TMPDIR/${spec%%:*}.json"
	done
	python3 -c '
import json, sys
bad = 0
for spec in sys.argv[2:]:
    model, params, gmacs = spec.split(":")
    d = json.load(open(sys.argv[1] + "/" + model + ".json"))
    got = (d["model"].lower(), d["total_params"], "%.3f" % (d["total_macs"] / 1e9),
           sum(l["params"] for l in d["layers"]), sum(l["macs"] for l in d["layers"]))
    want = (model.lower(), int(params.replace(",", "")), gmacs, d["total_params"], d["total_macs"])
    if got != want:
        bad = 1
        print("%s: expected %s\n  actual %s" % (model, want, got), file=sys.stderr)
sys.exit(bad)' "$BATS_TEST_TMPDIR" "$@"
}

# ---- reference figures (224x224x3, 1000 classes), text and JSON ----

@test "A: 132,863,336 parameters, 7.609 G multiply-adds (text and --json)" {
	check_table_totals A 132,863,336 7.609
	check_json_totals A:132,863,336:7.609
}

@test "B: 133,047,848 parameters, 11.308 G multiply-adds (text and --json)" {
	check_table_totals B 133,047,848 11.308
	check_json_totals B:133,047,848:11.308
}

@test "C: 133,638,952 parameters, 11.771 G multiply-adds (text and --json)" {
	check_table_totals C 133,638,952 11.771
	check_json_totals C:133,638,952:11.771
}

@test "D: 138,357,544 parameters, 15.470 G multiply-adds (text and --json)" {
	check_table_totals D 138,357,544 15.470
	assert_line --regexp '^total +138,357,544 +15,470,264,320 +57\.6 MiB$'
	assert_line '138.358 M parameters (527.8 MiB as float32), 15.470 G multiply-adds per image'
	check_json_totals D:138,357,544:15.470
}

@test "E: 143,667,240 parameters, 19.632 G multiply-adds (text and --json)" {
	check_table_totals E 143,667,240 19.632
	check_json_totals E:143,667,240:19.632
}

@test "A-LRN: the LRN layer adds no parameters, same totals as A" {
	check_table_totals A-LRN 132,863,336 7.609
	assert_line --regexp '^norm1 +lrn +64x224x224 +0 +0 '
	check_json_totals A-LRN:132,863,336:7.609
}

@test "aliases vgg11, vgg13, vgg16, vgg19 are A, B, D, E" {
	check_table_totals vgg11 132,863,336 7.609
	check_table_totals vgg13 133,047,848 11.308
	check_table_totals vgg16 138,357,544 15.470
	check_table_totals vgg19 143,667,240 19.632
	check_json_totals vgg11:132,863,336:7.609 vgg13:133,047,848:11.308 \
		vgg16:138,357,544:15.470 vgg19:143,667,240:19.632
	# the same tables and documents but for the name
	local pair alias_out
	for pair in vgg11:A vgg13:B vgg16:D vgg19:E; do
		run -0 vgg-inspect "${pair%%:*}"
		assert_line --index 0 "${pair%%:*}: input 3x224x224, 1000 classes"
		alias_out=${output#*$'\n'}
		run -0 vgg-inspect "${pair#*:}"
		assert_equal "$alias_out" "${output#*$'\n'}"
		run -0 vgg-inspect -j "${pair%%:*}"
		alias_out=$(grep -v '"model":' <<<"$output")
		run -0 vgg-inspect -j "${pair#*:}"
		assert_equal "$alias_out" "$(grep -v '"model":' <<<"$output")"
	done
}

@test "built-in names are case-insensitive" {
	check_table_totals VGG16 138,357,544 15.470
	check_table_totals d 138,357,544 15.470
	check_table_totals a-lrn 132,863,336 7.609
	check_table_totals Vgg19_BN 143,678,248 19.632
}

@test "_bn variants: vgg11_bn 132,868,840; vgg16_bn 138,365,992; vgg19_bn 143,678,248" {
	check_table_totals vgg11_bn 132,868,840 7.609
	check_table_totals vgg16_bn 138,365,992 15.470
	check_table_totals vgg19_bn 143,678,248 19.632
	check_json_totals vgg11_bn:132,868,840:7.609 vgg16_bn:138,365,992:15.470 \
		vgg19_bn:143,678,248:19.632 D_bn:138,365,992:15.470 A-LRN_bn:132,868,840:7.609
	# BN adds a scale and a shift per channel: conv1_1 of vgg16_bn has 3*3*3*64+64 + 2*64
	run -0 vgg-inspect vgg16_bn
	assert_line --regexp '^conv1_1 conv\+bn +64x224x224 +1,920 +86,704,128 '
	assert_line --regexp '^pool1 +maxpool '
	run -0 vgg-inspect -j vgg16_bn
	jcheck 'd["model"]' vgg16_bn \
		'L["conv1_1"]["type"], L["conv1_1"]["params"]' '["conv+bn", 1920]' \
		'sorted({l["type"] for l in d["layers"]})' '["conv+bn", "fc", "maxpool", "softmax"]'
	run -0 vgg-inspect -j A-LRN_bn
	jcheck 'd["model"], L["conv1_1"]["type"], L["norm1"]["type"]' '["A-LRN_bn", "conv+bn", "lrn"]'
}

@test "_gap: vgg16_gap has 14,714,688 conv parameters plus 513,000 for FC-1000" {
	check_table_totals vgg16_gap 15,227,688 15.347
	assert_line 'parameters: 14,714,688 in conv layers, 513,000 in FC layers'
	assert_line --regexp '^pool5 +maxpool +512x7x7 +0 +0 +98\.0 KiB +212 +32$'
	assert_line --regexp '^avgpool avgpool +512x1x1 +0 +0 +2\.0 KiB +404 +32$'
	assert_line --regexp '^fc6 +fc +1000x1x1 +513,000 +512,000 +3\.9 KiB +404 +32$'
	assert_line --regexp '^prob +softmax +1000x1x1 '
	refute_line --regexp '^fc7 '
	# the paper's head, for comparison
	run -0 vgg-inspect vgg16
	assert_line 'parameters: 14,714,688 in conv layers, 123,642,856 in FC layers'
	check_table_totals A_gap 9,733,480 7.486
	check_table_totals vgg13_gap 9,917,992 11.185
	check_table_totals C_gap 10,509,096 11.648
	check_table_totals vgg19_gap 20,537,384 19.509
	check_json_totals vgg16_gap:15,227,688:15.347 vgg16_bn_gap:15,236,136:15.347 \
		E_gap:20,537,384:19.509 A-LRN_gap:9,733,480:7.486
	run -0 vgg-inspect -j vgg16_bn_gap
	jcheck 'd["model"], d["conv_params"], d["fc_params"]' '["vgg16_bn_gap", 14723136, 513000]' \
		'L["avgpool"]["type"], L["avgpool"]["kernel"], L["avgpool"]["out"]' '["avgpool", 7, [512, 1, 1]]'
	# _bn and _gap in either order, each once
	run -0 vgg-inspect -j vgg16_gap_BN
	jcheck 'd["model"], d["total_params"]' '["vgg16_bn_gap", 15236136]'
	check_bad_input vgg16_gap_gap
	assert_equal "$stderr" "vgg-inspect: 'vgg16_gap_gap' is not a file, a built-in config or a layer"
}

@test "a GAP head in the notation: avgpool or gap, any input size in dense evaluation" {
	run -0 vgg-inspect -j 'input 32x32 conv3-8 maxpool GAP FC-10 soft-max'
	jcheck '[l["name"] for l in d["layers"]]' '["conv1_1", "pool1", "avgpool", "fc2", "prob"]' \
		'L["avgpool"]["kernel"], L["fc2"]["params"]' '[16, 90]'
	run -0 vgg-inspect -j --dense --input 100x60 'input 32x32 conv3-8 maxpool avgpool FC-10'
	jcheck 'L["avgpool"]["kernel"], L["fc2"]["out"]' '[[50, 30], [10, 1, 1]]'
	check_bad_input 'conv3-8 avgpool conv3-8'
	assert_equal "$stderr" "vgg-inspect: <inline>:1:17: expected FC-N or soft-max after avgpool, found 'conv3-8'"
}

@test "-w and --width: conv and hidden FC widths scaled, the classes kept" {
	run -0 vgg-inspect --width 0.25 vgg16
	assert_line --index 0 'vgg16: input 3x224x224, 1000 classes, width 0.25'
	assert_line --regexp '^conv1_1 +conv +16x224x224 +448 '
	assert_line --regexp '^conv5_3 +conv +128x14x14 '
	assert_line --regexp '^fc6 +fc +1024x1x1 +6,423,552 '
	assert_line --regexp '^fc8 +fc +1000x1x1 +1,025,000 '
	run -0 vgg-inspect -j -w 0.25 --input 64x64 --classes 100 vgg16_bn_gap
	jcheck 'd["width"], d["classes"], L["conv1_1"]["out"], L["fc6"]["params"]' '[0.25, 100, [16, 64, 64], 12900]'
	run -0 vgg-inspect -j vgg16
	jcheck 'd["width"]' 1
	# rounded to the nearest, at least 1
	run -0 vgg-inspect -j -w 0.3 'conv3-5 conv3-64 FC-7 FC-3'
	jcheck '[L[n]["out"][0] for n in ("conv1_1", "conv1_2", "fc1", "fc2")]' '[2, 19, 2, 3]'
	run -0 vgg-inspect -j -w 0.001 vgg11
	jcheck 'sorted({l["out"][0] for l in d["layers"] if l["type"] == "conv"}), L["fc8"]["out"][0]' '[[1], 1000]'
	local bad
	for bad in 0 -1 abc 1e9 '' ' 1' nan inf 0x1; do
		check_usage_error --width "$bad" vgg16
		assert_equal "${stderr_lines[0]}" "vgg-inspect: --width '$bad': expected a number above 0, at most 1024"
	done
	check_bad_input -w 1000 vgg16
	assert_equal "$stderr" "vgg-inspect: width factor 1000 makes fc6 wider than 1048576"
}

@test "receptive fields: D conv5_3 196, D pool5 212, E conv5_4 252, E pool5 268, A pool5 150" {
	run -0 vgg-inspect --json D
	jcheck 'L["conv5_3"]["rf"], L["pool5"]["rf"], L["pool5"]["jump"]' '[196, 212, 32]'
	run -0 vgg-inspect --json E
	jcheck 'L["conv5_4"]["rf"], L["pool5"]["rf"]' '[252, 268]'
	run -0 vgg-inspect --json A
	jcheck 'L["pool5"]["rf"]' 150
	# and in the table's rf and jump columns
	run -0 vgg-inspect D
	assert_line --regexp '^conv5_3 conv +512x14x14 +2,359,808 +462,422,016 +392\.0 KiB +196 +16$'
	assert_line --regexp '^pool5 +maxpool +512x7x7 +0 +0 +98\.0 KiB +212 +32$'
	run -0 vgg-inspect E
	assert_line --regexp '^conv5_4 conv .* 252 +16$'
	assert_line --regexp '^pool5 .* 268 +32$'
	run -0 vgg-inspect A
	assert_line --regexp '^pool5 .* 150 +32$'
}

@test "vgg16 table: the header and every kind of layer" {
	run -0 vgg-inspect vgg16
	assert_line --index 0 'vgg16: input 3x224x224, 1000 classes'
	assert_line --index 1 --regexp '^layer +type +output +params +mult-adds +memory +rf +jump$'
	assert_line --regexp '^conv1_1 conv +64x224x224 +1,792 +86,704,128 +12\.2 MiB +3 +1$'
	assert_line --regexp '^conv1_2 conv +64x224x224 +36,928 +1,849,688,064 +12\.2 MiB +5 +1$'
	assert_line --regexp '^pool1 +maxpool +64x112x112 +0 +0 +3\.1 MiB +6 +2$'
	assert_line --regexp '^pool3 +maxpool +256x28x28 +0 +0 +784\.0 KiB +44 +8$'
	assert_line --regexp '^fc6 +fc +4096x1x1 +102,764,544 +102,760,448 +16\.0 KiB +404 +32$'
	assert_line --regexp '^fc7 +fc +4096x1x1 +16,781,312 +16,777,216 +16\.0 KiB +404 +32$'
	assert_line --regexp '^fc8 +fc +1000x1x1 +4,097,000 +4,096,000 +3\.9 KiB +404 +32$'
	assert_line --regexp '^prob +softmax +1000x1x1 +0 +0 +3\.9 KiB +404 +32$'
	# 22 layers between the header and the total
	assert_equal "$(grep -cE '^(conv|pool|fc|prob)' <<<"$output")" 22
}

@test "config C: its 1x1 convs conv3_3, conv4_3, conv5_3" {
	# rf by hand: conv3_2 32, conv3_3 (1x1) 32, pool3 36, conv4_3 68, pool4 76, conv5_3 140
	run -0 vgg-inspect --json C
	jcheck 'L["conv3_3"]["kernel"], L["conv3_3"]["params"], L["conv3_3"]["rf"]' '[1, 65792, 32]' \
		'L["conv5_3"]["params"], L["conv5_3"]["out"], L["conv5_3"]["rf"]' '[262656, [512, 14, 14], 140]'
}

# ---- JSON document ----

@test "--json: the document's keys, the layers' keys and the vgg16 values" {
	run -0 vgg-inspect --json vgg16
	jcheck 'sorted(d)' \
		'["classes", "conv_params", "dense", "fc_params", "input", "layers", "model", "total_macs", "total_memory", "total_params", "width"]' \
		'sorted({k for l in d["layers"] for k in l})' \
		'["center", "jump", "kernel", "macs", "memory", "name", "out", "pad", "params", "rf", "stride", "type"]' \
		'all(sorted(l) == sorted(d["layers"][0]) for l in d["layers"])' true \
		'd["model"], d["input"], d["classes"], d["dense"], d["width"]' '["vgg16", [3, 224, 224], 1000, false, 1]' \
		'd["conv_params"], d["fc_params"], d["conv_params"] + d["fc_params"] == d["total_params"]' \
		'[14714688, 123642856, true]' \
		'[l["name"] for l in d["layers"]]' \
		'["conv1_1", "conv1_2", "pool1", "conv2_1", "conv2_2", "pool2", "conv3_1", "conv3_2", "conv3_3", "pool3", "conv4_1", "conv4_2", "conv4_3", "pool4", "conv5_1", "conv5_2", "conv5_3", "pool5", "fc6", "fc7", "fc8", "prob"]' \
		'sum(l["memory"] for l in d["layers"]) == d["total_memory"]' true \
		'[L["fc6"][k] for k in ("type", "out", "params", "macs", "kernel", "stride")]' \
		'["fc", [4096, 1, 1], 102764544, 102760448, 7, 1]' \
		'[L["fc6"][k] for k in ("rf", "jump", "pad", "center")]' '[404, 32, 90, 111.5]' \
		'[L["pool5"][k] for k in ("rf", "jump", "pad", "center", "kernel", "stride")]' '[212, 32, 90, 15.5, 2, 2]' \
		'[L["conv1_1"][k] for k in ("rf", "jump", "pad", "center", "memory")]' '[3, 1, 1, 0, 12845056]'
}

@test "-j is --json" {
	run -0 vgg-inspect --json vgg13
	local long=$output
	run -0 vgg-inspect -j vgg13
	assert_output "$long"
	assert_line --regexp '"total_params":[[:space:]]+133047848'
}

@test "--json: per-axis figures become [rows, columns] when the axes differ" {
	run -0 vgg-inspect --json --input 224x256 vgg16
	# fc6: 512*7*8*4096 + 4096 weights
	jcheck 'd["input"]' '[3, 224, 256]' \
		'[L["fc6"][k] for k in ("kernel", "rf", "jump", "pad", "center")]' \
		'[[7, 8], [404, 436], 32, 90, [111.5, 127.5]]' \
		'L["fc6"]["params"]' $((512 * 7 * 8 * 4096 + 4096))
	run -0 vgg-inspect --input 224x256 vgg16
	assert_line --regexp '^fc6 +fc +4096x1x1 +117,444,608 .* 404x436 +32$'
}

# ---- golden text ----

@test "golden table for a small inline config (conv+bn, 1x1 conv, LRN, pool, FC, soft-max)" {
	# By hand, input 1x32x32:
	#   conv1_1 3*3*1*16+16 + 2*16 (BN) = 192 params, 144*32*32 = 147,456 MACs, 16*32*32*4 B
	#   pool1 16x16x16; conv2_1 1x1: 16*8+8 = 136, 128*16*16 = 32,768; norm2, pool2 8x8x8
	#   fc3 8*8*8*10+10 = 5,130 params, 5,120 MACs, rf 6 + 7*4 = 34, jump 4
	#   memory 65536+16384+8192+8192+2048+40+40 = 100,432 B = 98.1 KiB
	#   5,458 params * 4 B = 21,832 B = 21.3 KiB
	run -0 vgg-inspect 'input 32x32 gray conv3-16 BN maxpool conv1-8 LRN pool FC-10 soft-max'
	assert_output - <<'EOF'
custom: input 1x32x32, 10 classes

layer   type         output       params       mult-adds    memory    rf jump
conv1_1 conv+bn    16x32x32          192         147,456  64.0 KiB     3    1
pool1   maxpool    16x16x16            0               0  16.0 KiB     4    2
conv2_1 conv        8x16x16          136          32,768   8.0 KiB     4    2
norm2   lrn         8x16x16            0               0   8.0 KiB     4    2
pool2   maxpool       8x8x8            0               0   2.0 KiB     6    4
fc3     fc           10x1x1        5,130           5,120      40 B    34    4
prob    softmax      10x1x1            0               0      40 B    34    4
total                              5,458         185,344  98.1 KiB

0.005 M parameters (21.3 KiB as float32), 0.000 G multiply-adds per image
parameters: 328 in conv layers, 5,130 in FC layers
EOF
}

@test "the table fits 80 columns (vgg19, vgg19_bn, dense, uneven input)" {
	local args line
	for args in "vgg19" "vgg19_bn" "--dense --input 512x512 vgg19_bn" "--input 224x256 vgg19"; do
		# shellcheck disable=SC2086
		run -0 vgg-inspect $args
		[ "${#lines[@]}" -gt 20 ]
		for line in "${lines[@]}"; do
			[ "${#line}" -le 80 ] || fail "vgg-inspect $args: ${#line} columns: '$line'"
		done
	done
}

# ---- --input, --classes, --dense ----

@test "--classes 10 changes fc8 and the total" {
	run -0 vgg-inspect --classes 10 vgg16
	assert_line --index 0 'vgg16: input 3x224x224, 10 classes'
	# fc8: 4096*10 + 10; total 138,357,544 - 4,097,000 + 40,970
	assert_line --regexp '^fc8 +fc +10x1x1 +40,970 +40,960 +40 B +404 +32$'
	assert_line --regexp '^prob +softmax +10x1x1 '
	assert_line --regexp '^total +134,301,514 '
	# fc6 and fc7 are untouched
	assert_line --regexp '^fc6 +fc +4096x1x1 +102,764,544 '
	assert_line --regexp '^fc7 +fc +4096x1x1 +16,781,312 '
	run -0 vgg-inspect --classes 10 --json vgg16
	jcheck 'd["classes"], L["fc8"]["out"], L["fc8"]["params"], d["total_params"]' \
		'[10, [10, 1, 1], 40970, 134301514]'
}

@test "-c is --classes; --classes=N works" {
	run -0 vgg-inspect -c 7 vgg11
	assert_line --index 0 'vgg11: input 3x224x224, 7 classes'
	assert_line --regexp "^fc8 +fc +7x1x1 +28,679 "
	run -0 vgg-inspect --classes=7 vgg11
	assert_line --regexp "^fc8 +fc +7x1x1 +28,679 "
	# 132,863,336 - 4,097,000 + 28,679
	assert_line --regexp '^total +128,795,015 '
}

@test "--classes on a config without FC layers: exit 1" {
	check_bad_input --classes 10 'conv3-8 maxpool'
	assert_regex "$stderr" 'no FC layer'
}

@test "--input 32x32 resizes fc6: 512*1*1*4096 + 4096" {
	run -0 vgg-inspect --input 32x32 vgg16
	assert_line --index 0 'vgg16: input 3x32x32, 1000 classes'
	assert_line --regexp '^pool5 +maxpool +512x1x1 '
	assert_line --regexp '^fc6 +fc +4096x1x1 +2,101,248 +2,097,152 .* 212 +32$'
	run -0 vgg-inspect --input 32x32 --json vgg16
	jcheck 'd["input"], L["fc6"]["params"], L["fc6"]["kernel"], L["fc6"]["rf"]' \
		"[[3, 32, 32], $((512 * 1 * 1 * 4096 + 4096)), 1, 212]" \
		'd["total_params"]' $((138357544 - 102764544 + 2101248))
}

@test "-i is --input; --input=HxW keeps the config's channels" {
	run -0 vgg-inspect -i 64x48 'input 28x28 gray conv3-4 maxpool FC-2'
	assert_line --index 0 'custom: input 1x64x48, 2 classes'
	# conv1_1 9*1*4+4 = 40; fc2 over 4x32x24: 3072*2+2 = 6,146
	assert_line --regexp '^conv1_1 conv +4x64x48 +40 '
	assert_line --regexp '^fc2 +fc +2x1x1 +6,146 '
	run -0 vgg-inspect --input=64x48 'input 28x28 gray conv3-4 maxpool FC-2'
	assert_line --index 0 'custom: input 1x64x48, 2 classes'
	assert_line --regexp '^fc2 +fc +2x1x1 +6,146 '
}

@test "--input 28x28x1 with an inline grayscale net" {
	run -0 vgg-inspect --input 28x28x1 'conv3-8 maxpool FC-10 soft-max'
	assert_line --index 0 'custom: input 1x28x28, 10 classes'
	# conv1_1 9*1*8 + 8 = 80; fc2 over 8x14x14: 1568*10 + 10 = 15,690
	assert_line --regexp '^conv1_1 conv +8x28x28 +80 +56,448 +24\.5 KiB +3 +1$'
	assert_line --regexp '^pool1 +maxpool +8x14x14 +0 +0 +6\.1 KiB +4 +2$'
	assert_line --regexp '^fc2 +fc +10x1x1 +15,690 +15,680 +40 B +30 +2$'
	assert_line --regexp '^total +15,770 +72,128 '
	run -0 vgg-inspect -i 28x28x1 -j 'conv3-8 maxpool FC-10 soft-max'
	local json=$output
	jcheck 'd["input"], d["total_params"], d["total_macs"]' '[[1, 28, 28], 15770, 72128]'
	# the same net written with its own input line
	run -0 vgg-inspect -j 'input 28x28 gray conv3-8 maxpool FC-10 soft-max'
	assert_output "$json"
}

@test "input line variants: 32*32 grey, 32×32×3, (32 x 40 grayscale image), 16X16 BGR" {
	run -0 vgg-inspect 'input 32*32 grey conv3-8'
	assert_line --index 0 'custom: input 1x32x32'
	assert_line --regexp '^conv1_1 conv +8x32x32 +80 '
	run -0 vgg-inspect 'input 32×32×3 conv3-8'
	assert_line --index 0 'custom: input 3x32x32'
	assert_line --regexp '^conv1_1 conv +8x32x32 +224 '
	run -0 vgg-inspect 'input (32 x 40 grayscale image) conv3-8'
	assert_line --index 0 'custom: input 1x32x40'
	run -0 vgg-inspect 'input 16X16 BGR conv3-8'
	assert_line --index 0 'custom: input 3x16x16'
}

@test "--dense --input 384x384 vgg16: fc8 is 1000x6x6, fc6 weights unchanged" {
	run -0 vgg-inspect --dense --input 384x384 vgg16
	assert_line --index 0 'vgg16: input 3x384x384, 1000 classes, dense evaluation'
	assert_line --regexp '^pool5 +maxpool +512x12x12 '
	assert_line --regexp '^fc6 +fc +4096x6x6 +102,764,544 +3,699,376,128 '
	assert_line --regexp '^fc8 +fc +1000x6x6 +4,097,000 +147,456,000 '
	assert_line --regexp '^total +138,357,544 '
	run -0 vgg-inspect --dense --input 384x384 --json vgg16
	jcheck 'd["dense"], d["input"], L["pool5"]["out"]' '[true, [3, 384, 384], [512, 12, 12]]' \
		'L["fc8"]["out"], L["prob"]["out"]' '[[1000, 6, 6], [1000, 6, 6]]' \
		'L["fc6"]["params"], L["fc6"]["kernel"], L["fc7"]["kernel"]' '[102764544, 7, 1]' \
		'd["total_params"]' 138357544 \
		'L["fc6"]["macs"]' $((102760448 * 36))
}

@test "-d is --dense: score map 1x1 at 224, 2x2 at 256, 10x10 at 512" {
	local size want
	for size in 224:1 256:2 512:10; do
		want=${size#*:}
		run -0 vgg-inspect -d -i "${size%:*}x${size%:*}" vgg16
		assert_line --regexp "^fc8 +fc +1000x${want}x${want} +4,097,000 "
		assert_line --regexp '^total +138,357,544 '
	done
	run -0 vgg-inspect -d -i 512x512 -j vgg16
	jcheck 'L["fc8"]["out"], d["total_params"], d["dense"]' '[[1000, 10, 10], 138357544, true]'
	# --dense without --input evaluates at the config's own size
	run -0 vgg-inspect -d vgg16
	assert_line --index 0 'vgg16: input 3x224x224, 1000 classes, dense evaluation'
	assert_line --regexp '^fc8 +fc +1000x1x1 '
	assert_line --regexp '^total +138,357,544 +15,470,264,320 '
}

@test "--dense keeps the config's own input for the FC weights (config input 32x32)" {
	# fc2's window is 16x16 from the config's size; at 64, pool1 is 32x32: a 17x17 map
	run -0 vgg-inspect --dense --input 64x64 'input 32x32 conv3-8 maxpool FC-10'
	# (8*16*16*10 + 10 = 20,490 weights, as at 32x32)
	assert_line --regexp '^fc2 +fc +10x17x17 +20,490 '
}

# ---- config files ----

@test "a config file (comments, the paper's input line, mixed case) equals the built-in D" {
	cat >"$BATS_TEST_TMPDIR/My-Net.v1.cfg" <<'EOF'
# ConvNet configuration D, typed by hand
INPUT (224 × 224 RGB Image)   # as in the paper

Conv3-64 CONV3-64 MaxPool     # block 1
conv3-128 conv3-128 Pool
conv3-256 Conv3-256 conv3-256 maxpool
conv3-512 conv3-512 conv3-512 MAXPOOL
conv3-512 conv3-512 conv3-512 maxpool
fc-4096 FC-4096
Fc-1000 # the classes
Soft-Max
EOF
	run -0 vgg-inspect vgg16
	local builtin=${output#*$'\n'}
	run -0 vgg-inspect "$BATS_TEST_TMPDIR/My-Net.v1.cfg"
	assert_equal "${output#*$'\n'}" "$builtin"
	# the model's name is the file's base name without its extension
	assert_line --index 0 'My-Net.v1: input 3x224x224, 1000 classes'
	run -0 vgg-inspect --json "$BATS_TEST_TMPDIR/My-Net.v1.cfg"
	jcheck 'd["model"], d["input"]' '["My-Net.v1", [3, 224, 224]]' \
		'd["total_params"], d["total_macs"]' '[138357544, 15470264320]'
	cd "$BATS_TEST_TMPDIR"
	run -0 vgg-inspect My-Net.v1.cfg
	assert_line --index 0 'My-Net.v1: input 3x224x224, 1000 classes'
	assert_line '138.358 M parameters (527.8 MiB as float32), 15.470 G multiply-adds per image'
}

@test "a config file without an extension keeps its whole name; the repo's share/vgg/E.cfg" {
	printf 'conv3-8 maxpool\nFC-10\n' >"$BATS_TEST_TMPDIR/tiny"
	run -0 vgg-inspect "$BATS_TEST_TMPDIR/tiny"
	assert_line --index 0 'tiny: input 3x224x224, 10 classes'
	run -0 vgg-inspect "$TOP/share/vgg/E.cfg"
	assert_line --index 0 'E: input 3x224x224, 1000 classes'
	assert_line --regexp '^total +143,667,240 +19,632,'
}

@test "a file takes precedence over a built-in name" {
	cd "$BATS_TEST_TMPDIR"
	printf 'conv3-8 maxpool FC-3\n' >vgg16
	run -0 vgg-inspect vgg16
	assert_line --index 0 'vgg16: input 3x224x224, 3 classes'
	# conv1_1 9*3*8+8 = 224, fc2 8*112*112*3+3 = 301,059
	assert_line --regexp '^total +301,283 '
}

# ---- help and version ----

@test "-h and --help: usage on stdout naming every option, exit 0" {
	local opt
	for opt in -h --help; do
		run -0 --separate-stderr vgg-inspect "$opt"
		assert_equal "$stderr" ''
		assert_line --index 0 'Usage: vgg-inspect [OPTION]... MODEL'
		assert_line --regexp '^  -i, --input HxW\[xC\] '
		assert_line --regexp '^  -c, --classes N '
		assert_line --regexp '^  -w, --width F '
		assert_line --regexp '^  -d, --dense '
		assert_line --regexp '^  -j, --json '
		assert_line --regexp '^  -h, --help '
		assert_line --regexp '^  -V, --version '
	done
	# --help wins over a missing MODEL
	run -0 vgg-inspect --help
	# and the man page has each of them
	for opt in input classes width dense json help version; do
		grep -qE "\\\\-\\\\-$opt\b" "$TOP/man/vgg-inspect.1" || fail "vgg-inspect.1 lacks --$opt"
	done
}

@test "-V and --version: 'vgg-inspect (vgg) 0.1.0'" {
	run -0 --separate-stderr vgg-inspect -V
	assert_output 'vgg-inspect (vgg) 0.1.0'
	assert_equal "$stderr" ''
	run -0 vgg-inspect --version
	assert_output 'vgg-inspect (vgg) 0.1.0'
}

# ---- usage errors: exit 2 ----

@test "unknown option: exit 2, message and --help hint on stderr" {
	check_usage_error --bogus vgg16
	assert_equal "${stderr_lines[0]}" "vgg-inspect: unknown option '--bogus'"
	assert_regex "$stderr" '--help'
	check_usage_error -x vgg16
	assert_regex "${stderr_lines[0]}" "'-x'"
}

@test "missing MODEL: exit 2" {
	check_usage_error
	assert_regex "${stderr_lines[0]}" 'MODEL'
	check_usage_error --json
}

@test "two MODELs: exit 2" {
	check_usage_error vgg16 vgg19
	assert_regex "${stderr_lines[0]}" "vgg19"
}

@test "option needing a value given none: exit 2" {
	check_usage_error vgg16 --input
	check_usage_error vgg16 -c
}

@test "bad --input values: 0x5, abc, 224, 5x0, 3x3x0, 2x2x, 70000x2: exit 2" {
	local v
	for v in 0x5 abc 224 5x0 3x3x0 2x2x 70000x2 -3x3 ''; do
		check_usage_error --input "$v" vgg16
		assert_equal "${stderr_lines[0]}" "vgg-inspect: --input '$v': expected HxW or HxWxC, each from 1 to 65536"
	done
	check_usage_error -i abc vgg16
}

@test "bad --classes values: 0, x, -5, 3.5: exit 2" {
	local v
	for v in 0 x -5 3.5 ''; do
		check_usage_error --classes "$v" vgg16
		assert_regex "${stderr_lines[0]}" "^vgg-inspect: --classes '$v': "
	done
	check_usage_error -c 0 vgg16
}

# ---- bad input: exit 1 ----

@test "unknown model name vgg17: exit 1, one line naming it" {
	check_bad_input vgg17
	assert_regex "$stderr" "'vgg17'"
}

@test "a bad config file: FILE:LINE:COL: expected ..." {
	cd "$BATS_TEST_TMPDIR"
	printf '# VGG-ish\ninput 32x32\nconv3x64 maxpool\n' >bad.cfg
	check_bad_input bad.cfg
	assert_regex "$stderr" '^vgg-inspect: bad\.cfg:3:1: expected '
	assert_regex "$stderr" "found 'conv3x64'"
	# an unknown word in the middle of a line
	printf 'conv3-64\n  conv3-64 frobnicate\n' >bad2.cfg
	check_bad_input bad2.cfg
	assert_equal "$stderr" "vgg-inspect: bad2.cfg:2:12: expected a layer (convK-N, BN, LRN, maxpool, avgpool, FC-N, soft-max), found 'frobnicate'"
}

@test "conv after an FC layer: exit 1" {
	cd "$BATS_TEST_TMPDIR"
	printf 'conv3-64 maxpool\nFC-10\nconv3-64\n' >late.cfg
	check_bad_input late.cfg
	assert_regex "$stderr" '^vgg-inspect: late\.cfg:3:1: expected FC-N or soft-max after an FC layer'
	check_bad_input 'conv3-64 FC-10 conv3-64'
	assert_regex "$stderr" '<inline>:1:16: '
	check_bad_input 'conv3-64 FC-10 maxpool'
	check_bad_input 'conv3-64 FC-10 LRN'
}

@test "BN not after a conv: exit 1" {
	cd "$BATS_TEST_TMPDIR"
	printf '# bn\nconv3-64 maxpool\n  BN\n' >bn.cfg
	check_bad_input bn.cfg
	assert_equal "$stderr" 'vgg-inspect: bn.cfg:3:3: BN must follow a conv layer'
	check_bad_input 'BN conv3-64'
	assert_regex "$stderr" '<inline>:1:1: BN must follow a conv layer'
	check_bad_input 'conv3-64 LRN batchnorm'
	check_bad_input 'conv3-64 BN BN'
}

@test "even kernel conv4-64: exit 1" {
	check_bad_input 'conv4-64 maxpool'
	assert_regex "$stderr" '<inline>:1:5: .*odd'
	printf 'conv3-8\nconv4-64\n' >"$BATS_TEST_TMPDIR/even.cfg"
	check_bad_input "$BATS_TEST_TMPDIR/even.cfg"
	assert_regex "$stderr" 'even\.cfg:2:5: .*odd'
}

@test "more bad notation: soft-max not last, input after a layer, twice, no layers" {
	check_bad_input 'conv3-8 soft-max FC-10'
	assert_regex "$stderr" 'soft-max'
	check_bad_input 'conv3-8 input 32x32'
	check_bad_input 'input 32x32 input 32x32 conv3-8'
	check_bad_input 'input 32x32x3 gray conv3-8'
	check_bad_input '# only a comment'
	check_bad_input 'conv3-0 maxpool'
	check_bad_input 'FC-x soft-max'
}

@test "input too small for the pools (--input 16x16 vgg16): exit 1" {
	check_bad_input --input 16x16 vgg16
	assert_regex "$stderr" 'too small'
	assert_regex "$stderr" 'pool5'
}

@test "--dense with an input too small for fc6 (--dense --input 192x192 vgg16): exit 1" {
	check_bad_input --dense --input 192x192 vgg16
	assert_regex "$stderr" 'too small'
	assert_regex "$stderr" 'fc6'
	# 224 is the smallest that works
	run -0 vgg-inspect --dense --input 224x224 vgg16
}

@test "nonexistent path ./nope.cfg: exit 1, cannot open" {
	cd "$BATS_TEST_TMPDIR"
	check_bad_input ./nope.cfg
	assert_regex "$stderr" "cannot open '\./nope\.cfg'"
}

# ---- the man page ----


@test "every example in man/vgg-inspect.1 runs with exit 0" {
	local page=$TOP/man/vgg-inspect.1 cmd n=0
	[ -f "$page" ] || skip "man/vgg-inspect.1 is not written yet"
	cd "$BATS_TEST_TMPDIR"
	while IFS= read -r -d '' cmd; do
		n=$((n + 1))
		run bash -c "$cmd" </dev/null
		[ "$status" -eq 0 ] || fail "man page example exited $status: $cmd"$'\n'"$output"
		[ -n "$output" ] || fail "man page example printed nothing: $cmd"
	done < <(man_examples "$page" vgg-inspect)
	[ "$n" -gt 0 ] || skip "man/vgg-inspect.1 has no vgg-inspect examples yet"
}

@test "man pages render with man -l without messages" {
	local page n=0
	for page in "$TOP"/man/*.[15]; do
		[ -f "$page" ] || continue
		n=$((n + 1))
		run -0 --separate-stderr bash -c 'man -l "$1" | cat' _ "$page"
		assert_equal "$stderr" ''
		assert_line --regexp '^NAME'
		[ "${#lines[@]}" -gt 10 ]
	done
	[ "$n" -gt 0 ] || skip "no man pages yet"
}

@test "man pages: mandoc -Tlint reports nothing at WARNING level or above" {
	command -v mandoc >/dev/null || skip "mandoc is not installed"
	local page n=0
	for page in "$TOP"/man/*.[15]; do
		[ -f "$page" ] || continue
		n=$((n + 1))
		run mandoc -Tlint -W warning "$page"
		[ "$status" -eq 0 ] || fail "mandoc -Tlint -W warning $page: exit $status"$'\n'"$output"
		assert_output ''
	done
	[ "$n" -gt 0 ] || skip "no man pages yet"
}

@test "every vgg-inspect and vgg-rf example in man/vgg-config.5 runs with exit 0" {
	local page=$TOP/man/vgg-config.5 cmd n=0
	[ -f "$page" ] || skip "man/vgg-config.5 is not written yet"
	cd "$BATS_TEST_TMPDIR"
	while IFS= read -r -d '' cmd; do
		n=$((n + 1))
		run bash -c "$cmd" </dev/null
		[ "$status" -eq 0 ] || fail "man page example exited $status: $cmd"$'\n'"$output"
		[ -n "$output" ] || fail "man page example printed nothing: $cmd"
	done < <(man_examples "$page" "vgg-inspect vgg-rf" "$BATS_TEST_TMPDIR")
	[ "$n" -gt 0 ] || skip "man/vgg-config.5 has no examples yet"
}

# ---- weights files and .npy streams ----

@test "a weights file: the layer table of its config, its metadata, its tensors" {
	# a relative path, so the width check below measures the tool, not the clone's location
	cd "$TOP/tests/data/net"
	run -0 vgg-inspect vgg16_bn.safetensors
	assert_line --index 0 'vgg16_bn-small: input 3x64x64, 10 classes'
	assert_line --regexp '^pool5 +maxpool +32x2x2 '
	assert_line 'vgg16_bn.safetensors: 84 tensors, 3 metadata entries'
	assert_line --regexp '^  vgg\.name +vgg16_bn-small$'
	assert_line --regexp '^  vgg\.labels +class 0 \.\.\. \(10 lines, 79 bytes\)$'
	assert_line --regexp '^conv1_1\.weight +F32 +\[4,3,3,3\] '
	assert_line --regexp '^conv1_1\.bn\.running_var +F32 +\[4\] '
	assert_line --regexp '^fc6\.weight +F32 +\[64,128\] '
	# every line fits 80 columns
	local line
	for line in "${lines[@]}"; do
		[ "${#line}" -le 80 ] || fail "too wide: $line"
	done
}

@test "a weights file with --json: metadata, tensors with min, max and mean" {
	run -0 vgg-inspect --json "$TOP/tests/data/net/vgg11.safetensors"
	run -0 python3 -c '
import json, sys
d = json.loads(sys.argv[1])
assert d["model"] == "vgg11-small", d["model"]
assert d["metadata"]["vgg.name"] == "vgg11-small"
t = {x["name"]: x for x in d["tensors"]}
assert len(t) == 22, len(t)
w = t["conv1_1.weight"]
assert w["dtype"] == "F32" and w["shape"] == [4, 3, 3, 3]
assert w["min"] <= w["mean"] <= w["max"]
assert d["total_params"] == sum(x for l in d["layers"] for x in [l["params"]])
print("ok")' "$output"
	assert_output ok
}

@test "a .npy stream: one line per array" {
	run -0 vgg-inspect "$TOP/tests/data/net/input.npy"
	assert_line --index 0 --regexp '^array +shape +values +min +max +mean$'
	assert_line --index 1 --regexp '^0 +\[2,3,64,64\] +24,576 +-3\.829 +3\.743 +-0\.009312$'
	assert_line --index 2 "1 array in '$TOP/tests/data/net/input.npy'"
	run -0 vgg-inspect -j "$TOP/tests/data/net/vgg16.pool5.npy"
	run -0 python3 -c 'import json,sys; d=json.loads(sys.argv[1]); print(d["arrays"][0]["shape"])' "$output"
	assert_output '[2, 32, 2, 2]'
	run -2 --separate-stderr vgg-inspect --classes 3 "$TOP/tests/data/net/input.npy"
	assert_equal "$stderr" "vgg-inspect: --input, --classes, --width and --dense describe networks, not .npy files
Try 'vgg-inspect --help' for more information."
}

@test "MODEL - reads stdin: a weights file, a .npy stream or a config, as from the file" {
	local f=$TOP/tests/data/net/vgg11.safetensors
	run -0 vgg-inspect "$f"
	local file_out=$output
	run -0 --separate-stderr vgg-inspect - <"$f"
	assert_equal "$stderr" ''
	assert_equal "$output" "${file_out//$f/-}"
	run -0 bash -c 'cat "$1" | vgg-inspect -j -' _ "$f"
	jcheck 'd["file"], d["model"], len(d["tensors"])' '["-", "vgg11-small", 22]'
	run -0 bash -c 'cat "$1" | vgg-inspect -' _ "$TOP/tests/data/net/input.npy"
	assert_line --index 1 --regexp '^0 +\[2,3,64,64\] +24,576 '
	assert_line --index 2 "1 array in '-'"
	run -0 bash -c 'echo "conv3-8 maxpool avgpool FC-10" | vgg-inspect -'
	assert_line --index 0 '-: input 3x224x224, 10 classes'
	assert_line --regexp '^avgpool +avgpool +8x1x1 '
	run -0 vgg-inspect -w 0.5 -c 3 - <<<'conv3-8 maxpool FC-10 FC-10'
	assert_line --index 0 '-: input 3x224x224, 3 classes, width 0.5'
	# errors name '-'
	check_bad_input - <<<'conv3-8 maxpol'
	assert_equal "$stderr" "vgg-inspect: -:1:9: expected a layer (convK-N, BN, LRN, maxpool, avgpool, FC-N, soft-max), found 'maxpol'"
	head -c 300 "$f" >"$BATS_TEST_TMPDIR/cut"
	check_bad_input - <"$BATS_TEST_TMPDIR/cut"
	assert_equal "$stderr" "vgg-inspect: '-': not a valid safetensors file: header length exceeds the file"
	check_bad_input - <"$TOP/tests/data/photo.jpg"
	assert_equal "$stderr" "vgg-inspect: '-': not a weights file, a .npy stream or a config in the notation"
	check_usage_error -c 3 - <"$TOP/tests/data/net/input.npy"
}

@test "a broken weights file or .npy file: one line naming it, exit 1" {
	head -c 300 "$TOP/tests/data/net/vgg11.safetensors" >"$BATS_TEST_TMPDIR/cut.safetensors"
	run -1 --separate-stderr vgg-inspect "$BATS_TEST_TMPDIR/cut.safetensors"
	assert_equal "$stderr" "vgg-inspect: '$BATS_TEST_TMPDIR/cut.safetensors': not a valid safetensors file: header length exceeds the file"
	assert_output ''
	head -c 200 "$TOP/tests/data/net/input.npy" >"$BATS_TEST_TMPDIR/cut.npy"
	run -1 --separate-stderr vgg-inspect "$BATS_TEST_TMPDIR/cut.npy"
	assert_equal "$stderr" "vgg-inspect: '$BATS_TEST_TMPDIR/cut.npy': not a valid .npy array: truncated data (array 0)"
}

@test "a weights file with vgg.pool_round ceil lays out with Caffe's rounding" {
	run -0 vgg-inspect "$TOP/tests/data/net/vgg11_ceil.safetensors"
	assert_line --index 0 'vgg11_ceil-small: input 3x72x72, 10 classes'
	assert_line --regexp '^pool4 +maxpool +32x5x5 '
	assert_line --regexp '^pool5 +maxpool +32x3x3 '
	assert_line --regexp '^fc6 +fc +64x1x1 +18,496 '
	assert_line --regexp '^  vgg\.pool_round +ceil$'
}
