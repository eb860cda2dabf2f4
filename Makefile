# enrelg: make check-stats | make test | make stats | make bless-stats
DATA_DIR ?= ../shared/data
CARGO_TARGET_DIR ?= $(HOME)/.cache/enrelg-target
export CARGO_TARGET_DIR
BIN := $(CARGO_TARGET_DIR)/release/enrelg
CORPORA := mars anatem
# EnRel-G release folder names under $(DATA_DIR)/enrelg
ENRELG_mars := Mars
ENRELG_anatem := AnatEM

.PHONY: all build stats check-stats bless-stats compare test clippy

all: build

build:
	cargo build --release --bin enrelg

# Statistics tables for people.
stats: build
	@for c in $(CORPORA); do echo "== $$c"; $(BIN) stats --corpus $(DATA_DIR)/$$c --manifest datasets/$$c/manifest.json; done

# Fail when the statistics of the corpora drift from datasets/*/expected-*.json.
check-stats: build
	@set -e; for c in $(CORPORA); do \
	  $(BIN) stats --corpus $(DATA_DIR)/$$c --manifest datasets/$$c/manifest.json --json --check datasets/$$c/expected-stats.json > /dev/null; \
	done
	@$(BIN) stats --format enrelg --corpus $(DATA_DIR)/enrelg/$(ENRELG_mars) --manifest datasets/mars/manifest.json --json --check datasets/mars/expected-stats-enrelg.json > /dev/null
	@$(BIN) stats --format enrelg --corpus $(DATA_DIR)/enrelg/$(ENRELG_anatem) --manifest datasets/anatem/manifest.json --json --check datasets/anatem/expected-stats-enrelg.json > /dev/null

# Regenerate the expected statistics after an intended change (review the diff!).
bless-stats: build
	@for c in $(CORPORA); do \
	  $(BIN) stats --corpus $(DATA_DIR)/$$c --manifest datasets/$$c/manifest.json --json --write datasets/$$c/expected-stats.json > /dev/null; \
	done
	@$(BIN) stats --format enrelg --corpus $(DATA_DIR)/enrelg/$(ENRELG_mars) --manifest datasets/mars/manifest.json --json --write datasets/mars/expected-stats-enrelg.json > /dev/null
	@$(BIN) stats --format enrelg --corpus $(DATA_DIR)/enrelg/$(ENRELG_anatem) --manifest datasets/anatem/manifest.json --json --write datasets/anatem/expected-stats-enrelg.json > /dev/null

# How the Mars brat entities differ from the EnRel-G release, by kind.
compare: build
	$(BIN) compare --corpus $(DATA_DIR)/mars --enrelg $(DATA_DIR)/enrelg/$(ENRELG_mars) --manifest datasets/mars/manifest.json

test:
	ENRELG_DATA_DIR=$(abspath $(DATA_DIR)) cargo test --workspace

clippy:
	cargo clippy --workspace --all-targets -- -D warnings
