# Escape suite: hostile converters run through `convbox run` in the real
# sandbox (see tests/escape/README.md). Included from tests/CMakeLists.txt.
#   escape.root  as root (skipped with 77 when ctest does not run as root)
#   escape.user  as uid/gid 65534 (as root it copies the suite and both
#                binaries to a temp dir and drops privileges with setpriv;
#                as any other user it simply runs as that user)
set(CVB_ESCAPE_RUN ${CVB_PYTHON} -I ${CMAKE_CURRENT_LIST_DIR}/run_escape.py
	--convbox ${CMAKE_BINARY_DIR}/convbox --jobs 4)
add_test(NAME escape.root COMMAND ${CVB_ESCAPE_RUN} --require-root)
add_test(NAME escape.user COMMAND ${CVB_ESCAPE_RUN} --as-user)
set_tests_properties(escape.root escape.user PROPERTIES
	LABELS escape TIMEOUT 900 PROCESSORS 2 SKIP_RETURN_CODE 77)
