/*
 * lvsd_socket: the few socket calls Node does not offer (netlink, raw IP, AF_PACKET), as plain N-API.
 *
 * The addon only moves bytes: addresses arrive and leave as raw sockaddr buffers and control messages
 * as {level, type, data} objects; every protocol is encoded and decoded in TypeScript
 * (src/native/index.ts wraps this module with typed functions).
 *
 * Rules: every socket is O_NONBLOCK and close-on-exec, so nothing here blocks the event loop (send and
 * recv return null on EAGAIN); failures throw an Error carrying code ('ENOBUFS'), errno (positive) and
 * syscall; readiness comes from a libuv poll handle that is re-armed after an error event, because
 * libuv stops polling a descriptor once it reports POLLERR (e.g. a netlink socket that overflowed).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <node_api.h>
#include <pthread.h>
#include <sched.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>
#include <uv.h>

#define MAX_IOV 1024
#define CONTROL_SPACE 1024

/* Throws a JS Error for a failed N-API call and returns NULL from the calling function. */
#define NAPI_CALL(env, call)                                                   \
  do {                                                                         \
    if ((call) != napi_ok) {                                                   \
      bool pending_;                                                           \
      napi_is_exception_pending((env), &pending_);                             \
      if (!pending_) napi_throw_error((env), "EINVAL", "invalid argument");    \
      return NULL;                                                             \
    }                                                                          \
  } while (0)

static napi_value throw_errno(napi_env env, int err, const char *syscall) {
  char text[256];
  const char *code = uv_err_name(-err);
  napi_value msg, error, v;
  snprintf(text, sizeof text, "%s %s: %s", syscall, code, strerror(err));
  napi_create_string_utf8(env, text, NAPI_AUTO_LENGTH, &msg);
  napi_create_error(env, NULL, msg, &error);
  napi_create_string_utf8(env, code, NAPI_AUTO_LENGTH, &v);
  napi_set_named_property(env, error, "code", v);
  napi_create_int32(env, err, &v);
  napi_set_named_property(env, error, "errno", v);
  napi_create_string_utf8(env, syscall, NAPI_AUTO_LENGTH, &v);
  napi_set_named_property(env, error, "syscall", v);
  napi_throw(env, error);
  return NULL;
}

static napi_value null_value(napi_env env) {
  napi_value v;
  napi_get_null(env, &v);
  return v;
}

static napi_value int_value(napi_env env, int64_t n) {
  napi_value v;
  napi_create_int64(env, n, &v);
  return v;
}

/* Reads a Buffer (or any Uint8Array-backed Buffer) argument. */
static bool get_bytes(napi_env env, napi_value v, void **data, size_t *len) {
  bool is_buffer = false;
  napi_is_buffer(env, v, &is_buffer);
  if (!is_buffer) {
    napi_throw_type_error(env, "EINVAL", "expected a Buffer");
    return false;
  }
  return napi_get_buffer_info(env, v, data, len) == napi_ok;
}

static bool is_nullish(napi_env env, napi_value v) {
  napi_valuetype t;
  napi_typeof(env, v, &t);
  return t == napi_null || t == napi_undefined;
}

/* Creates a socket inside the network namespace at `path` (setns there and back on this thread); the
 * socket stays bound to that namespace for its lifetime. Returns the fd, or -1 with *err and *syscall. */
static int socket_in_netns(const char *path, int domain, int type, int protocol, int *err, const char **syscall) {
  int home = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  if (home < 0) {
    *err = errno, *syscall = "open";
    return -1;
  }
  int target = open(path, O_RDONLY | O_CLOEXEC);
  if (target < 0) {
    *err = errno, *syscall = "open";
    close(home);
    return -1;
  }
  if (setns(target, CLONE_NEWNET) < 0) {
    *err = errno, *syscall = "setns";
    close(home);
    close(target);
    return -1;
  }
  int fd = socket(domain, type, protocol);
  int socket_err = errno;
  int back = setns(home, CLONE_NEWNET);
  int back_err = errno;
  close(home);
  close(target);
  if (back < 0) {
    if (fd >= 0) close(fd);
    *err = back_err, *syscall = "setns";
    return -1;
  }
  if (fd < 0) *err = socket_err, *syscall = "socket";
  return fd;
}

