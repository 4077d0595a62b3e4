#!/usr/bin/env bats
# vgg-rf: receptive fields per layer and per unit, the 3x3-stack equivalence, every option,
# errors, and the examples of its man page.
load test_helper
TOOL=vgg-rf
bats_require_minimum_version 1.5.0



# VGG-16, by hand with r += (k-1)j, P += p*j, j *= s, centre = (r-1)/2 - P:
#   layer   kernel stride pad  output  rf jump eff-pad centre
VGG16_RF='
conv1_1 3 1 1 224   3  1  1   0.0
conv1_2 3 1 1 224   5  1  2   0.0
pool1   2 2 0 112   6  2  2   0.5
conv2_2 3 1 1 112  14  2  6   0.5
pool2   2 2 0  56  16  4  6   1.5
conv3_3 3 1 1  56  40  4 18   1.5
pool3   2 2 0  28  44  8 18   3.5
conv4_3 3 1 1  28  92  8 42   3.5
pool4   2 2 0  14 100 16 42   7.5
conv5_3 3 1 1  14 196 16 90   7.5
pool5   2 2 0   7 212 32 90  15.5
fc6     7 1 0   1 404 32 90 111.5
fc7     1 1 0   1 404 32 90 111.5
fc8     1 1 0   1 404 32 90 111.5
'

# A table row as vgg-rf prints it, as a regular expression.
row_re() { # NAME KERNEL STRIDE PAD OUT RF JUMP EFFPAD CENTER
	printf '^%s +[a-z+]+ +%sx%s +%s +%s +%sx%s +%s +%s +%s +%s$' "$1" "$2" "$2" "$3" "$4" "$5" "$5" \
		"$6" "$7" "$8" "${9//./\\.}"
}

# ---- VGG-16 ----

@test "vgg16_gap: avgpool's window is pool5's whole 7x7 map, so it sees what fc6 sees" {
	run -0 vgg-rf vgg16_gap
	assert_line --regexp "$(row_re pool5 2 2 0 7 212 32 90 15.5)"
	assert_line --regexp "$(row_re avgpool 7 1 0 1 404 32 90 111.5)"
	assert_line --regexp "$(row_re fc6 1 1 0 1 404 32 90 111.5)"
	assert_line --regexp '^avgpool +avgpool '
	# dense: the window follows the input, the output stays 1x1
	run -0 vgg-rf --dense --input 320x320 vgg16_gap avgpool
	assert_line --regexp "$(row_re avgpool 10 1 0 1 500 32 90 159.5)"
}

@test "vgg16 table: the paper's receptive fields, jumps, effective padding and centres" {
	run -0 vgg-rf vgg16
	assert_line --index 0 'vgg16: input 3x224x224'
	assert_line --index 1 --regexp '^layer +type +kernel +stride +pad +output +rf +jump +eff-pad +center$'
	local name k s p o rf j ep c
	while read -r name k s p o rf j ep c; do
		[ -n "$name" ] || continue
		assert_line --regexp "$(row_re "$name" "$k" "$s" "$p" "$o" "$rf" "$j" "$ep" "$c")"
	done <<<"$VGG16_RF"
	assert_line --regexp '^prob +softmax +1x1 +1 +0 +1x1 +404 +32 +90 +111\.5$'
	# all 22 layers, in order
	assert_equal "$(awk 'NR > 3 { printf "%s ", $1 }' <<<"$output")" \
		'conv1_1 conv1_2 pool1 conv2_1 conv2_2 pool2 conv3_1 conv3_2 conv3_3 pool3 conv4_1 conv4_2 conv4_3 pool4 conv5_1 conv5_2 conv5_3 pool5 fc6 fc7 fc8 prob '
}

@test "vgg16 LAYER: only that layer's line, for each of the paper's layers" {
	local name k s p o rf j ep c
	while read -r name k s p o rf j ep c; do
		[ -n "$name" ] || continue
		run -0 vgg-rf vgg16 "$name"
		assert_equal "${#lines[@]}" 3
		assert_line --index 0 'vgg16: input 3x224x224'
		assert_line --index 2 --regexp "$(row_re "$name" "$k" "$s" "$p" "$o" "$rf" "$j" "$ep" "$c")"
	done <<<"$VGG16_RF"
	run -0 vgg-rf vgg16 pool5
	assert_line --index 2 'pool5   maxpool     2x2      2   0         7x7    212    32      90     15.5'
	run -0 vgg-rf vgg16 fc6
	assert_line --index 2 'fc6     fc          7x7      1   0         1x1    404    32      90    111.5'
}

