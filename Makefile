# Makefile for the vgg suite.  `make` builds, `make check` tests, `make install` installs
# (honouring PREFIX and DESTDIR).  A fresh clone needs no step first: config.mk is written
# by ./configure when it is missing.

include config.mk

B = build$(if $(filter 1,$(SANITIZE)),-sanitize)
SOVERSION = 0

LIB_SRC = $(wildcard lib/*.c)
LIB_OBJ = $(LIB_SRC:lib/%.c=$(B)/lib/%.o) $(B)/lib/builtin_configs.o
CONFIGS = $(sort $(wildcard share/vgg/*.cfg))
LABELS = $(sort $(wildcard share/vgg/labels/*.txt))
TOOLS = vgg-inspect vgg-rf vgg-predict vgg-convert vgg-train
BINS = $(TOOLS:%=$(B)/%)
CLI_OBJ = $(B)/cmd/cli.o
UNIT_SRC = $(wildcard tests/unit/test_*.c)
UNIT_BINS = $(UNIT_SRC:tests/unit/%.c=$(B)/tests/%)
MANS = $(wildcard man/*.1 man/*.5)

ALL_CFLAGS = -std=c11 -D_GNU_SOURCE -fPIC -MMD -MP -Ilib $(DEP_CFLAGS) $(CFLAGS)
ifeq ($(SANITIZE),1)
ALL_CFLAGS += -fsanitize=address,undefined -fno-omit-frame-pointer
LDFLAGS += -fsanitize=address,undefined
endif

all: $(B)/libvgg.a $(B)/libvgg.so $(BINS)

config.mk:
	./configure

# The layer kernels' inner loops (ReLU masks, bias sums, pooling) must vectorize, which
# GCC does at -O2 only for the simplest loops.
KERNELS = conv pool lrn batchnorm softmax train winograd
$(KERNELS:%=$(B)/lib/%.o): KERNEL_CFLAGS = -O3

$(B)/lib/%.o: lib/%.c config.mk
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(KERNEL_CFLAGS) -c $< -o $@

$(B)/lib/builtin_configs.c: lib/embed.awk $(CONFIGS) $(LABELS)
	@mkdir -p $(@D)
	awk -f lib/embed.awk $(CONFIGS) $(LABELS) > $@.tmp && mv $@.tmp $@

$(B)/lib/builtin_configs.o: $(B)/lib/builtin_configs.c
	$(CC) $(ALL_CFLAGS) -c $< -o $@

$(B)/libvgg.a: $(LIB_OBJ)
	rm -f $@
	ar rcs $@ $(LIB_OBJ)

$(B)/libvgg.so: $(LIB_OBJ)
	$(CC) -shared -Wl,-soname,libvgg.so.$(SOVERSION) $(LDFLAGS) -o $@ $(LIB_OBJ) $(DEP_LIBS)

$(B)/cmd/%.o: cmd/%.c config.mk
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

$(B)/vgg-%: $(B)/cmd/vgg-%.o $(CLI_OBJ) $(B)/libvgg.a
	$(CC) $(LDFLAGS) -o $@ $< $(CLI_OBJ) $(B)/libvgg.a $(DEP_LIBS)

# With MPI (see ./configure), vgg-train runs as the ranks of a job; cmd/train_mpi.c alone
# holds the MPI code, and the library knows nothing of it.
ifeq ($(HAVE_MPI),1)
TRAIN_MPI_OBJ = $(B)/cmd/train_mpi.o
$(B)/cmd/vgg-train.o $(TRAIN_MPI_OBJ): ALL_CFLAGS += -DVGG_MPI $(MPI_CFLAGS)
endif
$(B)/vgg-train: $(B)/cmd/vgg-train.o $(TRAIN_MPI_OBJ) $(CLI_OBJ) $(B)/libvgg.a
	$(CC) $(LDFLAGS) -o $@ $< $(TRAIN_MPI_OBJ) $(CLI_OBJ) $(B)/libvgg.a $(DEP_LIBS) $(MPI_LIBS)

$(B)/tests/%: tests/unit/%.c $(B)/libvgg.a
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -Itests/unit $(LDFLAGS) -o $@ $< $(B)/libvgg.a $(DEP_LIBS)

$(B)/bench/%: bench/%.c $(B)/libvgg.a
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $< $(B)/libvgg.a $(DEP_LIBS)

# The fault tests' LD_PRELOAD library, which kills a program in the middle of a write.
$(B)/tests/killwrite.so: tests/bats/killwrite.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -fPIC -shared -o $@ $< -ldl

check: all $(UNIT_BINS) $(B)/tests/killwrite.so
	VGG_BUILD=$(CURDIR)/$(B) SANITIZE=$(SANITIZE) sh tests/run.sh $(UNIT_BINS)

# The C unit tests under valgrind (a few minutes): any invalid access or leak fails.  On the
# plain build: valgrind and the sanitizers do not mix.
valgrind: $(UNIT_BINS)
	@test "$(SANITIZE)" != 1 || { echo "make valgrind: not with SANITIZE=1" >&2; exit 2; }
	@failed=0; for t in $(UNIT_BINS); do \
		echo "valgrind $$t"; \
		valgrind -q --leak-check=full --error-exitcode=1 $$t >$$t.valgrind 2>&1 || \
			{ cat $$t.valgrind; echo "valgrind: $$t failed" >&2; failed=1; }; \
	done; exit $$failed

install: all
	mkdir -p $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib $(DESTDIR)$(PREFIX)/include \
		$(DESTDIR)$(PREFIX)/share/man/man1 $(DESTDIR)$(PREFIX)/share/man/man5 \
		$(DESTDIR)$(PREFIX)/share/vgg
	cp $(BINS) $(DESTDIR)$(PREFIX)/bin/
	cp $(B)/libvgg.a $(DESTDIR)$(PREFIX)/lib/
	cp $(B)/libvgg.so $(DESTDIR)$(PREFIX)/lib/libvgg.so.$(SOVERSION)
	ln -sf libvgg.so.$(SOVERSION) $(DESTDIR)$(PREFIX)/lib/libvgg.so
	cp lib/vgg.h $(DESTDIR)$(PREFIX)/include/
	cp $(filter %.1,$(MANS)) $(DESTDIR)$(PREFIX)/share/man/man1/
	cp $(filter %.5,$(MANS)) $(DESTDIR)$(PREFIX)/share/man/man5/
	cp -R share/vgg/. $(DESTDIR)$(PREFIX)/share/vgg/

uninstall:
	rm -f $(TOOLS:%=$(DESTDIR)$(PREFIX)/bin/%) $(DESTDIR)$(PREFIX)/include/vgg.h \
		$(DESTDIR)$(PREFIX)/lib/libvgg.a $(DESTDIR)$(PREFIX)/lib/libvgg.so \
		$(DESTDIR)$(PREFIX)/lib/libvgg.so.$(SOVERSION)
	rm -f $(MANS:man/%=$(DESTDIR)$(PREFIX)/share/man/man1/%) \
		$(MANS:man/%=$(DESTDIR)$(PREFIX)/share/man/man5/%)
	rm -rf $(DESTDIR)$(PREFIX)/share/vgg

clean:
	rm -rf $(B) $(FUZZ_B)

distclean: clean
	rm -f config.mk config.log

-include $(wildcard $(B)/*/*.d $(B)/*/*/*.d)

