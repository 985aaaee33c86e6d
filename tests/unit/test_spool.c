/*
 * Unit tests for durable results (include/convbox/spool.h): SHA-256
 * against the FIPS 180-4 examples, stable report ids, textual report
 * preparation (the converter's bytes kept), the spool's never-replace
 * writes, and post actions that never overwrite (move, across file
 * systems, zip checked by Python's zipfile, keep).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "convbox/jobspec.h"
#include "convbox/spool.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#define PYTHON "/usr/bin/python3.11"

static const char *tmp_base(void)
{
	const char *t = getenv("TMPDIR");
	return t && *t ? t : "/tmp";
}

static char *make_tmpdir(const char *base)
{
	char *p = NULL;
	assert_true(asprintf(&p, "%s/cvb-spool-XXXXXX", base) > 0);
	assert_non_null(mkdtemp(p));
	return p;
}

static void rm_rf(const char *dir)
{
	char *cmd = NULL;
	assert_true(asprintf(&cmd, "rm -rf '%s'", dir) > 0);
	assert_int_equal(system(cmd), 0);
	free(cmd);
}

static char *path_in(const char *dir, const char *name)
{
	char *p = NULL;
	assert_true(asprintf(&p, "%s/%s", dir, name) > 0);
	return p;
}

static void write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
}

static char *read_text(const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return NULL;
	char *buf = calloc(1, 1 << 20);
	size_t n = fread(buf, 1, (1 << 20) - 1, f);
	buf[n] = 0;
	fclose(f);
	return buf;
}

static size_t count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	size_t n = 0;
	assert_non_null(d);
	while ((e = readdir(d)))
		n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
	closedir(d);
	return n;
}

static void hex_of(const char *data, size_t len, char out[65])
{
	struct cvb_sha256 s;
	uint8_t d[32];
	cvb_sha256_init(&s);
	cvb_sha256_update(&s, data, len);
	cvb_sha256_final(&s, d);
	cvb_sha256_hex(d, out);
}

static void test_sha256_vectors(void **state)
{
	char hex[65];
	hex_of("", 0, hex);
	assert_string_equal(hex,
			    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	hex_of("abc", 3, hex);
	assert_string_equal(hex,
			    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	const char *two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
	hex_of(two, strlen(two), hex);
	assert_string_equal(hex,
			    "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
	/* One million 'a', fed in uneven pieces. */
	char *a = malloc(1000000);
	memset(a, 'a', 1000000);
	struct cvb_sha256 s;
	uint8_t d[32];
	cvb_sha256_init(&s);
	for (size_t off = 0, step = 1; off < 1000000; off += step, step = step % 97 + 1)
		cvb_sha256_update(&s, a + off, off + step > 1000000 ? 1000000 - off : step);
	cvb_sha256_final(&s, d);
	cvb_sha256_hex(d, hex);
	assert_string_equal(hex,
			    "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
	free(a);
}