@test "vgg16 --json: rf, jump, pad and center of the paper's layers" {
	run -0 vgg-rf --json vgg16
	local name k s p o rf j ep c args=()
	while read -r name k s p o rf j ep c; do
		[ -n "$name" ] || continue
		[ "${c%.0}" = "$c" ] || c=${c%.0}
		args+=("[L['$name'][k] for k in ('kernel', 'stride', 'layer_pad', 'rf', 'jump', 'pad', 'center')]"
			"[$k, $s, $p, $rf, $j, $ep, $c]"
			"L['$name']['out'][1:]" "[$o, $o]")
	done <<<"$VGG16_RF"
	jcheck "${args[@]}" \
		'd["model"], d["input"], len(d["layers"])' '["vgg16", [3, 224, 224], 22]' \
		'sorted(d)' '["input", "layers", "model"]' \
		'sorted({k for l in d["layers"] for k in l})' \
		'["center", "jump", "kernel", "layer_pad", "name", "out", "pad", "rf", "stride", "type"]' \
		'L["pool5"]["type"], L["fc6"]["type"], L["conv1_1"]["type"]' '["maxpool", "fc", "conv"]'
}

@test "-j is --json; with LAYER only that layer" {
	run -0 vgg-rf -j vgg16 pool5
	local short=$output
	run -0 vgg-rf --json vgg16 pool5
	assert_output "$short"
	jcheck '[l["name"] for l in d["layers"]]' '["pool5"]' \
		'[L["pool5"][k] for k in ("rf", "jump", "pad", "center", "out")]' '[212, 32, 90, 15.5, [512, 7, 7]]'
}

@test "vgg19 and vgg11: E conv5_4 252, E pool5 268, A pool5 150" {
	run -0 vgg-rf vgg19 conv5_4
	assert_line --index 2 --regexp "$(row_re conv5_4 3 1 1 14 252 16 118 7.5)"
	run -0 vgg-rf E pool5
	assert_line --index 2 --regexp "$(row_re pool5 2 2 0 7 268 32 118 15.5)"
	run -0 vgg-rf vgg11 pool5
	# A: 3 + 1, +4, +2*... : rf 150, pad (150-1)/2 - 15.5 = 59
	assert_line --index 2 --regexp "$(row_re pool5 2 2 0 7 150 32 59 15.5)"
}

@test "the table fits 80 columns (vgg19, vgg19_bn)" {
	local model line
	for model in vgg19 vgg19_bn; do
		run -0 vgg-rf "$model"
		for line in "${lines[@]}"; do
			[ "${#line}" -le 80 ] || fail "vgg-rf $model: ${#line} columns: '$line'"
		done
	done
}

@test "LAYER is case-insensitive" {
	run -0 vgg-rf vgg16 POOL5
	assert_equal "${#lines[@]}" 3
	assert_line --index 2 --regexp '^pool5 +maxpool .* 212 +32 +90 +15\.5$'
	run -0 vgg-rf vgg16 Conv5_3
	assert_line --index 2 --regexp '^conv5_3 +conv .* 196 +16 +90 +7\.5$'
	run -0 vgg-rf VGG16 FC6
	assert_line --index 2 --regexp '^fc6 +fc .* 404 +32 +90 +111\.5$'
}

@test "unknown LAYER: exit 1" {
	check_bad_input vgg16 pool6
	assert_equal "$stderr" "vgg-rf: vgg16 has no layer 'pool6'"
	check_bad_input vgg16 conv5_4
	check_bad_input --json vgg16 relu6
}

# ---- --unit ----

@test "--unit 3,4 vgg16 pool5: rows 6..217, columns 38..249; clipped columns 38..223" {
	# pool5: rf 212, jump 32, P 90; y0 = Y*jump - P, y1 = y0 + rf - 1, clipped to [0, 223]
	local y0=$((3 * 32 - 90)) x0=$((4 * 32 - 90))
	local y1=$((y0 + 212 - 1)) x1=$((x0 + 212 - 1))
	assert_equal "$y0..$y1 $x0..$x1" '6..217 38..249'
	run -0 vgg-rf --unit 3,4 vgg16 pool5
	assert_line --index 0 'pool5 unit 3,4 (of 7x7) sees input'
	assert_line --index 1 "  unclipped: rows $y0..$y1, columns $x0..$x1 (212x212)"
	assert_line --index 2 "  clipped:   rows $y0..$y1, columns $x0..223 (212x$((223 - x0 + 1)) of the 224x224 image)"
	assert_equal "${#lines[@]}" 3
}

@test "-u is --unit: unit 0,0 of conv1_1 is -1..1 unclipped, 0..1 clipped" {
	run -0 vgg-rf -u 0,0 vgg16 conv1_1
	assert_line --index 0 'conv1_1 unit 0,0 (of 224x224) sees input'
	assert_line --index 1 '  unclipped: rows -1..1, columns -1..1 (3x3)'
	assert_line --index 2 '  clipped:   rows 0..1, columns 0..1 (2x2 of the 224x224 image)'
	# the last unit of pool5: 6*32-90 = 102 .. 313, clipped to 223
	run -0 vgg-rf --unit 6,6 vgg16 POOL5
	assert_line --index 1 '  unclipped: rows 102..313, columns 102..313 (212x212)'
	assert_line --index 2 '  clipped:   rows 102..223, columns 102..223 (122x122 of the 224x224 image)'
}

