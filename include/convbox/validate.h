/*
 * convbox static validator: the early, precise "no" before a converter runs.
 *
 * The validator parses converter source with the embedded CPython's own
 * parser (the exact 3.11 grammar) and walks the syntax tree in C. It looks
 * for what an honest converter never needs and an attacker reaches for:
 * blocked or dangerous modules and functions (however they are aliased),
 * dynamic imports, introspection that climbs out of a function to its
 * module globals, builtins or frames, and attribute access by computed name.
 * Opening, reading and parsing files is never a finding.
 *
 * The validator is not the boundary: the kernel layers are. It is a
 * conservative filter whose findings a test engineer or a reviewer reads.
 *
 * Findings are a JSON array, sorted by position:
 *
 *   [{"rule":"blocked-import","severity":"error","line":3,"col":1,
 *     "message":"...","hint":"..."}, ...]
 *
 * line and col are 1-based; col counts Unicode code points (for a syntax
 * error it is CPython's SyntaxError.offset, which 3.11 counts in bytes for
 * some errors). A finding about the file as a whole (too large, for
 * instance) has line 0 and col 0.
 * severity is "error", "warning" or "note"; only "error" rejects a converter.
 *
 * Rule ids (see the table in src/runner/validate.c for messages and hints):
 *   blocked-import       imports or uses a module or name on the blocked list
 *   import-not-allowed   imports a module outside the allowed_imports list
 *   dangerous-call       runs programs, signals processes, opens sockets, loads
 *                        native code, deletes trees or unpickles data
 *   dynamic-import       __import__, importlib loaders, runpy, pkgutil ...
 *   introspection        __globals__, __subclasses__, frames, sys.modules,
 *                        globals(), vars() on a module ...
 *   computed-getattr     getattr/setattr/delattr (or operator.attrgetter)
 *                        with a computed or dunder attribute name
 *   module-alias         a sensitive module (os, sys, builtins ...) passed
 *                        around as a value, which would hide what it calls
 *   relative-import      `from . import x`: its target depends on __package__
 *   star-import          `from m import *` of a harmless module (warning; a
 *                        star import from a module holding something blocked
 *                        or dangerous is reported under that rule)
 *   syntax-error         the parser rejects the file (line and col of the error)
 *   parse-limit          the file nests too deeply for the parser
 *   not-utf8             the file is not valid UTF-8
 *   nul-byte             the file contains a NUL byte
 *   encoding-declaration a PEP 263 coding cookie names something other than
 *                        UTF-8 (the file would be decoded unlike it was checked)
 *   too-large            the file exceeds max_source_bytes
 *   too-many-findings    the finding list was cut short
 *   python-warning       the parser warned (invalid escape sequence ...)
 */
#ifndef CONVBOX_VALIDATE_H
#define CONVBOX_VALIDATE_H

#include <stddef.h>

/* Largest source accepted when cvb_validate_opts.max_source_bytes is 0. */
#define CVB_VALIDATE_DEFAULT_MAX_SOURCE (8u * 1024u * 1024u)

/* Most findings reported for one file; the rest is summarised in one finding. */
#define CVB_VALIDATE_MAX_FINDINGS 500u

/*
 * The spec's default blocked_imports, for callers building options. The
 * caller decides which list applies: a configuration that does not mention
 * blocked_imports must be given these defaults by the caller, never an empty
 * list. The validator takes the list it is given literally, and a NULL or
 * empty list blocks nothing configurable (the fixed dangerous-call,
 * dynamic-import and introspection tables still apply).
 */
#define CVB_VALIDATE_DEFAULT_BLOCKED                                                               \
	{                                                                                          \
		"subprocess", "os.system", "socket", "ctypes", "multiprocessing"                   \
	}

struct cvb_validate_opts {
	/*
	 * Dotted names that may not be imported or used: a module blocks its
	 * submodules and attributes ("ctypes" blocks ctypes.util), a dotted
	 * name blocks that attribute ("os.system" blocks `from os import
	 * system` and `os.system(...)` but not `import os`). fnmatch(3)
	 * wildcards are allowed ("os.exec*").
	 */
	const char *const *blocked_imports;
	size_t n_blocked;
	/*
	 * NULL/0: no allowlist. Otherwise only these modules and their
	 * submodules may be imported ("xml" allows xml.etree.ElementTree);
	 * __future__ is always allowed.
	 */
	const char *const *allowed_imports;
	size_t n_allowed;
	/* Larger sources are one "too-large" finding, not parsed. 0 = default. */
	size_t max_source_bytes;
	/*
	 * Names a granted capability needs and lifts (SHELL_EXECUTE lifts
	 * "subprocess", "os.system" ...; see cvb_cap_lifted_names): what they
	 * match is neither blocked nor a dangerous call. NULL/0: none.
	 */
	const char *const *lifted;
	size_t n_lifted;
};

/*
 * Validate one converter source.
 *
 * Requires an initialised interpreter and the GIL. Parses src (len bytes,
 * which may contain NULs: that is a finding), walks it, and stores a malloc'd
 * NUL-terminated JSON array text in *json_out (free it with free()).
 * filename (may be NULL) only names the source in parser messages.
 *
 * Returns 0 on success, even with findings, or a negative errno on internal
 * failure (-EINVAL bad arguments, no interpreter or no GIL, -ENOMEM, -EIO
 * an unexpected Python error), with a message in errbuf and *json_out NULL.
 * A Python exception pending on entry is still pending on return, and none
 * is added. Never prints: parser warnings become "python-warning" findings.
 *
 * Uses no global state: the AST classes are looked up in the `_ast` module
 * at each call (a few dictionary lookups). Imports `_ast` and `warnings` on
 * first use, and compiling raises the "compile" audit event: a runner that
 * validates under its audit hook must preload those modules and let the
 * event through.
 */
int cvb_validate_source(const char *src, size_t len, const char *filename,
			const struct cvb_validate_opts *opts, char **json_out, char *errbuf,
			size_t errlen);

/*
 * An isolated embedded interpreter (no site, no bytecode written, Debian's
 * stdlib) for programs that only validate: tests, the fuzzer, the bench.
 * The runner initialises its own, with the audit hook. Returns 0 or -1.
 */
int cvb_validate_init_python(void);

/*
 * Number of findings with severity "error" in a findings JSON array text, or
 * -1 if the text is not such an array. (The host, which does not link the
 * validator, has the same function as cvb_findings_count_errors.)
 */
int cvb_validate_count_errors(const char *findings_json);

/* One rule of the validator's catalogue. */
struct cvb_validate_rule {
	const char *id;	      /* "blocked-import" */
	const char *severity; /* "error", "warning" or "note" */
	const char *message;  /* what was found, the start of each finding's message */
	const char *hint;     /* what to do instead */
};

/* The rule catalogue, *n set to its length. Static storage, never NULL. */
const struct cvb_validate_rule *cvb_validate_rules(size_t *n);

#endif
