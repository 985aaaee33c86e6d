# Corpus suite: the honest converters really convert their sample inputs.
# Included by tests/CMakeLists.txt (every tests/*/tests.cmake).
#
#   corpus.honest_run        every honest converter returns success with WSJF-shaped reports
#   corpus.checker_can_fail  the same check on converters that must not pass does fail
set(CVB_CORPUS_DIR ${CMAKE_CURRENT_LIST_DIR})
add_test(NAME corpus.honest_run
	COMMAND ${CVB_PYTHON} -I ${CVB_CORPUS_DIR}/run_plain.py --check ${CVB_CORPUS_DIR}/honest)
add_test(NAME corpus.checker_can_fail
	COMMAND ${CVB_PYTHON} -I ${CVB_CORPUS_DIR}/run_plain.py --check ${CVB_CORPUS_DIR}/selftest)
set_tests_properties(corpus.honest_run PROPERTIES LABELS corpus)
set_tests_properties(corpus.checker_can_fail PROPERTIES LABELS corpus WILL_FAIL TRUE)