@test "--unit with --json: layer, unit, box and clipped" {
	run -0 vgg-rf --unit 3,4 --json vgg16 pool5
	jcheck 'sorted(set(d) & {"layer", "unit", "box", "clipped"})' '["box", "clipped", "layer", "unit"]' \
		'd["layer"], d["unit"]' '["pool5", [3, 4]]' \
		'[d["box"][k] for k in ("y0", "y1", "x0", "x1")]' '[6, 217, 38, 249]' \
		'[d["clipped"][k] for k in ("y0", "y1", "x0", "x1")]' '[6, 217, 38, 223]' \
		'sorted(d["box"]), sorted(d["clipped"])' '[["x0", "x1", "y0", "y1"], ["x0", "x1", "y0", "y1"]]'
}

@test "--unit out of the layer's output: exit 1" {
	check_bad_input --unit 7,0 vgg16 pool5
	assert_regex "$stderr" '7,0'
	assert_regex "$stderr" 'pool5'
	check_bad_input --unit 0,7 vgg16 pool5
	check_bad_input -u 0,224 vgg16 conv1_1
	check_bad_input --unit 1,0 --json vgg16 fc8
}

@test "--unit without LAYER: exit 2" {
	check_usage_error --unit 3,4 vgg16
	assert_regex "${stderr_lines[0]}" 'LAYER'
}

@test "malformed --unit: 3, a,b, -1,2, 3,-1, 3,4,5, empty: exit 2" {
	local u
	for u in 3 a,b -1,2 3,-1 3,4,5 3, ,4 ''; do
		check_usage_error --unit "$u" vgg16 pool5
		assert_regex "${stderr_lines[0]}" '^vgg-rf: --unit '
	done
	check_usage_error -u 3 vgg16 pool5
	check_usage_error vgg16 pool5 --unit
}

# ---- --equiv and --channels ----

@test "--equiv 7: 3 stacked 3x3 convs, 49C² vs 27C²" {
	run -0 --separate-stderr vgg-rf --equiv 7
	assert_equal "$stderr" ''
	assert_line --index 0 'a 7x7 receptive field: 3 stacked 3x3 convs (stride 1), 3 ReLUs instead of 1'
	assert_line --index 1 'weights for C channels in and out:'
	assert_line --index 2 --regexp '^  one 7x7 conv +49C²$'
	# (49 - 27) / 49 = 44.9 %
	assert_line --index 3 --regexp '^  3 3x3 convs +27C² +\(44\.9% fewer\)$'
	assert_equal "${#lines[@]}" 4
}

@test "--equiv 5: 2 convs, 25C² vs 18C²; --equiv 3: 1 conv, 9C² both" {
	run -0 vgg-rf --equiv 5
	assert_line --index 0 --regexp '^a 5x5 receptive field: 2 stacked 3x3 convs '
	assert_line --index 2 --regexp '^  one 5x5 conv +25C²$'
	assert_line --index 3 --regexp '^  2 3x3 convs +18C² +\(28\.0% fewer\)$'
	run -0 vgg-rf --equiv 3
	assert_line --index 0 --regexp '^a 3x3 receptive field: 1 stacked 3x3 conv '
	assert_line --index 2 --regexp '^  one 3x3 conv +9C²$'
	assert_line --index 3 --regexp '^  1 3x3 conv +9C² +\(0\.0% fewer\)$'
	# a large K: (11 - 1) / 2 = 5 convs, 121C² vs 45C²
	run -0 vgg-rf --equiv 11
	assert_line --index 2 --regexp '^  one 11x11 conv +121C²$'
	assert_line --index 3 --regexp '^  5 3x3 convs +45C² '
}

@test "--equiv 7 --channels 512: 12,845,056 vs 7,077,888" {
	# 49 * 512^2 and 27 * 512^2
	assert_equal "$((49 * 512 * 512)) $((27 * 512 * 512))" '12845056 7077888'
	run -0 vgg-rf --equiv 7 --channels 512
	assert_line --index 0 'a 7x7 receptive field: 3 stacked 3x3 convs (stride 1), 3 ReLUs instead of 1'
	assert_line --index 1 'weights for 512 channels in and out:'
	assert_line --index 2 --regexp '^  one 7x7 conv +12,845,056$'
	assert_line --index 3 --regexp '^  3 3x3 convs +7,077,888 +\(44\.9% fewer\)$'
}

@test "-e and -C are --equiv and --channels" {
	run -0 vgg-rf --equiv 5 --channels 64
	local long=$output
	run -0 vgg-rf -e 5 -C 64
	assert_output "$long"
	# 25 * 64^2 = 102,400 and 18 * 64^2 = 73,728
	assert_line --index 2 --regexp '^  one 5x5 conv +102,400$'
	assert_line --index 3 --regexp '^  2 3x3 convs +73,728 '
	run -0 vgg-rf -e 7
	assert_line --index 2 --regexp '^  one 7x7 conv +49C²$'
}