/* socket(domain, type, protocol[, netnsPath]) -> fd. With netnsPath, the socket is created inside that
 * network namespace and stays bound to it for its lifetime. */
static napi_value js_socket(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  int32_t domain, type, protocol;
  char path[4096];
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  NAPI_CALL(env, napi_get_value_int32(env, argv[0], &domain));
  NAPI_CALL(env, napi_get_value_int32(env, argv[1], &type));
  NAPI_CALL(env, napi_get_value_int32(env, argv[2], &protocol));
  type |= SOCK_NONBLOCK | SOCK_CLOEXEC;
  if (argc < 4 || is_nullish(env, argv[3])) {
    int fd = socket(domain, type, protocol);
    if (fd < 0) return throw_errno(env, errno, "socket");
    return int_value(env, fd);
  }
  NAPI_CALL(env, napi_get_value_string_utf8(env, argv[3], path, sizeof path, NULL));
  int err = 0;
  const char *syscall = "socket";
  int fd = socket_in_netns(path, domain, type, protocol, &err, &syscall);
  if (fd < 0) return throw_errno(env, err, syscall);
  return int_value(env, fd);
}

/* tcpConnect(destination, source|null, mark, device|null[, netnsPath]) -> fd: a non-blocking TCP connect
 * with what Node's sockets cannot set before connecting: SO_MARK (policy routing sees the mark on the SYN),
 * SO_BINDTODEVICE, and a source address and port. Returns once the SYN is sent (EINPROGRESS) or the
 * connection is up; the caller waits for writability (poll with events 2) and reads SO_ERROR. Every
 * failure closes the socket and throws with the failing syscall's name. */
static napi_value js_tcp_connect(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  void *dst, *src = NULL;
  size_t dst_len, src_len = 0;
  uint32_t mark = 0;
  char device[IF_NAMESIZE + 1] = "", path[4096];
  size_t device_len = 0;
  int err = 0, fd;
  const char *syscall = "socket";
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 4) return throw_errno(env, EINVAL, "tcpConnect");
  if (!get_bytes(env, argv[0], &dst, &dst_len)) return NULL;
  if (dst_len < sizeof(struct sockaddr_in)) return throw_errno(env, EINVAL, "connect");
  if (!is_nullish(env, argv[1]) && !get_bytes(env, argv[1], &src, &src_len)) return NULL;
  NAPI_CALL(env, napi_get_value_uint32(env, argv[2], &mark));
  if (!is_nullish(env, argv[3])) {
    NAPI_CALL(env, napi_get_value_string_utf8(env, argv[3], device, sizeof device, &device_len));
    if (device_len >= IF_NAMESIZE) return throw_errno(env, ENODEV, "setsockopt"); /* too long to name a link */
  }
  int domain = ((struct sockaddr *)dst)->sa_family;
  int type = SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC;
  if (argc > 4 && !is_nullish(env, argv[4])) {
    NAPI_CALL(env, napi_get_value_string_utf8(env, argv[4], path, sizeof path, NULL));
    fd = socket_in_netns(path, domain, type, 0, &err, &syscall);
  } else {
    fd = socket(domain, type, 0);
    if (fd < 0) err = errno;
  }
  if (fd < 0) return throw_errno(env, err, syscall);
  syscall = "setsockopt";
  int one = 1;
  if (mark != 0 && setsockopt(fd, SOL_SOCKET, SO_MARK, &mark, sizeof mark) < 0) goto fail;
  if (device_len > 0 && setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, device, (socklen_t)device_len + 1) < 0) goto fail;
  if (src != NULL) {
    /* sin_port and sin6_port sit at the same offset. Without a port, let connect() pick one
     * (IP_BIND_ADDRESS_NO_PORT) so the 4-tuple, not the bare port, has to be unique; with a port,
     * SO_REUSEADDR lets the next probe bind it while the previous connection is in TIME_WAIT. */
    in_port_t port = ((struct sockaddr_in *)src)->sin_port;
    if (port == 0 && setsockopt(fd, SOL_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one) < 0) goto fail;
    if (port != 0 && setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0) goto fail;
    syscall = "bind";
    if (bind(fd, (struct sockaddr *)src, (socklen_t)src_len) < 0) goto fail;
  }
  syscall = "connect";
  if (connect(fd, (struct sockaddr *)dst, (socklen_t)dst_len) < 0 && errno != EINPROGRESS) goto fail;
  return int_value(env, fd);
fail:
  err = errno;
  close(fd);
  return throw_errno(env, err, syscall);
}

/* close(fd[, reset]): with reset true, a TCP socket closes with RST (SO_LINGER 0): no FIN exchange and
 * no TIME_WAIT on either side. */
static napi_value js_close(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  int32_t fd;
  bool reset = false;
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  NAPI_CALL(env, napi_get_value_int32(env, argv[0], &fd));
  if (argc > 1 && !is_nullish(env, argv[1])) NAPI_CALL(env, napi_get_value_bool(env, argv[1], &reset));
  if (reset) {
    struct linger abort_on_close = {.l_onoff = 1, .l_linger = 0};
    if (setsockopt(fd, SOL_SOCKET, SO_LINGER, &abort_on_close, sizeof abort_on_close) < 0) {
      int err = errno;
      close(fd);
      return throw_errno(env, err, "setsockopt");
    }
  }
  if (close(fd) < 0 && errno != EINTR) return throw_errno(env, errno, "close");
  return NULL;
}

/* setsockopt(fd, level, name, value): value is a number (int option) or a Buffer (struct option). */
static napi_value js_setsockopt(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  int32_t fd, level, name;
  napi_valuetype t;
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  NAPI_CALL(env, napi_get_value_int32(env, argv[0], &fd));
  NAPI_CALL(env, napi_get_value_int32(env, argv[1], &level));
  NAPI_CALL(env, napi_get_value_int32(env, argv[2], &name));
  NAPI_CALL(env, napi_typeof(env, argv[3], &t));
  int rc;
  if (t == napi_number) {
    int32_t value;
    NAPI_CALL(env, napi_get_value_int32(env, argv[3], &value));
    int v = value;
    rc = setsockopt(fd, level, name, &v, sizeof v);
  } else {
    void *data;
    size_t len;
    if (!get_bytes(env, argv[3], &data, &len)) return NULL;
    rc = setsockopt(fd, level, name, data, (socklen_t)len);
  }
  if (rc < 0) return throw_errno(env, errno, "setsockopt");
  return NULL;
}

static napi_value js_getsockopt(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  int32_t fd, level, name;
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  NAPI_CALL(env, napi_get_value_int32(env, argv[0], &fd));
  NAPI_CALL(env, napi_get_value_int32(env, argv[1], &level));
  NAPI_CALL(env, napi_get_value_int32(env, argv[2], &name));
  int value = 0;
  socklen_t len = sizeof value;
  if (getsockopt(fd, level, name, &value, &len) < 0) return throw_errno(env, errno, "getsockopt");
  return int_value(env, value);
}

/* bind(fd, sockaddr): the sockaddr bytes are built by the TypeScript wrapper. */
static napi_value js_bind(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  int32_t fd;
  void *addr;
  size_t len;
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  NAPI_CALL(env, napi_get_value_int32(env, argv[0], &fd));
  if (!get_bytes(env, argv[1], &addr, &len)) return NULL;
  if (bind(fd, (struct sockaddr *)addr, (socklen_t)len) < 0) return throw_errno(env, errno, "bind");
  return NULL;
}

/* connect(fd, sockaddr) for datagram sockets (UDP checks): fixes the peer, so the kernel delivers only its
 * datagrams (and prefers this socket over others bound to the same port), and IP_RECVERR reports the ICMP
 * errors about it. Completes at once for UDP; a stream socket would get EINPROGRESS, thrown like any errno. */
static napi_value js_connect(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  int32_t fd;
  void *addr;
  size_t len;
  int rc;
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  NAPI_CALL(env, napi_get_value_int32(env, argv[0], &fd));
  if (!get_bytes(env, argv[1], &addr, &len)) return NULL;
  do rc = connect(fd, (struct sockaddr *)addr, (socklen_t)len);
  while (rc < 0 && errno == EINTR);
  if (rc < 0) return throw_errno(env, errno, "connect");
  return NULL;
}

static napi_value js_getsockname(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], out;
  int32_t fd;
  struct sockaddr_storage ss;
  socklen_t len = sizeof ss;
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  NAPI_CALL(env, napi_get_value_int32(env, argv[0], &fd));
  if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0) return throw_errno(env, errno, "getsockname");
  NAPI_CALL(env, napi_create_buffer_copy(env, len, &ss, NULL, &out));
  return out;
}

/* sendmsg(fd, buffers[], sockaddr|null, control[]|null, flags) -> bytes sent, or null on EAGAIN.
 * Several buffers go out as one datagram (an iovec): e.g. a batch of netlink messages in one call. */
static napi_value js_sendmsg(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  int32_t fd, flags = 0;
  uint32_t count, ncontrol = 0;
  static __thread struct iovec iov[MAX_IOV]; /* per thread: worker threads may load the addon too */
  union {
    char buf[CONTROL_SPACE];
    struct cmsghdr align;
  } control;
  struct msghdr msg;
  memset(&msg, 0, sizeof msg);
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  NAPI_CALL(env, napi_get_value_int32(env, argv[0], &fd));
  NAPI_CALL(env, napi_get_array_length(env, argv[1], &count));
  if (count > MAX_IOV) return throw_errno(env, EMSGSIZE, "sendmsg");
  for (uint32_t i = 0; i < count; i++) {
    napi_value b;
    NAPI_CALL(env, napi_get_element(env, argv[1], i, &b));
    if (!get_bytes(env, b, &iov[i].iov_base, &iov[i].iov_len)) return NULL;
  }
  msg.msg_iov = iov;
  msg.msg_iovlen = count;
  if (argc > 2 && !is_nullish(env, argv[2])) {
    void *addr;
    size_t len;
    if (!get_bytes(env, argv[2], &addr, &len)) return NULL;
    msg.msg_name = addr;
    msg.msg_namelen = (socklen_t)len;
  }
  if (argc > 3 && !is_nullish(env, argv[3])) NAPI_CALL(env, napi_get_array_length(env, argv[3], &ncontrol));
  if (ncontrol > 0) {
    size_t used = 0;
    memset(&control, 0, sizeof control);
    msg.msg_control = control.buf;
    msg.msg_controllen = sizeof control.buf;
    struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
    for (uint32_t i = 0; i < ncontrol; i++) {
      napi_value item, v;
      int32_t level, type;
      void *data;
      size_t len;
      NAPI_CALL(env, napi_get_element(env, argv[3], i, &item));
      NAPI_CALL(env, napi_get_named_property(env, item, "level", &v));
      NAPI_CALL(env, napi_get_value_int32(env, v, &level));
      NAPI_CALL(env, napi_get_named_property(env, item, "type", &v));
      NAPI_CALL(env, napi_get_value_int32(env, v, &type));
      NAPI_CALL(env, napi_get_named_property(env, item, "data", &v));
      if (!get_bytes(env, v, &data, &len)) return NULL;
      if (c == NULL || used + CMSG_SPACE(len) > sizeof control.buf) return throw_errno(env, ENOBUFS, "sendmsg");
      c->cmsg_level = level;
      c->cmsg_type = type;
      c->cmsg_len = CMSG_LEN(len);
      memcpy(CMSG_DATA(c), data, len);
      used += CMSG_SPACE(len);
      c = CMSG_NXTHDR(&msg, c);
    }
    msg.msg_controllen = used;
  }
  if (argc > 4 && !is_nullish(env, argv[4])) NAPI_CALL(env, napi_get_value_int32(env, argv[4], &flags));
  ssize_t n;
  do n = sendmsg(fd, &msg, flags | MSG_DONTWAIT | MSG_NOSIGNAL);
  while (n < 0 && errno == EINTR);
  if (n < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK) return null_value(env);
    return throw_errno(env, errno, "sendmsg");
  }
  return int_value(env, n);
}

/* recvmsg(fd, size, flags) -> {data, length, flags, from, control} or null on EAGAIN. `length` is the
 * datagram's real size when flags include MSG_TRUNC; `flags` carries msg_flags (MSG_TRUNC, ...). */
static napi_value js_recvmsg(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3], out, v, list;
  int32_t fd, size, flags = 0;
  static __thread char *buf = NULL;
  static __thread size_t buf_size = 0;
  struct sockaddr_storage from;
  union {
    char buf[CONTROL_SPACE];
    struct cmsghdr align;
  } control;
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  NAPI_CALL(env, napi_get_value_int32(env, argv[0], &fd));
  NAPI_CALL(env, napi_get_value_int32(env, argv[1], &size));
  if (argc > 2 && !is_nullish(env, argv[2])) NAPI_CALL(env, napi_get_value_int32(env, argv[2], &flags));
  if (size <= 0) return throw_errno(env, EINVAL, "recvmsg");
  if ((size_t)size > buf_size) {
    char *grown = realloc(buf, (size_t)size);
    if (grown == NULL) return throw_errno(env, ENOMEM, "recvmsg");
    buf = grown;
    buf_size = (size_t)size;
  }
  struct iovec iov = {.iov_base = buf, .iov_len = (size_t)size};
  struct msghdr msg = {.msg_name = &from, .msg_namelen = sizeof from, .msg_iov = &iov, .msg_iovlen = 1,
                       .msg_control = control.buf, .msg_controllen = sizeof control.buf};
  ssize_t n;
  do n = recvmsg(fd, &msg, flags | MSG_DONTWAIT);
  while (n < 0 && errno == EINTR);
  if (n < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK) return null_value(env);
    return throw_errno(env, errno, "recvmsg");
  }
  size_t copied = (size_t)n < (size_t)size ? (size_t)n : (size_t)size;
  NAPI_CALL(env, napi_create_object(env, &out));
  NAPI_CALL(env, napi_create_buffer_copy(env, copied, buf, NULL, &v));
  NAPI_CALL(env, napi_set_named_property(env, out, "data", v));
  NAPI_CALL(env, napi_set_named_property(env, out, "length", int_value(env, n)));
  NAPI_CALL(env, napi_set_named_property(env, out, "flags", int_value(env, msg.msg_flags)));
  NAPI_CALL(env, napi_create_buffer_copy(env, msg.msg_namelen, &from, NULL, &v));
  NAPI_CALL(env, napi_set_named_property(env, out, "from", v));
  NAPI_CALL(env, napi_create_array(env, &list));
  uint32_t i = 0;
  for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c != NULL; c = CMSG_NXTHDR(&msg, c)) {
    napi_value item;
    NAPI_CALL(env, napi_create_object(env, &item));
    NAPI_CALL(env, napi_set_named_property(env, item, "level", int_value(env, c->cmsg_level)));
    NAPI_CALL(env, napi_set_named_property(env, item, "type", int_value(env, c->cmsg_type)));
    NAPI_CALL(env, napi_create_buffer_copy(env, c->cmsg_len - CMSG_LEN(0), CMSG_DATA(c), NULL, &v));
    NAPI_CALL(env, napi_set_named_property(env, item, "data", v));
    NAPI_CALL(env, napi_set_element(env, list, i++, item));
  }
  NAPI_CALL(env, napi_set_named_property(env, out, "control", list));
  return out;
}

typedef struct poller poller_t;
/* The pollers still open in one environment (the main thread or one worker): when that environment is
 * torn down (worker.terminate(), a worker that threw) before its sockets were closed, the cleanup hook
 * closes their uv_poll handles; otherwise Node aborts the whole process in uv_loop_close() ("while
 * having open handles"), and a dying VRRP worker would take the checkers with it. */
typedef struct {
  poller_t *head;
} env_pollers_t;
struct poller {
  uv_poll_t handle;
  napi_env env;
  napi_ref callback;
  napi_async_context context;
  int events; /* UV_READABLE and/or UV_WRITABLE */
  env_pollers_t *owner;
  poller_t *prev, *next;
};

static void pollers_unlink(poller_t *p) {
  if (p->owner == NULL) return;
  if (p->prev) p->prev->next = p->next;
  else p->owner->head = p->next;
  if (p->next) p->next->prev = p->prev;
  p->owner = NULL, p->prev = p->next = NULL;
}

static void on_poll(uv_poll_t *handle, int status, int events) {
  (void)events;
  poller_t *p = handle->data;
  napi_env env = p->env;
  napi_handle_scope scope;
  napi_value cb, recv, arg, result;
  /* libuv stopped this handle if it reported an error (status < 0): poll again so a socket whose
   * error was consumed by the next recv keeps delivering. */
  if (status < 0) uv_poll_start(&p->handle, p->events, on_poll);
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  napi_get_reference_value(env, p->callback, &cb);
  napi_get_global(env, &recv); /* napi_make_callback wants an object as `this` */
  napi_create_int32(env, status, &arg);
  napi_make_callback(env, p->context, recv, cb, 1, &arg, &result);
  napi_close_handle_scope(env, scope);
}

/* Every poller is freed by libc's free as its close callback, never by a function of this library:
 * Node unloads the addon with a worker's environment, possibly before the loop turn that runs pending
 * close callbacks (measured: a callback here jumped into unmapped code after terminate()).
 * free(&p->handle) frees p because the handle comes first. */
_Static_assert(offsetof(struct poller, handle) == 0, "the uv handle must start the poller");
#define free_poller ((uv_close_cb)(void (*)(void *))free)

/* Environment teardown: JS is gone, so only libuv is touched (the references and async contexts die
 * with the environment). */
static void close_env_pollers(void *arg) {
  env_pollers_t *owner = arg;
  while (owner->head) {
    poller_t *p = owner->head;
    pollers_unlink(p);
    p->callback = NULL;
    uv_poll_stop(&p->handle);
    uv_close((uv_handle_t *)&p->handle, free_poller);
  }
  free(owner);
}

/* poll(fd, callback[, keepAlive[, events]]) -> handle: callback(status) whenever fd is readable (status 0) or
 * after a socket error (status < 0, a libuv error code); the caller then reads with recvmsg. With
 * keepAlive false the handle does not keep the event loop alive (like an unref'd Node socket). events:
 * 1 readable (default), 2 writable (a connect finished), 3 both. */
static napi_value js_poll(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4], name, ext;
  int32_t fd, events = UV_READABLE;
  bool keep_alive = true;
  uv_loop_t *loop;
  env_pollers_t *owner;
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, (void **)&owner));
  NAPI_CALL(env, napi_get_value_int32(env, argv[0], &fd));
  if (argc > 2 && !is_nullish(env, argv[2])) NAPI_CALL(env, napi_get_value_bool(env, argv[2], &keep_alive));
  if (argc > 3 && !is_nullish(env, argv[3])) NAPI_CALL(env, napi_get_value_int32(env, argv[3], &events));
  events &= UV_READABLE | UV_WRITABLE;
  if (events == 0) return throw_errno(env, EINVAL, "poll");
  NAPI_CALL(env, napi_get_uv_event_loop(env, &loop));
  poller_t *p = calloc(1, sizeof *p);
  if (p == NULL) return throw_errno(env, ENOMEM, "poll");
  int rc = uv_poll_init(loop, &p->handle, fd);
  if (rc < 0) {
    free(p);
    return throw_errno(env, -rc, "uv_poll_init");
  }
  p->env = env;
  p->events = events;
  p->handle.data = p;
  napi_create_reference(env, argv[1], 1, &p->callback);
  napi_create_string_utf8(env, "lvsd:socket", NAPI_AUTO_LENGTH, &name);
  napi_async_init(env, NULL, name, &p->context);
  rc = uv_poll_start(&p->handle, events, on_poll);
  if (rc < 0) {
    napi_delete_reference(env, p->callback);
    napi_async_destroy(env, p->context);
    uv_close((uv_handle_t *)&p->handle, free_poller);
    return throw_errno(env, -rc, "uv_poll_start");
  }
  if (!keep_alive) uv_unref((uv_handle_t *)&p->handle);
  p->owner = owner, p->prev = NULL, p->next = owner->head;
  if (owner->head) owner->head->prev = p;
  owner->head = p;
  NAPI_CALL(env, napi_create_external(env, p, NULL, NULL, &ext));
  return ext;
}

