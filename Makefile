# glia: GNU Make build. `make` builds the library (static + shared) and the glia command;
# `make test` runs the tests, then again under AddressSanitizer + UndefinedBehaviorSanitizer.
CC      ?= cc
PREFIX  ?= /usr/local
OPT     ?= -O3
CFLAGS  ?=
# -fno-math-errno: glia never reads errno after sqrtf or expf, and with it loops over them
# vectorise (Adam's update: src/train/optim.c)
WARN     = -std=c11 -Wall -Wextra -Werror -Wshadow -Wno-unused-parameter
OMP      = -fopenmp
BASE_CFLAGS = $(WARN) $(OPT) -fno-math-errno $(OMP) -fPIC -D_POSIX_C_SOURCE=200809L -Iinclude -Isrc $(CFLAGS)
LIBS     = -lopenblas -lstb -lz -lprotobuf-c -lm
SAN      = -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
# Data-parallel training (src/train/dist.c) with MPI: built in when mpicc is there
# (scripts/install-deps --mpi), or with MPI=1; MPI=0 builds without (one process).
MPI     ?= $(if $(shell command -v mpicc 2>/dev/null),1,0)
ifeq ($(MPI),1)
BASE_CFLAGS += -DGLIA_MPI $(shell mpicc --showme:compile)
LIBS    += $(shell mpicc --showme:link)
endif