@test "--equiv with --json: k, convs, weights_kxk, weights_stack (and channels)" {
	run -0 vgg-rf --equiv 7 --json
	jcheck 'sorted(d)' '["convs", "k", "weights_kxk", "weights_stack"]' \
		'd["k"], d["convs"], d["weights_kxk"], d["weights_stack"]' '[7, 3, 49, 27]'
	run -0 vgg-rf -e 7 -C 512 -j
	jcheck 'sorted(d)' '["channels", "convs", "k", "weights_kxk", "weights_stack"]' \
		'd["k"], d["convs"], d["channels"], d["weights_kxk"], d["weights_stack"]' \
		'[7, 3, 512, 12845056, 7077888]'
}

@test "--equiv 4 and --equiv 1: exit 1" {
	check_bad_input --equiv 4
	assert_regex "$stderr" '^vgg-rf: --equiv 4'
	check_bad_input --equiv 1
	check_bad_input -e 2 --json
}

@test "--equiv with a malformed K: exit 2" {
	check_usage_error --equiv x
	check_usage_error --equiv ''
	check_usage_error --equiv 7 --channels 0
	check_usage_error --equiv 7 --channels abc
}

@test "--channels without --equiv: exit 2" {
	check_usage_error --channels 512
	assert_regex "${stderr_lines[0]}" 'equiv'
	check_usage_error -C 512 vgg16
}

@test "--equiv with a MODEL or model options: exit 2" {
	check_usage_error --equiv 7 vgg16
	assert_regex "${stderr_lines[0]}" "'vgg16'"
	check_usage_error --equiv 7 --input 32x32
	check_usage_error --equiv 7 --dense
	check_usage_error --equiv 7 --unit 1,1
}

# ---- --input and --dense ----

@test "--dense --input 256x256 vgg16 fc8: a 2x2 output" {
	run -0 vgg-rf --dense --input 256x256 vgg16 fc8
	assert_line --index 0 'vgg16: input 3x256x256'
	assert_line --index 2 --regexp "$(row_re fc8 1 1 0 2 404 32 90 111.5)"
	run -0 vgg-rf -d -i 256x256 -j vgg16
	jcheck 'd["input"]' '[3, 256, 256]' \
		'L["pool5"]["out"], L["fc6"]["out"], L["fc8"]["out"]' '[[512, 8, 8], [4096, 2, 2], [1000, 2, 2]]' \
		'L["fc6"]["kernel"], L["fc6"]["rf"], L["fc6"]["jump"]' '[7, 404, 32]'
	# the second unit of the score map is one jump (32 pixels) further
	run -0 vgg-rf --dense --input 256x256 --unit 1,1 vgg16 fc8
	assert_line --index 1 '  unclipped: rows -58..345, columns -58..345 (404x404)'
	assert_line --index 2 '  clipped:   rows 0..255, columns 0..255 (256x256 of the 256x256 image)'
}

@test "--dense with an input too small: exit 1" {
	check_bad_input --dense --input 192x192 vgg16
	assert_regex "$stderr" 'fc6'
	check_bad_input --input 16x16 vgg16
}

@test "-i is --input: at 32x32, vgg16's fc6 is a 1x1 conv (rf 212)" {
	run -0 vgg-rf --input 32x32 vgg16 fc6
	assert_line --index 0 'vgg16: input 3x32x32'
	assert_line --index 2 --regexp "$(row_re fc6 1 1 0 1 212 32 90 15.5)"
	run -0 vgg-rf -i 32x32 vgg16 pool5
	assert_line --index 2 --regexp "$(row_re pool5 2 2 0 1 212 32 90 15.5)"
	run -0 vgg-rf --input=32x32x1 -j vgg16 conv1_1
	jcheck 'd["input"], L["conv1_1"]["out"]' '[[1, 32, 32], [64, 32, 32]]'
}

@test "uneven input 224x256: per-axis figures" {
	run -0 vgg-rf -i 224x256 vgg16 fc6
	assert_line --index 2 --regexp '^fc6 +fc +7x8 +1 +0 +1x1 +404x436 +32 +90 +111\.5,127\.5$'
	run -0 vgg-rf -i 224x256 -j vgg16 fc6
	jcheck '[L["fc6"][k] for k in ("kernel", "rf", "jump", "pad", "center")]' \
		'[[7, 8], [404, 436], 32, 90, [111.5, 127.5]]'
}

# ---- custom stacks ----

@test "inline stack 'conv3-64 conv3-64 maxpool': pool1 rf 6, jump 2" {
	run -0 vgg-rf 'conv3-64 conv3-64 maxpool'
	assert_line --index 0 'custom: input 3x224x224'
	assert_line --regexp "$(row_re conv1_1 3 1 1 224 3 1 1 0.0)"
	assert_line --regexp "$(row_re conv1_2 3 1 1 224 5 1 2 0.0)"
	assert_line --regexp "$(row_re pool1 2 2 0 112 6 2 2 0.5)"
	assert_equal "${#lines[@]}" 5
	run -0 vgg-rf 'conv3-64 conv3-64 maxpool' pool1
	assert_line --index 2 --regexp "$(row_re pool1 2 2 0 112 6 2 2 0.5)"
}

