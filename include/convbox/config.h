/*
 * Configuration files (JSON). The "sandbox" block is shared by `convbox run
 * --config` and `convbox serve`; converters in serve's file carry the same
 * keys per converter. Every error names the key path and what is expected.
 */
#ifndef CONVBOX_CONFIG_H
#define CONVBOX_CONFIG_H

#include "convbox/error.h"
#include "convbox/run.h"

#include <jansson.h>

/* Read and parse a JSON file; err names the file, line and column on failure. */
json_t *cvb_config_read(const char *path, struct cvb_error *err);

/*
 * Apply a sandbox block (at key path `where`, e.g. "sandbox") to opts:
 * enabled, strict, capabilities, resource_limits, blocked_imports,
 * allowed_imports, native_modules, max_frame_mb. Keys that are absent keep
 * the values already in opts; blocked_imports absent means the spec's
 * defaults, never an empty list.
 */
int cvb_config_apply_sandbox(json_t *block, const char *where, struct cvb_run_opts *opts,
			     struct cvb_error *err);

/* Apply a resource_limits object. */
int cvb_config_apply_limits(json_t *obj, const char *where, struct cvb_limits *l,
			    struct cvb_error *err);

/* Parse a capabilities array into a set; NETWORK_LOCAL/NETWORK_WATS fail closed. */
int cvb_config_parse_caps(json_t *arr, const char *where, cvb_caps *caps, struct cvb_error *err);

/* The message for a capability convbox cannot enforce yet, or NULL when it can. */
const char *cvb_cap_unavailable(int cap);

/* Fill the spec's default blocked imports when the list is empty. */
int cvb_config_default_blocked(struct cvb_run_opts *opts);

#endif
