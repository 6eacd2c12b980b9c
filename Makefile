# SPDX-License-Identifier: GPL-2.0-or-later
# RNBD and RTRS in Rust: build, test and demo entry points. See README.md.
#
#   make deps                 Debian packages, bindgen-cli, virtme-ng (idempotent)
#   make kernel FLAVOR=...    the cached test kernel (debug: tests, perf: benchmarks)
#   make                      the four modules against KDIR (default: cached debug kernel)
#   make install, uninstall   the four modules into/out of <INSTALL_MOD_PATH>/lib/modules/<release>/updates
#   make install-check        install and uninstall staged, and the KDIR/rustc refusals (make check)
#   make vmtest               the VM suite for one configuration (IMPL=, RTRS_CLIENT=, ...)
#   make soak HOURS=N         N hours of verify IO under path flaps, policy switches, remaps
#   make reliability          the reliability plan's cases at full length, C vs Rust table
#   make hostile              the hostile RTRS/RNBD peer of the VM cases (tools/testing/hostile)
#   make hosttest             host unit and property tests of the pure-logic files
#   make fuzz                 the parser properties for long (FUZZ_CASES=200000 cases each)
#   make unsafe-report        unsafe per directory; fails on unsafe outside rust/
#   make docs-check           Documentation/: reST by docutils, ABI files against the code
#   make bench                the benchmark matrix in the perf kernel (BENCH_SYSTEMS=..., see README)
#   make bench-report         report.md, bench.csv and the plots of results/bench, again
#   make bench-report-test    unit tests of the report generator (synthetic results)
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
# dkms appends CC=clang LD=ld.lld for a kernel built by clang; LLVM=-19 already names the
# compilers the kernel was built with, so those two are not passed on to Kbuild.
MAKEOVERRIDES := $(filter-out CC=% LD=%,$(MAKEOVERRIDES))

# make install: modules_install of the four modules (not the self-test) into
# $(INSTALL_MOD_PATH)/lib/modules/<KDIR's release>/updates, which depmod searches before the
# in-tree kernel/ modules of the same names, then depmod. INSTALL_MOD_PATH (or DESTDIR)
# stages it under another root.
MODULES := rtrs_client rtrs_server rnbd_client rnbd_server
INSTALL_MOD_PATH ?= $(DESTDIR)
INSTALL_MOD_DIR ?= updates
KERNEL_RELEASE = $(shell cat $(KDIR)/include/config/kernel.release 2>/dev/null)
MOD_DST = $(INSTALL_MOD_PATH)/lib/modules/$(KERNEL_RELEASE)/$(INSTALL_MOD_DIR)
DEPMOD := $(shell PATH=$$PATH:/sbin:/usr/sbin command -v depmod)
INSTALL_ORDER := $(CURDIR)/.install.order

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

.PHONY: all modules hostile install uninstall install-check kdir-check deps kernel clippy fmt fmt-check hosttest fuzz unsafe-report docs-check vmtest pair soak reliability bench bench-report bench-report-test check matrix demo clean

all: modules

deps:
	@scripts/deps.sh

kernel: deps
	@scripts/kernel.sh $(FLAVOR) >/dev/null

# The default KDIR is built on demand; a KDIR given by the user is used as it is.
ifeq ($(KDIR),$(DEFAULT_KDIR))
kdir-check: kernel
endif

# Stops early if KDIR is no built Rust-enabled 6.12 tree or was built by another rustc.
kdir-check:
	@scripts/check-kdir.sh "$(KDIR)" "$(RUSTC)" "$(BINDGEN)"

modules: kdir-check
	$(MAKE) -C $(KDIR) M=$(CURDIR) $(KBUILD_OPTS) modules

# The user-space hostile peer (client and server) the cases of tools/testing/cases/65-hostile.sh run in the
# guest (librdmacm-dev, libibverbs-dev: make deps).
hostile:
	$(MAKE) -C tools/testing/hostile

install: modules
	@(for m in $(MODULES); do grep -E "(^|/)$$m\.o$$" modules.order || exit 1; done) > $(INSTALL_ORDER) \
		|| { rm -f $(INSTALL_ORDER); echo "ERROR: modules.order lacks one of $(MODULES)"; exit 1; }
	$(MAKE) -C $(KDIR) M=$(CURDIR) $(KBUILD_OPTS) MODORDER=$(INSTALL_ORDER) \
		INSTALL_MOD_PATH=$(INSTALL_MOD_PATH) INSTALL_MOD_DIR=$(INSTALL_MOD_DIR) modules_install
	@rm -f $(INSTALL_ORDER)

# Removes what make install put there (each module with any compression suffix), then depmod.
uninstall:
	@test -n "$(KERNEL_RELEASE)" || { echo "ERROR: KDIR=$(KDIR) has no include/config/kernel.release"; exit 1; }
	@for f in $(foreach m,$(MODULES),$(foreach s,.ko .ko.gz .ko.xz .ko.zst,$(MOD_DST)/$(m)$(s))); do \
		[ ! -e $$f ] || { echo "  RM      $$f"; rm -f $$f; }; done
	@[ ! -d $(MOD_DST) ] || rmdir --ignore-fail-on-non-empty $(MOD_DST)
	$(DEPMOD) -a $(if $(INSTALL_MOD_PATH),-b $(INSTALL_MOD_PATH)) $(KERNEL_RELEASE)

install-check:
	@scripts/install-check.sh

clippy: kdir-check
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

vmtest: modules hostile
	@tools/testing/vm/run.sh

# The two-guest topology (reliability plan TOPO-3): a server guest and a client guest on two
# QEMU networks; link down and netem cases (tools/testing/pair); the module set as vmtest.
pair: modules
	@tools/testing/vm/pair.sh

# The soak of the reliability plan: HOURS=N (default 1) of verify IO with path flaps, policy
# switches and a second device mapped and unmapped; the module set as for vmtest.
soak: modules
	@scripts/soak.sh

# The reliability plan's cases at full length against C, Rust and Rust with
# always_invalidate=N, and their table (results/reliability/table.md).
reliability:
	@scripts/reliability.sh

bench:
	@scripts/bench.sh

# The report of the last make bench from results/bench/runs.jsonl and raw/ (make bench
# writes it at its end): report.md (also printed), bench.csv, iops-vs-qd.png, lat-cdf.png.
bench-report:
	@scripts/bench-report.sh results/bench

# The unit tests of scripts/bench_report.py on small synthetic results.
bench-report-test:
	@scripts/bench-report.sh --test

check:
	@scripts/check.sh

matrix:
	@scripts/check.sh --full

demo:
	@scripts/demo.sh

clean:
	-$(MAKE) -C $(KDIR) M=$(CURDIR) $(KBUILD_OPTS) clean
	rm -rf tools/testing/host/target $(INSTALL_ORDER)