@test "odd case 'conv5-8 maxpool conv3-8 maxpool' at 37x37, checked by hand" {
	# conv1_1 5x5 pad 2: rf 5, jump 1, P 2, centre (5-1)/2-2 = 0, 37x37
	# pool1: rf 5+1*1 = 6, jump 2, P 2, centre 2.5-2 = 0.5, floor(37/2) = 18
	# conv2_1 3x3 pad 1: rf 6+2*2 = 10, jump 2, P 2+1*2 = 4, centre 4.5-4 = 0.5, 18x18
	# pool2: rf 10+1*2 = 12, jump 4, P 4, centre 5.5-4 = 1.5, floor(18/2) = 9
	run -0 vgg-rf --input 37x37 'conv5-8 maxpool conv3-8 maxpool'
	assert_output - <<'EOF'
custom: input 3x37x37

layer   type     kernel stride pad      output     rf  jump eff-pad   center
conv1_1 conv        5x5      1   2       37x37      5     1       2      0.0
pool1   maxpool     2x2      2   0       18x18      6     2       2      0.5
conv2_1 conv        3x3      1   1       18x18     10     2       4      0.5
pool2   maxpool     2x2      2   0         9x9     12     4       4      1.5
EOF
	run -0 vgg-rf --input 37x37 --json 'conv5-8 maxpool conv3-8 maxpool'
	jcheck 'd["input"]' '[3, 37, 37]' \
		'[[l["name"], l["out"], l["rf"], l["jump"], l["pad"], l["center"]] for l in d["layers"]]' \
		'[["conv1_1", [8, 37, 37], 5, 1, 2, 0], ["pool1", [8, 18, 18], 6, 2, 2, 0.5], ["conv2_1", [8, 18, 18], 10, 2, 4, 0.5], ["pool2", [8, 9, 9], 12, 4, 4, 1.5]]'
	# last unit of pool2: 8*4-4 = 28 .. 28+12-1 = 39, clipped to the 37-pixel image: 36
	run -0 vgg-rf --input 37x37 --unit 8,8 'conv5-8 maxpool conv3-8 maxpool' pool2
	assert_line --index 0 'pool2 unit 8,8 (of 9x9) sees input'
	assert_line --index 1 '  unclipped: rows 28..39, columns 28..39 (12x12)'
	assert_line --index 2 '  clipped:   rows 28..36, columns 28..36 (9x9 of the 37x37 image)'
	check_bad_input --input 37x37 --unit 9,0 'conv5-8 maxpool conv3-8 maxpool' pool2
}

@test "a config file: model named after the file; bad file names FILE:LINE:COL" {
	cd "$BATS_TEST_TMPDIR"
	printf '# two blocks\ninput (28 × 28 Gray)\nConv3-32 conv3-32 MaxPool\nconv3-64 conv3-64 maxpool\nFC-10\n' >fm.net.cfg
	run -0 vgg-rf fm.net.cfg fc3
	assert_line --index 0 'fm.net: input 1x28x28'
	# pool2 rf 16, jump 4, P 6; fc3 is a 7x7 conv over pool2's 7x7: rf 16 + 6*4 = 40
	assert_line --index 2 --regexp "$(row_re fc3 7 1 0 1 40 4 6 13.5)"
	run -0 vgg-rf -j fm.net.cfg
	jcheck 'd["model"], d["input"], L["pool2"]["rf"], L["pool2"]["out"]' '["fm.net", [1, 28, 28], 16, [64, 7, 7]]'
	printf 'conv3-8\n\n  conv3-8 maxpol\n' >bad.cfg
	check_bad_input bad.cfg
	assert_regex "$stderr" "^vgg-rf: bad\.cfg:3:11: expected .*found 'maxpol'$"
	check_bad_input ./nope.cfg
	assert_regex "$stderr" "cannot open '\./nope\.cfg'"
	check_bad_input vgg17
	assert_regex "$stderr" "'vgg17'"
}

# ---- help, version, usage errors ----

@test "-h and --help: usage on stdout naming every option, exit 0" {
	local opt
	for opt in -h --help; do
		run -0 --separate-stderr vgg-rf "$opt"
		assert_equal "$stderr" ''
		assert_line --index 0 'Usage: vgg-rf [OPTION]... MODEL [LAYER]'
		assert_line --regexp '^   or: vgg-rf --equiv K \[--channels C\]'
		assert_line --regexp '^   or: vgg-rf --effective -m WEIGHTS \[OPTION\]\.\.\. \[IMAGE\]\.\.\.$'
		local o
		for o in '-u, --unit Y,X' '-e, --equiv K' '-C, --channels C' '-i, --input HxW\[xC\]' \
			'-d, --dense' '-E, --effective' '-m, --model WEIGHTS' '-l, --layer NAME' \
			'-o, --output FILE' '    --samples N' '    --seed N' '    --size HxW' '-j, --json' \
			'-h, --help' '-V, --version'; do
			assert_line --regexp "^  $o "
		done
	done
}

