/* Reporting helpers shared by the static C programs that run inside the test
 * guest (posix_checks.c, integrity_checks.c, escape_checks.c). Every check
 * prints exactly one line, "ok NAME" or "FAIL NAME: expected X got Y", which
 * the host collects from the guest's output channel; errnos are printed by
 * name (strerrorname_np) so a report reads "expected EEXIST got EPERM". */
#ifndef VFSD_TESTING_GUEST_GUEST_CHECK_H_
#define VFSD_TESTING_GUEST_GUEST_CHECK_H_

#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int g_failures;

static const char *errname(int e) {
  if (e == 0) return "success";
  const char *n = strerrorname_np(e);
  return n ? n : "E?";
}

static void check_ok(const char *name) {
  printf("ok %s\n", name);
  fflush(stdout);
}

static void check_fail(const char *name, const char *fmt, ...) {
  va_list ap;
  g_failures++;
  printf("FAIL %s: ", name);
  va_start(ap, fmt);
  vprintf(fmt, ap);
  va_end(ap);
  printf("\n");
  fflush(stdout);
}

/* CALL must fail with errno ERR. */
#define EXPECT_ERRNO(name, call, err)                                          \
  do {                                                                         \
    errno = 0;                                                                 \
    long r_ = (long)(call);                                                    \
    int e_ = errno;                                                            \
    if (r_ >= 0)                                                               \
      check_fail(name, "expected %s got success (%ld)", errname(err), r_);     \
    else if (e_ != (err))                                                      \
      check_fail(name, "expected %s got %s", errname(err), errname(e_));       \
    else                                                                       \
      check_ok(name);                                                          \
  } while (0)

/* CALL must succeed (return >= 0); returns 1 if it did, for chaining. */
#define EXPECT_OK(name, call)                                                  \
  ({                                                                           \
    errno = 0;                                                                 \
    long r_ = (long)(call);                                                    \
    int e_ = errno;                                                            \
    if (r_ < 0) check_fail(name, "expected success got %s", errname(e_));      \
    else check_ok(name);                                                       \
    r_ >= 0;                                                                   \
  })

/* COND must hold; otherwise the message says what was seen. */
#define EXPECT_TRUE(name, cond, ...)                                           \
  do {                                                                         \
    if (cond) check_ok(name);                                                  \
    else check_fail(name, __VA_ARGS__);                                        \
  } while (0)

#endif
