# emocause developer targets. `make reproduce` is the one documented way to regenerate
# reports/paper_reproduction.md from the paper's released outputs: BLEU of the cause spans,
# emotion F1 from the mapped columns, and emotion F1 from the raw answers under the paper's
# and the default mapping (with every answer whose verdicts differ).

PYTHON    ?= python
PAPER     ?= ../shared/data/paper
BOOTSTRAP ?= 1000
SEED      ?= 0
REPORT    ?= reports/paper_reproduction.md

.PHONY: help reproduce

help:
	@echo "make reproduce [PAPER=../shared/data/paper] [BOOTSTRAP=1000] [SEED=0]"
	@echo "    regenerate $(REPORT) from the replication data with the emocause evaluate library"

reproduce:
	$(PYTHON) -m scripts.reproduce_paper --paper-dir $(PAPER) --out $(REPORT) --bootstrap $(BOOTSTRAP) --seed $(SEED)
