# Integration tests of `convbox serve` (tests/serve/test_*.py), each a Python
# script run by Debian's interpreter in isolated mode against the built
# convbox. Labelled "integration"; the timing-sensitive ones run alone.
set(CVB_SERVE_TESTS
	bulk:300
	crash:300
	slow_writer:120
	same_name:120
	error_names:120
	shared_folder:120
	reload:180
	check_config:120
	priority:120
	post_actions:180
	recovery:120)
set(CVB_SERVE_SERIAL crash slow_writer priority)

foreach(entry ${CVB_SERVE_TESTS})
	string(REPLACE ":" ";" parts ${entry})
	list(GET parts 0 name)
	list(GET parts 1 timeout)
	add_test(NAME serve.${name}
		COMMAND /usr/bin/python3.11 -I ${CMAKE_CURRENT_LIST_DIR}/test_${name}.py
			${CMAKE_BINARY_DIR}/convbox)
	set_tests_properties(serve.${name} PROPERTIES LABELS integration TIMEOUT ${timeout}
		ENVIRONMENT "CVB_SOURCE_DIR=${CMAKE_SOURCE_DIR};CVB_BUILD_DIR=${CMAKE_BINARY_DIR}")
	# tests that act as another user need root; elsewhere they skip
	set_tests_properties(serve.${name} PROPERTIES SKIP_RETURN_CODE 77)
	if(name IN_LIST CVB_SERVE_SERIAL)
		set_tests_properties(serve.${name} PROPERTIES RUN_SERIAL TRUE)
	endif()
endforeach()
