#!/usr/bin/env bats
# Full-size nets against Debian's torchvision, when it is installed (the committed goldens
# cover reduced-width nets on every machine; see tests/golden/).
load test_helper
bats_require_minimum_version 1.5.0

@test "vgg11, vgg16, vgg16_bn at full size agree with torchvision (skipped without torch)" {
	/usr/bin/python3 -c 'import torch, torchvision, numpy' 2>/dev/null ||
		skip "python3-torch, python3-torchvision and python3-numpy are not installed"
	run -0 /usr/bin/python3 "$TOP/tests/golden/check_full_size.py" "$VGG_BUILD"
	refute_output --partial FAIL
	assert_line --partial 'ok vgg16 fc8 logits'
	assert_line --partial 'ok vgg16_bn dense fc8 at 256x256'
	assert_line --partial 'ok vgg16_bn --to pytorch loads into torchvision'
}