@test "-V and --version: 'vgg-rf (vgg) 0.1.0'" {
	run -0 --separate-stderr vgg-rf -V
	assert_output 'vgg-rf (vgg) 0.1.0'
	assert_equal "$stderr" ''
	run -0 vgg-rf --version
	assert_output 'vgg-rf (vgg) 0.1.0'
}

@test "unknown option: exit 2, message and --help hint on stderr" {
	check_usage_error --bogus vgg16
	assert_equal "${stderr_lines[0]}" "vgg-rf: unknown option '--bogus'"
	check_usage_error -x vgg16 pool5
}

@test "missing MODEL, too many operands, option without its value: exit 2" {
	check_usage_error
	assert_regex "${stderr_lines[0]}" 'MODEL'
	check_usage_error vgg16 pool5 pool4
	check_usage_error vgg16 --input
	check_usage_error --input 224 vgg16
	check_usage_error --input 0x5 vgg16
}

# ---- --effective ----

# The reduced-width vgg11 of make_net_goldens.py: 64x64 inputs, no preprocessing in its
# metadata (so torchvision's, cropped to 64x64), conv5_2 its last conv with a 4x4 output.
NET=$TOP/tests/data/net/vgg11.safetensors
DATA=$TOP/tests/data

# png_size FILE: "WIDTH HEIGHT" from a PNG's header, after checking its signature.
png_size() {
	python3 -c '
import struct, sys
d = open(sys.argv[1], "rb").read(24)
assert d[:8] == b"\x89PNG\r\n\x1a\n" and d[12:16] == b"IHDR", "not a PNG"
print("%d %d" % struct.unpack(">II", d[16:24]))' "$1"
}

@test "--effective -m: the last conv's centre unit over 16 random inputs" {
	run -0 --separate-stderr vgg-rf --effective -m "$NET"
	assert_equal "$stderr" ''
	assert_equal "${#lines[@]}" 6
	# conv5_2: rf 134, jump 16, eff-pad 59; unit 2 sees 2*16-59 = -27 .. -27+133 = 106
	assert_line --index 0 'vgg11-small conv5_2: centre unit 2,2 (of 4x4), 16 random inputs of 3x64x64'
	assert_line --index 1 '  theoretical: rf 134, rows -27..106, columns -27..106 (64x64 in the image)'
	assert_line --index 2 '  centre:      39.5,39.5'
	assert_line --index 3 --regexp '^  r50: +[0-9]+\.[0-9] pixels$'
	assert_line --index 4 --regexp '^  r90: +[0-9]+\.[0-9] pixels$'
	assert_line --index 5 '  inside box:  100.0% of the gradient'
}

@test "-E, -m and -l are --effective, --model and --layer" {
	run -0 vgg-rf --effective --model "$NET" --layer conv3_2
	local long=$output
	run -0 vgg-rf -E -m "$NET" -l conv3_2
	assert_output "$long"
	# conv3_2: rf 26, jump 4, eff-pad 11; unit 8 sees 32-11 = 21 .. 46, centred on 33.5
	assert_line --index 0 'vgg11-small conv3_2: centre unit 8,8 (of 16x16), 16 random inputs of 3x64x64'
	assert_line --index 1 '  theoretical: rf 26, rows 21..46, columns 21..46 (26x26 in the image)'
	assert_line --index 2 '  centre:      33.5,33.5'
}

@test "--effective --json: the figures, with box and clipped as for --unit" {
	run -0 vgg-rf --effective -m "$NET" --layer conv3_2 --json
	jcheck 'sorted(d)' '["box", "center", "clipped", "input", "inputs", "inside", "layer", "model", "r50", "r90", "rf", "seed", "unit"]' \
		'd["model"], d["layer"], d["unit"], d["input"]' '["vgg11-small", "conv3_2", [8, 8], [3, 64, 64]]' \
		'd["inputs"], d["seed"], d["rf"], d["center"], d["inside"]' '[16, 0, 26, 33.5, 1]' \
		'[d["box"][k] for k in ("y0", "y1", "x0", "x1")]' '[21, 46, 21, 46]' \
		'd["clipped"] == d["box"]' 'true' \
		'0 < d["r50"] < d["r90"] < 13 * 2 ** 0.5' 'true'
}

@test "--effective: a deeper layer's field is wider, and all of it lies inside the box" {
	local layer last50=0 last90=0
	for layer in conv1_1 conv2_1 conv3_1 conv3_2 conv4_1 conv4_2 conv5_1 conv5_2; do
		run -0 vgg-rf -E -m "$NET" -l "$layer" --samples 4 -j
		jcheck "d['r50'] > $last50 and d['r90'] > $last90 and d['r90'] >= d['r50']" 'true' \
			'd["inside"]' '1' 'd["layer"]' "$layer"
		last50=$(python3 -c 'import json, sys; print(json.load(sys.stdin)["r50"])' <<<"$output")
		last90=$(python3 -c 'import json, sys; print(json.load(sys.stdin)["r90"])' <<<"$output")
	done
	# conv1_1, a 3x3 conv: everything within the 9 pixels round the centre unit
	run -0 vgg-rf -E -m "$NET" -l conv1_1 -j
	jcheck 'd["box"]["y0"], d["box"]["y1"], d["center"]' '[31, 33, 32]' \
		'd["r90"] <= 2 ** 0.5' 'true'
}

