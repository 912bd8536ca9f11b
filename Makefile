# dg — deep generative models as small Unix tools.
#
# Targets: all (default), check, valgrind, bench, fuzz, install, uninstall, deps,
# lint-man, extractor, clean.  Variables: CC, PREFIX, DESTDIR, SANITIZE=1, BUILD.
#
# Sources are found by wildcard so that adding a file needs no edit here:
#   libcore/*.c libcore/<area>/*.c               -> $(BUILD)/lib/libdg.so
#   tools/dg-*.c                                -> $(BUILD)/bin/dg-*
#   plugins/<family>.c or plugins/<family>/*.c  -> $(BUILD)/lib/dg/dg-<family>.so
#   shaders/*.comp                              -> SPIR-V embedded in libdg
#   tests/t_*.c                                 -> $(BUILD)/tests/t_* (TAP)
#     (one that includes an internal header links libdg-internal.a)
#   tests/*.t                                   -> shell TAP tests
#   tests/fuzz/fuzz_*.c                         -> $(BUILD)/fuzz/fuzz_* (make fuzz)
#   bench/b_*.c                                 -> $(BUILD)/bench/b_* (make bench)

VERSION   := 0.1.0
PREFIX    ?= /usr/local
DESTDIR   ?=
BINDIR    ?= $(PREFIX)/bin
LIBDIR    ?= $(PREFIX)/lib
PLUGINDIR ?= $(LIBDIR)/dg
INCDIR    ?= $(PREFIX)/include
MANDIR    ?= $(PREFIX)/share/man

SANITIZE ?= 0
ifeq ($(SANITIZE),1)
BUILD    ?= build-san
SANFLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
# libcore/sanitize.c says why sanitizer builds keep shared objects loaded
SANDEFS  := -DDG_SANITIZE
# ... which a program linking libdg-internal.a does through its own
# dlclose, linked as an object (libasan's interceptor would satisfy the
# reference before the archive member) and exported for the libraries it
# opens.
SAN_EXE_LDFLAGS = $(BUILD)/obj/libcore/sanitize.o -Wl,--export-dynamic-symbol=dlclose
# LeakSanitizer's tracking of dynamic TLS (gcc 12's runtime, glibc 2.36)
# reads a bogus range for a library opened with dlopen, as libdnnl and
# its libgomp are, and crashes at exit ("Tracer caught signal 11"); dg
# keeps nothing in such TLS.  Run sanitized programs with this option.
SAN_ENV  := ASAN_OPTIONS=intercept_tls_get_addr=0$${ASAN_OPTIONS:+:$$ASAN_OPTIONS}
else
BUILD    ?= build
SANFLAGS :=
SANDEFS  :=
SAN_EXE_LDFLAGS :=
SAN_ENV  :=
endif

PKGS      := libarchive libpng zlib
# Data-parallel training over MPI: run/dist_mpi.c is the module
# $(BUILD)/lib/dg/mpi.so, which libdg opens only under mpirun, so libdg
# and the tools never link Open MPI.  MPI=1 asks for it, MPI=0 leaves it
# out; by default it is built when pkg-config finds Open MPI (ompi-c).
# Without it dg-train refuses to run as one of several ranks.
MPI ?= $(shell pkg-config --exists ompi-c && echo 1 || echo 0)
DIST_SKIP := libcore/run/dist_mpi.c
ifeq ($(MPI),1)
MPI_MODULE := $(BUILD)/lib/dg/mpi.so
endif
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) vulkan)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS))
# Vulkan is never linked: volk loads the loader at run time, so dg runs
# (on the cpu device) where libvulkan1 is missing.
VOLK_SRC  := /usr/include/volk.c

WARN      := -Wall -Wextra -Werror
CFLAGS    ?= -O2 -g
ALL_CFLAGS = -std=c11 $(WARN) $(CFLAGS) $(SANFLAGS) $(SANDEFS) -fPIC -pthread \
             -D_GNU_SOURCE -DVK_NO_PROTOTYPES \
             -DDG_VERSION='"$(VERSION)"' -DDG_PLUGINDIR='"$(PLUGINDIR)"' \
             -Ilibcore/include -Ilibcore -I$(BUILD)/gen $(PKG_CFLAGS)
# Nor is oneDNN: libdg opens it at the first cpu plan (cpu/dnnl_load.c),
# so a tool that does not compute on the cpu does not load it.
LIBS      := $(PKG_LIBS) -ldl -lm -pthread
RPATH     := -Wl,-rpath,'$$ORIGIN/../lib'