/* pollStop(handle): stops polling; call it before close(fd). A second call is harmless. */
static napi_value js_poll_stop(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  poller_t *p;
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  NAPI_CALL(env, napi_get_value_external(env, argv[0], (void **)&p));
  if (p == NULL || p->callback == NULL) return NULL;
  uv_poll_stop(&p->handle);
  pollers_unlink(p);
  napi_delete_reference(env, p->callback);
  napi_async_destroy(env, p->context);
  p->callback = NULL;
  uv_close((uv_handle_t *)&p->handle, free_poller);
  return NULL;
}

static napi_value js_if_nametoindex(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  char name[IF_NAMESIZE + 1];
  size_t len;
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  NAPI_CALL(env, napi_get_value_string_utf8(env, argv[0], name, sizeof name, &len));
  if (len >= IF_NAMESIZE) return throw_errno(env, ENODEV, "if_nametoindex"); /* too long to name a link */
  unsigned int index = if_nametoindex(name);
  if (index == 0) return throw_errno(env, errno, "if_nametoindex");
  return int_value(env, index);
}

/* loopNow() -> ms: the event loop's cached time (uv_now), refreshed by libuv once per loop iteration.
 * Reading it is no system call, unlike performance.now(), Date.now() or setTimeout (each one
 * clock_gettime): under UML, which has no vDSO, that call costs 25-40 us. */
static napi_value js_loop_now(napi_env env, napi_callback_info info) {
  uv_loop_t *loop;
  napi_value v;
  NAPI_CALL(env, napi_get_uv_event_loop(env, &loop));
  NAPI_CALL(env, napi_create_double(env, (double)uv_now(loop), &v));
  return v;
}

/* setThreadScheduler(policy: 'fifo' | 'rr' | 'other', priority): sets the scheduling policy of the
 * CALLING thread only (pthread_setschedparam on pthread_self; on Linux the policy is per thread), so a
 * worker can run at SCHED_FIFO while the main thread and libuv's pool stay SCHED_OTHER. 'other' needs
 * priority 0; 'fifo'/'rr' take 1..99. Without CAP_SYS_NICE (or RLIMIT_RTPRIO) the kernel says EPERM. */
static napi_value js_set_thread_scheduler(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  char name[8];
  size_t len;
  int32_t priority;
  int policy;
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  NAPI_CALL(env, napi_get_value_string_utf8(env, argv[0], name, sizeof name, &len));
  NAPI_CALL(env, napi_get_value_int32(env, argv[1], &priority));
  if (strcmp(name, "fifo") == 0) policy = SCHED_FIFO;
  else if (strcmp(name, "rr") == 0) policy = SCHED_RR;
  else if (strcmp(name, "other") == 0) policy = SCHED_OTHER;
  else return throw_errno(env, EINVAL, "pthread_setschedparam");
  struct sched_param param = {.sched_priority = priority};
  int rc = pthread_setschedparam(pthread_self(), policy, &param); /* returns the error, not -1/errno */
  if (rc != 0) return throw_errno(env, rc, "pthread_setschedparam");
  return NULL;
}

/* threadId() -> the kernel's id of the calling thread (gettid), as in /proc/self/task/<tid>. */
static napi_value js_thread_id(napi_env env, napi_callback_info info) {
  return int_value(env, (int64_t)syscall(SYS_gettid));
}

