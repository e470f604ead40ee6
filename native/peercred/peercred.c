/*
 * peerCredentials(fd) -> { pid, uid, gid, groups }: who is at the other end of a
 * connected unix socket, as the kernel recorded it at connect(2) (SO_PEERCRED) with the
 * peer's supplementary groups (SO_PEERGROUPS, Linux 4.13). Node has no API for either;
 * the control sockets authorise every request by these. One job, no state: every
 * failure is thrown as a JavaScript Error naming the call and errno.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <node_api.h>

/* Throws "peercred: WHAT: strerror(errno)" and returns NULL for the caller to return. */
static napi_value fail(napi_env env, const char *what, int err) {
  char message[256];
  snprintf(message, sizeof message, "peercred: %s: %s", what, strerror(err));
  napi_throw_error(env, NULL, message);
  return NULL;
}

/* Sets obj[key] = n; false (an exception pending) when N-API fails. */
static int set_number(napi_env env, napi_value obj, const char *key, double n) {
  napi_value value;
  if (napi_create_double(env, n, &value) != napi_ok) return 0;
  return napi_set_named_property(env, obj, key, value) == napi_ok;
}

/* The peer's supplementary groups into *out (malloc'd, *count entries); an errno on failure. */
static int peer_groups(int fd, gid_t **out, size_t *count) {
  socklen_t len = 64 * sizeof(gid_t);
  for (int attempt = 0; attempt < 4; attempt++) {
    gid_t *groups = malloc(len);
    if (groups == NULL) return ENOMEM;
    socklen_t got = len;
    if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &got) == 0) {
      *out = groups;
      *count = got / sizeof(gid_t);
      return 0;
    }
    int err = errno;
    free(groups);
    /* ERANGE: the list is longer; the kernel has set `got` to the size it needs. */
    if (err != ERANGE || got <= len) return err;
    len = got;
  }
  return ERANGE;
}

static napi_value peer_credentials(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  int32_t fd;
  if (argc < 1 || napi_get_value_int32(env, argv[0], &fd) != napi_ok || fd < 0) {
    napi_throw_type_error(env, NULL, "peercred: peerCredentials(fd) takes a file descriptor");
    return NULL;
  }
  struct ucred cred;
  socklen_t len = sizeof cred;
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) return fail(env, "SO_PEERCRED", errno);
  if (len != sizeof cred) return fail(env, "SO_PEERCRED", EPROTO);

  gid_t *groups = NULL;
  size_t count = 0;
  int err = peer_groups(fd, &groups, &count);
  if (err != 0) return fail(env, "SO_PEERGROUPS", err);

  napi_value result = NULL, list;
  int ok = napi_create_object(env, &result) == napi_ok && set_number(env, result, "pid", cred.pid) &&
           set_number(env, result, "uid", cred.uid) && set_number(env, result, "gid", cred.gid) &&
           napi_create_array_with_length(env, count, &list) == napi_ok;
  for (size_t i = 0; ok && i < count; i++) {
    napi_value gid;
    ok = napi_create_double(env, groups[i], &gid) == napi_ok && napi_set_element(env, list, (uint32_t)i, gid) == napi_ok;
  }
  free(groups);
  if (!ok || napi_set_named_property(env, result, "groups", list) != napi_ok) return NULL; /* N-API has an exception pending */
  return result;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_value fn;
  if (napi_create_function(env, "peerCredentials", NAPI_AUTO_LENGTH, peer_credentials, NULL, &fn) != napi_ok) return NULL;
  if (napi_set_named_property(env, exports, "peerCredentials", fn) != napi_ok) return NULL;
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
