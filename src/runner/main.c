/* convbox-runner: started by the host, never by hand. See runner.h. */
#include "runner/runner.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * The runner never finalises its interpreter: a job or the zygote just
 * exits. In a sanitizer build, LeakSanitizer would then report CPython's
 * whole heap at each exit and bury any leak of ours. Allocations with a
 * libpython frame are left out; the runner's own are still reported.
 * (Called by the sanitizer's runtime only; a plain build never calls it.)
 */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
	return "leak:libpython3.11.so\n";
}

/* ... and without a table of them on the host's stderr at each exit */
const char *__lsan_default_options(void);
const char *__lsan_default_options(void)
{
	return "print_suppressions=0";
}

int main(int argc, char **argv)
{
	if (argc != 2 || strncmp(argv[1], "--control-fd=", 13) != 0) {
		fprintf(stderr, "convbox-runner: internal program of convbox; "
				"it is started by `convbox`, not by hand\n");
		return 2;
	}
	return cvb_runner_main(atoi(argv[1] + 13));
}