/* fileLimit() -> [soft, hard] of RLIMIT_NOFILE (RLIM_INFINITY as -1). Node has no getrlimit, and the
 * listeners need the soft limit to keep a reserve of descriptors for VRRP, scripts and checks. */
static napi_value js_file_limit(napi_env env, napi_callback_info info) {
  struct rlimit rl;
  napi_value out;
  if (getrlimit(RLIMIT_NOFILE, &rl) < 0) return throw_errno(env, errno, "getrlimit");
  NAPI_CALL(env, napi_create_array_with_length(env, 2, &out));
  NAPI_CALL(env, napi_set_element(env, out, 0, int_value(env, rl.rlim_cur == RLIM_INFINITY ? -1 : (int64_t)rl.rlim_cur)));
  NAPI_CALL(env, napi_set_element(env, out, 1, int_value(env, rl.rlim_max == RLIM_INFINITY ? -1 : (int64_t)rl.rlim_max)));
  return out;
}

/* setFileLimit(soft): sets RLIMIT_NOFILE's soft limit, keeping the hard one (raising the soft limit up
 * to the hard one needs no privilege). EINVAL above the hard limit. */
static napi_value js_set_file_limit(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int64_t soft;
  struct rlimit rl;
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  NAPI_CALL(env, napi_get_value_int64(env, argv[0], &soft));
  if (getrlimit(RLIMIT_NOFILE, &rl) < 0) return throw_errno(env, errno, "getrlimit");
  if (soft < 0) return throw_errno(env, EINVAL, "setrlimit");
  rl.rlim_cur = (rlim_t)soft;
  if (setrlimit(RLIMIT_NOFILE, &rl) < 0) return throw_errno(env, errno, "setrlimit");
  return NULL;
}

static napi_value init(napi_env env, napi_value exports) {
  env_pollers_t *pollers = calloc(1, sizeof *pollers);
  if (pollers == NULL || napi_add_env_cleanup_hook(env, close_env_pollers, pollers) != napi_ok) {
    free(pollers);
    napi_throw_error(env, "ENOMEM", "lvsd_socket: cannot register the environment cleanup hook");
    return NULL;
  }
  napi_property_descriptor props[] = {
      {"socket", NULL, js_socket, NULL, NULL, NULL, napi_enumerable, NULL},
      {"tcpConnect", NULL, js_tcp_connect, NULL, NULL, NULL, napi_enumerable, NULL},
      {"close", NULL, js_close, NULL, NULL, NULL, napi_enumerable, NULL},
      {"setsockopt", NULL, js_setsockopt, NULL, NULL, NULL, napi_enumerable, NULL},
      {"getsockopt", NULL, js_getsockopt, NULL, NULL, NULL, napi_enumerable, NULL},
      {"bind", NULL, js_bind, NULL, NULL, NULL, napi_enumerable, NULL},
      {"connect", NULL, js_connect, NULL, NULL, NULL, napi_enumerable, NULL},
      {"getsockname", NULL, js_getsockname, NULL, NULL, NULL, napi_enumerable, NULL},
      {"sendmsg", NULL, js_sendmsg, NULL, NULL, NULL, napi_enumerable, NULL},
      {"recvmsg", NULL, js_recvmsg, NULL, NULL, NULL, napi_enumerable, NULL},
      {"poll", NULL, js_poll, NULL, NULL, NULL, napi_enumerable, pollers},
      {"pollStop", NULL, js_poll_stop, NULL, NULL, NULL, napi_enumerable, pollers},
      {"ifNameToIndex", NULL, js_if_nametoindex, NULL, NULL, NULL, napi_enumerable, NULL},
      {"loopNow", NULL, js_loop_now, NULL, NULL, NULL, napi_enumerable, NULL},
      {"setThreadScheduler", NULL, js_set_thread_scheduler, NULL, NULL, NULL, napi_enumerable, NULL},
      {"threadId", NULL, js_thread_id, NULL, NULL, NULL, napi_enumerable, NULL},
      {"fileLimit", NULL, js_file_limit, NULL, NULL, NULL, napi_enumerable, NULL},
      {"setFileLimit", NULL, js_set_file_limit, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