# One libFuzzer harness per parser (fuzz/fuzz_*.c) over a build of the library with clang's
# coverage, AddressSanitizer and UndefinedBehaviorSanitizer, and their seed corpora
# (fuzz/corpus.sh); fuzz/run.sh runs one.  doc/robustness.md has the figures.
FUZZ_B = build-fuzz
FUZZ_CC = clang
FUZZ_SAN = -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
FUZZ_CFLAGS = -std=c11 -D_GNU_SOURCE -g -O1 -MMD -MP -Ilib $(DEP_CFLAGS) $(FUZZ_SAN)
FUZZERS = $(patsubst fuzz/%.c,$(FUZZ_B)/%,$(wildcard fuzz/fuzz_*.c))

fuzz: $(FUZZERS)
	sh fuzz/corpus.sh

$(FUZZ_B)/lib/%.o: lib/%.c config.mk
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c $< -o $@

$(FUZZ_B)/lib/builtin_configs.o: $(B)/lib/builtin_configs.c
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -c $< -o $@

$(FUZZ_B)/libvgg.a: $(LIB_OBJ:$(B)/%=$(FUZZ_B)/%)
	rm -f $@
	ar rcs $@ $^

$(FUZZ_B)/fuzz_%: fuzz/fuzz_%.c fuzz/fuzz.h $(FUZZ_B)/libvgg.a
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< $(FUZZ_B)/libvgg.a $(DEP_LIBS)

-include $(wildcard $(FUZZ_B)/*.d $(FUZZ_B)/lib/*.d)

# The shipped default model, trained by vgg-train on Debian's dataset-fashion-mnist: 93.7%
# test accuracy after 10 epochs, 17 minutes on two cores.
FASHION = /usr/share/datasets/fashion-mnist
model: all
	@test -f $(FASHION)/train-images-idx3-ubyte.gz || \
	{ [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
	  echo "installing dataset-fashion-mnist" && apt-get install -y dataset-fashion-mnist; } || \
	{ echo "make model needs Fashion-MNIST: apt-get install dataset-fashion-mnist" >&2; exit 1; }
	$(B)/vgg-train --threads 2 --seed 1 --arch share/vgg/models/fashion-mnist.cfg \
		--train $(FASHION)/train-images-idx3-ubyte.gz \
		--val $(FASHION)/t10k-images-idx3-ubyte.gz --labels fashion-mnist \
		--init kaiming --schedule cosine --warmup 1 --epochs 10 --batch 128 --lr 0.1 \
		--dropout 0 \
		--pad 2 --checkpoint $(B)/fashion-mnist.ckpt --log $(B)/fashion-mnist.log \
		--plot $(B)/fashion-mnist.png -o share/vgg/models/fashion-mnist.safetensors

.PHONY: all check fuzz valgrind model install uninstall clean distclean
.SECONDARY:
