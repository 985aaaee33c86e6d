/*
 * Static validator: parse converter source with CPython's parser, walk the
 * tree in C, report what an honest converter never needs.
 *
 * Theory of operation
 *
 *   1. Byte checks, before Python sees anything: size, NUL bytes, strict
 *      UTF-8, a PEP 263 coding cookie naming another encoding.
 *   2. Parse with Py_CompileStringExFlags(PyCF_ONLY_AST) on the bytes, the
 *      way the runner will compile them, inside warnings.catch_warnings so
 *      the parser never prints; a SyntaxError becomes a finding.
 *   3. Binding pass: every name the file binds by import ("o" -> "os"),
 *      by simple assignment of a dotted name ("s = o.system"), or shadows
 *      (assignment, del, def, except ... as, match capture).
 *   4. Check pass: imports against the blocked list, the allowlist and the
 *      name tables; every dotted name (Name/Attribute chain) resolved
 *      through the bindings and classified; calls of getattr & co. checked
 *      for computed or dunder names; introspection attributes anywhere.
 *
 * Resolution is deliberately flow-insensitive and conservative: a name
 * bound in several places resolves to all its targets, and a bare name also
 * resolves to the builtin of that name unless every binding of it is an
 * import at the top of the module (so `from re import compile` makes a bare
 * compile() re.compile, but not when the name is rebound or deleted).
 *
 * Memory: the walk holds the tree; node fields are borrowed from it (a
 * field fetched with PyObject_GetAttr is released at once and used while
 * the tree lives). No global state: the AST classes are looked up in
 * `_ast` at each call.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <ctype.h>
#include <errno.h>
#include <fnmatch.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "convbox/validate.h"

/* ------------------------------------------------------------------ */
/* Rule catalogue                                                      */

enum rule {
	R_BLOCKED_IMPORT,
	R_IMPORT_NOT_ALLOWED,
	R_DANGEROUS_CALL,
	R_DYNAMIC_IMPORT,
	R_INTROSPECTION,
	R_COMPUTED_GETATTR,
	R_MODULE_ALIAS,
	R_RELATIVE_IMPORT,
	R_STAR_IMPORT,
	R_SYNTAX_ERROR,
	R_PARSE_LIMIT,
	R_NOT_UTF8,
	R_NUL_BYTE,
	R_ENCODING_DECL,
	R_TOO_LARGE,
	R_TOO_MANY,
	R_PY_WARNING,
	R__COUNT
};

static const struct cvb_validate_rule rules[R__COUNT] = {
    [R_BLOCKED_IMPORT] = {"blocked-import", "error", "blocked by the configuration",
			  "remove it; converters need only the standard library's file and text "
			  "modules"},
    [R_IMPORT_NOT_ALLOWED] = {"import-not-allowed", "error", "not on the allowed_imports list",
			      "import only the allowed modules, or ask for this one to be "
			      "allowed"},
    [R_DANGEROUS_CALL] = {"dangerous-call", "error", "dangerous operation",
			  "a converter reads its input and returns a report; it never runs "
			  "programs, opens sockets or loads native code"},
    [R_DYNAMIC_IMPORT] = {"dynamic-import", "error", "imports a module chosen at run time",
			  "use a plain import statement at the top of the file"},
    [R_INTROSPECTION] = {"introspection", "error", "reaches interpreter internals",
			 "use the objects you are given; do not climb to globals, builtins, "
			 "frames or loaded modules"},
    [R_COMPUTED_GETATTR] = {"computed-getattr", "error", "attribute name hidden from review",
			    "write the attribute directly (obj.name), or use a dict for "
			    "data-driven lookups"},
    [R_MODULE_ALIAS] = {"module-alias", "error", "module used as a value",
			"call the module's functions directly (os.path.join(...)) instead "
			"of passing the module around"},
    [R_RELATIVE_IMPORT] = {"relative-import", "error",
			   "relative import: its target depends on __package__",
			   "converters are loaded as single files; import absolute module names"},
    [R_STAR_IMPORT] = {"star-import", "warning", "star import hides which names are used",
		       "import the names you need: from m import a, b"},
    [R_SYNTAX_ERROR] = {"syntax-error", "error", "syntax error",
			"the file must be valid Python 3.11"},
    [R_PARSE_LIMIT] = {"parse-limit", "error", "source too deeply nested to analyse",
		       "flatten the expression or statement nesting"},
    [R_NOT_UTF8] = {"not-utf8", "error", "not valid UTF-8", "save the file as UTF-8"},
    [R_NUL_BYTE] = {"nul-byte", "error", "contains a NUL byte",
		    "remove the NUL byte; Python source cannot contain one"},
    [R_ENCODING_DECL] = {"encoding-declaration", "error", "declares an encoding other than UTF-8",
			 "remove the coding declaration and save the file as UTF-8"},
    [R_TOO_LARGE] = {"too-large", "error", "source file too large",
		     "split the converter or raise max_source_bytes"},
    [R_TOO_MANY] = {"too-many-findings", "error", "too many findings, list cut short",
		    "fix the findings above and validate again"},
    [R_PY_WARNING] = {"python-warning", "warning", "the Python parser warned",
		      "fix the construct the parser warns about (a raw string r\"...\" for "
		      "regular expressions)"},
};

/*
 * Dotted names, matched on resolved qualified names ("builtins.eval" for a
 * bare eval). A pattern of k components matches the first k components of a
 * name with fnmatch(3), so "subprocess" covers subprocess.run and
 * "os.exec*" covers os.execv.
 */
#define ROW_CALL_CHECKED 1u /* a call is judged by its arguments; a bare use is flagged */

struct name_row {
	const char *pattern;
	enum rule rule;
	unsigned flags;
	const char *reason;
};

static const struct name_row name_rows[] = {
    {"builtins.eval", R_DANGEROUS_CALL, 0, "evaluates a string as code"},
    {"builtins.exec", R_DANGEROUS_CALL, 0, "executes a string as code"},
    {"builtins.compile", R_DANGEROUS_CALL, 0, "compiles a string to code"},
    {"builtins.breakpoint", R_DANGEROUS_CALL, 0, "starts a debugger that runs typed code"},
    {"builtins.help", R_DANGEROUS_CALL, 0, "starts pydoc, which may run a pager program"},
    {"builtins.__import__", R_DYNAMIC_IMPORT, 0, "imports a module named at run time"},
    {"builtins.globals", R_INTROSPECTION, 0, "exposes the module namespace"},
    {"builtins.locals", R_INTROSPECTION, 0, "exposes a namespace (the module's, at top level)"},
    {"builtins.vars", R_INTROSPECTION, ROW_CALL_CHECKED, "exposes a namespace"},
    {"builtins.getattr", R_COMPUTED_GETATTR, ROW_CALL_CHECKED, "getattr used as a value"},
    {"builtins.setattr", R_COMPUTED_GETATTR, ROW_CALL_CHECKED, "setattr used as a value"},
    {"builtins.delattr", R_COMPUTED_GETATTR, ROW_CALL_CHECKED, "delattr used as a value"},
    {"operator.attrgetter", R_COMPUTED_GETATTR, ROW_CALL_CHECKED, "attrgetter used as a value"},
    {"operator.methodcaller", R_COMPUTED_GETATTR, ROW_CALL_CHECKED, "methodcaller used as a value"},
    {"os.system", R_DANGEROUS_CALL, 0, "runs a shell command"},
    {"os.popen", R_DANGEROUS_CALL, 0, "runs a shell command"},
    {"os.exec*", R_DANGEROUS_CALL, 0, "replaces the process with another program"},
    {"os.spawn*", R_DANGEROUS_CALL, 0, "runs another program"},
    {"os.posix_spawn*", R_DANGEROUS_CALL, 0, "runs another program"},
    {"os.fork*", R_DANGEROUS_CALL, 0, "creates a process"},
    {"os.kill*", R_DANGEROUS_CALL, 0, "sends signals to processes"},
    {"os.startfile", R_DANGEROUS_CALL, 0, "runs another program"},
    {"posix", R_DANGEROUS_CALL, 0, "the raw OS interface (system, exec, fork)"},
    {"pty.spawn", R_DANGEROUS_CALL, 0, "runs another program"},
    {"pty.fork", R_DANGEROUS_CALL, 0, "creates a process"},
    {"subprocess", R_DANGEROUS_CALL, 0, "runs other programs"},
    {"_posixsubprocess", R_DANGEROUS_CALL, 0, "runs other programs"},
    {"asyncio.create_subprocess_*", R_DANGEROUS_CALL, 0, "runs other programs"},
    {"asyncio.subprocess", R_DANGEROUS_CALL, 0, "runs other programs"},
    {"multiprocessing", R_DANGEROUS_CALL, 0, "creates processes"},
    {"_multiprocessing", R_DANGEROUS_CALL, 0, "creates processes"},
    {"concurrent.futures.ProcessPoolExecutor", R_DANGEROUS_CALL, 0, "creates processes"},
    {"socket", R_DANGEROUS_CALL, 0, "opens network connections"},
    {"_socket", R_DANGEROUS_CALL, 0, "opens network connections"},
    {"ctypes", R_DANGEROUS_CALL, 0, "loads and calls native code"},
    {"_ctypes", R_DANGEROUS_CALL, 0, "loads and calls native code"},
    {"cffi", R_DANGEROUS_CALL, 0, "loads and calls native code"},
    {"_testcapi", R_DANGEROUS_CALL, 0, "subverts the interpreter from Python"},
    {"_testinternalcapi", R_DANGEROUS_CALL, 0, "subverts the interpreter from Python"},
    {"_xxsubinterpreters", R_DANGEROUS_CALL, 0, "runs code in another interpreter"},
    {"shutil.rmtree", R_DANGEROUS_CALL, 0, "deletes whole directory trees"},
    {"pickle.load*", R_DANGEROUS_CALL, 0, "unpickling runs code chosen by the data"},
    {"pickle.Unpickler", R_DANGEROUS_CALL, 0, "unpickling runs code chosen by the data"},
    {"_pickle", R_DANGEROUS_CALL, 0, "unpickling runs code chosen by the data"},
    {"shelve", R_DANGEROUS_CALL, 0, "unpickling runs code chosen by the data"},
    {"marshal.load*", R_DANGEROUS_CALL, 0, "loads raw code objects"},
    {"importlib.import_module", R_DYNAMIC_IMPORT, 0, "imports a module named at run time"},
    {"importlib.__import__", R_DYNAMIC_IMPORT, 0, "imports a module named at run time"},
    {"importlib.reload", R_DYNAMIC_IMPORT, 0, "re-executes a module"},
    {"importlib.find_loader", R_DYNAMIC_IMPORT, 0, "loads modules by hand"},
    {"importlib.util", R_DYNAMIC_IMPORT, 0, "loads modules from arbitrary files"},
    {"importlib.machinery", R_DYNAMIC_IMPORT, 0, "loads modules from arbitrary files"},
    {"importlib.abc", R_DYNAMIC_IMPORT, 0, "defines custom module loaders"},
    {"importlib._*", R_DYNAMIC_IMPORT, 0, "the import system's internals"},
    {"imp", R_DYNAMIC_IMPORT, 0, "loads modules from arbitrary files"},
    {"runpy", R_DYNAMIC_IMPORT, 0, "runs a module or file as code"},
    {"zipimport", R_DYNAMIC_IMPORT, 0, "loads modules from archives"},
    {"pkgutil", R_DYNAMIC_IMPORT, 0, "finds and loads modules by name"},
    {"code.interact", R_DYNAMIC_IMPORT, 0, "executes strings as code"},
    {"code.Interactive*", R_DYNAMIC_IMPORT, 0, "executes strings as code"},
    {"code.compile_command", R_DYNAMIC_IMPORT, 0, "compiles strings to code"},
    {"codeop", R_DYNAMIC_IMPORT, 0, "compiles strings to code"},
    {"logging.config", R_DYNAMIC_IMPORT, 0, "resolves and calls objects named in strings"},
    {"pydoc", R_DYNAMIC_IMPORT, 0, "resolves objects named in strings (pydoc.locate)"},
    {"unittest.mock", R_DYNAMIC_IMPORT, 0, "resolves objects named in strings"},
    {"typing.get_type_hints", R_DANGEROUS_CALL, 0, "evaluates annotation strings as code"},
    {"inspect.get_annotations", R_DANGEROUS_CALL, 0, "can evaluate annotation strings"},
    {"timeit", R_DANGEROUS_CALL, 0, "executes strings as code"},
    {"cProfile", R_DANGEROUS_CALL, 0, "executes strings as code"},
    {"profile", R_DANGEROUS_CALL, 0, "executes strings as code"},
    {"trace", R_DANGEROUS_CALL, 0, "executes strings as code"},
    {"pdb", R_DANGEROUS_CALL, 0, "executes typed or given strings as code"},
    {"bdb", R_DANGEROUS_CALL, 0, "executes strings as code"},
    {"doctest", R_DANGEROUS_CALL, 0, "executes examples in strings as code"},
    {"__main__", R_INTROSPECTION, 0, "the runner's main namespace"},
    {"sys.modules", R_INTROSPECTION, 0, "the table of loaded modules reaches any module"},
    {"sys._getframe", R_INTROSPECTION, 0, "frames expose their callers' globals"},
    {"sys._current_frames", R_INTROSPECTION, 0, "frames expose their callers' globals"},
    {"sys.meta_path", R_INTROSPECTION, 0, "changes how imports are resolved"},
    {"sys.path_hooks", R_INTROSPECTION, 0, "changes how imports are resolved"},
    {"sys.path_importer_cache", R_INTROSPECTION, 0, "changes how imports are resolved"},
    {"sys.settrace", R_INTROSPECTION, 0, "sees every frame"},
    {"sys.setprofile", R_INTROSPECTION, 0, "sees every frame"},
    {"inspect.currentframe", R_INTROSPECTION, 0, "frames expose their callers' globals"},
    {"inspect.stack", R_INTROSPECTION, 0, "frames expose their callers' globals"},
    {"inspect.trace", R_INTROSPECTION, 0, "frames expose their callers' globals"},
    {"inspect.getouterframes", R_INTROSPECTION, 0, "frames expose their callers' globals"},
    {"inspect.getinnerframes", R_INTROSPECTION, 0, "frames expose their callers' globals"},
    {"inspect.getclosurevars", R_INTROSPECTION, 0, "exposes a function's globals"},
    {"gc.get_objects", R_INTROSPECTION, 0, "reaches every live object"},
    {"gc.get_referrers", R_INTROSPECTION, 0, "reaches every live object"},
    {"gc.get_referents", R_INTROSPECTION, 0, "reaches every live object"},
    {"types.CodeType", R_INTROSPECTION, 0, "builds code objects from raw bytecode"},
    {"types.FunctionType", R_INTROSPECTION, 0, "builds functions from code objects"},
};

/* Attribute names that climb out of a converter's objects, wherever they appear. */
struct attr_row {
	const char *name;
	const char *reason;
};

static const struct attr_row introspection_attrs[] = {
    {"__subclasses__", "lists every subclass, reaching classes that hold os"},
    {"__globals__", "reaches a function's module globals"},
    {"__builtins__", "reaches the builtins (eval, __import__)"},
    {"__code__", "reads or replaces a function's code"},
    {"__closure__", "reaches the variables of enclosing functions"},
    {"__mro__", "climbs the class hierarchy to object"},
    {"__base__", "climbs the class hierarchy to object"},
    {"__bases__", "climbs the class hierarchy to object"},
    {"__self__", "reaches the module behind a builtin function"},
    {"__getattribute__", "fetches attributes by computed name"},
    {"__loader__", "reaches the module loader"},
    {"__spec__", "reaches the module loader"},
    {"f_globals", "a frame's module globals"},
    {"f_locals", "a frame's variables"},
    {"f_builtins", "a frame's builtins"},
    {"f_back", "the calling frame"},
    {"f_code", "a frame's code"},
    {"gi_frame", "a generator's frame"},
    {"gi_code", "a generator's code"},
    {"cr_frame", "a coroutine's frame"},
    {"cr_code", "a coroutine's code"},
    {"ag_frame", "an async generator's frame"},
    {"ag_code", "an async generator's code"},
    {"tb_frame", "a traceback's frame"},
};

/* Attribute names that run programs on whatever object has them (event loops). */
static const struct attr_row dangerous_attrs[] = {
    {"subprocess_exec", "runs another program (an event loop method)"},
    {"subprocess_shell", "runs a shell command (an event loop method)"},
};

/* Dunder attributes of a module that are plain data. */
static const char *const module_plain_dunders[] = {"__name__", "__doc__", "__version__", "__file__",
						   "__all__"};

/* ------------------------------------------------------------------ */
/* Context                                                             */

enum ast_type {
	T_AST,
	T_IMPORT,
	T_IMPORTFROM,
	T_CALL,
	T_ATTRIBUTE,
	T_NAME,
	T_CONSTANT,
	T_STARRED,
	T_ASSIGN,
	T_ANNASSIGN,
	T_NAMEDEXPR,
	T_EXPR,
	T_LOAD,
	T_STORE,
	T_DEL,
	T_FUNCTIONDEF,
	T_ASYNCFUNCTIONDEF,
	T_CLASSDEF,
	T_EXCEPTHANDLER,
	T_MATCHAS,
	T_MATCHSTAR,
	T_MATCHMAPPING,
	T__COUNT
};

static const char *const ast_type_names[T__COUNT] = {
    [T_AST] = "AST",
    [T_IMPORT] = "Import",
    [T_IMPORTFROM] = "ImportFrom",
    [T_CALL] = "Call",
    [T_ATTRIBUTE] = "Attribute",
    [T_NAME] = "Name",
    [T_CONSTANT] = "Constant",
    [T_STARRED] = "Starred",
    [T_ASSIGN] = "Assign",
    [T_ANNASSIGN] = "AnnAssign",
    [T_NAMEDEXPR] = "NamedExpr",
    [T_EXPR] = "Expr",
    [T_LOAD] = "Load",
    [T_STORE] = "Store",
    [T_DEL] = "Del",
    [T_FUNCTIONDEF] = "FunctionDef",
    [T_ASYNCFUNCTIONDEF] = "AsyncFunctionDef",
    [T_CLASSDEF] = "ClassDef",
    [T_EXCEPTHANDLER] = "ExceptHandler",
    [T_MATCHAS] = "MatchAs",
    [T_MATCHSTAR] = "MatchStar",
    [T_MATCHMAPPING] = "MatchMapping",
};

enum attr_name {
	A_FIELDS,
	A_LINENO,
	A_COL_OFFSET,
	A_END_LINENO,
	A_END_COL_OFFSET,
	A_ID,
	A_ATTR,
	A_VALUE,
	A_FUNC,
	A_ARGS,
	A_KEYWORDS,
	A_NAMES,
	A_NAME,
	A_ASNAME,
	A_MODULE,
	A_LEVEL,
	A_TARGETS,
	A_TARGET,
	A_CTX,
	A_BODY,
	A_REST,
	A_OFFSET,
	A_MSG,
	A_MESSAGE,
	A__COUNT
};

static const char *const attr_names[A__COUNT] = {
    [A_FIELDS] = "_fields",
    [A_LINENO] = "lineno",
    [A_COL_OFFSET] = "col_offset",
    [A_END_LINENO] = "end_lineno",
    [A_END_COL_OFFSET] = "end_col_offset",
    [A_ID] = "id",
    [A_ATTR] = "attr",
    [A_VALUE] = "value",
    [A_FUNC] = "func",
    [A_ARGS] = "args",
    [A_KEYWORDS] = "keywords",
    [A_NAMES] = "names",
    [A_NAME] = "name",
    [A_ASNAME] = "asname",
    [A_MODULE] = "module",
    [A_LEVEL] = "level",
    [A_TARGETS] = "targets",
    [A_TARGET] = "target",
    [A_CTX] = "ctx",
    [A_BODY] = "body",
    [A_REST] = "rest",
    [A_OFFSET] = "offset",
    [A_MSG] = "msg",
    [A_MESSAGE] = "message",
};

enum bind_kind {
	B_IMPORT, /* name -> module or module attribute */
	B_ASSIGN, /* name -> another dotted name, resolved further */
	B_SHADOW, /* name rebound or deleted in a way we do not follow */
};

struct binding {
	char *name;
	char *target; /* NULL for B_SHADOW */
	enum bind_kind kind;
	bool header; /* an import among the module's first statements */
	bool module; /* bound by an import statement: the target is a module */
};

struct finding {
	enum rule rule;
	long line, col;
	char *message;
};

struct vctx {
	const struct cvb_validate_opts *opts;
	char *src; /* NUL-terminated copy of the source */
	size_t len;
	size_t *line_starts; /* byte offset where each line starts */
	size_t nlines, caplines;
	PyObject *types[T__COUNT];
	PyObject *attrs[A__COUNT];
	PyObject *tree;
	PyObject **stack; /* borrowed from tree */
	size_t nstack, capstack;
	struct binding *binds;
	size_t nbinds, capbinds;
	struct finding *finds;
	size_t nfinds, capfinds;
	bool truncated;
	bool oom; /* an allocation failed somewhere: the result cannot be trusted */
};

/* One meaning a dotted name may have. */
struct cand {
	char *q;     /* qualified name, "os.system" */
	bool dflt;   /* the builtin fallback of an unbound bare name */
	bool module; /* its root is a module bound by an import statement */
};

struct cands {
	struct cand *v;
	size_t n, cap;
};

#define ARRAY_LEN(a)	   (sizeof(a) / sizeof((a)[0]))
#define MAX_MESSAGE	   480
#define MAX_SUBJECT	   "160" /* bytes of a name quoted in a message */
#define MAX_RESOLVE_DEPTH  8
#define MAX_RESOLVE_BUDGET 64

static int grow(void **v, size_t *cap, size_t need, size_t size)
{
	size_t ncap;
	void *p;

	if (need <= *cap)
		return 0;
	ncap = *cap ? *cap * 2 : 16;
	while (ncap < need)
		ncap *= 2;
	p = realloc(*v, ncap * size);
	if (!p)
		return -ENOMEM;
	*v = p;
	*cap = ncap;
	return 0;
}

/* "a" + "." + "b" (just "a" when b is NULL or empty); NULL sets c->oom. */
static char *join_dotted(struct vctx *c, const char *a, const char *b)
{
	size_t la = strlen(a), lb = b ? strlen(b) : 0;
	char *s = malloc(la + lb + 2);

	if (!s) {
		c->oom = true;
		return NULL;
	}
	memcpy(s, a, la);
	if (lb) {
		s[la] = '.';
		memcpy(s + la + 1, b, lb);
		la += lb + 1;
	}
	s[la] = '\0';
	return s;
}

static bool is_dunder(const char *s)
{
	size_t n = strlen(s);

	return n > 4 && s[0] == '_' && s[1] == '_' && s[n - 1] == '_' && s[n - 2] == '_';
}

/* ------------------------------------------------------------------ */
/* Bytes: UTF-8, lines, columns                                        */

/* Length of the valid UTF-8 sequence at p (strict: no overlongs, no surrogates), 0 if invalid. */
static size_t utf8_seq(const unsigned char *p, size_t avail)
{
	unsigned char b = p[0];
	unsigned long cp;
	size_t n, i;

	if (b < 0x80)
		return 1;
	if (b >= 0xc2 && b <= 0xdf)
		n = 2, cp = b & 0x1f;
	else if (b >= 0xe0 && b <= 0xef)
		n = 3, cp = b & 0x0f;
	else if (b >= 0xf0 && b <= 0xf4)
		n = 4, cp = b & 0x07;
	else
		return 0;
	if (avail < n)
		return 0;
	for (i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[i] & 0x3f);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

/* Offset of the first byte that is not part of valid UTF-8, or len. */
static size_t utf8_first_invalid(const char *s, size_t len)
{
	size_t i = 0, n;

	while (i < len) {
		n = utf8_seq((const unsigned char *)s + i, len - i);
		if (!n)
			return i;
		i += n;
	}
	return len;
}

/* Replace every byte that is not valid UTF-8 with '?', in place. */
static void utf8_sanitize(char *s)
{
	size_t len = strlen(s), i = 0, n;

	while (i < len) {
		n = utf8_seq((const unsigned char *)s + i, len - i);
		if (!n)
			s[i++] = '?';
		else
			i += n;
	}
}

static int add_line(struct vctx *c, size_t start)
{
	if (grow((void **)&c->line_starts, &c->caplines, c->nlines + 1, sizeof(size_t)))
		return -ENOMEM;
	c->line_starts[c->nlines++] = start;
	return 0;
}

/* Line starts, splitting like the tokenizer: \n, \r\n and a lone \r. */
static int index_lines(struct vctx *c)
{
	size_t i;
	int rc = add_line(c, 0);

	for (i = 0; i < c->len && !rc; i++) {
		if (c->src[i] == '\r' && i + 1 < c->len && c->src[i + 1] == '\n')
			i++;
		else if (c->src[i] != '\n' && c->src[i] != '\r')
			continue;
		if (i + 1 < c->len)
			rc = add_line(c, i + 1);
	}
	return rc;
}

/* 1-based code point column of byte offset `off` on 1-based `line`. */
static long byte_to_col(const struct vctx *c, long line, long off)
{
	size_t start, end, i;
	long col = 1;

	if (off < 0)
		return 1;
	if (line < 1 || (size_t)line > c->nlines)
		return off + 1;
	start = c->line_starts[line - 1];
	end = (size_t)line < c->nlines ? c->line_starts[line] : c->len;
	if (line == 1 && c->len >= 3 && !memcmp(c->src, "\xef\xbb\xbf", 3))
		start = 3; /* the tokenizer drops the BOM before counting */
	for (i = start; i < end && i < start + (size_t)off; i++)
		if ((c->src[i] & 0xc0) != 0x80)
			col++;
	return col;
}

/* 1-based line and column of a byte offset into the source. */
static void offset_to_pos(const struct vctx *c, size_t off, long *line, long *col)
{
	size_t lo = 0, hi = c->nlines;

	while (hi - lo > 1) {
		size_t mid = (lo + hi) / 2;

		if (c->line_starts[mid] <= off)
			lo = mid;
		else
			hi = mid;
	}
	*line = (long)lo + 1;
	*col = byte_to_col(c, *line, (long)(off - c->line_starts[lo]));
}

/* ------------------------------------------------------------------ */
/* Findings                                                            */

__attribute__((format(printf, 5, 6))) static int
add_finding(struct vctx *c, enum rule rule, long line, long col, const char *fmt, ...)
{
	char msg[MAX_MESSAGE];
	struct finding *f;
	va_list ap;

	if (c->nfinds >= CVB_VALIDATE_MAX_FINDINGS && rule != R_TOO_MANY) {
		c->truncated = true;
		return 0;
	}
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	utf8_sanitize(msg);
	if (grow((void **)&c->finds, &c->capfinds, c->nfinds + 1, sizeof(*c->finds)))
		return -ENOMEM;
	f = &c->finds[c->nfinds];
	f->message = strdup(msg);
	if (!f->message)
		return -ENOMEM;
	f->rule = rule;
	f->line = line;
	f->col = col;
	c->nfinds++;
	return 0;
}

static int cmp_finding(const void *pa, const void *pb)
{
	const struct finding *a = pa, *b = pb;

	if (a->line != b->line)
		return a->line < b->line ? -1 : 1;
	if (a->col != b->col)
		return a->col < b->col ? -1 : 1;
	if (a->rule != b->rule)
		return a->rule < b->rule ? -1 : 1;
	return strcmp(a->message, b->message);
}

static json_t *finding_json(const struct finding *f)
{
	const struct cvb_validate_rule *r = &rules[f->rule];

	return json_pack("{s:s, s:s, s:I, s:I, s:s, s:s}", "rule", r->id, "severity", r->severity,
			 "line", (json_int_t)f->line, "col", (json_int_t)f->col, "message",
			 f->message, "hint", r->hint);
}

/* Sort, drop duplicates, and render the findings as a JSON array text. */
static int render_findings(struct vctx *c, char **out)
{
	json_t *arr;
	size_t i;

	if (c->truncated && add_finding(c, R_TOO_MANY, 0, 0, "more than %u findings",
					CVB_VALIDATE_MAX_FINDINGS - 1))
		return -ENOMEM;
	arr = json_array();
	if (!arr)
		return -ENOMEM;
	if (c->nfinds)
		qsort(c->finds, c->nfinds, sizeof(*c->finds), cmp_finding);
	for (i = 0; i < c->nfinds; i++) {
		if (i && !cmp_finding(&c->finds[i - 1], &c->finds[i]))
			continue;
		if (json_array_append_new(arr, finding_json(&c->finds[i]))) {
			json_decref(arr);
			return -ENOMEM;
		}
	}
	*out = json_dumps(arr, JSON_COMPACT);
	json_decref(arr);
	return *out ? 0 : -ENOMEM;
}

/* ------------------------------------------------------------------ */
/* Byte-level checks                                                   */

/* Is the PEP 263 coding cookie on this line something other than UTF-8? */
static bool cookie_is_foreign(const char *p, const char *end, char *name, size_t namelen)
{
	const char *q;
	size_t n = 0;

	while (p < end && (*p == ' ' || *p == '\t' || *p == '\f'))
		p++;
	if (p >= end || *p != '#')
		return false;
	for (q = p; q + 7 <= end; q++) {
		if (memcmp(q, "coding", 6) || (q[6] != ':' && q[6] != '='))
			continue;
		for (q += 7; q < end && (*q == ' ' || *q == '\t');)
			q++;
		for (; q < end && n + 1 < namelen; q++) {
			if (!isalnum((unsigned char)*q) && *q != '-' && *q != '_' && *q != '.')
				break;
			name[n++] = *q == '_' ? '-' : (char)tolower((unsigned char)*q);
		}
		name[n] = '\0';
		return n && strcmp(name, "utf-8") && strcmp(name, "utf8") &&
		       strncmp(name, "utf-8-", 6);
	}
	return false;
}

/* Checks the first two lines, conservatively (Python may ignore line 2). */
static int check_cookie(struct vctx *c)
{
	char name[64];
	size_t line;

	for (line = 0; line < 2 && line < c->nlines; line++) {
		const char *p = c->src + c->line_starts[line];
		const char *end =
		    c->src + (line + 1 < c->nlines ? c->line_starts[line + 1] : c->len);

		if (cookie_is_foreign(p, end, name, sizeof(name)))
			return add_finding(c, R_ENCODING_DECL, (long)line + 1, 1,
					   "coding declaration '%s': the file would be decoded "
					   "as %s, not as the UTF-8 that was checked",
					   name, name);
	}
	return 0;
}

/* NUL and UTF-8. Returns 1 when the source must not be parsed. */
static int check_bytes(struct vctx *c)
{
	const char *nul = memchr(c->src, '\0', c->len);
	long line, col;
	size_t bad;

	if (nul) {
		offset_to_pos(c, (size_t)(nul - c->src), &line, &col);
		return add_finding(c, R_NUL_BYTE, line, col, "%s", rules[R_NUL_BYTE].message) ?: 1;
	}
	bad = utf8_first_invalid(c->src, c->len);
	if (bad < c->len) {
		offset_to_pos(c, bad, &line, &col);
		return add_finding(c, R_NOT_UTF8, line, col,
				   "not valid UTF-8: byte 0x%02x at offset %zu",
				   (unsigned char)c->src[bad], bad)
			   ?: 1;
	}
	return check_cookie(c);
}

/* ------------------------------------------------------------------ */
/* Python plumbing                                                     */

static int load_types(struct vctx *c)
{
	PyObject *mod = PyImport_ImportModule("_ast");
	size_t i;

	if (!mod)
		return -EIO;
	for (i = 0; i < T__COUNT; i++) {
		c->types[i] = PyObject_GetAttrString(mod, ast_type_names[i]);
		if (!c->types[i] || !PyType_Check(c->types[i])) {
			Py_DECREF(mod);
			return -EIO;
		}
	}
	Py_DECREF(mod);
	for (i = 0; i < A__COUNT; i++) {
		c->attrs[i] = PyUnicode_InternFromString(attr_names[i]);
		if (!c->attrs[i])
			return -ENOMEM;
	}
	return 0;
}

static void release_python(struct vctx *c)
{
	size_t i;

	for (i = 0; i < T__COUNT; i++)
		Py_CLEAR(c->types[i]);
	for (i = 0; i < A__COUNT; i++)
		Py_CLEAR(c->attrs[i]);
	Py_CLEAR(c->tree);
}

static bool is_type(const struct vctx *c, PyObject *o, enum ast_type t)
{
	return o && Py_TYPE(o) == (PyTypeObject *)c->types[t];
}

/* A node's field, borrowed from the node (see the header comment), or NULL. */
static PyObject *field(const struct vctx *c, PyObject *node, enum attr_name a)
{
	PyObject *v = PyObject_GetAttr(node, c->attrs[a]);

	if (!v) {
		PyErr_Clear();
		return NULL;
	}
	Py_DECREF(v);
	return v == Py_None ? NULL : v;
}

/* A string field as UTF-8 (valid while the tree lives), or NULL. */
static const char *field_str(const struct vctx *c, PyObject *node, enum attr_name a)
{
	PyObject *v = field(c, node, a);
	const char *s;

	if (!v || !PyUnicode_Check(v))
		return NULL;
	s = PyUnicode_AsUTF8(v);
	if (!s)
		PyErr_Clear(); /* a lone surrogate in a string constant */
	return s;
}

static long field_long(const struct vctx *c, PyObject *node, enum attr_name a)
{
	PyObject *v = field(c, node, a);
	long n;

	if (!v || !PyLong_Check(v))
		return 0;
	n = PyLong_AsLong(v);
	if (n == -1 && PyErr_Occurred()) {
		PyErr_Clear();
		return 0;
	}
	return n;
}

/* Start of a node, as 1-based line and code point column. */
static void node_pos(const struct vctx *c, PyObject *node, long *line, long *col)
{
	*line = field_long(c, node, A_LINENO);
	*col = byte_to_col(c, *line, field_long(c, node, A_COL_OFFSET));
}

/* Position of the attribute name that ends an Attribute node. */
static void attr_pos(const struct vctx *c, PyObject *node, const char *attr, long *line, long *col)
{
	long end = field_long(c, node, A_END_COL_OFFSET) - (long)strlen(attr);

	*line = field_long(c, node, A_END_LINENO);
	if (end < 0 || *line < 1) {
		node_pos(c, node, line, col);
		return;
	}
	*col = byte_to_col(c, *line, end);
}

static PyObject *list_item(PyObject *list, Py_ssize_t i)
{
	return list && PyList_Check(list) && i < PyList_GET_SIZE(list) ? PyList_GET_ITEM(list, i)
								       : NULL;
}

static Py_ssize_t list_len(PyObject *list)
{
	return list && PyList_Check(list) ? PyList_GET_SIZE(list) : 0;
}

/* ------------------------------------------------------------------ */
/* Walk                                                                */

static int push(struct vctx *c, PyObject *node)
{
	if (!node || is_type(c, node, T_LOAD) || is_type(c, node, T_STORE) ||
	    is_type(c, node, T_DEL))
		return 0;
	if (grow((void **)&c->stack, &c->capstack, c->nstack + 1, sizeof(*c->stack)))
		return -ENOMEM;
	c->stack[c->nstack++] = node;
	return 0;
}

/* Push a field's nodes: one node or a list of them (fields never nest lists deeper). */
static int push_value(struct vctx *c, PyObject *v)
{
	Py_ssize_t i;
	int rc = 0;

	if (!v)
		return 0;
	if (!PyList_Check(v))
		return PyObject_TypeCheck(v, (PyTypeObject *)c->types[T_AST]) ? push(c, v) : 0;
	for (i = 0; i < PyList_GET_SIZE(v) && !rc; i++)
		if (PyObject_TypeCheck(PyList_GET_ITEM(v, i), (PyTypeObject *)c->types[T_AST]))
			rc = push(c, PyList_GET_ITEM(v, i));
	return rc;
}

static int push_children(struct vctx *c, PyObject *node)
{
	PyObject *fields = field(c, (PyObject *)Py_TYPE(node), A_FIELDS);
	Py_ssize_t i;
	int rc = 0;

	for (i = 0; fields && PyTuple_Check(fields) && i < PyTuple_GET_SIZE(fields) && !rc; i++) {
		PyObject *v = PyObject_GetAttr(node, PyTuple_GET_ITEM(fields, i));

		if (!v) {
			PyErr_Clear();
			continue;
		}
		rc = push_value(c, v);
		Py_DECREF(v);
	}
	return rc;
}

typedef int (*visit_fn)(struct vctx *c, PyObject *node);

/* Depth-first walk with an explicit stack: no recursion, whatever the nesting. */
static int walk(struct vctx *c, PyObject *root, visit_fn visit)
{
	int rc;

	c->nstack = 0;
	if ((rc = push(c, root)))
		return rc;
	while (c->nstack) {
		PyObject *node = c->stack[--c->nstack];

		if ((rc = visit(c, node)))
			return rc;
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* Name/Attribute chains                                               */

/* A chain like o.path.join: the Attribute nodes, outermost first, and what is below them. */
struct chain {
	PyObject *top;
	PyObject *bottom;    /* innermost value: a Name, or any other expression */
	const char *base;    /* the Name's id; NULL when bottom is not a Name */
	PyObject **anodes;   /* Attribute nodes, outermost first */
	const char **anames; /* their attribute names (NULL if unreadable) */
	size_t n, cap;
};

static int chain_collect(struct vctx *c, PyObject *node, struct chain *ch)
{
	PyObject *cur;

	memset(ch, 0, sizeof(*ch));
	ch->top = node;
	for (cur = node; is_type(c, cur, T_ATTRIBUTE); cur = field(c, cur, A_VALUE)) {
		if (grow((void **)&ch->anodes, &ch->cap, ch->n + 1, sizeof(*ch->anodes)))
			return -ENOMEM;
		ch->anodes[ch->n++] = cur;
	}
	ch->anames = calloc(ch->n + 1, sizeof(*ch->anames));
	if (!ch->anames)
		return -ENOMEM;
	for (size_t i = 0; i < ch->n; i++)
		ch->anames[i] = field_str(c, ch->anodes[i], A_ATTR);
	ch->bottom = cur;
	if (is_type(c, cur, T_NAME))
		ch->base = field_str(c, cur, A_ID);
	return 0;
}

static void chain_free(struct chain *ch)
{
	free(ch->anodes);
	free(ch->anames);
}

/* The chain as dotted text ("o.path.join"), or NULL when it does not start at a Name. */
static char *chain_join(struct vctx *c, const struct chain *ch)
{
	size_t i, len, n;
	char *s, *p;

	if (!ch->base)
		return NULL;
	len = strlen(ch->base);
	for (i = 0; i < ch->n; i++)
		len += 1 + (ch->anames[i] ? strlen(ch->anames[i]) : 1);
	s = malloc(len + 1);
	if (!s) {
		c->oom = true;
		return NULL;
	}
	p = s + len;
	*p = '\0';
	for (i = 0; i < ch->n; i++) {
		const char *a = ch->anames[i] ? ch->anames[i] : "?";

		n = strlen(a);
		p -= n;
		memcpy(p, a, n);
		*--p = '.';
	}
	memcpy(s, ch->base, strlen(ch->base));
	return s;
}

/* Dotted text of any Name/Attribute chain expression, or NULL. */
static char *chain_text(struct vctx *c, PyObject *node)
{
	struct chain ch;
	char *s = NULL;

	if (chain_collect(c, node, &ch))
		c->oom = true;
	else
		s = chain_join(c, &ch);
	chain_free(&ch);
	return s;
}

/* ------------------------------------------------------------------ */
/* Bindings                                                            */

static int add_binding(struct vctx *c, const char *name, const char *target, enum bind_kind kind,
		       bool header, bool module)
{
	struct binding *b;

	if (!name)
		return 0;
	if (grow((void **)&c->binds, &c->capbinds, c->nbinds + 1, sizeof(*c->binds)))
		return -ENOMEM;
	b = &c->binds[c->nbinds];
	b->name = strdup(name);
	b->target = target ? strdup(target) : NULL;
	if (!b->name || (target && !b->target)) {
		free(b->name);
		free(b->target);
		return -ENOMEM;
	}
	b->kind = kind;
	b->header = header;
	b->module = module;
	c->nbinds++;
	return 0;
}

/* `import a.b.c` binds a -> a; `import a.b as x` binds x -> a.b. */
static int bind_import(struct vctx *c, PyObject *node, bool header)
{
	PyObject *names = field(c, node, A_NAMES);
	Py_ssize_t i;
	int rc = 0;

	for (i = 0; i < list_len(names) && !rc; i++) {
		PyObject *alias = PyList_GET_ITEM(names, i);
		const char *name = field_str(c, alias, A_NAME);
		const char *as = field_str(c, alias, A_ASNAME);
		char *head;

		if (!name)
			continue;
		if (as) {
			rc = add_binding(c, as, name, B_IMPORT, header, true);
			continue;
		}
		head = strndup(name, strcspn(name, "."));
		if (!head)
			return -ENOMEM;
		rc = add_binding(c, head, head, B_IMPORT, header, true);
		free(head);
	}
	return rc;
}

/* `from m import n as x` binds x -> m.n; a relative import only shadows. */
static int bind_import_from(struct vctx *c, PyObject *node, bool header)
{
	PyObject *names = field(c, node, A_NAMES);
	const char *mod = field_long(c, node, A_LEVEL) > 0 ? NULL : field_str(c, node, A_MODULE);
	Py_ssize_t i;
	int rc = 0;

	for (i = 0; i < list_len(names) && !rc; i++) {
		PyObject *alias = PyList_GET_ITEM(names, i);
		const char *name = field_str(c, alias, A_NAME);
		const char *as = field_str(c, alias, A_ASNAME);
		char *q;

		if (!name || !strcmp(name, "*"))
			continue;
		if (!mod) {
			rc = add_binding(c, as ? as : name, NULL, B_SHADOW, false, false);
			continue;
		}
		q = join_dotted(c, mod, name);
		if (!q)
			return -ENOMEM;
		rc = add_binding(c, as ? as : name, q, B_IMPORT, header, false);
		free(q);
	}
	return rc;
}

/* `x = <dotted name>` (plain, annotated or walrus) makes x an alias. */
static int bind_assign(struct vctx *c, PyObject *target, PyObject *value)
{
	const char *name;
	char *text;
	int rc;

	if (!is_type(c, target, T_NAME) || !value)
		return 0;
	if (!is_type(c, value, T_NAME) && !is_type(c, value, T_ATTRIBUTE))
		return 0;
	name = field_str(c, target, A_ID);
	text = chain_text(c, value);
	if (!name || !text) {
		free(text);
		return 0;
	}
	rc = add_binding(c, name, text, B_ASSIGN, false, false);
	free(text);
	return rc;
}

static int bind_assign_node(struct vctx *c, PyObject *node)
{
	PyObject *value = field(c, node, A_VALUE);
	PyObject *targets;
	Py_ssize_t i;
	int rc = 0;

	if (!is_type(c, node, T_ASSIGN))
		return bind_assign(c, field(c, node, A_TARGET), value);
	targets = field(c, node, A_TARGETS);
	for (i = 0; i < list_len(targets) && !rc; i++)
		rc = bind_assign(c, PyList_GET_ITEM(targets, i), value);
	return rc;
}

/* A Name stored or deleted, or a def/class/except/match name: may hide a builtin. */
static int bind_shadow(struct vctx *c, PyObject *node)
{
	if (is_type(c, node, T_NAME)) {
		if (is_type(c, field(c, node, A_CTX), T_LOAD))
			return 0;
		return add_binding(c, field_str(c, node, A_ID), NULL, B_SHADOW, false, false);
	}
	if (is_type(c, node, T_MATCHMAPPING))
		return add_binding(c, field_str(c, node, A_REST), NULL, B_SHADOW, false, false);
	if (is_type(c, node, T_FUNCTIONDEF) || is_type(c, node, T_ASYNCFUNCTIONDEF) ||
	    is_type(c, node, T_CLASSDEF) || is_type(c, node, T_EXCEPTHANDLER) ||
	    is_type(c, node, T_MATCHAS) || is_type(c, node, T_MATCHSTAR))
		return add_binding(c, field_str(c, node, A_NAME), NULL, B_SHADOW, false, false);
	return 0;
}

static int visit_bind(struct vctx *c, PyObject *node)
{
	int rc;

	if (is_type(c, node, T_IMPORT))
		rc = bind_import(c, node, false);
	else if (is_type(c, node, T_IMPORTFROM))
		rc = bind_import_from(c, node, false);
	else if (is_type(c, node, T_ASSIGN) || is_type(c, node, T_ANNASSIGN) ||
		 is_type(c, node, T_NAMEDEXPR))
		rc = bind_assign_node(c, node);
	else
		rc = bind_shadow(c, node);
	return rc ?: push_children(c, node);
}

static int cmp_binding(const void *pa, const void *pb)
{
	const struct binding *a = pa, *b = pb;

	return strcmp(a->name, b->name);
}

/* The module's leading imports (after a docstring) are bound before any code runs. */
static int collect_bindings(struct vctx *c)
{
	PyObject *body = field(c, c->tree, A_BODY);
	Py_ssize_t i;
	bool header = true;
	int rc = 0;

	for (i = 0; i < list_len(body) && !rc; i++) {
		PyObject *stmt = PyList_GET_ITEM(body, i);
		bool doc = i == 0 && is_type(c, stmt, T_EXPR) &&
			   is_type(c, field(c, stmt, A_VALUE), T_CONSTANT);

		header =
		    header && (doc || is_type(c, stmt, T_IMPORT) || is_type(c, stmt, T_IMPORTFROM));
		if (header && is_type(c, stmt, T_IMPORT))
			rc = bind_import(c, stmt, true);
		else if (header && is_type(c, stmt, T_IMPORTFROM))
			rc = bind_import_from(c, stmt, true);
		else if (!doc)
			rc = walk(c, stmt, visit_bind);
	}
	if (!rc && c->nbinds)
		qsort(c->binds, c->nbinds, sizeof(*c->binds), cmp_binding);
	return rc;
}

/* Range [*lo, *hi) of the bindings of `name` in the sorted table. */
static void binding_range(const struct vctx *c, const char *name, size_t *lo, size_t *hi)
{
	size_t l = 0, h = c->nbinds;

	while (l < h) {
		size_t mid = (l + h) / 2;

		if (strcmp(c->binds[mid].name, name) < 0)
			l = mid + 1;
		else
			h = mid;
	}
	*lo = *hi = l;
	while (*hi < c->nbinds && !strcmp(c->binds[*hi].name, name))
		(*hi)++;
}

/* ------------------------------------------------------------------ */
/* Resolution                                                          */

static int cands_add(struct vctx *c, struct cands *l, const char *head, const char *rest, bool dflt,
		     bool module)
{
	char *q;

	if (grow((void **)&l->v, &l->cap, l->n + 1, sizeof(*l->v)))
		return -ENOMEM;
	q = join_dotted(c, head, rest);
	if (!q)
		return -ENOMEM;
	l->v[l->n].q = q;
	l->v[l->n].dflt = dflt;
	l->v[l->n].module = module;
	l->n++;
	return 0;
}

static void cands_free(struct cands *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->v[i].q);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

static int resolve(struct vctx *c, const char *name, const char *rest, struct cands *out, int depth,
		   int *budget);

/* Resolve dotted text: its first component through the bindings, the rest appended. */
static int resolve_text(struct vctx *c, const char *text, const char *rest, struct cands *out,
			int depth, int *budget)
{
	size_t headlen = strcspn(text, ".");
	char *head = strndup(text, headlen), *tail = NULL;
	int rc;

	if (!head)
		return -ENOMEM;
	if (text[headlen] && !(tail = join_dotted(c, text + headlen + 1, rest))) {
		free(head);
		return -ENOMEM;
	}
	rc = resolve(c, head, tail ? tail : rest, out, depth, budget);
	free(head);
	free(tail);
	return rc;
}

static int resolve_dotted(struct vctx *c, const char *text, struct cands *out)
{
	int budget = MAX_RESOLVE_BUDGET;

	return resolve_text(c, text, NULL, out, 0, &budget);
}

/*
 * Every qualified name `name.rest` may stand for. The builtin fallback is
 * added unless all bindings of the name are header imports. Assignment
 * aliases are followed to a bounded depth and count (a cycle just ends).
 */
static int resolve(struct vctx *c, const char *name, const char *rest, struct cands *out, int depth,
		   int *budget)
{
	size_t lo, hi, i;
	bool header_only;
	int rc = 0;

	binding_range(c, name, &lo, &hi);
	header_only = lo < hi;
	for (i = lo; i < hi && !rc; i++) {
		const struct binding *b = &c->binds[i];

		header_only = header_only && b->kind == B_IMPORT && b->header;
		if (b->kind == B_IMPORT)
			rc = cands_add(c, out, b->target, rest, false, b->module);
		else if (b->kind == B_ASSIGN && depth<MAX_RESOLVE_DEPTH && * budget> 0) {
			(*budget)--;
			rc = resolve_text(c, b->target, rest, out, depth + 1, budget);
		}
	}
	if (!rc && !header_only) {
		char *q = join_dotted(c, "builtins", name);

		if (!q)
			return -ENOMEM;
		rc = cands_add(c, out, q, rest, true, false);
		free(q);
	}
	return rc;
}

static bool any_bound(const struct cands *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (!l->v[i].dflt)
			return true;
	return false;
}

/* ------------------------------------------------------------------ */
/* Classification                                                      */

struct verdict {
	enum rule rule;
	const char *reason;
	unsigned flags;
	const char *what; /* the blocked entry or table pattern that matched */
};

/*
 * Does a k-component pattern match the first k components of q? The
 * pattern's literal start is compared first: most rows fail on the first
 * byte, and a pattern without wildcards needs nothing more.
 */
static bool pattern_matches(const char *pattern, const char *q)
{
	size_t lit, k = 1, len = 0;
	const char *p;
	char buf[512];

	if (!pattern || !*pattern)
		return false;
	if (pattern[0] != q[0] && !strchr("*?[\\", pattern[0]))
		return false; /* the common case, before any scanning */
	lit = strcspn(pattern, "*?[\\");
	if (strncmp(pattern, q, lit))
		return false;
	if (!pattern[lit])
		return q[lit] == '\0' || q[lit] == '.';
	for (p = pattern; *p; p++)
		k += *p == '.';
	for (p = q; *p; p++, len++)
		if (*p == '.' && --k == 0)
			break;
	if (k > 1 || len >= sizeof(buf))
		return false;
	memcpy(buf, q, len);
	buf[len] = '\0';
	return fnmatch(pattern, buf, 0) == 0;
}

static const char *blocked_entry(const struct vctx *c, size_t i)
{
	return c->opts->blocked_imports ? c->opts->blocked_imports[i] : NULL;
}

/* Whether a granted capability lifts this name (or table pattern). */
static bool lifted(const struct vctx *c, const char *q)
{
	for (size_t i = 0; c->opts->lifted && i < c->opts->n_lifted; i++)
		if (pattern_matches(c->opts->lifted[i], q))
			return true;
	return false;
}

/* The first rule a qualified name falls under: the blocked list, then the tables. */
static bool classify(const struct vctx *c, const char *q, struct verdict *v)
{
	size_t i;

	if (lifted(c, q))
		return false;
	for (i = 0; i < c->opts->n_blocked; i++) {
		if (pattern_matches(blocked_entry(c, i), q)) {
			*v = (struct verdict){R_BLOCKED_IMPORT, rules[R_BLOCKED_IMPORT].message, 0,
					      blocked_entry(c, i)};
			return true;
		}
	}
	for (i = 0; i < ARRAY_LEN(name_rows); i++) {
		if (pattern_matches(name_rows[i].pattern, q)) {
			*v = (struct verdict){name_rows[i].rule, name_rows[i].reason,
					      name_rows[i].flags, name_rows[i].pattern};
			return true;
		}
	}
	return false;
}

/* Is the entry strictly inside module `mod` ("os.system" is inside "os")? */
static bool inside(const char *entry, const char *mod)
{
	size_t n = strlen(mod);

	return entry && !strncmp(entry, mod, n) && entry[n] == '.';
}

/* Something blocked or dangerous inside module `mod`. */
static bool classify_inside(const struct vctx *c, const char *mod, struct verdict *v)
{
	size_t i;

	for (i = 0; i < c->opts->n_blocked; i++) {
		if (inside(blocked_entry(c, i), mod) && !lifted(c, blocked_entry(c, i))) {
			*v = (struct verdict){R_BLOCKED_IMPORT, rules[R_BLOCKED_IMPORT].message, 0,
					      blocked_entry(c, i)};
			return true;
		}
	}
	for (i = 0; i < ARRAY_LEN(name_rows); i++) {
		if (inside(name_rows[i].pattern, mod) && !lifted(c, name_rows[i].pattern)) {
			*v = (struct verdict){name_rows[i].rule, name_rows[i].reason, 0,
					      name_rows[i].pattern};
			return true;
		}
	}
	return false;
}

static const struct attr_row *find_attr(const struct attr_row *rows, size_t n, const char *name)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!strcmp(rows[i].name, name))
			return &rows[i];
	return NULL;
}

static const struct attr_row *introspection_attr(const char *name)
{
	return find_attr(introspection_attrs, ARRAY_LEN(introspection_attrs), name);
}

static bool module_plain_dunder(const char *name)
{
	size_t i;

	for (i = 0; i < ARRAY_LEN(module_plain_dunders); i++)
		if (!strcmp(module_plain_dunders[i], name))
			return true;
	return false;
}

/* How a qualified name reads in a message: builtins.eval is just eval. */
static const char *display(const char *q)
{
	return strncmp(q, "builtins.", 9) ? q : q + 9;
}

/* ------------------------------------------------------------------ */
/* Imports                                                             */

static bool import_allowed(struct vctx *c, const char *mod, const char *name)
{
	char *q = NULL;
	bool ok = false;
	size_t i;

	if (!c->opts->n_allowed || !c->opts->allowed_imports || !strcmp(mod, "__future__"))
		return true;
	if (name && !(q = join_dotted(c, mod, name)))
		return false;
	for (i = 0; i < c->opts->n_allowed && !ok; i++)
		ok = pattern_matches(c->opts->allowed_imports[i], mod) ||
		     (q && pattern_matches(c->opts->allowed_imports[i], q));
	free(q);
	return ok;
}

/* One imported dotted name: the allowlist, then the blocked list and the tables. */
static int check_imported(struct vctx *c, PyObject *pos, const char *mod, const char *name)
{
	char *q = name ? join_dotted(c, mod, name) : strdup(mod);
	struct verdict v;
	long line, col;
	int rc = 0;

	if (!q)
		return -ENOMEM;
	node_pos(c, pos, &line, &col);
	if (!import_allowed(c, mod, name))
		rc = add_finding(c, R_IMPORT_NOT_ALLOWED, line, col,
				 "import of %." MAX_SUBJECT "s: %s", q,
				 rules[R_IMPORT_NOT_ALLOWED].message);
	else if (classify(c, q, &v) && !(v.flags & ROW_CALL_CHECKED))
		rc = add_finding(c, v.rule, line, col, "import of %." MAX_SUBJECT "s: %s", q,
				 v.reason);
	else if (!classify(c, q, &v) && name && name[0] == '_' && !is_dunder(name))
		rc =
		    add_finding(c, R_INTROSPECTION, line, col,
				"import of %." MAX_SUBJECT "s: private name of a module, which may "
				"be another module (tempfile._os is os)",
				q);
	free(q);
	return rc;
}

static int check_import(struct vctx *c, PyObject *node)
{
	PyObject *names = field(c, node, A_NAMES);
	Py_ssize_t i;
	int rc = 0;

	for (i = 0; i < list_len(names) && !rc; i++) {
		PyObject *alias = PyList_GET_ITEM(names, i);
		const char *name = field_str(c, alias, A_NAME);

		if (name)
			rc = check_imported(c, alias, name, NULL);
	}
	return rc;
}

/* `from m import *`: an error when m holds anything blocked or dangerous. */
static int check_star(struct vctx *c, PyObject *node, const char *mod)
{
	struct verdict v;
	long line, col;

	node_pos(c, node, &line, &col);
	if (classify_inside(c, mod, &v))
		return add_finding(c, v.rule, line, col,
				   "star import from %." MAX_SUBJECT "s brings in %." MAX_SUBJECT
				   "s: %s",
				   mod, v.what, v.reason);
	return add_finding(c, R_STAR_IMPORT, line, col, "star import from %." MAX_SUBJECT "s: %s",
			   mod, rules[R_STAR_IMPORT].message);
}

static int check_import_from(struct vctx *c, PyObject *node)
{
	PyObject *names = field(c, node, A_NAMES);
	const char *mod = field_str(c, node, A_MODULE);
	struct verdict v;
	long line, col;
	Py_ssize_t i;
	int rc = 0;

	node_pos(c, node, &line, &col);
	if (field_long(c, node, A_LEVEL) > 0)
		return add_finding(c, R_RELATIVE_IMPORT, line, col, "%s",
				   rules[R_RELATIVE_IMPORT].message);
	if (!mod)
		return 0;
	if (import_allowed(c, mod, NULL) && classify(c, mod, &v))
		return add_finding(c, v.rule, line, col, "import from %." MAX_SUBJECT "s: %s", mod,
				   v.reason);
	for (i = 0; i < list_len(names) && !rc; i++) {
		PyObject *alias = PyList_GET_ITEM(names, i);
		const char *name = field_str(c, alias, A_NAME);

		if (name && !strcmp(name, "*"))
			rc = check_star(c, node, mod);
		else if (name)
			rc = check_imported(c, alias, mod, name);
	}
	return rc;
}

/* ------------------------------------------------------------------ */
/* Uses of names                                                       */

static bool any_module(const struct cands *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (l->v[i].module)
			return true;
	return false;
}

/*
 * classify(), also on every tail of q that starts at a component and has
 * two or more: a module re-exported by another is the same module
 * (shutil.os.system is os.system, x.sys.modules is sys.modules).
 */
static bool classify_q(const struct vctx *c, const char *q, struct verdict *v)
{
	const char *p;

	if (classify(c, q, v))
		return true;
	for (p = strchr(q, '.'); p; p = strchr(p + 1, '.'))
		if (strchr(p + 1, '.') && classify(c, p + 1, v))
			return true;
	return false;
}

/*
 * One attribute of a chain: an introspection name anywhere; a program-running
 * method name when the chain as a whole matched nothing; below a module
 * bound by `import`, a dunder right after the module or a private name
 * (tempfile._os is the os module).
 */
static int check_one_attr(struct vctx *c, PyObject *anode, const char *a, bool first,
			  bool module_root, bool matched)
{
	const struct attr_row *row = introspection_attr(a);
	long line, col;

	attr_pos(c, anode, a, &line, &col);
	if (row)
		return add_finding(c, R_INTROSPECTION, line, col, "%s: %s", a, row->reason);
	row = find_attr(dangerous_attrs, ARRAY_LEN(dangerous_attrs), a);
	if (row && !matched)
		return add_finding(c, R_DANGEROUS_CALL, line, col, "%s: %s", a, row->reason);
	if (!module_root || matched)
		return 0;
	if (first && is_dunder(a) && !module_plain_dunder(a))
		return add_finding(c, R_INTROSPECTION, line, col,
				   "%." MAX_SUBJECT "s of a module: exposes its internals", a);
	if (a[0] == '_' && !is_dunder(a))
		return add_finding(c, R_INTROSPECTION, line, col,
				   "%." MAX_SUBJECT
				   "s: private attribute of a module, which may be "
				   "another module (tempfile._os is os)",
				   a);
	return 0;
}

static int check_chain_attrs(struct vctx *c, const struct chain *ch, bool module_root, bool matched)
{
	size_t i;
	int rc = 0;

	for (i = ch->n; i-- > 0 && !rc;)
		if (ch->anames[i])
			rc = check_one_attr(c, ch->anodes[i], ch->anames[i], i == ch->n - 1,
					    module_root, matched);
	return rc;
}

/* A module named without an attribute: it is being passed around. */
static int check_module_value(struct vctx *c, PyObject *node, const struct cands *l)
{
	struct verdict v;
	long line, col;
	size_t i;

	node_pos(c, node, &line, &col);
	for (i = 0; i < l->n; i++) {
		if (l->v[i].module)
			return add_finding(c, R_MODULE_ALIAS, line, col,
					   "module %." MAX_SUBJECT "s used as a value: calls "
					   "through an alias are hidden from review",
					   l->v[i].q);
		if (!l->v[i].dflt && classify_inside(c, l->v[i].q, &v))
			return add_finding(c, R_MODULE_ALIAS, line, col,
					   "%." MAX_SUBJECT
					   "s used as a value: it holds %." MAX_SUBJECT
					   "s, and calls through an alias are hidden from review",
					   l->v[i].q, v.what);
	}
	return 0;
}

/*
 * Classify each meaning of a chain and report the first match. A
 * call-checked name in call position is handed back through *special
 * instead, for its arguments to be judged.
 */
static int check_meaning(struct vctx *c, PyObject *node, const char *written, const struct cands *l,
			 bool called, const char **special, bool *matched)
{
	struct verdict v;
	long line, col;
	size_t i;

	for (i = 0; i < l->n; i++) {
		const char *q = display(l->v[i].q);

		if (!classify_q(c, l->v[i].q, &v))
			continue;
		*matched = true;
		if (called && (v.flags & ROW_CALL_CHECKED)) {
			*special = v.what;
			continue;
		}
		node_pos(c, node, &line, &col);
		if (strcmp(written, q))
			return add_finding(c, v.rule, line, col,
					   "%." MAX_SUBJECT "s (written %." MAX_SUBJECT "s): %s", q,
					   written, v.reason);
		return add_finding(c, v.rule, line, col, "%." MAX_SUBJECT "s: %s", q, v.reason);
	}
	return 0;
}

/*
 * A Name or Attribute chain: its attributes, then what it resolves to.
 * `called`: it is a call's func. A bare Name that is not called is a value
 * use, checked for modules. *special: see check_meaning.
 */
static int check_chain(struct vctx *c, PyObject *node, bool called, const char **special)
{
	struct cands l = {0};
	bool matched = false;
	struct chain ch;
	char *text = NULL;
	int rc;

	*special = NULL;
	rc = chain_collect(c, node, &ch);
	if (!rc && ch.base && !(text = chain_join(c, &ch)))
		rc = -ENOMEM;
	if (!rc && text)
		rc = resolve_dotted(c, text, &l);
	if (!rc && text)
		rc = check_meaning(c, node, text, &l, called, special, &matched);
	if (!rc)
		rc = check_chain_attrs(c, &ch, any_module(&l), matched);
	if (!rc && text && !ch.n && !called)
		rc = check_module_value(c, node, &l);
	if (!rc && !ch.base)
		rc = push(c, ch.bottom);
	free(text);
	cands_free(&l);
	chain_free(&ch);
	return rc;
}

/* Names that are introspection by themselves (__builtins__, __loader__ ...). Sets *hit. */
static int check_special_name(struct vctx *c, PyObject *node, bool *hit)
{
	const char *id = field_str(c, node, A_ID);
	const struct attr_row *row = id ? introspection_attr(id) : NULL;
	long line, col;

	*hit = row != NULL;
	if (!row)
		return 0;
	node_pos(c, node, &line, &col);
	return add_finding(c, R_INTROSPECTION, line, col, "%s: %s", id, row->reason);
}

static int check_name(struct vctx *c, PyObject *node)
{
	const char *special;
	bool hit;
	int rc = check_special_name(c, node, &hit);

	if (rc || hit || !is_type(c, field(c, node, A_CTX), T_LOAD))
		return rc;
	return check_chain(c, node, false, &special);
}

/* ------------------------------------------------------------------ */
/* Calls judged by their arguments                                     */

static bool has_starred(const struct vctx *c, PyObject *args)
{
	Py_ssize_t i;

	for (i = 0; i < list_len(args); i++)
		if (is_type(c, PyList_GET_ITEM(args, i), T_STARRED))
			return true;
	return false;
}

/* A literal attribute name, or NULL when the argument is computed. */
static const char *literal_name(const struct vctx *c, PyObject *arg)
{
	return is_type(c, arg, T_CONSTANT) ? field_str(c, arg, A_VALUE) : NULL;
}

/* The attribute-name argument of getattr & co.: computed, dunder or introspective? */
static int check_attr_arg(struct vctx *c, PyObject *call, const char *fn, PyObject *arg)
{
	const char *name = literal_name(c, arg);
	const struct attr_row *row;
	struct verdict v;
	long line, col;

	node_pos(c, arg ? arg : call, &line, &col);
	fn = display(fn);
	if (!name)
		return add_finding(c, R_COMPUTED_GETATTR, line, col,
				   "%s with a computed attribute name: %s", fn,
				   rules[R_COMPUTED_GETATTR].message);
	row = introspection_attr(name);
	if (row)
		return add_finding(c, R_INTROSPECTION, line, col,
				   "%s(..., '%." MAX_SUBJECT "s'): %s", fn, name, row->reason);
	if (strstr(name, "__"))
		return add_finding(c, R_COMPUTED_GETATTR, line, col,
				   "%s with dunder name '%." MAX_SUBJECT "s': %s", fn, name,
				   rules[R_COMPUTED_GETATTR].message);
	if (strchr(name, '.') && classify_q(c, name, &v)) /* attrgetter("os.system") */
		return add_finding(c, v.rule, line, col, "%s('%." MAX_SUBJECT "s'): %s", fn, name,
				   v.reason);
	return 0;
}

/*
 * getattr(obj, "name") with a literal name is obj.name: classify that, and
 * refuse it on a module (getattr(shutil, "os") would hide the os module).
 */
static int check_attr_target(struct vctx *c, PyObject *call, PyObject *obj, PyObject *arg)
{
	const char *name = literal_name(c, arg);
	char *text = name ? chain_text(c, obj) : NULL;
	char *full = text ? join_dotted(c, text, name) : NULL;
	struct cands l = {0};
	struct verdict v;
	long line, col;
	size_t i;
	int rc = full ? resolve_dotted(c, full, &l) : 0;

	node_pos(c, call, &line, &col);
	for (i = 0; !rc && i < l.n; i++) {
		if (!classify_q(c, l.v[i].q, &v))
			continue;
		rc = add_finding(c, v.rule, line, col,
				 "%." MAX_SUBJECT "s (through getattr on %." MAX_SUBJECT "s): %s",
				 display(l.v[i].q), text, v.reason);
		goto out;
	}
	if (!rc && any_module(&l))
		rc = add_finding(c, R_COMPUTED_GETATTR, line, col,
				 "getattr on module %." MAX_SUBJECT "s: %s", text,
				 rules[R_COMPUTED_GETATTR].message);
out:
	free(text);
	free(full);
	cands_free(&l);
	return rc;
}

/* vars() without an argument, or of an imported name, exposes a namespace. */
static int check_vars_call(struct vctx *c, PyObject *call, PyObject *args)
{
	PyObject *arg = list_item(args, 0);
	char *text = is_type(c, arg, T_NAME) ? chain_text(c, arg) : NULL;
	struct cands l = {0};
	long line, col;
	int rc = 0;

	node_pos(c, call, &line, &col);
	if (!arg || has_starred(c, args)) {
		free(text);
		return add_finding(c, R_INTROSPECTION, line, col,
				   "vars() without an object: exposes a whole namespace");
	}
	if (text)
		rc = resolve_dotted(c, text, &l);
	if (!rc && any_bound(&l))
		rc = add_finding(c, R_INTROSPECTION, line, col,
				 "vars(%." MAX_SUBJECT "s): exposes a module's namespace", text);
	free(text);
	cands_free(&l);
	return rc;
}

/* getattr/setattr/delattr, attrgetter/methodcaller and vars, by their arguments. */
static int check_special_call(struct vctx *c, PyObject *call, const char *fn)
{
	PyObject *args = field(c, call, A_ARGS);
	Py_ssize_t i, n = list_len(args);
	int rc = 0;

	if (!strcmp(fn, "builtins.vars"))
		return check_vars_call(c, call, args);
	if (has_starred(c, args) || n < (strncmp(fn, "builtins.", 9) ? 1 : 2))
		return check_attr_arg(c, call, fn, NULL);
	if (!strcmp(fn, "operator.attrgetter")) {
		for (i = 0; i < n && !rc; i++)
			rc = check_attr_arg(c, call, fn, PyList_GET_ITEM(args, i));
		return rc;
	}
	if (!strcmp(fn, "operator.methodcaller"))
		return check_attr_arg(c, call, fn, list_item(args, 0));
	rc = check_attr_arg(c, call, fn, list_item(args, 1));
	return rc ?: check_attr_target(c, call, list_item(args, 0), list_item(args, 1));
}

/*
 * A call's arguments, for the walk. Those a getattr-like call or vars() was
 * judged by are skipped: literal names (getattr(x, "__globals__") is one
 * finding, not two) and, for the builtins, the object when it is a plain
 * name (getattr(os, "system") is os.system, not "os used as a value").
 */
static int push_args(struct vctx *c, PyObject *args, const char *special)
{
	bool builtin = special && !strncmp(special, "builtins.", 9);
	Py_ssize_t i;
	bool hit;
	int rc = 0;

	if (!special)
		return push_value(c, args);
	for (i = 0; i < list_len(args) && !rc; i++) {
		PyObject *a = PyList_GET_ITEM(args, i);

		if (is_type(c, a, T_CONSTANT))
			continue;
		if (i == 0 && builtin && is_type(c, a, T_NAME))
			rc = check_special_name(c, a, &hit);
		else
			rc = push(c, a);
	}
	return rc;
}

static int check_call(struct vctx *c, PyObject *node)
{
	PyObject *func = field(c, node, A_FUNC);
	const char *special = NULL;
	int rc;

	if (is_type(c, func, T_NAME) || is_type(c, func, T_ATTRIBUTE))
		rc = check_chain(c, func, true, &special);
	else
		rc = push(c, func);
	if (!rc && special)
		rc = check_special_call(c, node, special);
	if (!rc)
		rc = push_args(c, field(c, node, A_ARGS), special);
	if (!rc)
		rc = push_value(c, field(c, node, A_KEYWORDS));
	return rc;
}

/* A string naming an interpreter internal: x["__builtins__"], locals()["__globals__"]. */
static int check_constant(struct vctx *c, PyObject *node)
{
	const char *text = field_str(c, node, A_VALUE);
	const struct attr_row *row = text ? introspection_attr(text) : NULL;
	long line, col;

	if (!row)
		return 0;
	node_pos(c, node, &line, &col);
	return add_finding(c, R_INTROSPECTION, line, col, "'%s' as a string: %s", text,
			   row->reason);
}

static int visit_check(struct vctx *c, PyObject *node)
{
	const char *special;

	if (is_type(c, node, T_IMPORT))
		return check_import(c, node);
	if (is_type(c, node, T_IMPORTFROM))
		return check_import_from(c, node);
	if (is_type(c, node, T_CALL))
		return check_call(c, node);
	if (is_type(c, node, T_ATTRIBUTE))
		return check_chain(c, node, false, &special);
	if (is_type(c, node, T_NAME))
		return check_name(c, node);
	if (is_type(c, node, T_CONSTANT))
		return check_constant(c, node);
	return push_children(c, node);
}

/* ------------------------------------------------------------------ */
/* Parsing                                                             */

static int syntax_error_finding(struct vctx *c)
{
	PyObject *type, *value, *tb, *msg;
	const char *text = NULL;
	long line, col;
	int rc;

	PyErr_Fetch(&type, &value, &tb);
	PyErr_NormalizeException(&type, &value, &tb);
	line = value ? field_long(c, value, A_LINENO) : 0;
	col = value ? field_long(c, value, A_OFFSET) : 0;
	/* 3.11 gives some offsets in bytes, some in characters: keep them on the line */
	if (line > 0 && col > byte_to_col(c, line, LONG_MAX / 2))
		col = byte_to_col(c, line, LONG_MAX / 2);
	msg = value ? field(c, value, A_MSG) : NULL;
	if (msg && PyUnicode_Check(msg) && !(text = PyUnicode_AsUTF8(msg)))
		PyErr_Clear();
	rc = add_finding(c, R_SYNTAX_ERROR, line > 0 ? line : 1, col > 0 ? col : 1,
			 "syntax error: %s", text ? text : "invalid syntax");
	Py_XDECREF(type);
	Py_XDECREF(value);
	Py_XDECREF(tb);
	return rc;
}

/* Parser warnings, recorded by catch_warnings(record=True), become findings. */
static int warning_findings(struct vctx *c, PyObject *log)
{
	Py_ssize_t i;
	int rc = 0;

	for (i = 0; i < list_len(log) && !rc; i++) {
		PyObject *w = PyList_GET_ITEM(log, i);
		PyObject *m = field(c, w, A_MESSAGE);
		PyObject *s = m ? PyObject_Str(m) : NULL;
		const char *text = s ? PyUnicode_AsUTF8(s) : NULL;
		long line = field_long(c, w, A_LINENO);

		PyErr_Clear();
		rc = add_finding(c, R_PY_WARNING, line > 0 ? line : 1, 1, "%s",
				 text ? text : rules[R_PY_WARNING].message);
		Py_XDECREF(s);
	}
	return rc;
}

/* Leave the catch_warnings context, keeping any pending exception. */
static void warnings_exit(PyObject *cm)
{
	PyObject *type, *value, *tb;

	PyErr_Fetch(&type, &value, &tb);
	Py_XDECREF(PyObject_CallMethod(cm, "__exit__", "OOO", Py_None, Py_None, Py_None));
	PyErr_Clear();
	PyErr_Restore(type, value, tb);
}

/* Enter warnings.catch_warnings(record=True) with every warning recorded. */
static PyObject *warnings_enter(PyObject **log)
{
	PyObject *mod = PyImport_ImportModule("warnings");
	PyObject *cls = mod ? PyObject_GetAttrString(mod, "catch_warnings") : NULL;
	PyObject *kw = cls ? Py_BuildValue("{s:O}", "record", Py_True) : NULL;
	PyObject *empty = kw ? PyTuple_New(0) : NULL;
	PyObject *cm = empty ? PyObject_Call(cls, empty, kw) : NULL;
	PyObject *r = NULL;

	Py_XDECREF(cls);
	Py_XDECREF(kw);
	Py_XDECREF(empty);
	*log = cm ? PyObject_CallMethod(cm, "__enter__", NULL) : NULL;
	if (*log)
		r = PyObject_CallMethod(mod, "simplefilter", "s", "always");
	Py_XDECREF(mod);
	if (r) {
		Py_DECREF(r);
		return cm;
	}
	if (*log)
		warnings_exit(cm);
	Py_CLEAR(*log);
	Py_XDECREF(cm);
	return NULL;
}

/* Python failed where it should not: -EIO with the exception's text. */
static int python_failure(char *errbuf, size_t errlen, const char *what)
{
	PyObject *type, *value, *tb, *s;
	const char *text = NULL;

	PyErr_Fetch(&type, &value, &tb);
	s = value ? PyObject_Str(value) : NULL;
	if (s && !(text = PyUnicode_AsUTF8(s)))
		PyErr_Clear();
	if (errbuf && errlen)
		snprintf(errbuf, errlen, "validate: %s: %s: %s", what,
			 type ? ((PyTypeObject *)type)->tp_name : "no exception", text ? text : "");
	Py_XDECREF(s);
	Py_XDECREF(type);
	Py_XDECREF(value);
	Py_XDECREF(tb);
	PyErr_Clear();
	return -EIO;
}

/* The parser failed: a finding for bad source, -EIO for anything unexpected. */
static int parse_failure(struct vctx *c, char *errbuf, size_t errlen)
{
	if (PyErr_ExceptionMatches(PyExc_SyntaxError))
		return syntax_error_finding(c);
	if (PyErr_ExceptionMatches(PyExc_RecursionError) ||
	    PyErr_ExceptionMatches(PyExc_MemoryError)) {
		PyErr_Clear();
		return add_finding(c, R_PARSE_LIMIT, 1, 1, "%s", rules[R_PARSE_LIMIT].message);
	}
	return python_failure(errbuf, errlen, "the parser failed");
}

/*
 * Parse the bytes as the runner will compile them (coding cookie and all),
 * to an AST only. Warnings are recorded, not printed.
 */
static int parse_source(struct vctx *c, const char *filename, char *errbuf, size_t errlen)
{
	PyCompilerFlags cf = {.cf_flags = PyCF_ONLY_AST, .cf_feature_version = PY_MINOR_VERSION};
	PyObject *log, *cm = warnings_enter(&log);
	int rc;

	if (!cm)
		return python_failure(errbuf, errlen, "cannot capture parser warnings");
	c->tree = Py_CompileStringExFlags(c->src, filename, Py_file_input, &cf, -1);
	rc = c->tree ? 0 : parse_failure(c, errbuf, errlen);
	warnings_exit(cm);
	if (rc >= 0)
		rc = warning_findings(c, log);
	Py_DECREF(log);
	Py_DECREF(cm);
	return rc;
}

/* Parse and walk. */
static int analyse(struct vctx *c, const char *filename, char *errbuf, size_t errlen)
{
	int rc = load_types(c);

	if (rc)
		return python_failure(errbuf, errlen, "cannot load the ast classes");
	rc = parse_source(c, filename ? filename : "<converter>", errbuf, errlen);
	if (rc || !c->tree)
		return rc;
	rc = collect_bindings(c);
	if (!rc)
		rc = walk(c, c->tree, visit_check);
	return rc;
}

static void vctx_free(struct vctx *c)
{
	size_t i;

	release_python(c);
	for (i = 0; i < c->nbinds; i++) {
		free(c->binds[i].name);
		free(c->binds[i].target);
	}
	for (i = 0; i < c->nfinds; i++)
		free(c->finds[i].message);
	free(c->binds);
	free(c->finds);
	free(c->stack);
	free(c->line_starts);
	free(c->src);
}

static int bad_call(char *errbuf, size_t errlen, int err, const char *what)
{
	if (errbuf && errlen)
		snprintf(errbuf, errlen, "validate: %s", what);
	return err;
}

/* Byte checks, then (when they allow it) parse and walk. */
static int validate(struct vctx *c, const char *src, const char *filename, char *errbuf,
		    size_t errlen)
{
	size_t max =
	    c->opts->max_source_bytes ? c->opts->max_source_bytes : CVB_VALIDATE_DEFAULT_MAX_SOURCE;
	int rc;

	if (c->len > max)
		return add_finding(c, R_TOO_LARGE, 0, 0,
				   "source file too large: %zu bytes (limit %zu)", c->len, max);
	c->src = malloc(c->len + 1);
	if (!c->src)
		return -ENOMEM;
	if (c->len)
		memcpy(c->src, src, c->len);
	c->src[c->len] = '\0';
	rc = index_lines(c);
	if (!rc)
		rc = check_bytes(c);
	if (!rc)
		rc = analyse(c, filename, errbuf, errlen);
	return rc < 0 ? rc : 0;
}

int cvb_validate_init_python(void)
{
	PyConfig config;
	PyConfig_InitIsolatedConfig(&config);
	config.site_import = 0;
	config.write_bytecode = 0;
	PyStatus st = PyConfig_SetBytesString(&config, &config.home, CVB_PYTHON_HOME);
	if (!PyStatus_Exception(st))
		st = Py_InitializeFromConfig(&config);
	PyConfig_Clear(&config);
	return PyStatus_Exception(st) ? -1 : 0;
}

int cvb_validate_source(const char *src, size_t len, const char *filename,
			const struct cvb_validate_opts *opts, char **json_out, char *errbuf,
			size_t errlen)
{
	struct vctx c = {.opts = opts, .len = len};
	PyObject *type, *value, *tb;
	int rc;

	if (errbuf && errlen)
		errbuf[0] = '\0';
	if (!json_out)
		return bad_call(errbuf, errlen, -EINVAL, "no output pointer");
	*json_out = NULL;
	if ((!src && len) || !opts)
		return bad_call(errbuf, errlen, -EINVAL, "no source or no options");
	if (!Py_IsInitialized() || !PyGILState_Check())
		return bad_call(errbuf, errlen, -EINVAL, "no initialised interpreter or no GIL");
	PyErr_Fetch(&type, &value, &tb); /* the caller's pending exception, if any */
	rc = validate(&c, src, filename, errbuf, errlen);
	if (!rc && PyErr_Occurred())
		rc = python_failure(errbuf, errlen, "exception left over from the walk");
	release_python(&c);
	PyErr_Clear();
	PyErr_Restore(type, value, tb);
	if (!rc && c.oom)
		rc = -ENOMEM;
	if (!rc)
		rc = render_findings(&c, json_out);
	if (rc == -ENOMEM)
		bad_call(errbuf, errlen, rc, "out of memory");
	vctx_free(&c);
	return rc;
}

int cvb_validate_count_errors(const char *findings_json)
{
	json_t *arr = findings_json ? json_loads(findings_json, 0, NULL) : NULL;
	size_t i;
	int n = 0;

	if (!json_is_array(arr)) {
		json_decref(arr);
		return -1;
	}
	for (i = 0; i < json_array_size(arr) && n >= 0; i++) {
		json_t *f = json_array_get(arr, i);
		const char *sev = json_string_value(json_object_get(f, "severity"));

		if (!json_is_object(f) || !sev)
			n = -1;
		else if (!strcmp(sev, "error"))
			n++;
	}
	json_decref(arr);
	return n;
}

const struct cvb_validate_rule *cvb_validate_rules(size_t *n)
{
	if (n)
		*n = R__COUNT;
	return rules;
}