LIB       := $(BUILD)/lib/libdg.so
# The same objects as an archive, for tests and benchmarks of internals.
LIB_INTERNAL := $(BUILD)/lib/libdg-internal.a
LIB_SRC   := $(filter-out $(DIST_SKIP),$(sort $(wildcard libcore/*.c libcore/*/*.c)))
LIB_OBJ   := $(LIB_SRC:%.c=$(BUILD)/obj/%.o) $(BUILD)/obj/volk.o $(BUILD)/obj/gen/shaders.o
HEADERS   := $(wildcard libcore/include/*.h libcore/include/dg/*.h libcore/*.h libcore/*/*.h)
# libdg exports its API and nothing else: its objects are compiled with
# hidden visibility, the public headers declared first with default
# visibility (libcore/exports.h).
LIB_CFLAGS := -fvisibility=hidden -include libcore/exports.h

# A test or benchmark that includes an internal header (libcore/<area>/,
# not include/) reaches symbols libdg.so does not export: it links
# libdg-internal.a instead.  Such a program must not load plugins: a plugin
# links libdg.so, and two copies of libdg in one process do not mix.
INTERNAL_AREAS := $(filter-out include,$(patsubst libcore/%/,%,$(wildcard libcore/*/)))
INTERNAL_RE := ^.include "($(subst $(eval) ,|,$(INTERNAL_AREAS)))/
INTERNAL_SRC := $(shell grep -lE '$(INTERNAL_RE)' tests/t_*.c bench/b_*.c 2>/dev/null)
# How a test or benchmark ($<) links libdg.
LINK_DG = $(if $(filter $<,$(INTERNAL_SRC)),$(LIB_INTERNAL) $(SAN_EXE_LDFLAGS), \
	    -L$(BUILD)/lib -ldg -Wl,-rpath,'$(abspath $(BUILD))/lib')

TOOL_SRC  := $(sort $(wildcard tools/dg-*.c))
TOOLS     := $(TOOL_SRC:tools/%.c=$(BUILD)/bin/%)

PLUGIN_FILES := $(wildcard plugins/*.c)
PLUGIN_DIRS  := $(patsubst %/,%,$(dir $(wildcard plugins/*/*.c)))
PLUGIN_NAMES := $(sort $(PLUGIN_FILES:plugins/%.c=%) $(PLUGIN_DIRS:plugins/%=%))
PLUGINS      := $(PLUGIN_NAMES:%=$(BUILD)/lib/dg/dg-%.so)