@test "--output: the heat map as a PNG, written whole" {
	mkdir "$BATS_TEST_TMPDIR/heat"
	cd "$BATS_TEST_TMPDIR/heat"
	run -0 --separate-stderr vgg-rf -E -m "$NET" -l conv3_2 --output erf.png
	assert_equal "$stderr" ''
	assert_line --index 0 --regexp '^vgg11-small conv3_2: '
	# 64x64 scaled 8 times, a 12-pixel margin, the caption below
	assert_equal "$(png_size erf.png)" '536 628'
	run -0 vgg-rf -E -m "$NET" -o short.png
	assert_equal "$(png_size short.png)" '536 628'
	# no temporary file is left beside them
	assert_equal "$(ls)" $'erf.png\nshort.png'
	run -0 vgg-rf -E -m "$NET" -l conv1_1 --json -o json.png
	jcheck 'd["layer"]' 'conv1_1'
	[ -s json.png ]
	check_bad_input -E -m "$NET" -o no/such/dir/erf.png
	assert_regex "$stderr" "cannot write 'no/such/dir/erf\.png'"
}

@test "--samples and --seed: how many random inputs, and which" {
	cd "$BATS_TEST_TMPDIR"
	run -0 vgg-rf -E -m "$NET" -l conv3_1 --samples 3
	assert_line --index 0 'vgg11-small conv3_1: centre unit 8,8 (of 16x16), 3 random inputs of 3x64x64'
	run -0 vgg-rf -E -m "$NET" -l conv3_1 --samples 1
	assert_line --index 0 --regexp ', 1 random input of 3x64x64$'
	run -0 vgg-rf -E -m "$NET" -l conv3_1 --samples 5 --seed 9 -j
	jcheck 'd["inputs"], d["seed"]' '[5, 9]'
	# the same seed draws the same inputs; another, others
	vgg-rf -E -m "$NET" -l conv3_1 --samples 2 --seed 7 -o a.png >/dev/null
	vgg-rf -E -m "$NET" -l conv3_1 --samples 2 --seed 7 -o b.png >/dev/null
	vgg-rf -E -m "$NET" -l conv3_1 --samples 2 --seed 8 -o c.png >/dev/null
	vgg-rf -E -m "$NET" -l conv3_1 --samples 2 -o d.png >/dev/null
	vgg-rf -E -m "$NET" -l conv3_1 --samples 2 --seed 0 -o e.png >/dev/null
	cmp a.png b.png
	! cmp -s a.png c.png
	cmp d.png e.png
}

@test "--size: random inputs of another size; FC layers keep theirs" {
	run -0 vgg-rf -E -m "$NET" --size 96x96
	assert_line --index 0 'vgg11-small conv5_2: centre unit 3,3 (of 6x6), 16 random inputs of 3x96x96'
	run -0 vgg-rf -E -m "$NET" -l conv4_1 --size 48x80 -j
	jcheck 'd["input"], d["unit"], d["inside"]' '[[3, 48, 80], [3, 5], 1]'
	check_bad_input -E -m "$NET" -l fc6 --size 96x96
	assert_equal "$stderr" "vgg-rf: fc6's weights are for a 64x64 input, not 96x96"
	check_bad_input -E -m "$NET" --size 8x8
	assert_regex "$stderr" 'too small'
}

@test "--effective over IMAGEs, preprocessed as the weights say" {
	run -0 --separate-stderr vgg-rf -E -m "$NET" -l conv4_2 "$DATA/photo.jpg" "$DATA/small-rgb.png" \
		"$DATA/small-gray.png"
	assert_equal "$stderr" ''
	assert_line --index 0 'vgg11-small conv4_2: centre unit 4,4 (of 8x8), 3 images of 3x64x64'
	run -0 vgg-rf -E -m "$NET" -l conv4_2 -j "$DATA/photo.jpg"
	jcheck 'd["inputs"], "seed" in d, d["input"], d["inside"]' '[1, false, [3, 64, 64], 1]'
	run -0 vgg-rf -E -m "$NET" -l conv4_2 "$DATA/photo.jpg"
	assert_line --index 0 --regexp ', 1 image of 3x64x64$'
}

@test "--effective: a bad IMAGE is reported, the others measured, exit 1" {
	run -1 --separate-stderr vgg-rf -E -m "$NET" "$DATA/photo.jpg" "$DATA/nope.png" "$DATA/small.ppm"
	assert_line --index 0 --regexp ', 2 images of 3x64x64$'
	assert_equal "${#stderr_lines[@]}" 1
	assert_regex "$stderr" "^vgg-rf: cannot open '.*nope\.png'"
	check_bad_input -E -m "$NET" "$DATA/nope.png"
	check_bad_input -E -m "$NET" "$TOP/README.md"
	assert_regex "$stderr" 'README\.md'
}

