/* convbox-runner: started by the host, never by hand. See runner.h. */
#include "runner/runner.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
	if (argc != 2 || strncmp(argv[1], "--control-fd=", 13) != 0) {
		fprintf(stderr, "convbox-runner: internal program of convbox; "
				"it is started by `convbox`, not by hand\n");
		return 2;
	}
	return cvb_runner_main(atoi(argv[1] + 13));
}
