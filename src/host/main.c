/* convbox: run converters in a kernel sandbox. Subcommands are a table. */
#include "convbox/cli.h"

#include <stdio.h>
#include <string.h>

struct command {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *help;
};

static const struct command commands[] = {
    {"run", cvb_cmd_run, "convert files with a converter in the sandbox"},
    {"validate", cvb_cmd_validate, "static analysis of converter source"},
    {"check", cvb_cmd_check, "which sandbox layers this machine offers"},
    {"policy", cvb_cmd_policy, "print the compiled containment plan"},
    {"serve", cvb_cmd_serve, "the station service: watch folders, convert, spool"},
};

static int usage(FILE *f)
{
	fprintf(f, "usage: convbox COMMAND [options]\n\ncommands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].help);
	fprintf(f, "\n`convbox COMMAND --help` describes each command's options.\n");
	return f == stdout ? 0 : 2;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return usage(stderr);
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0)
		return usage(stdout);
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(argv[1], commands[i].name) == 0)
			return commands[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "convbox: unknown command '%s'\n", argv[1]);
	return usage(stderr);
}
