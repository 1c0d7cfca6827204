# emocause developer targets. `make reproduce` is the one documented way to regenerate
# reports/paper_reproduction.md from the paper's released outputs.

PYTHON    ?= python
PAPER     ?= ../shared/data/paper
BOOTSTRAP ?= 1000
SEED      ?= 0
REPORT    ?= reports/paper_reproduction.md

.PHONY: help reproduce

help:
	@echo "make reproduce [PAPER=../shared/data/paper] [BOOTSTRAP=1000] [SEED=0]"
	@echo "    regenerate $(REPORT) from the replication data with emocause evaluate"

reproduce:
	$(PYTHON) scripts/reproduce_paper.py --paper-dir $(PAPER) --out $(REPORT) --bootstrap $(BOOTSTRAP) --seed $(SEED)
