# Top-level driver. The real build is CMake; these targets are what people type.
#   make        build everything into build/
#   make check  install deps if missing, build, run every test (plain + ASan/UBSan + fuzz smoke)
#   make demo   install deps if missing, build, run convbox on the bundled example
BUILD  ?= build
ASAN   ?= build-asan
FUZZ   ?= build-fuzz
JOBS   ?= $(shell nproc)

.PHONY: all deps check check-plain check-asan check-fuzz demo format format-check clean

all: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

deps:
	@./scripts/deps.sh

check: all format-check check-asan check-fuzz check-plain

check-plain: all
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

check-asan: deps
	@cmake -S . -B $(ASAN) -DCMAKE_BUILD_TYPE=Debug -DCVB_SANITIZE=ON >/dev/null
	@cmake --build $(ASAN) -j $(JOBS)
	cd $(ASAN) && ctest --output-on-failure -j $(JOBS) -L unit
	cd $(ASAN) && ctest --output-on-failure -R "^(zygote|policy|check)\\."

check-fuzz: deps
	@cmake -S . -B $(FUZZ) -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=Debug -DCVB_FUZZ=ON >/dev/null
	@cmake --build $(FUZZ) -j $(JOBS)
	cd $(FUZZ) && ctest --output-on-failure -L fuzz

demo: all
	./examples/demo.sh $(BUILD)

format:
	git ls-files '*.c' '*.h' | xargs clang-format -i

format-check:
	@git ls-files '*.c' '*.h' | xargs -r clang-format --dry-run --Werror

clean:
	rm -rf $(BUILD) $(ASAN) $(FUZZ)
