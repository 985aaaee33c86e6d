# Golden dumps of the compiled containment plan, and the machine check.
set(CVB_POLICY_DIR ${CMAKE_CURRENT_LIST_DIR})
set(CVB_POLICY_CASES
	"default|"
	"no-caps|--no-default-caps"
	"shell-temp-debug|--cap SHELL_EXECUTE --cap FILE_TEMP --cap log_debug"
	"network-full|--cap NETWORK_FULL"
	"trusted|--trusted"
	"landlock-abi3|--landlock-abi 3")
foreach(case ${CVB_POLICY_CASES})
	string(REPLACE "|" ";" parts "${case}")
	list(GET parts 0 name)
	list(LENGTH parts n)
	set(args "")
	if(n GREATER 1)
		list(GET parts 1 argstr)
		separate_arguments(args UNIX_COMMAND "${argstr}")
	endif()
	add_test(NAME policy.golden.${name}
		COMMAND ${CVB_POLICY_DIR}/golden_test.sh ${CMAKE_BINARY_DIR}/convbox
			${CVB_POLICY_DIR}/golden/${name}.txt ${args})
	set_tests_properties(policy.golden.${name} PROPERTIES LABELS integration)
endforeach()
add_test(NAME check.strict COMMAND ${CMAKE_BINARY_DIR}/convbox check)
set_tests_properties(check.strict PROPERTIES LABELS integration TIMEOUT 60)
