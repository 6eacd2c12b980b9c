# SPDX-License-Identifier: GPL-2.0-or-later
# RNBD and RTRS in Rust: build, test and demo entry points. See README.md.
#
#   make deps                 Debian packages, bindgen-cli, virtme-ng (idempotent)
#   make kernel FLAVOR=...    the cached test kernel (debug: tests, perf: benchmarks)
#   make                      the four modules against KDIR (default: cached debug kernel)
#   make vmtest               the VM suite for one configuration (IMPL=, RTRS_CLIENT=, ...)
#   make hosttest             host unit and property tests of the pure-logic files
#   make fuzz                 the parser properties for long (FUZZ_CASES=200000 cases each)
#   make unsafe-report        unsafe per directory; fails on unsafe outside rust/
#   make docs-check           Documentation/: reST by docutils, ABI files against the code
#   make bench                fio through RNBD/RTRS in the perf kernel (BENCH_CONFIGS=...)
#   make check                everything: host tests, lint, docs, the VM suite for the C/Rust matrix
#   make matrix               make check with every case of each configuration (longer)
#   make demo                 map a remote ram disk over soft-RoCE and run fio on it

FLAVOR ?= debug
DEFAULT_KDIR := $(shell scripts/kernel.sh --path $(FLAVOR))
KDIR ?= $(DEFAULT_KDIR)
RUSTC := /usr/bin/rustc
BINDGEN := $(shell bash -c '. scripts/lib.sh && echo $$BINDGEN')
KBUILD_OPTS := LLVM=-19 RUSTC=$(RUSTC) BINDGEN=$(BINDGEN) HOSTRUSTC=$(RUSTC)
RUSTFMT ?= rustfmt
RUST_SOURCES = $(shell git ls-files '*.rs')

# Which implementation each module has in the VM: rust or c. IMPL sets all four.
# IMPL wins over values inherited from the environment; a module named on the command line
# wins over IMPL.
IMPL ?=
ifneq ($(IMPL),)
RTRS_CLIENT := $(IMPL)
RTRS_SERVER := $(IMPL)
RNBD_CLIENT := $(IMPL)
RNBD_SERVER := $(IMPL)
endif
RTRS_CLIENT ?= rust
RTRS_SERVER ?= rust
RNBD_CLIENT ?= rust
RNBD_SERVER ?= rust
SOFT_RDMA ?= rxe
CASES ?=
# Module parameters for rtrs_server in the VM (either implementation), e.g. always_invalidate=N.
RTRS_SRV_PARAMS ?=
export RTRS_CLIENT RTRS_SERVER RNBD_CLIENT RNBD_SERVER SOFT_RDMA CASES FLAVOR RTRS_SRV_PARAMS

.PHONY: all modules deps kernel clippy fmt fmt-check hosttest fuzz unsafe-report docs-check vmtest bench check matrix demo clean

all: modules

deps:
	@scripts/deps.sh

kernel: deps
	@scripts/kernel.sh $(FLAVOR) >/dev/null

# The default KDIR is built on demand; a KDIR given by the user is used as it is.
ifeq ($(KDIR),$(DEFAULT_KDIR))
modules clippy: kernel
endif

modules:
	@test -f $(KDIR)/Module.symvers || { echo "ERROR: KDIR=$(KDIR) is not a built kernel tree"; exit 1; }
	$(MAKE) -C $(KDIR) M=$(CURDIR) $(KBUILD_OPTS) modules

clippy:
	$(MAKE) -C $(KDIR) M=$(CURDIR) $(KBUILD_OPTS) clean
	$(MAKE) -C $(KDIR) M=$(CURDIR) $(KBUILD_OPTS) CLIPPY=1 CLIPPY_DRIVER=/usr/bin/clippy-driver modules

fmt:
	$(RUSTFMT) --edition 2021 --config-path $(KDIR)/.rustfmt.toml $(RUST_SOURCES)

fmt-check:
	$(RUSTFMT) --check --edition 2021 --config-path $(KDIR)/.rustfmt.toml $(RUST_SOURCES)

unsafe-report:
	@scripts/unsafe-report.sh

docs-check:
	@scripts/check-docs.sh

hosttest:
	cd tools/testing/host && cargo clippy --quiet --all-targets -- -D warnings && cargo test --quiet

# The parser properties of tools/testing/host/fuzz, FUZZ_CASES cases each (hosttest runs
# 1024), optimised but with overflow checks on; a failing case is kept in
# tools/testing/host/proptest-regressions.txt and replayed by every later run.
FUZZ_CASES ?= 200000
fuzz:
	cd tools/testing/host && PROPTEST_CASES=$(FUZZ_CASES) cargo test --profile fuzz --quiet fuzz::

vmtest: modules
	@tools/testing/vm/run.sh

bench:
	@scripts/bench.sh

check:
	@scripts/check.sh

matrix:
	@scripts/check.sh --full

demo:
	@scripts/demo.sh

clean:
	-$(MAKE) -C $(KDIR) M=$(CURDIR) $(KBUILD_OPTS) clean
	rm -rf tools/testing/host/target