static void test_sha256_file(void **state)
{
	char *dir = make_tmpdir(tmp_base()), *p = path_in(dir, "f"), hex[65];
	uint8_t d[32];
	struct cvb_error err = {""};
	write_text(p, "abc");
	assert_int_equal(cvb_sha256_file(p, d, &err), 0);
	cvb_sha256_hex(d, hex);
	assert_string_equal(hex,
			    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	unlink(p);
	assert_int_equal(cvb_sha256_file(p, d, &err), -1);
	assert_non_null(strstr(err.msg, p));
	free(p);
	rm_rf(dir);
	free(dir);
}

static void test_derived_ids(void **state)
{
	uint8_t c1[32] = {1}, c2[32] = {2};
	char a[CVB_UUID_LEN + 1], b[CVB_UUID_LEN + 1];
	cvb_spool_derive_id("csv", "u1.csv", c1, 0, a);
	cvb_spool_derive_id("csv", "u1.csv", c1, 0, b);
	assert_string_equal(a, b); /* stable */
	assert_true(cvb_spool_is_uuid(a));
	assert_int_equal(a[14], '8'); /* version 8 */
	assert_non_null(strchr("89ab", a[19]));
	cvb_spool_derive_id("csv", "u1.csv", c1, 1, b);
	assert_string_not_equal(a, b);
	cvb_spool_derive_id("csv", "u1.csv", c2, 0, b);
	assert_string_not_equal(a, b);
	cvb_spool_derive_id("csv2", "u1.csv", c1, 0, b);
	assert_string_not_equal(a, b);
	/* the same bytes under another name are another file */
	cvb_spool_derive_id("csv", "u2.csv", c1, 0, b);
	assert_string_not_equal(a, b);
	/* the converter's name, the file's and the content cannot run into each other */
	cvb_spool_derive_id("", "u1.csv", c1, 0, b);
	assert_string_not_equal(a, b);
	cvb_spool_derive_id("csvu1.csv", "", c1, 0, b);
	assert_string_not_equal(a, b);
}

static void test_is_uuid(void **state)
{
	assert_true(cvb_spool_is_uuid("123e4567-e89b-12d3-a456-426614174000"));
	assert_true(cvb_spool_is_uuid("123E4567-E89B-12D3-A456-426614174000"));
	assert_false(cvb_spool_is_uuid("123e4567-e89b-12d3-a456-42661417400"));
	assert_false(cvb_spool_is_uuid("123e4567-e89b-12d3-a456-4266141740000"));
	assert_false(cvb_spool_is_uuid("123e4567e89b-12d3-a456-4266141740000"));
	assert_false(cvb_spool_is_uuid("../../../../etc/passwd-aaaaaaaaaaaaaa"));
	assert_false(cvb_spool_is_uuid(""));
}

static const char derived[] = "00000000-0000-8000-8000-000000000001";

static void test_prepare_inserts_and_keeps_bytes(void **state)
{
	const struct cvb_station st = {"ST-1", "Line \"2\"", NULL};
	const char *raw = "  {\"type\": \"T\", \"value\": 1.10000000000000009, \"big\": 1e400x}";
	char *out = NULL, id[CVB_UUID_LEN + 1];
	size_t len = 0;
	struct cvb_error err = {""};
	/* Not JSON at all: refused. */
	assert_int_equal(
	    cvb_spool_prepare_report(raw, strlen(raw), derived, &st, &out, &len, id, &err), -1);
	raw = "  {\"type\": \"T\", \"value\": 1.10000000000000009, \"n\": 12345678901234567890}";
	assert_int_equal(
	    cvb_spool_prepare_report(raw, strlen(raw), derived, &st, &out, &len, id, &err), 0);
	assert_string_equal(id, derived);
	assert_int_equal(len, strlen(out));
	assert_string_equal(out, "{\"id\":\"00000000-0000-8000-8000-000000000001\","
				 "\"machineName\":\"ST-1\",\"location\":\"Line \\\"2\\\"\","
				 "\"type\": \"T\", \"value\": 1.10000000000000009, "
				 "\"n\": 12345678901234567890}");
	json_t *j = json_loads(out, JSON_DECODE_INT_AS_REAL, NULL);
	assert_non_null(j);
	assert_null(json_object_get(j, "purpose"));
	json_decref(j);
	free(out);
}

static void test_prepare_keeps_converter_fields(void **state)
{
	const struct cvb_station st = {"ST-1", "L", "P"};
	const char *raw = "{\"id\": \"ABCDEF01-2345-6789-ABCD-EF0123456789\", \"machineName\": "
			  "null, \"purpose\": \"repair\"}";
	char *out = NULL, id[CVB_UUID_LEN + 1];
	size_t len = 0;
	struct cvb_error err = {""};
	assert_int_equal(
	    cvb_spool_prepare_report(raw, strlen(raw), derived, &st, &out, &len, id, &err), 0);
	assert_string_equal(id, "abcdef01-2345-6789-abcd-ef0123456789");
	assert_string_equal(out, "{\"location\":\"L\",\"id\": \"ABCDEF01-2345-6789-ABCD-"
				 "EF0123456789\", \"machineName\": null, \"purpose\": \"repair\"}");
	free(out);
}

static void test_prepare_refuses(void **state)
{
	static const struct {
		const char *raw, *msg;
	} cases[] = {
	    {"[1, 2]", "not a JSON object"},
	    {"\"text\"", "not a JSON object"},
	    {"{\"id\": \"not-a-uuid\"}", "not-a-uuid"},
	    {"{\"id\": \"../../etc/x-aaaa-aaaa-aaaa-aaaaaaaaaaaa\"}", "is not a UUID"},
	    {"{\"id\": null}", "is not a UUID"},
	    {"{\"id\": 7}", "is not a UUID"},
	    {"{\"a\": 1, \"a\": 2}", "not a JSON object"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *out = NULL, id[CVB_UUID_LEN + 1];
		size_t len = 0;
		struct cvb_error err = {""};
		assert_int_equal(cvb_spool_prepare_report(cases[i].raw, strlen(cases[i].raw),
							  derived, NULL, &out, &len, id, &err),
				 -1);
		assert_null(out);
		if (!strstr(err.msg, cases[i].msg))
			fail_msg("case %zu: '%s' lacks '%s'", i, err.msg, cases[i].msg);
	}
}

static void test_prepare_empty_object(void **state)
{
	char *out = NULL, id[CVB_UUID_LEN + 1];
	size_t len = 0;
	struct cvb_error err = {""};
	assert_int_equal(cvb_spool_prepare_report("{ }", 3, derived, NULL, &out, &len, id, &err),
			 0);
	assert_string_equal(out, "{\"id\":\"00000000-0000-8000-8000-000000000001\" }");
	json_t *j = json_loads(out, 0, NULL);
	assert_non_null(j);
	json_decref(j);
	free(out);
}

static void test_spool_put(void **state)
{
	char *dir = make_tmpdir(tmp_base()), *spool = path_in(dir, "reports/sub");
	struct cvb_spool *sp = NULL;
	struct cvb_error err = {""};
	const char *id = "11111111-2222-8333-8444-555555555555";
	assert_int_equal(cvb_spool_open(spool, &sp, &err), 0); /* creates the folders */
	assert_false(cvb_spool_has(sp, id));
	assert_int_equal(cvb_spool_put(sp, id, "{\"a\":1}", 7, &err), 1);
	assert_int_equal(cvb_spool_sync(sp, &err), 0);
	assert_true(cvb_spool_has(sp, id));
	char *q = path_in(spool, "11111111-2222-8333-8444-555555555555.queued"), *t = read_text(q);
	assert_string_equal(t, "{\"a\":1}");
	free(t);
	/* The same id with the same bytes (converted again after a crash): nothing written. */
	struct stat before, after;
	assert_int_equal(stat(q, &before), 0);
	assert_int_equal(cvb_spool_put(sp, id, "{\"a\":1}", 7, &err), 0);
	assert_int_equal(stat(q, &after), 0);
	assert_int_equal(before.st_ino, after.st_ino);
	/* Other bytes: the newer report replaces the queued one (one file per id). */
	assert_int_equal(cvb_spool_put(sp, id, "{\"a\":22}", 8, &err), 2);
	t = read_text(q);
	assert_string_equal(t, "{\"a\":22}");
	free(t);
	/* An id the uploader already took: the same bytes stay taken, new ones queue again. */
	const char *id2 = "11111111-2222-8333-8444-666666666666";
	char *tr = path_in(spool, "11111111-2222-8333-8444-666666666666.transferred");
	char *q2 = path_in(spool, "11111111-2222-8333-8444-666666666666.queued");
	write_text(tr, "{\"b\":1}");
	assert_int_equal(cvb_spool_put(sp, id2, "{\"b\":1}", 7, &err), 0);
	assert_int_equal(access(q2, F_OK), -1);
	assert_int_equal(cvb_spool_put(sp, id2, "{\"b\":2}", 7, &err), 2);
	t = read_text(q2);
	assert_string_equal(t, "{\"b\":2}");
	free(t);
	free(q2);
	assert_int_equal(cvb_spool_put(sp, "../x", "{}", 2, &err), -1);
	assert_int_equal(count_entries(spool), 3); /* no temporaries left behind */
	/* The reports folder removed while the spool is open: made again, not written blind. */
	rm_rf(spool);
	assert_int_equal(cvb_spool_put(sp, id, "{\"a\":3}", 7, &err), 1);
	t = read_text(q);
	assert_non_null(t);
	assert_string_equal(t, "{\"a\":3}");
	free(t);
	cvb_spool_close(sp);
	free(tr);
	free(q);
	free(spool);
	rm_rf(dir);
	free(dir);
}

static void test_spool_sweeps_temporaries(void **state)
{
	char *dir = make_tmpdir(tmp_base()), *tmp = path_in(dir, ".convbox-tmp-1-2-3");
	char *other = path_in(dir, ".hidden");
	struct cvb_spool *sp = NULL;
	struct cvb_error err = {""};
	write_text(tmp, "partial");
	write_text(other, "not ours");
	assert_int_equal(cvb_spool_open(dir, &sp, &err), 0);
	assert_int_equal(access(tmp, F_OK), -1);
	assert_int_equal(access(other, F_OK), 0);
	assert_string_equal(cvb_spool_path(sp), dir);
	cvb_spool_close(sp);
	free(tmp);
	free(other);
	rm_rf(dir);
	free(dir);
}

static void test_move_unique(void **state)
{
	char *dir = make_tmpdir(tmp_base()), *done = path_in(dir, "Done"),
	     *src = path_in(dir, "a.csv");
	char *final1 = NULL, *final2 = NULL, *final3 = NULL;
	struct cvb_error err = {""};
	write_text(src, "first");
	assert_int_equal(cvb_spool_move_unique(src, done, &final1, &err), 0);
	assert_non_null(strstr(final1, "/Done/a.csv"));
	write_text(src, "second");
	assert_int_equal(cvb_spool_move_unique(src, done, &final2, &err), 0);
	write_text(src, "third");
	assert_int_equal(cvb_spool_move_unique(src, done, &final3, &err), 0);
	assert_string_not_equal(final1, final2);
	assert_string_not_equal(final2, final3);
	assert_non_null(strstr(final2, "/Done/a_"));
	assert_string_equal(final2 + strlen(final2) - 4, ".csv");
	char *t1 = read_text(final1), *t2 = read_text(final2), *t3 = read_text(final3);
	assert_string_equal(t1, "first");
	assert_string_equal(t2, "second");
	assert_string_equal(t3, "third");
	assert_int_equal(access(src, F_OK), -1);
	assert_int_equal(count_entries(done), 3);
	/* A missing source is an error that names it. */
	assert_int_equal(cvb_spool_move_unique(src, done, NULL, &err), -1);
	assert_non_null(strstr(err.msg, "a.csv"));
	free(t1);
	free(t2);
	free(t3);
	free(final1);
	free(final2);
	free(final3);
	free(src);
	free(done);
	rm_rf(dir);
	free(dir);
}

static bool is_utf8(const char *s)
{
	for (size_t n; *s; s += n)
		if ((n = cvb_utf8_len(s)) == 0)
			return false;
	return true;
}

/* A name too long to take a suffix is cut between characters, never inside one. */
static void test_long_names_stay_utf8(void **state)
{
	char *dir = make_tmpdir(tmp_base()), *done = path_in(dir, "Done"), name[256] = "";
	for (int i = 0; i < 125; i++)
		strcat(name, "\xc3\xa9"); /* é, two bytes */
	strcat(name, ".csv");
	char *src = path_in(dir, name), *final = NULL;
	struct cvb_error err = {""};
	for (int round = 0; round < 3; round++) { /* the name, then two shortened ones */
		write_text(src, "x");
		assert_int_equal(cvb_spool_move_unique(src, done, &final, &err), 0);
		const char *base = strrchr(final, '/') + 1;
		assert_true(strlen(base) <= NAME_MAX);
		assert_true(is_utf8(base));
		assert_string_equal(base + strlen(base) - 4, ".csv");
		free(final);
		assert_int_equal(cvb_spool_write_new(done, name, "{}", 2, &final, &err), 0);
		assert_true(is_utf8(strrchr(final, '/') + 1));
		free(final);
	}
	assert_int_equal(count_entries(done), 6);
	free(src);
	free(done);
	rm_rf(dir);
	free(dir);
}

/* /dev/shm is a tmpfs and /tmp usually not: a move between them is a copy. */
static void test_move_across_file_systems(void **state)
{
	struct stat a, b;
	if (stat("/dev/shm", &a) < 0 || stat(tmp_base(), &b) < 0 || a.st_dev == b.st_dev)
		skip();
	char *from = make_tmpdir("/dev/shm"), *to = make_tmpdir(tmp_base());
	char *src = path_in(from, "x.txt"), *old = path_in(to, "x.txt"), *final = NULL;
	struct cvb_error err = {""};
	write_text(src, "moved across");
	write_text(old, "already here");
	assert_int_equal(cvb_spool_move_unique(src, to, &final, &err), 0);
	assert_string_not_equal(final, old);
	char *t = read_text(final), *o = read_text(old);
	assert_string_equal(t, "moved across");
	assert_string_equal(o, "already here");
	assert_int_equal(access(src, F_OK), -1);
	assert_int_equal(count_entries(to), 2);
	free(t);
	free(o);
	free(final);
	free(src);
	free(old);
	rm_rf(from);
	rm_rf(to);
	free(from);
	free(to);
}

static void test_zip(void **state)
{
	char *dir = make_tmpdir(tmp_base()), *src = path_in(dir, "r.csv");
	char *zip = path_in(dir, ".z.zip"), *done = path_in(dir, "Done"), *cmd = NULL;
	char *final1 = NULL, *final2 = NULL;
	struct cvb_error err = {""};
	write_text(src, "serial,SN-1\nvalue,5.01\n");
	assert_int_equal(cvb_spool_zip_file(src, zip, &err), 0);
	assert_int_equal(access(src, F_OK), 0); /* the file itself is left alone */
	/* An independent reader: Python's zipfile, checking the name, the bytes and the CRC. */
	assert_true(asprintf(&cmd,
			     PYTHON
			     " -I -c \"import zipfile,sys; z=zipfile.ZipFile(sys.argv[1]); "
			     "assert z.testzip() is None; assert z.namelist()==['r.csv']; "
			     "assert z.read('r.csv')==open(sys.argv[2],'rb').read()\" '%s' '%s'",
			     zip, src) > 0);
	if (access(PYTHON, X_OK) == 0)
		assert_int_equal(system(cmd), 0);
	free(cmd);
	/* Into Done under another name, twice: never overwritten. */
	assert_int_equal(cvb_spool_move_as(zip, done, "r.csv.zip", &final1, &err), 0);
	assert_int_equal(cvb_spool_zip_file(src, zip, &err), 0);
	assert_int_equal(cvb_spool_move_as(zip, done, "r.csv.zip", &final2, &err), 0);
	assert_non_null(strstr(final1, "/Done/r.csv.zip"));
	assert_non_null(strstr(final2, "/Done/r.csv_"));
	assert_string_equal(final2 + strlen(final2) - 4, ".zip");
	assert_int_equal(count_entries(done), 2);
	assert_int_equal(count_entries(dir), 2); /* r.csv and Done: no temporaries */
	free(final1);
	free(final2);
	free(done);
	free(zip);
	free(src);
	rm_rf(dir);
	free(dir);
}

static void test_keep(void **state)
{
	char *dir = make_tmpdir(tmp_base()), *watch = path_in(dir, "watch"),
	     *proc = path_in(dir, "p");
	char *src = path_in(proc, "k.csv"), *final = NULL;
	struct cvb_error err = {""};
	assert_int_equal(cvb_spool_mkdirs(watch, &err), 0);
	assert_int_equal(cvb_spool_mkdirs(proc, &err), 0);
	write_text(src, "data");
	if (setxattr(src, "user.probe", "1", 1, 0) < 0 && (errno == ENOTSUP || errno == EPERM)) {
		rm_rf(dir);
		skip();
	}
	assert_int_equal(cvb_spool_keep(src, watch, &final, &err), 0);
	assert_non_null(strstr(final, "/watch/k.csv"));
	int wfd = open(watch, O_RDONLY | O_DIRECTORY);
	assert_true(cvb_spool_is_kept(wfd, "k.csv"));
	/* Written again: no longer the file that was converted. */
	FILE *f = fopen(final, "a");
	fputs("more", f);
	fclose(f);
	assert_false(cvb_spool_is_kept(wfd, "k.csv"));
	assert_false(cvb_spool_is_kept(wfd, "missing.csv"));
	close(wfd);
	free(final);
	free(src);
	free(proc);
	free(watch);
	rm_rf(dir);
	free(dir);
}

/* An explanation beside a file in Error never replaces a file, whatever its name. */
static void test_write_new(void **state)
{
	char *dir = make_tmpdir(tmp_base()), *p = path_in(dir, "x.error.json"), *final = NULL;
	struct cvb_error err = {""};
	write_text(p, "an input that is called x.error.json");
	assert_int_equal(cvb_spool_write_new(dir, "x.error.json", "{\"a\":1}", 7, &final, &err), 0);
	assert_string_not_equal(final, p);
	assert_string_equal(final + strlen(final) - strlen(".error.json"), ".error.json");
	char *t = read_text(p), *u = read_text(final);
	assert_string_equal(t, "an input that is called x.error.json");
	assert_string_equal(u, "{\"a\":1}");
	assert_int_equal(count_entries(dir), 2);
	free(t);
	free(u);
	free(final);
	/* a name longer than a file name may be is shortened, its extension kept */
	char long_name[300];
	memset(long_name, 'n', 250);
	snprintf(long_name + 250, sizeof(long_name) - 250, ".error.json");
	assert_int_equal(cvb_spool_write_new(dir, long_name, "{}", 2, &final, &err), 0);
	const char *base = strrchr(final, '/') + 1;
	assert_true(strlen(base) <= NAME_MAX);
	assert_int_equal(strncmp(base, "nnnn", 4), 0);
	assert_non_null(strstr(base, ".json"));
	assert_int_equal(count_entries(dir), 3);
	free(final);
	free(p);
	p = path_in(dir, "plain");
	write_text(p, "a file, not a folder");
	free(p);
	p = path_in(dir, "plain/sub");
	assert_int_equal(cvb_spool_write_new(p, "x", "x", 1, NULL, &err), -1);
	assert_non_null(strstr(err.msg, "plain"));
	free(p);
	rm_rf(dir);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_sha256_vectors),
	    cmocka_unit_test(test_sha256_file),
	    cmocka_unit_test(test_derived_ids),
	    cmocka_unit_test(test_is_uuid),
	    cmocka_unit_test(test_prepare_inserts_and_keeps_bytes),
	    cmocka_unit_test(test_prepare_keeps_converter_fields),
	    cmocka_unit_test(test_prepare_refuses),
	    cmocka_unit_test(test_prepare_empty_object),
	    cmocka_unit_test(test_spool_put),
	    cmocka_unit_test(test_spool_sweeps_temporaries),
	    cmocka_unit_test(test_move_unique),
	    cmocka_unit_test(test_long_names_stay_utf8),
	    cmocka_unit_test(test_move_across_file_systems),
	    cmocka_unit_test(test_zip),
	    cmocka_unit_test(test_keep),
	    cmocka_unit_test(test_write_new),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
