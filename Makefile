# Two commands matter: `make run` serves the API, `make test` runs every test.

CARGO ?= cargo

.PHONY: run test contract-fuzz lint fmt openapi build release bench soak clean help

help:
	@echo "make run      serve on http://localhost:$${PORT:-8080} (Swagger UI at /docs); SQLite ./auth.db unless DATABASE_URL"
	@echo "make test     unit tests, the integration suite on SQLite and on PostgreSQL, then the contract fuzzing"
	@echo "make contract-fuzz  schemathesis against the running service's /openapi.json (needs python3 with venv)"
	@echo "make lint     cargo fmt --check and clippy -D warnings"
	@echo "make openapi  regenerate openapi.yaml from the code"
	@echo "make release  optimised binary in target/release/auth-service"
	@echo "make bench    load benchmark on SQLite and PostgreSQL + micro-benchmarks (BENCH_DURATION=3s: smoke run)"
	@echo "make soak     5-minute mixed workload with real mail; fails on 5xx, lost/duplicated mail, RSS growth (SOAK_DURATION, SOAK_DATABASE=sqlite|postgres|both)"

run:
	@case "$${DATABASE_URL:-}" in postgres*) scripts/require-postgres.sh "$$DATABASE_URL" "make run";; esac
	$(CARGO) run --bin auth-service

test:
	CARGO=$(CARGO) scripts/test.sh

contract-fuzz:
	CARGO=$(CARGO) scripts/contract-fuzz.sh

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

fmt:
	$(CARGO) fmt --all

openapi:
	$(CARGO) run --quiet --bin auth-service -- openapi > openapi.yaml

build:
	$(CARGO) build

release:
	$(CARGO) build --release

bench:
	CARGO=$(CARGO) scripts/bench.sh

soak:
	CARGO=$(CARGO) scripts/soak.sh

clean:
	$(CARGO) clean
