/* Command-line commands of `convbox`; each returns the process exit code. */
#ifndef CONVBOX_CLI_H
#define CONVBOX_CLI_H

#include <stddef.h>

int cvb_cmd_run(int argc, char **argv);
int cvb_cmd_validate(int argc, char **argv);
int cvb_cmd_check(int argc, char **argv);
int cvb_cmd_policy(int argc, char **argv);
int cvb_cmd_serve(int argc, char **argv);

/* One line of an option table in --help: "  NAME METAVAR" padded to width, then the help. */
void cvb_print_option(const char *name, const char *metavar, const char *help, int width);

/* Read a whole file (at most max bytes); NULL with errno set on failure. */
unsigned char *cvb_read_file(const char *path, size_t max, size_t *len);

#endif
