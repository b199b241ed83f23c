# Two commands matter: `make run` serves the API, `make test` runs every test.

DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/auth_service
# Server on which each test creates (and drops) its own database.
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/postgres
export DATABASE_URL TEST_DATABASE_URL

CARGO ?= cargo

.PHONY: run test lint fmt openapi build release clean help

help:
	@echo "make run      serve on http://localhost:$${PORT:-8080} (Swagger UI at /docs)"
	@echo "make test     unit and integration tests (needs PostgreSQL, see README)"
	@echo "make lint     cargo fmt --check and clippy -D warnings"
	@echo "make openapi  regenerate openapi.yaml from the code"
	@echo "make release  optimised binary in target/release/auth-service"

run:
	@scripts/require-postgres.sh "$(DATABASE_URL)" "make run"
	$(CARGO) run --bin auth-service

test:
	@scripts/require-postgres.sh "$(TEST_DATABASE_URL)" "make test"
	$(CARGO) test --all-targets

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --all-targets -- -D warnings

fmt:
	$(CARGO) fmt --all

openapi:
	$(CARGO) run --quiet --bin auth-service -- openapi > openapi.yaml

build:
	$(CARGO) build

release:
	$(CARGO) build --release

clean:
	$(CARGO) clean