@test "--effective: IMAGEs of another size than the first are reported, exit 1" {
	cd "$BATS_TEST_TMPDIR"
	# vgg11 with vgg.crop 0: each image keeps its aspect, its shorter side resized to 64
	python3 - "$NET" nocrop.safetensors <<'EOF'
import json, struct, sys
data = open(sys.argv[1], "rb").read()
(n,) = struct.unpack("<Q", data[:8])
header = json.loads(data[8:8 + n])
header["__metadata__"].update({"vgg.resize": "64", "vgg.crop": "0"})
text = json.dumps(header).encode()
text += b" " * (-len(text) % 8)
open(sys.argv[2], "wb").write(struct.pack("<Q", len(text)) + text + data[8 + n:])
EOF
	cp "$DATA/photo.jpg" "$DATA/small.ppm" "$DATA/preprocess/astronaut.cv.83x40.ppm" .
	# 129x97 and 63x47 both become 85x64; 83x40 becomes 132x64
	run -1 --separate-stderr vgg-rf -E -m nocrop.safetensors -l conv3_1 photo.jpg \
		astronaut.cv.83x40.ppm small.ppm
	assert_line --index 0 'vgg11-small conv3_1: centre unit 8,10 (of 16x21), 2 images of 3x64x85'
	assert_equal "$stderr" "vgg-rf: 'astronaut.cv.83x40.ppm' is 64x132 after preprocessing, not 64x85 as 'photo.jpg'"
}

@test "--effective: bad weights, layers and nets exit 1 with one line" {
	check_bad_input -E -m nope.safetensors
	assert_equal "$stderr" "vgg-rf: cannot open 'nope.safetensors': No such file or directory"
	check_bad_input --effective -m "$DATA/photo.jpg"
	assert_regex "$stderr" 'photo\.jpg'
	check_bad_input -E -m "$NET" --layer conv9_9
	assert_equal "$stderr" "vgg-rf: vgg11-small has no layer 'conv9_9'"
	check_bad_input -E -m "$NET" -l prob
	assert_equal "$stderr" 'vgg-rf: prob is the soft-max; take the layer before it'
	check_bad_input -E -m "$NET" -l conv9_9 "$DATA/photo.jpg"
}

@test "--effective usage errors: exit 2" {
	check_usage_error --effective
	assert_regex "${stderr_lines[0]}" 'needs --model'
	check_usage_error -m "$NET"
	assert_equal "${stderr_lines[0]}" 'vgg-rf: --model goes with --effective'
	check_usage_error --layer conv3_1 vgg16
	assert_equal "${stderr_lines[0]}" 'vgg-rf: --layer goes with --effective'
	check_usage_error -o erf.png vgg16
	check_usage_error --samples 4 vgg16
	check_usage_error --seed 4 vgg16
	check_usage_error --size 32x32 vgg16
	local other
	for other in '--unit 1,1' '--equiv 7' '--input 32x32' '--dense' '--channels 8'; do
		# shellcheck disable=SC2086
		check_usage_error -E -m "$NET" $other
	done
	check_usage_error -E -m "$NET" --samples 4 "$DATA/photo.jpg"
	assert_equal "${stderr_lines[0]}" 'vgg-rf: --samples is for random inputs, but IMAGEs were given'
	check_usage_error -E -m "$NET" --seed 1 "$DATA/photo.jpg"
	check_usage_error -E -m "$NET" --size 32x32 "$DATA/photo.jpg"
	check_usage_error -E -m "$NET" --samples 0
	check_usage_error -E -m "$NET" --samples x
	check_usage_error -E -m "$NET" --seed -1
	check_usage_error -E -m "$NET" --size 0x5
	check_usage_error -E -m "$NET" --size 32x32x3
	check_usage_error -E -m
}

# ---- the man page ----


@test "every example in man/vgg-rf.1 runs with exit 0" {
	local page=$TOP/man/vgg-rf.1 cmd n=0
	[ -f "$page" ] || skip "man/vgg-rf.1 is not written yet"
	cd "$BATS_TEST_TMPDIR"
	# The --effective examples' files: the reduced-width VGG-16 and a photograph.
	ln -s "$TOP/tests/data/net/vgg16.safetensors" vgg16.safetensors
	ln -s "$TOP/tests/data/photo.jpg" cat.jpg
	ln -s "$TOP/tests/data/photo.jpg" dog.jpg
	while IFS= read -r -d '' cmd; do
		n=$((n + 1))
		run bash -c "$cmd" </dev/null
		[ "$status" -eq 0 ] || fail "man page example exited $status: $cmd"$'\n'"$output"
		[ -n "$output" ] || fail "man page example printed nothing: $cmd"
	done < <(man_examples "$page" vgg-rf)
	[ "$n" -gt 0 ] || skip "man/vgg-rf.1 has no vgg-rf examples yet"
}
