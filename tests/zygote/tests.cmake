# The zygote path: jobs forked from one prepared runner share no state.
add_test(NAME zygote.isolation
	COMMAND /usr/bin/python3.11 -I ${CMAKE_CURRENT_LIST_DIR}/test_isolation.py
		--convbox ${CMAKE_BINARY_DIR}/convbox)
set_tests_properties(zygote.isolation PROPERTIES LABELS integration TIMEOUT 300)
