# Integration suites, included from tests/CMakeLists.txt.
#
# run/: `convbox run` through its command line, every outcome and exit code.
# The suite runs its commands in parallel itself (see run/test_run.py).
find_program(CVB_PYTHON3_11 python3.11 PATHS /usr/bin NO_DEFAULT_PATH)
if(CVB_PYTHON3_11)
	add_test(NAME integration.run
		COMMAND ${CVB_PYTHON3_11} -I ${CMAKE_SOURCE_DIR}/tests/integration/run/test_run.py
			--convbox ${CMAKE_BINARY_DIR}/convbox)
	set_tests_properties(integration.run PROPERTIES LABELS integration TIMEOUT 400)
else()
	message(WARNING "Debian's python3.11 not found: integration tests of convbox run are not registered")
endif()