LIB_SRC  = $(sort $(wildcard src/*/*.c))
TOOL_SRC = $(sort $(wildcard tools/*.c))
TEST_SRC = $(sort $(wildcard tests/*.c))

B        = build
LIB_OBJ  = $(LIB_SRC:%.c=$(B)/%.o)
TOOL_OBJ = $(TOOL_SRC:%.c=$(B)/%.o)
TEST_OBJ = $(TEST_SRC:%.c=$(B)/%.o)
SB       = build/san
SLIB_OBJ = $(LIB_SRC:%.c=$(SB)/%.o)
STEST_OBJ= $(TEST_SRC:%.c=$(SB)/%.o)

.PHONY: all test test-fast test-sanitize install uninstall clean demo golden zoo train bench fuzz fuzz-build fuzz-seeds valgrind char-lm onnx-ref onnx-export
all: $(B)/libglia.a $(B)/libglia.so $(B)/glia

$(B)/%.o: %.c include/glia.h src/core/internal.h src/ops/op_list.h
	@mkdir -p $(dir $@)
	@echo CC $<; $(CC) $(BASE_CFLAGS) -MMD -MP -c $< -o $@
$(SB)/%.o: %.c include/glia.h src/core/internal.h src/ops/op_list.h
	@mkdir -p $(dir $@)
	@echo CC-SAN $<; $(CC) $(BASE_CFLAGS) -O1 -g $(SAN) -c $< -o $@

$(B)/libglia.a: $(LIB_OBJ)
	rm -f $@ && ar rcs $@ $^
$(B)/libglia.so: $(LIB_OBJ)
	$(CC) -shared $(OMP) -o $@ $^ $(LIBS)
$(B)/glia: $(TOOL_OBJ) $(B)/libglia.a
	$(CC) $(OMP) -o $@ $(TOOL_OBJ) $(B)/libglia.a $(LIBS)
$(B)/glia-bench: $(B)/bench/bench.o $(B)/libglia.a
	$(CC) $(OMP) -o $@ $< $(B)/libglia.a $(LIBS)
$(B)/run_tests: $(TEST_OBJ) $(B)/libglia.a
	$(CC) $(OMP) -o $@ $(TEST_OBJ) $(B)/libglia.a $(LIBS)
$(SB)/run_tests: $(STEST_OBJ) $(SLIB_OBJ)
	$(CC) $(OMP) $(SAN) -o $@ $^ $(LIBS)

# The plain suite, then the same suite under ASan + UBSan (leak checking on), in that order.
test:
	$(MAKE) test-fast
	$(MAKE) test-sanitize
test-fast: $(B)/run_tests $(B)/glia
	./$(B)/run_tests
	./tests/cli_test.sh $(B)/glia
	./tests/kill_test.sh $(B)/glia
	./tests/crossload_test.sh $(B)
	./tests/mpi_test.sh $(B)/glia
	B=$(B) CC=$(CC) ./tests/install_test.sh
	./tests/onnx_ref_test.sh $(B)/glia
	./tests/onnx_export_test.sh $(B)/glia $(ONNX_EXPORT_FAST)
test-sanitize: $(SB)/run_tests
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 OMP_NUM_THREADS=2 ./$(SB)/run_tests

demo: $(B)/glia
	./$(B)/glia demo

# The main job: fetch Fashion-MNIST (Debian's dataset-fashion-mnist) and train LeNet-5 on it.
train: $(B)/glia
	scripts/fetch-data fashion-mnist
	./$(B)/glia train models/lenet5.cfg --data fashion-mnist --out runs/lenet5

# The speed benchmarks, side by side with PyTorch (Debian's python3-torch): a Markdown table; then
# glia against onnxruntime on the same .onnx files (scripts/onnx/install-ort; skipped without it).
bench: $(B)/glia-bench $(B)/glia
	/usr/bin/python3 bench/run.py --build $(B)
	./bench/onnx_bench.sh $(B)

# Character-level LSTM language model on Moby Dick, then text from it (README: recurrent networks).
char-lm: $(B)/glia
	scripts/fetch-data text
	./$(B)/glia train models/char-lstm.cfg --data moby-dick --out runs/char-lstm
	./$(B)/glia generate runs/char-lstm --prime "Call me" --length 500 --temperature 0.8 --seed 1

# glia's ONNX import against PyTorch on every reference network (make test runs a few): torchvision's
# CNNs and an LSTM and a GRU model, exported with seeded weights (scripts/install-deps --golden).
ONNX_REF_ALL = alexnet vgg11_bn googlenet resnet18 resnet50 resnext50_32x4d densenet121 squeezenet1_1 \
               mobilenet_v2 mobilenet_v3_small lstm gru
onnx-ref: $(B)/glia
	./tests/onnx_ref_test.sh $(B)/glia $(ONNX_REF_ALL)

# glia export of every model in models/ against onnx.checker, onnxruntime and glia's import
# (make test: the models with glia's own ops, written as ONNX functions, and the small ones).
ONNX_EXPORT_FAST = models/lenet5-bwn.cfg models/lenet5-xnor.cfg models/vgg-small-xnor.cfg \
                   models/sentiment-trigram.cfg models/g2p-small.cfg models/char-clockwork.cfg \
                   models/char-scrn.cfg models/gap-cnn.cfg models/tagger-bilstm.cfg \
                   tests/models/onnx_attention_additive.cfg tests/models/onnx_local_pad.cfg \
                   tests/models/onnx_cells.cfg tests/models/onnx_pools.cfg
onnx-export: $(B)/glia
	./tests/onnx_export_test.sh $(B)/glia

# Regenerates tests/golden/ from PyTorch (needs Debian's python3-torch).
golden:
	/usr/bin/python3 scripts/golden/gen_all.py

# The model zoo (models/zoo) from its tables, and torchvision's counts and shapes that
# tests/test_zoo.c checks it against (scripts/install-deps --golden: python3-torchvision).
zoo:
	/usr/bin/python3 scripts/zoo-gen.py
	/usr/bin/python3 scripts/zoo-counts.py

# The unit tests and a small end-to-end training run under valgrind memcheck (scripts/install-deps
# --valgrind); tests/valgrind.supp holds the few suppressions, each with its reason. The wait
# policy is set so that the programs do not execute themselves again (src/core/thread_env.h),
# which would leave valgrind behind.
VG = valgrind --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite,indirect \
     --suppressions=tests/valgrind.supp --quiet
valgrind: $(B)/run_tests $(B)/glia
	OMP_NUM_THREADS=1 OMP_WAIT_POLICY=passive OPENBLAS_THREAD_TIMEOUT=4 $(VG) ./$(B)/run_tests
	OMP_NUM_THREADS=1 OMP_WAIT_POLICY=passive OPENBLAS_THREAD_TIMEOUT=4 $(VG) ./$(B)/glia demo --steps 20

# libFuzzer targets for every reader (tests/fuzz/fuzz_*.c), built with clang, ASan and UBSan
# (scripts/install-deps --fuzz). `make fuzz` runs each for FUZZ_SECONDS and fails on a finding;
# `make fuzz-seeds` rewrites the committed seed corpora in tests/fuzz/corpus/.
FUZZ_SECONDS ?= 60
FUZZ_CC  ?= clang
FB        = build/fuzz
FUZZ_SAN  = -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
FUZZ_TARGETS = $(patsubst tests/fuzz/%.c,%,$(sort $(wildcard tests/fuzz/fuzz_*.c)))
FLIB_OBJ  = $(LIB_SRC:%.c=$(FB)/%.o)
$(FB)/%.o: %.c include/glia.h src/core/internal.h
	@mkdir -p $(dir $@)
	@echo CC-FUZZ $<; $(FUZZ_CC) $(BASE_CFLAGS) -O1 -g $(FUZZ_SAN) -fsanitize=fuzzer-no-link -c $< -o $@
$(FB)/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz.h $(FLIB_OBJ)
	@echo LINK-FUZZ $@; $(FUZZ_CC) $(BASE_CFLAGS) -O1 -g $(FUZZ_SAN) -fsanitize=fuzzer -o $@ $< $(FLIB_OBJ) $(LIBS)
.SECONDARY: $(FLIB_OBJ)
fuzz-build: $(FUZZ_TARGETS:%=$(FB)/%)
fuzz: fuzz-build
	tests/fuzz/run.sh $(FB) $(FUZZ_SECONDS) $(FUZZ_TARGETS)
fuzz-seeds: $(B)/libglia.a
	$(CC) $(BASE_CFLAGS) -o $(B)/make_seeds tests/fuzz/make_seeds.c $(B)/libglia.a $(LIBS)
	./$(B)/make_seeds tests/fuzz/corpus && rm -rf tests/fuzz/ckpt-tmp

install: all
	install -d $(DESTDIR)$(PREFIX)/include $(DESTDIR)$(PREFIX)/lib/pkgconfig $(DESTDIR)$(PREFIX)/bin
	install -m 644 include/glia.h $(DESTDIR)$(PREFIX)/include/
	install -m 644 $(B)/libglia.a $(DESTDIR)$(PREFIX)/lib/
	install -m 755 $(B)/libglia.so $(DESTDIR)$(PREFIX)/lib/
	install -m 755 $(B)/glia $(DESTDIR)$(PREFIX)/bin/
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBS@|$(LIBS)|' -e 's|@VERSION@|$(shell sed -n 's/#define GLIA_VERSION "\(.*\)"/\1/p' include/glia.h)|' glia.pc.in > $(DESTDIR)$(PREFIX)/lib/pkgconfig/glia.pc
uninstall:
	rm -f $(PREFIX)/include/glia.h $(PREFIX)/lib/libglia.a $(PREFIX)/lib/libglia.so $(PREFIX)/bin/glia $(PREFIX)/lib/pkgconfig/glia.pc

clean:
	rm -rf build

-include $(LIB_OBJ:.o=.d) $(TOOL_OBJ:.o=.d) $(TEST_OBJ:.o=.d) $(B)/bench/bench.d