SHADER_SRC := $(sort $(wildcard shaders/*.comp))
SHADER_SPV := $(SHADER_SRC:shaders/%.comp=$(BUILD)/spv/%.spv)
GLSLC      ?= glslc
SPIRV_VAL  ?= spirv-val

TEST_SRC  := $(sort $(wildcard tests/t_*.c))
TEST_BINS := $(TEST_SRC:tests/%.c=$(BUILD)/tests/%)
# tests/mpi.t runs mpirun: a build without MPI leaves it out
TEST_SH   := $(filter-out $(if $(filter 1,$(MPI)),,tests/mpi.t),$(sort $(wildcard tests/*.t)))

BENCH_SRC  := $(sort $(wildcard bench/b_*.c))
BENCH_BINS := $(BENCH_SRC:bench/%.c=$(BUILD)/bench/%)

FUZZ_SRC  := $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZ_BINS := $(FUZZ_SRC:tests/fuzz/%.c=$(BUILD)/fuzz/%)

MAN_PAGES := $(sort $(wildcard man/*.[1-8]))

.PHONY: all check valgrind bench fuzz install uninstall deps lint-man extractor clean tests
.DELETE_ON_ERROR:

all: $(LIB) $(TOOLS) $(PLUGINS) $(MPI_MODULE) $(BUILD)/dg.pc

# ---- libdg -------------------------------------------------------------

$(BUILD)/obj/%.o: %.c $(HEADERS) | $(BUILD)/gen/shaders.h
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(LIB_CFLAGS) -c $< -o $@

$(BUILD)/obj/volk.o: $(VOLK_SRC) Makefile
	@mkdir -p $(@D)
	$(CC) -std=c11 -O2 -g -fPIC -fvisibility=hidden $(SANFLAGS) -DVK_NO_PROTOTYPES -w -c $< -o $@

$(BUILD)/obj/gen/shaders.o: $(BUILD)/gen/shaders.c Makefile
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(LIB_CFLAGS) -c $< -o $@

# -z defs: a function that the op list names and nobody wrote fails here
# (sanitizer runtimes resolve only in executables, so not with SANITIZE=1).
LIB_DEFS := $(if $(filter 1,$(SANITIZE)),,-Wl,-z,defs)
$(LIB): $(LIB_OBJ)
	@mkdir -p $(@D)
	$(CC) -shared -Wl,-soname,libdg.so.0 $(LIB_DEFS) $(SANFLAGS) -o $@ $(LIB_OBJ) $(LIBS)
	ln -sf libdg.so $(BUILD)/lib/libdg.so.0

$(LIB_INTERNAL): $(LIB_OBJ)
	@mkdir -p $(@D)
	rm -f $@
	$(AR) rcs $@ $(LIB_OBJ)

# ---- shaders: glslc -> spirv-val -> C arrays ---------------------------

# Shaders include shaders/*.glsl and libcore/vk/kernel_codes.h, the
# numbers they share with the C recorders.
$(BUILD)/spv/%.spv: shaders/%.comp $(wildcard shaders/*.glsl) libcore/vk/kernel_codes.h
	@mkdir -p $(@D)
	$(GLSLC) --target-env=vulkan1.1 -O -Ishaders -Ilibcore -o $@ $<
	$(SPIRV_VAL) --target-env vulkan1.1 $@

$(BUILD)/gen/shaders.c $(BUILD)/gen/shaders.h &: $(SHADER_SPV) shaders/embed.sh
	@mkdir -p $(BUILD)/gen
	sh shaders/embed.sh $(BUILD)/gen $(SHADER_SPV)

# ---- tools and plugins -------------------------------------------------

.SECONDEXPANSION:

$(BUILD)/bin/%: tools/%.c $(LIB) $(HEADERS)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -o $@ $< -L$(BUILD)/lib -ldg $(RPATH) $(LIBS)

$(BUILD)/lib/dg/dg-%.so: $(LIB) $(HEADERS) $$(wildcard plugins/%.c plugins/%/*.c)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -shared -o $@ $(filter %.c,$^) -L$(BUILD)/lib -ldg -Wl,-rpath,'$$ORIGIN/..'

$(BUILD)/lib/dg/mpi.so: libcore/run/dist_mpi.c $(LIB) $(HEADERS)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(shell pkg-config --cflags ompi-c) -shared -o $@ $< \
	  -L$(BUILD)/lib -ldg -Wl,-rpath,'$$ORIGIN/..' $(shell pkg-config --libs ompi-c)

# ---- tests -------------------------------------------------------------

$(BUILD)/tests/%: tests/%.c tests/tap.h $(LIB) $(LIB_INTERNAL) $(HEADERS)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -Itests -o $@ $< $(LINK_DG) $(LIBS)

tests: all $(TEST_BINS)

# Tests find the build through DG_BUILD and the tools on PATH.  Set
# TESTS='...' to run a subset, PROVE_FLAGS for prove's own options.
TESTS ?= $(TEST_BINS) $(TEST_SH)
PROVE_FLAGS ?= -j2
check: tests
	$(SAN_ENV) DG_BUILD=$(abspath $(BUILD)) DG_SRC=$(CURDIR) \
	PATH=$(abspath $(BUILD))/bin:$$PATH \
	DG_PLUGIN_PATH=$(abspath $(BUILD))/lib/dg \
	prove $(PROVE_FLAGS) --exec '' $(TESTS)

# The tools under valgrind's memcheck (tests/valgrind.sh says why it
# uses dg's C kernels); slower than check, so not part of it.
valgrind: all
	DG_BUILD=$(abspath $(BUILD)) DG_SRC=$(CURDIR) \
	PATH=$(abspath $(BUILD))/bin:$$PATH \
	DG_PLUGIN_PATH=$(abspath $(BUILD))/lib/dg \
	prove --exec 'sh' tests/valgrind.sh

# ---- fuzzing (clang + libFuzzer) ---------------------------------------

FUZZ_CC    ?= clang
FUZZ_FLAGS := -std=c11 -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE \
              -DVK_NO_PROTOTYPES -DDG_VERSION='"$(VERSION)"' -DDG_PLUGINDIR='"$(PLUGINDIR)"' \
              -Ilibcore/include -Ilibcore -I$(BUILD)/gen $(PKG_CFLAGS)
FUZZ_TIME  ?= 60

$(BUILD)/fuzz/%: tests/fuzz/%.c $(LIB_SRC) $(HEADERS) $(BUILD)/gen/shaders.c
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_FLAGS) -o $@ $< $(LIB_SRC) $(BUILD)/gen/shaders.c $(VOLK_SRC) $(LIBS)

# make fuzz FUZZ_TIME=600 runs each target for that many seconds, each
# from its seed corpus in tests/fuzz/corpus/<target>; crashes are written
# to $(BUILD)/fuzz/crashes/ and belong in tests/data/fuzz/<target>/.
fuzz: $(FUZZ_BINS)
	@for f in $(FUZZ_BINS); do n=$$(basename $$f); \
	  mkdir -p $(BUILD)/fuzz/corpus/$$n $(BUILD)/fuzz/crashes/$$n; \
	  echo "fuzz: $$n for $(FUZZ_TIME)s"; \
	  $$f -max_total_time=$(FUZZ_TIME) -timeout=10 -rss_limit_mb=2048 \
	    -artifact_prefix=$(BUILD)/fuzz/crashes/$$n/ \
	    $(BUILD)/fuzz/corpus/$$n tests/fuzz/corpus/$$n || exit 1; \
	done

# ---- benchmarks --------------------------------------------------------

$(BUILD)/bench/%: bench/%.c $(LIB) $(LIB_INTERNAL) $(HEADERS)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -Itests -o $@ $< $(LINK_DG) $(LIBS) -ldnnl

# bench/run.sh runs every benchmark and prints a report; bench/RESULTS.md
# keeps the numbers with the commands that produced them.
bench: all $(BENCH_BINS)
	DG_BUILD=$(abspath $(BUILD)) PATH=$(abspath $(BUILD))/bin:$$PATH \
	DG_PLUGIN_PATH=$(abspath $(BUILD))/lib/dg sh bench/run.sh

# ---- the default feature extractor of dg-eval's sample metrics ----------

# dg-eval --setup: a classifier trained once from a fixed recipe, written to
# $DG_EXTRACTOR or ~/.local/share/dg/ (dg-eval(1), "The default extractor").
extractor: all
	DG_PLUGIN_PATH=$(abspath $(BUILD))/lib/dg $(BUILD)/bin/dg-eval --setup

# ---- install -----------------------------------------------------------

$(BUILD)/dg.pc: Makefile
	@mkdir -p $(@D)
	printf '%s\n' 'prefix=$(PREFIX)' 'libdir=$(LIBDIR)' 'includedir=$(INCDIR)' \
	  'plugindir=$(PLUGINDIR)' '' 'Name: dg' \
	  'Description: deep generative models as small Unix tools' \
	  'Version: $(VERSION)' 'Libs: -L$${libdir} -ldg' 'Cflags: -I$${includedir}' > $@

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBDIR)/pkgconfig $(DESTDIR)$(PLUGINDIR) \
	  $(DESTDIR)$(INCDIR)/dg $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man7
	install -m 755 $(TOOLS) $(DESTDIR)$(BINDIR)/
	install -m 755 $(LIB) $(DESTDIR)$(LIBDIR)/libdg.so.0
	ln -sf libdg.so.0 $(DESTDIR)$(LIBDIR)/libdg.so
	$(if $(PLUGINS),install -m 755 $(PLUGINS) $(DESTDIR)$(PLUGINDIR)/)
	$(if $(MPI_MODULE),install -m 755 $(MPI_MODULE) $(DESTDIR)$(PLUGINDIR)/)
	install -m 644 libcore/include/dg.h $(DESTDIR)$(INCDIR)/
	install -m 644 libcore/include/dg/*.h $(DESTDIR)$(INCDIR)/dg/
	install -m 644 $(BUILD)/dg.pc $(DESTDIR)$(LIBDIR)/pkgconfig/
	for p in $(MAN_PAGES); do s=$${p##*.}; install -d $(DESTDIR)$(MANDIR)/man$$s; \
	  install -m 644 $$p $(DESTDIR)$(MANDIR)/man$$s/; done

uninstall:
	rm -f $(TOOLS:$(BUILD)/bin/%=$(DESTDIR)$(BINDIR)/%) $(DESTDIR)$(LIBDIR)/libdg.so*
	rm -rf $(DESTDIR)$(PLUGINDIR) $(DESTDIR)$(INCDIR)/dg $(DESTDIR)$(INCDIR)/dg.h
	rm -f $(DESTDIR)$(LIBDIR)/pkgconfig/dg.pc

# ---- dependencies (Debian 12) ------------------------------------------

DEB_BUILD := build-essential clang pkg-config libarchive-dev libpng-dev zlib1g-dev \
             libvulkan-dev libvulkan-volk-dev glslc spirv-tools libdnnl-dev libopenmpi-dev
DEB_RUN   := mesa-vulkan-drivers vulkan-tools dataset-fashion-mnist openmpi-bin
DEB_TEST  := python3 python3-numpy procps jq pngcheck mandoc man-db valgrind vulkan-validationlayers \
             libclang-rt-14-dev imagemagick
DEB_BENCH := python3-torch libopenblas0-pthread hyperfine

SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
deps:
	$(SUDO) apt-get update
	DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y --no-install-recommends \
	  $(DEB_BUILD) $(DEB_RUN) $(DEB_TEST) $(if $(BENCH_DEPS),$(DEB_BENCH))

lint-man:
	mandoc -Tlint -Wwarning $(MAN_PAGES)

clean:
	rm -rf build build-san
