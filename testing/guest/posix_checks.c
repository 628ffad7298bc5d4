/* POSIX semantics of a virtio-fs mount, checked from inside a real guest
 * (guest_posix_test): every failure case asserts the exact errno the kernel
 * + daemon return, because a daemon that answers EIO or EPERM where a local
 * file system says ENOTEMPTY breaks real programs (rm -rf, mv, git...).
 * Runs as root in a scratch dir on the share (argv[1]); unprivileged checks
 * fork a child that drops to uid/gid 65534. Output: one "ok"/"FAIL" line per
 * check (guest_check.h); the exit status is the number of failures (capped). */
#include "guest_check.h"

#include <dirent.h>
#include <grp.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <linux/magic.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#ifndef FUSE_SUPER_MAGIC
#define FUSE_SUPER_MAGIC 0x65735546
#endif
#define NOBODY 65534

static void put(const char *path, const char *data) {
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0 || write(fd, data, strlen(data)) != (ssize_t)strlen(data)) {
    printf("setup: cannot write %s: %s\n", path, errname(errno));
  }
  if (fd >= 0) close(fd);
}

/* Whole content of PATH into BUF (NUL-terminated); -1 with errno on error. */
static ssize_t get(const char *path, char *buf, size_t cap) {
  int fd = open(path, O_RDONLY);
  if (fd < 0) return -1;
  ssize_t n = read(fd, buf, cap - 1);
  int e = errno;
  close(fd);
  errno = e;
  if (n >= 0) buf[n] = 0;
  return n;
}

static int content_is(const char *path, const char *want) {
  char buf[4096];
  return get(path, buf, sizeof buf) >= 0 && strcmp(buf, want) == 0;
}

static off_t size_of(const char *path) {
  struct stat st;
  return lstat(path, &st) == 0 ? st.st_size : -1;
}

/* Runs FN in a child as uid/gid 65534; returns the errno it reports (0 on
 * success). The child's exit code carries the errno. */
static int as_nobody(int (*fn)(const char *), const char *arg) {
  pid_t pid = fork();
  if (pid == 0) {
    if (setgroups(0, NULL) || setgid(NOBODY) || setuid(NOBODY)) _exit(254);
    _exit(fn(arg) < 0 ? (errno & 0xff) : 0);
  }
  int st = 0;
  waitpid(pid, &st, 0);
  return WIFEXITED(st) ? WEXITSTATUS(st) : 255;
}
static int u_open_rd(const char *p) { int fd = open(p, O_RDONLY); if (fd >= 0) close(fd); return fd; }
static int u_open_wr(const char *p) { int fd = open(p, O_WRONLY); if (fd >= 0) close(fd); return fd; }
static int u_create(const char *p) { int fd = open(p, O_WRONLY | O_CREAT | O_EXCL, 0644); if (fd >= 0) close(fd); return fd; }
static int u_chmod(const char *p) { return chmod(p, 0777); }
static int u_chown_root(const char *p) { return chown(p, 0, 0); }
static int u_stat(const char *p) { struct stat st; return stat(p, &st); }
static int u_unlink(const char *p) { return unlink(p); }
static int u_utime_explicit(const char *p) {
  struct timespec ts[2] = {{1, 0}, {1, 0}};
  return utimensat(AT_FDCWD, p, ts, 0);
}
static int u_utime_now(const char *p) { return utimensat(AT_FDCWD, p, NULL, 0); }

static void expect_nobody(const char *name, int (*fn)(const char *), const char *arg, int want) {
  int got = as_nobody(fn, arg);
  if (got == want) check_ok(name);
  else check_fail(name, "expected %s got %s", errname(want), got > 250 ? "child-error" : errname(got));
}

static void test_open(void) {
  int fd;
  EXPECT_OK("open_creat_excl_new", fd = open("o_new", O_CREAT | O_EXCL | O_WRONLY, 0640));
  if (fd >= 0) close(fd);
  struct stat st;
  EXPECT_TRUE("open_creat_mode", lstat("o_new", &st) == 0 && (st.st_mode & 07777) == 0640,
              "expected mode 0640 got 0%o", st.st_mode & 07777);
  EXPECT_ERRNO("open_creat_excl_exists", open("o_new", O_CREAT | O_EXCL | O_WRONLY, 0644), EEXIST);
  EXPECT_ERRNO("open_missing", open("o_missing", O_RDONLY), ENOENT);
  EXPECT_ERRNO("open_missing_parent", open("o_nodir/x", O_CREAT | O_WRONLY, 0644), ENOENT);
  EXPECT_ERRNO("open_through_file", open("o_new/x", O_RDONLY), ENOTDIR);
  EXPECT_ERRNO("open_o_directory_on_file", open("o_new", O_RDONLY | O_DIRECTORY), ENOTDIR);
  mkdir("o_dir", 0755);
  EXPECT_ERRNO("open_dir_for_write", open("o_dir", O_WRONLY), EISDIR);
  put("o_trunc", "0123456789");
  fd = open("o_trunc", O_WRONLY | O_TRUNC);
  if (fd >= 0) close(fd);
  EXPECT_TRUE("open_o_trunc", size_of("o_trunc") == 0, "expected size 0 got %ld", (long)size_of("o_trunc"));
  put("o_append", "abc");
  fd = open("o_append", O_WRONLY | O_APPEND);
  if (fd >= 0) {
    lseek(fd, 0, SEEK_SET);  /* O_APPEND must ignore the file offset */
    if (write(fd, "def", 3) != 3) printf("setup: append write: %s\n", errname(errno));
    close(fd);
  }
  EXPECT_TRUE("open_o_append", content_is("o_append", "abcdef"), "expected abcdef");
  fd = open("o_new", O_RDONLY);
  EXPECT_ERRNO("write_on_rdonly_fd", write(fd, "x", 1), EBADF);
  if (fd >= 0) close(fd);
  char name[300];
  memset(name, 'n', 255); name[255] = 0;
  EXPECT_OK("create_name_255", fd = open(name, O_CREAT | O_WRONLY, 0644));
  if (fd >= 0) close(fd);
  memset(name, 'n', 256); name[256] = 0;
  EXPECT_ERRNO("create_name_256", open(name, O_CREAT | O_WRONLY, 0644), ENAMETOOLONG);
  /* A write past EOF leaves a hole that reads back as zeros. */
  fd = open("o_sparse", O_RDWR | O_CREAT, 0644);
  char buf[8] = "xxxxxxx";
  pwrite(fd, "E", 1, 10000);
  ssize_t n = pread(fd, buf, 4, 5000);
  EXPECT_TRUE("write_past_eof_zero_fill", n == 4 && !memcmp(buf, "\0\0\0\0", 4) && size_of("o_sparse") == 10001,
              "expected 4 zero bytes and size 10001 got n=%zd size=%ld", n, (long)size_of("o_sparse"));
  close(fd);
}

static void test_rename(void) {
  put("r_a", "A"); put("r_b", "B");
  EXPECT_OK("rename_over_file", rename("r_a", "r_b"));
  EXPECT_TRUE("rename_over_file_result", content_is("r_b", "A") && access("r_a", F_OK) != 0,
              "expected r_b=A and r_a gone");
  mkdir("r_d1", 0755); mkdir("r_d2", 0755); put("r_d1/f", "f");
  EXPECT_OK("rename_dir_over_empty_dir", rename("r_d1", "r_d2"));
  EXPECT_TRUE("rename_dir_over_empty_dir_result", content_is("r_d2/f", "f"), "expected r_d2/f");
  mkdir("r_d3", 0755);
  EXPECT_ERRNO("rename_over_nonempty_dir", rename("r_d3", "r_d2"), ENOTEMPTY);
  mkdir("r_d2/sub", 0755);
  EXPECT_ERRNO("rename_dir_into_own_subdir", rename("r_d2", "r_d2/sub/x"), EINVAL);
  EXPECT_ERRNO("rename_file_over_dir", rename("r_b", "r_d3"), EISDIR);
  EXPECT_ERRNO("rename_dir_over_file", rename("r_d3", "r_b"), ENOTDIR);
  EXPECT_ERRNO("rename_missing_source", rename("r_missing", "r_x"), ENOENT);
  put("r_c", "C");
  EXPECT_ERRNO("renameat2_noreplace_exists",
               renameat2(AT_FDCWD, "r_c", AT_FDCWD, "r_b", RENAME_NOREPLACE), EEXIST);
  EXPECT_OK("renameat2_noreplace_new", renameat2(AT_FDCWD, "r_c", AT_FDCWD, "r_c2", RENAME_NOREPLACE));
  EXPECT_OK("renameat2_exchange", renameat2(AT_FDCWD, "r_c2", AT_FDCWD, "r_b", RENAME_EXCHANGE));
  EXPECT_TRUE("renameat2_exchange_result", content_is("r_b", "C") && content_is("r_c2", "A"),
              "expected r_b=C r_c2=A");
  EXPECT_OK("renameat2_exchange_file_dir", renameat2(AT_FDCWD, "r_c2", AT_FDCWD, "r_d3", RENAME_EXCHANGE));
  struct stat st;
  EXPECT_TRUE("renameat2_exchange_file_dir_result",
              lstat("r_c2", &st) == 0 && S_ISDIR(st.st_mode) && content_is("r_d3", "A"),
              "expected r_c2 a dir and r_d3=A");
  EXPECT_ERRNO("renameat2_exchange_missing",
               renameat2(AT_FDCWD, "r_b", AT_FDCWD, "r_nothere", RENAME_EXCHANGE), ENOENT);
  link("r_b", "r_b_link");
  EXPECT_OK("rename_hardlink_onto_itself", rename("r_b", "r_b_link"));
  EXPECT_TRUE("rename_hardlink_onto_itself_result", access("r_b", F_OK) == 0 && access("r_b_link", F_OK) == 0,
              "expected both names to remain (POSIX: same inode is a no-op)");
}

static void test_link_unlink(void) {
  put("l_f", "L");
  struct stat a, b;
  EXPECT_OK("link_file", link("l_f", "l_g"));
  EXPECT_TRUE("link_same_inode", lstat("l_f", &a) == 0 && lstat("l_g", &b) == 0 &&
              a.st_ino == b.st_ino && a.st_nlink == 2, "expected same ino and nlink 2 got nlink %lu",
              (unsigned long)a.st_nlink);
  EXPECT_ERRNO("link_exists", link("l_f", "l_g"), EEXIST);
  mkdir("l_d", 0755);
  EXPECT_ERRNO("link_dir", link("l_d", "l_d2"), EPERM);
  EXPECT_ERRNO("link_missing", link("l_missing", "l_x"), ENOENT);
  EXPECT_ERRNO("unlink_dir", unlink("l_d"), EISDIR);
  EXPECT_ERRNO("unlink_missing", unlink("l_missing"), ENOENT);
  EXPECT_ERRNO("unlink_through_file", unlink("l_f/x"), ENOTDIR);
  EXPECT_ERRNO("rmdir_file", rmdir("l_f"), ENOTDIR);
  put("l_d/x", "x");
  EXPECT_ERRNO("rmdir_nonempty", rmdir("l_d"), ENOTEMPTY);
  EXPECT_ERRNO("rmdir_missing", rmdir("l_missing"), ENOENT);
  EXPECT_ERRNO("mkdir_exists", mkdir("l_d", 0755), EEXIST);
  EXPECT_ERRNO("mkdir_over_file", mkdir("l_f", 0755), EEXIST);
  unlink("l_d/x");
  EXPECT_OK("rmdir_empty", rmdir("l_d"));
  int fd = open("l_f", O_RDONLY);
  unlink("l_f"); unlink("l_g");
  char buf[4] = {0};
  struct stat st;
  EXPECT_TRUE("unlinked_open_file_readable", fd >= 0 && pread(fd, buf, 1, 0) == 1 && buf[0] == 'L' &&
              fstat(fd, &st) == 0 && st.st_nlink == 0, "expected to read L and nlink 0");
  if (fd >= 0) close(fd);
  mkdir("l_dd", 0755);
  int dfd = open("l_dd", O_RDONLY | O_DIRECTORY);
  put("l_dd/one", "1"); put("l_dd/two", "2");
  DIR *d = fdopendir(dfd);
  int seen = 0, other = 0;
  struct dirent *de;
  while (d && (de = readdir(d))) {
    if (!strcmp(de->d_name, "one") || !strcmp(de->d_name, "two")) seen++;
    else if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) other++;
  }
  if (d) closedir(d);
  EXPECT_TRUE("readdir_entries", seen == 2 && other == 0, "expected one,two got %d known %d other", seen, other);
}

static void test_perms(void) {
  put("p_f", "p");
  struct stat st;
  EXPECT_OK("chmod_root", chmod("p_f", 04751));
  EXPECT_TRUE("chmod_root_mode", stat("p_f", &st) == 0 && (st.st_mode & 07777) == 04751,
              "expected 04751 got 0%o", st.st_mode & 07777);
  EXPECT_OK("chown_root", chown("p_f", 1234, 5678));
  EXPECT_TRUE("chown_root_ids", stat("p_f", &st) == 0 && st.st_uid == 1234 && st.st_gid == 5678,
              "expected 1234:5678 got %u:%u", st.st_uid, st.st_gid);
  EXPECT_TRUE("chown_clears_setuid", (st.st_mode & 04000) == 0, "expected S_ISUID cleared got 0%o",
              st.st_mode & 07777);
  chown("p_f", 0, 0); chmod("p_f", 0644);
  expect_nobody("nobody_chmod_foreign_file", u_chmod, "p_f", EPERM);
  expect_nobody("nobody_chown_foreign_file", u_chown_root, "p_f", EPERM);
  expect_nobody("nobody_open_write_0644_root_file", u_open_wr, "p_f", EACCES);
  expect_nobody("nobody_utime_explicit_foreign", u_utime_explicit, "p_f", EPERM);
  expect_nobody("nobody_utime_now_foreign_readonly", u_utime_now, "p_f", EACCES);
  put("p_secret", "s"); chmod("p_secret", 0600);
  expect_nobody("nobody_open_read_0600_root_file", u_open_rd, "p_secret", EACCES);
  mkdir("p_dir", 0755);
  expect_nobody("nobody_create_in_0755_root_dir", u_create, "p_dir/new", EACCES);
  mkdir("p_priv", 0700); put("p_priv/f", "f");
  expect_nobody("nobody_search_0700_dir", u_stat, "p_priv/f", EACCES);
  mkdir("p_pub", 0777); chmod("p_pub", 0777);
  expect_nobody("nobody_create_in_0777_dir", u_create, "p_pub/mine", 0);
  EXPECT_TRUE("nobody_created_file_owner", stat("p_pub/mine", &st) == 0 && st.st_uid == NOBODY &&
              st.st_gid == NOBODY, "expected 65534:65534 got %u:%u", st.st_uid, st.st_gid);
  expect_nobody("nobody_chown_own_file_to_root", u_chown_root, "p_pub/mine", EPERM);
  mkdir("p_sticky", 0755); chmod("p_sticky", 01777); put("p_sticky/rootfile", "r");
  expect_nobody("nobody_unlink_in_sticky_dir", u_unlink, "p_sticky/rootfile", EPERM);
}

static void test_truncate_utimes(void) {
  put("t_f", "0123456789");
  EXPECT_OK("truncate_down", truncate("t_f", 4));
  EXPECT_TRUE("truncate_down_content", content_is("t_f", "0123"), "expected 0123");
  EXPECT_OK("truncate_up", truncate("t_f", 8));
  char buf[16];
  ssize_t n = get("t_f", buf, sizeof buf);
  EXPECT_TRUE("truncate_up_zero_fill", n == 8 && !memcmp(buf, "0123\0\0\0\0", 8), "expected 0123+4 NULs got %zd bytes", n);
  int fd = open("t_f", O_RDWR);
  EXPECT_OK("ftruncate", ftruncate(fd, 2));
  EXPECT_TRUE("ftruncate_size", size_of("t_f") == 2, "expected 2 got %ld", (long)size_of("t_f"));
  close(fd);
  fd = open("t_f", O_RDONLY);
  EXPECT_ERRNO("ftruncate_rdonly_fd", ftruncate(fd, 0), EINVAL);
  close(fd);
  mkdir("t_d", 0755);
  EXPECT_ERRNO("truncate_dir", truncate("t_d", 0), EISDIR);
  EXPECT_ERRNO("truncate_negative", truncate("t_f", -1), EINVAL);

  struct timespec ts[2] = {{1000, 123456789}, {2000000000, 987654321}};
  struct stat st;
  EXPECT_OK("utimensat_explicit", utimensat(AT_FDCWD, "t_f", ts, 0));
  EXPECT_TRUE("utimensat_explicit_ns", stat("t_f", &st) == 0 && st.st_atim.tv_sec == 1000 &&
              st.st_atim.tv_nsec == 123456789 && st.st_mtim.tv_sec == 2000000000 &&
              st.st_mtim.tv_nsec == 987654321, "expected 1000.123456789/2000000000.987654321 got %ld.%09ld/%ld.%09ld",
              st.st_atim.tv_sec, st.st_atim.tv_nsec, st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
  struct timespec omit[2] = {{5000, 5}, {0, UTIME_OMIT}};
  EXPECT_OK("utimensat_omit_mtime", utimensat(AT_FDCWD, "t_f", omit, 0));
  EXPECT_TRUE("utimensat_omit_mtime_kept", stat("t_f", &st) == 0 && st.st_atim.tv_sec == 5000 &&
              st.st_atim.tv_nsec == 5 && st.st_mtim.tv_sec == 2000000000 && st.st_mtim.tv_nsec == 987654321,
              "expected atime 5000.000000005 mtime unchanged got %ld.%09ld/%ld.%09ld",
              st.st_atim.tv_sec, st.st_atim.tv_nsec, st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
  struct timespec now[2] = {{0, UTIME_OMIT}, {0, UTIME_NOW}};
  time_t before = time(NULL);
  EXPECT_OK("utimensat_now_mtime", utimensat(AT_FDCWD, "t_f", now, 0));
  /* The daemon stamps host time; guest and host clocks agree to the RTC, so
   * a minute of slack only rules out "not updated". */
  EXPECT_TRUE("utimensat_now_mtime_set", stat("t_f", &st) == 0 && st.st_atim.tv_sec == 5000 &&
              st.st_mtim.tv_sec > before - 60 && st.st_mtim.tv_sec < before + 60,
              "expected atime kept and mtime ~%ld got atime %ld mtime %ld", (long)before,
              st.st_atim.tv_sec, st.st_mtim.tv_sec);
  symlink("t_f", "t_link");
  struct timespec lts[2] = {{0, UTIME_OMIT}, {300, 0}};
  EXPECT_OK("utimensat_nofollow_symlink", utimensat(AT_FDCWD, "t_link", lts, AT_SYMLINK_NOFOLLOW));
  struct stat lst;
  EXPECT_TRUE("utimensat_nofollow_symlink_only", lstat("t_link", &lst) == 0 && lst.st_mtim.tv_sec == 300 &&
              stat("t_f", &st) == 0 && st.st_mtim.tv_sec != 300, "expected link mtime 300, target unchanged");
}

static void test_xattr(void) {
  put("x_f", "x");
  char buf[256];
  EXPECT_OK("setxattr", setxattr("x_f", "user.vfsd", "value1", 6, 0));
  ssize_t n = getxattr("x_f", "user.vfsd", buf, sizeof buf);
  EXPECT_TRUE("getxattr", n == 6 && !memcmp(buf, "value1", 6), "expected value1 got %zd (%s)", n, errname(errno));
  n = getxattr("x_f", "user.vfsd", NULL, 0);
  EXPECT_TRUE("getxattr_size_query", n == 6, "expected 6 got %zd (%s)", n, errname(errno));
  EXPECT_ERRNO("getxattr_erange", getxattr("x_f", "user.vfsd", buf, 3), ERANGE);
  EXPECT_ERRNO("setxattr_create_exists", setxattr("x_f", "user.vfsd", "v", 1, XATTR_CREATE), EEXIST);
  EXPECT_ERRNO("setxattr_replace_missing", setxattr("x_f", "user.none", "v", 1, XATTR_REPLACE), ENODATA);
  EXPECT_OK("setxattr_replace", setxattr("x_f", "user.vfsd", "v2", 2, XATTR_REPLACE));
  EXPECT_OK("setxattr_empty_value", setxattr("x_f", "user.empty", "", 0, 0));
  n = listxattr("x_f", buf, sizeof buf);
  int has = 0;
  for (ssize_t i = 0; n > 0 && i < n; i += strlen(buf + i) + 1)
    has += !strcmp(buf + i, "user.vfsd") + !strcmp(buf + i, "user.empty");
  EXPECT_TRUE("listxattr", has == 2, "expected user.vfsd and user.empty got n=%zd found %d", n, has);
  n = listxattr("x_f", NULL, 0);
  EXPECT_TRUE("listxattr_size_query", n >= 21, "expected >= 21 got %zd", n);
  EXPECT_ERRNO("listxattr_erange", listxattr("x_f", buf, 5), ERANGE);
  EXPECT_ERRNO("getxattr_missing", getxattr("x_f", "user.none", buf, sizeof buf), ENODATA);
  EXPECT_OK("removexattr", removexattr("x_f", "user.vfsd"));
  EXPECT_ERRNO("removexattr_missing", removexattr("x_f", "user.vfsd"), ENODATA);
  mkdir("x_d", 0755);
  EXPECT_OK("setxattr_on_dir", setxattr("x_d", "user.d", "dv", 2, 0));
  n = getxattr("x_d", "user.d", buf, sizeof buf);
  EXPECT_TRUE("getxattr_on_dir", n == 2, "expected 2 got %zd (%s)", n, errname(errno));
}

/* A child takes a lock, the parent must see the conflict. Pipes sequence
 * them: child signals "locked" then waits for "release". */
static void test_locks(void) {
  put("k_f", "lockfile");
  int locked[2], release[2];
  for (int kind = 0; kind < 2; kind++) {
    if (pipe(locked) || pipe(release)) return;
    pid_t pid = fork();
    if (pid == 0) {
      int fd = open("k_f", O_RDWR);
      int r;
      if (kind == 0) {
        struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 100};
        r = fcntl(fd, F_SETLK, &fl);
      } else {
        r = flock(fd, LOCK_EX | LOCK_NB);
      }
      char c = r == 0 ? 'L' : 'E';
      write(locked[1], &c, 1);
      read(release[0], &c, 1);
      _exit(0);
    }
    char c = 0;
    read(locked[0], &c, 1);
    int fd = open("k_f", O_RDWR);
    if (kind == 0) {
      EXPECT_TRUE("posix_lock_child_took_lock", c == 'L', "child could not lock");
      struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 50, .l_len = 10};
      EXPECT_ERRNO("posix_lock_conflict", fcntl(fd, F_SETLK, &fl), EAGAIN);
      struct flock q = {.l_type = F_RDLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 1};
      fcntl(fd, F_GETLK, &q);
      /* l_pid is not checked: the holder's pid does not cross virtio-fs
       * (the reference daemon reports 0), only the conflict does. */
      EXPECT_TRUE("posix_getlk_reports_holder", q.l_type == F_WRLCK,
                  "expected F_WRLCK got type %d", q.l_type);
      printf("note posix_getlk_pid: holder %d, reported %d\n", pid, q.l_pid);
      struct flock other = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 100, .l_len = 10};
      EXPECT_OK("posix_lock_disjoint_range", fcntl(fd, F_SETLK, &other));
    } else {
      EXPECT_TRUE("flock_child_took_lock", c == 'L', "child could not flock");
      EXPECT_ERRNO("flock_conflict_ex", flock(fd, LOCK_EX | LOCK_NB), EWOULDBLOCK);
      EXPECT_ERRNO("flock_conflict_sh", flock(fd, LOCK_SH | LOCK_NB), EWOULDBLOCK);
    }
    write(release[1], "x", 1);
    waitpid(pid, NULL, 0);
    if (kind == 0) {
      struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 0};
      EXPECT_OK("posix_lock_after_holder_exit", fcntl(fd, F_SETLK, &fl));
    } else {
      EXPECT_OK("flock_after_holder_exit", flock(fd, LOCK_EX | LOCK_NB));
    }
    close(fd);
    close(locked[0]); close(locked[1]); close(release[0]); close(release[1]);
  }
}

/* --- POSIX lock owners and blocking locks, across processes ---------------------
 * POSIX locks belong to a process and a file: fds of one process share them,
 * a forked child conflicts even through an inherited fd, and closing ANY fd
 * of the file drops all the process's locks on it. The peer is a child that
 * runs one command per byte the parent sends and answers with one byte, so
 * both sides are sequenced by pipes, never by sleeps. */
#define LK_FILE "k_owner"
#define LK_MARK "unlocked-by-parent"

struct peer {
  pid_t pid;
  int cmd; /* parent -> child */
  int ans; /* child -> parent */
};

static int set_lock(int fd, int cmd, short type, off_t start, off_t len) {
  struct flock fl = {.l_type = type, .l_whence = SEEK_SET, .l_start = start, .l_len = len};
  return fcntl(fd, cmd, &fl);
}

/* One byte for a lock call's outcome: y granted, a EAGAIN, x EOPNOTSUPP, e other. */
static char lock_answer(int r) {
  if (r == 0) return 'y';
  if (errno == EAGAIN || errno == EWOULDBLOCK) return 'a';
  if (errno == EOPNOTSUPP) return 'x';
  return 'e';
}

/* After a blocking lock returned: granted after the parent's unlock (y), or
 * before it (m)? The parent writes LK_MARK into the file while it still holds
 * its lock, then unlocks. Read through FD: opening and closing another fd
 * would drop the peer's own new POSIX lock. */
static char granted_after_unlock(int fd, int r) {
  if (r != 0) return lock_answer(r);
  char buf[64] = {0};
  ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
  return n == (ssize_t)strlen(LK_MARK) && memcmp(buf, LK_MARK, n) == 0 ? 'y' : 'm';
}

static void peer_main(int cmd, int ans, int inherited) {
  int fd = -1;
  char c;
  while (read(cmd, &c, 1) == 1) {
    char a = 'e';
    switch (c) {
      case 'o': fd = open(LK_FILE, O_RDWR); a = fd >= 0 ? 'y' : 'e'; break;
      case 'i': fd = inherited; a = 'y'; break; /* the parent's fd, shared by fork */
      case 'w': a = lock_answer(set_lock(fd, F_SETLK, F_WRLCK, 0, 10)); break;
      case 'r': a = lock_answer(set_lock(fd, F_SETLK, F_RDLCK, 200, 50)); break;
      case 'm': a = lock_answer(set_lock(fd, F_SETLK, F_WRLCK, 40, 20)); break;
      case 'b': a = lock_answer(set_lock(fd, F_SETLK, F_WRLCK, 39, 1)); break;
      case 'c': { /* open and close a second fd of the file */
        int fd2 = open(LK_FILE, O_RDONLY);
        a = fd2 >= 0 && close(fd2) == 0 ? 'y' : 'e';
        break;
      }
      case 'W': /* F_SETLKW of [0,10) */
        write(ans, "S", 1);
        a = granted_after_unlock(fd, set_lock(fd, F_SETLKW, F_WRLCK, 0, 10));
        break;
      case 'F': /* blocking flock */
        write(ans, "S", 1);
        a = granted_after_unlock(fd, flock(fd, LOCK_EX));
        break;
      case 'q': _exit(0);
    }
    write(ans, &a, 1);
  }
  _exit(0);
}

static int peer_start(struct peer *p, int inherited) {
  int cmd[2], ans[2];
  if (pipe(cmd) || pipe(ans)) return -1;
  fflush(stdout);
  p->pid = fork();
  if (p->pid < 0) return -1;
  if (p->pid == 0) {
    close(cmd[1]);
    close(ans[0]);
    peer_main(cmd[0], ans[1], inherited);
  }
  close(cmd[0]);
  close(ans[1]);
  p->cmd = cmd[1];
  p->ans = ans[0];
  return 0;
}

static char peer_do(struct peer *p, char c) {
  char a = '?';
  if (write(p->cmd, &c, 1) != 1 || read(p->ans, &a, 1) != 1) return '?';
  return a;
}

static void peer_stop(struct peer *p) {
  write(p->cmd, "q", 1);
  waitpid(p->pid, NULL, 0);
  close(p->cmd);
  close(p->ans);
}

#define EXPECT_ANSWER(name, got, want) \
  EXPECT_TRUE(name, (got) == (want), "peer answered '%c', expected '%c'", (got), (want))

static int unlock_posix(int fd) { return set_lock(fd, F_SETLK, F_UNLCK, 0, 0); }
static int unlock_flock(int fd) { return flock(fd, LOCK_UN); }

/* The parent holds, through FD, a lock the peer waits for in a blocking call
 * (CMD 'W' or 'F'); the parent marks the file, then UNLOCK()s, and the peer
 * must be granted only after that. Against a daemon that refuses to wait
 * (QEMU's virtiofsd answers SETLKW with EOPNOTSUPP) the check is a skip.
 * Returns 1 if the peer now holds the lock. */
static int blocking_check(const char *name, struct peer *p, char cmd, int fd, int (*unlock)(int)) {
  char s = 0, a = 0;
  if (ftruncate(fd, 0) != 0) printf("setup: ftruncate: %s\n", errname(errno));
  write(p->cmd, &cmd, 1);
  read(p->ans, &s, 1); /* 'S': the peer is about to block */
  /* Give a wrong early grant a chance to show: nothing may arrive while the
   * parent holds its lock. A correct daemon passes however slow it is. */
  struct pollfd pfd = {.fd = p->ans, .events = POLLIN};
  int early = poll(&pfd, 1, 300);
  if (pwrite(fd, LK_MARK, strlen(LK_MARK), 0) != (ssize_t)strlen(LK_MARK)) {
    printf("setup: cannot mark %s: %s\n", LK_FILE, errname(errno));
  }
  unlock(fd);
  read(p->ans, &a, 1);
  if (a == 'x') {
    printf("skip %s: the daemon refuses to wait for a lock (EOPNOTSUPP)\n", name);
    return 0;
  }
  EXPECT_TRUE(name, s == 'S' && early == 0 && a == 'y',
              "peer started '%c', answered %s'%c' (y: granted after the unlock; m: before it)", s,
              early ? "early " : "", a);
  return a == 'y' || a == 'm';
}

static void test_lock_owners(void) {
  put(LK_FILE, "lock owners");
  int fd = open(LK_FILE, O_RDWR);
  int fd2 = open(LK_FILE, O_RDWR);
  struct peer p;
  if (fd < 0 || fd2 < 0) {
    check_fail("lock_owner_setup", "open: %s", errname(errno));
    return;
  }
  /* One process, two fds: its own locks never conflict. */
  EXPECT_OK("posix_lock_fd1", set_lock(fd, F_SETLK, F_WRLCK, 0, 10));
  EXPECT_OK("posix_lock_same_process_other_fd", set_lock(fd2, F_SETLK, F_WRLCK, 0, 10));
  /* A forked child conflicts, even through the fd it inherited. */
  if (peer_start(&p, fd) == 0) {
    peer_do(&p, 'i');
    EXPECT_ANSWER("posix_lock_inherited_fd_conflicts", peer_do(&p, 'w'), 'a');
    peer_stop(&p);
  }
  /* Splitting: the parent unlocks the middle of its lock. */
  EXPECT_OK("posix_lock_range", set_lock(fd, F_SETLK, F_WRLCK, 0, 100));
  EXPECT_OK("posix_unlock_middle", set_lock(fd, F_SETLK, F_UNLCK, 40, 20));
  if (peer_start(&p, -1) == 0) {
    peer_do(&p, 'o');
    EXPECT_ANSWER("posix_split_middle_free", peer_do(&p, 'm'), 'y');
    EXPECT_ANSWER("posix_split_rest_held", peer_do(&p, 'b'), 'a');
    peer_stop(&p);
  }
  unlock_posix(fd);
  /* F_GETLK reports the holder's type and range; own locks never conflict;
   * closing any fd of the file drops all of that process's locks on it. */
  if (peer_start(&p, -1) == 0) {
    peer_do(&p, 'o');
    EXPECT_ANSWER("posix_peer_read_lock", peer_do(&p, 'r'), 'y');
    EXPECT_ANSWER("posix_peer_write_lock", peer_do(&p, 'w'), 'y');
    struct flock q = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 100, .l_len = 0};
    int r = fcntl(fd, F_GETLK, &q);
    EXPECT_TRUE("posix_getlk_holder_range", r == 0 && q.l_type == F_RDLCK && q.l_start == 200 &&
                q.l_len == 50, "expected F_RDLCK 200+50 got %d: type %d %ld+%ld", r, q.l_type,
                (long)q.l_start, (long)q.l_len);
    printf("note posix_getlk_holder_pid: holder %d, reported %d\n", p.pid, q.l_pid);
    struct flock shared = {.l_type = F_RDLCK, .l_whence = SEEK_SET, .l_start = 200, .l_len = 50};
    r = fcntl(fd, F_GETLK, &shared);
    EXPECT_TRUE("posix_getlk_readers_share", r == 0 && shared.l_type == F_UNLCK,
                "expected F_UNLCK got %d: type %d", r, shared.l_type);
    EXPECT_ERRNO("posix_peer_holds_lock", set_lock(fd, F_SETLK, F_WRLCK, 0, 1), EAGAIN);
    EXPECT_ANSWER("posix_peer_closes_other_fd", peer_do(&p, 'c'), 'y');
    EXPECT_OK("posix_close_of_other_fd_drops_locks", set_lock(fd, F_SETLK, F_WRLCK, 0, 1));
    EXPECT_OK("posix_close_drops_every_range", set_lock(fd, F_SETLK, F_WRLCK, 200, 50));
    peer_stop(&p);
  }
  unlock_posix(fd);
  /* F_SETLKW waits until the holder unlocks. */
  EXPECT_OK("posix_setlkw_holder_locks", set_lock(fd, F_SETLK, F_WRLCK, 0, 10));
  if (peer_start(&p, -1) == 0) {
    peer_do(&p, 'o');
    if (blocking_check("posix_setlkw_waits_for_unlock", &p, 'W', fd, unlock_posix)) {
      EXPECT_ERRNO("posix_setlkw_granted_to_peer", set_lock(fd, F_SETLK, F_RDLCK, 5, 1), EAGAIN);
    }
    peer_stop(&p);
  }
  EXPECT_OK("posix_lock_after_peer_exit", set_lock(fd, F_SETLK, F_WRLCK, 0, 0));
  unlock_posix(fd);
  /* flock belongs to the open file: two opens conflict even in one process. */
  EXPECT_OK("flock_fd1", flock(fd, LOCK_EX | LOCK_NB));
  EXPECT_ERRNO("flock_two_opens_conflict", flock(fd2, LOCK_EX | LOCK_NB), EWOULDBLOCK);
  /* Closing the holder's open file drops its flock (RELEASE with
   * FUSE_RELEASE_FLOCK_UNLOCK); an explicit LOCK_UN is what the blocking
   * check below relies on. */
  close(fd);
  fd = open(LK_FILE, O_RDWR);
  EXPECT_OK("flock_after_holder_close", flock(fd2, LOCK_EX | LOCK_NB));
  close(fd2);
  fd2 = open(LK_FILE, O_RDWR);
  /* A blocking flock waits until the holder unlocks. */
  EXPECT_OK("flock_holder_locks", flock(fd, LOCK_EX | LOCK_NB));
  if (peer_start(&p, -1) == 0) {
    peer_do(&p, 'o');
    if (blocking_check("flock_blocking_waits_for_unlock", &p, 'F', fd, unlock_flock)) {
      EXPECT_ERRNO("flock_granted_to_peer", flock(fd, LOCK_SH | LOCK_NB), EWOULDBLOCK);
    }
    peer_stop(&p);
  }
  EXPECT_OK("flock_after_peer_exit", flock(fd, LOCK_EX | LOCK_NB));
  close(fd);
  close(fd2);
}

static void test_mmap_tmpfile(void) {
  int fd = open("m_f", O_RDWR | O_CREAT | O_TRUNC, 0644);
  ftruncate(fd, 8192);
  char *p = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  EXPECT_TRUE("mmap_shared", p != MAP_FAILED, "expected a mapping got %s", errname(errno));
  if (p != MAP_FAILED) {
    memcpy(p + 4000, "mapped-bytes", 12);
    EXPECT_OK("msync", msync(p, 8192, MS_SYNC));
    munmap(p, 8192);
  }
  close(fd);
  char buf[16] = {0};
  fd = open("m_f", O_RDONLY);
  ssize_t n = pread(fd, buf, 12, 4000);
  EXPECT_TRUE("mmap_write_visible_to_read", n == 12 && !memcmp(buf, "mapped-bytes", 12),
              "expected mapped-bytes got %zd bytes", n);
  close(fd);

  fd = open(".", O_TMPFILE | O_RDWR, 0600);
  if (fd < 0 && errno == EOPNOTSUPP) {
    /* Guest kernels before FUSE_TMPFILE (6.1 here) refuse O_TMPFILE in the
     * VFS without asking the daemon: nothing of the daemon to test. */
    printf("skip o_tmpfile: the guest kernel's FUSE has no tmpfile op (EOPNOTSUPP before any request)\n");
    return;
  }
  EXPECT_TRUE("o_tmpfile_open", fd >= 0, "expected an fd got %s", errname(errno));
  if (fd >= 0) {
    write(fd, "tmpdata", 7);
    char proc[64];
    snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
    EXPECT_OK("o_tmpfile_linkat", linkat(AT_FDCWD, proc, AT_FDCWD, "tmp_named", AT_SYMLINK_FOLLOW));
    EXPECT_TRUE("o_tmpfile_linked_content", content_is("tmp_named", "tmpdata"), "expected tmpdata");
    close(fd);
  }
  fd = open(".", O_TMPFILE | O_RDWR | O_EXCL, 0600);
  if (fd >= 0) {
    char proc[64];
    snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
    EXPECT_ERRNO("o_tmpfile_excl_no_link", linkat(AT_FDCWD, proc, AT_FDCWD, "tmp_excl", AT_SYMLINK_FOLLOW), ENOENT);
    close(fd);
  }
}

static void test_fallocate_seek(void) {
  int fd = open("f_f", O_RDWR | O_CREAT | O_TRUNC, 0644);
  struct stat st;
  EXPECT_OK("fallocate_extend", fallocate(fd, 0, 0, 1 << 20));
  EXPECT_TRUE("fallocate_extend_size", fstat(fd, &st) == 0 && st.st_size == (1 << 20) &&
              st.st_blocks >= (1 << 20) / 512, "expected size 1M and >=2048 blocks got %ld/%ld",
              (long)st.st_size, (long)st.st_blocks);
  EXPECT_OK("fallocate_keep_size", fallocate(fd, FALLOC_FL_KEEP_SIZE, 1 << 20, 1 << 20));
  EXPECT_TRUE("fallocate_keep_size_size", fstat(fd, &st) == 0 && st.st_size == (1 << 20),
              "expected size 1M got %ld", (long)st.st_size);
  char data[8192];
  memset(data, 'D', sizeof data);
  pwrite(fd, data, sizeof data, 0);
  EXPECT_OK("fallocate_punch_hole", fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, 4096));
  char buf[8192];
  ssize_t n = pread(fd, buf, sizeof buf, 0);
  int zeros = 1, ds = 1;
  for (int i = 0; i < 4096; i++) zeros &= buf[i] == 0;
  for (int i = 4096; i < 8192; i++) ds &= buf[i] == 'D';
  EXPECT_TRUE("fallocate_punch_hole_reads_zero", n == 8192 && zeros && ds && fstat(fd, &st) == 0 &&
              st.st_size == (1 << 20), "expected 4K zeros then 4K D, size 1M (n=%zd zeros=%d D=%d)", n, zeros, ds);
  EXPECT_ERRNO("fallocate_punch_without_keep_size", fallocate(fd, FALLOC_FL_PUNCH_HOLE, 0, 4096), EOPNOTSUPP);
  close(fd);

  fd = open("s_f", O_RDWR | O_CREAT | O_TRUNC, 0644);
  memset(data, 'S', 4096);
  pwrite(fd, data, 4096, 0);
  pwrite(fd, data, 4096, 1 << 20);
  fsync(fd);
  off_t o = lseek(fd, 0, SEEK_DATA);
  EXPECT_TRUE("seek_data_at_start", o == 0, "expected 0 got %ld (%s)", (long)o, errname(errno));
  o = lseek(fd, 0, SEEK_HOLE);
  EXPECT_TRUE("seek_hole_after_first_block", o >= 4096 && o < (1 << 20), "expected in [4096,1M) got %ld (%s)",
              (long)o, errname(errno));
  o = lseek(fd, 8192, SEEK_DATA);
  EXPECT_TRUE("seek_data_skips_hole", o == (1 << 20), "expected %d got %ld (%s)", 1 << 20, (long)o, errname(errno));
  o = lseek(fd, (1 << 20) + 100, SEEK_HOLE);
  EXPECT_TRUE("seek_hole_at_eof", o == (1 << 20) + 4096, "expected %d got %ld (%s)", (1 << 20) + 4096, (long)o,
              errname(errno));
  EXPECT_ERRNO("seek_data_past_eof", lseek(fd, (1 << 20) + 8192, SEEK_DATA), ENXIO);
  close(fd);
}

static void test_special(void) {
  char buf[300];
  EXPECT_OK("symlink", symlink("some/target/../path", "y_link"));
  ssize_t n = readlink("y_link", buf, sizeof buf);
  EXPECT_TRUE("readlink", n == 19 && !memcmp(buf, "some/target/../path", 19),
              "expected some/target/../path (19) got %zd", n);
  struct stat st;
  EXPECT_TRUE("symlink_lstat", lstat("y_link", &st) == 0 && S_ISLNK(st.st_mode) && st.st_size == 19,
              "expected a symlink of size 19");
  n = readlink("y_link", buf, 4);
  EXPECT_TRUE("readlink_truncates", n == 4 && !memcmp(buf, "some", 4), "expected 4 got %zd", n);
  EXPECT_ERRNO("symlink_exists", symlink("x", "y_link"), EEXIST);
  put("y_file", "y");
  EXPECT_ERRNO("readlink_not_link", readlink("y_file", buf, sizeof buf), EINVAL);
  EXPECT_ERRNO("open_nofollow_symlink", open("y_link", O_RDONLY | O_NOFOLLOW), ELOOP);
  char longt[4096];
  memset(longt, 'a', 4095); longt[4095] = 0;
  EXPECT_OK("symlink_target_4095", symlink(longt, "y_long"));
  n = readlink("y_long", buf, sizeof buf);
  EXPECT_TRUE("readlink_long_target_truncated", n == (ssize_t)sizeof buf, "expected %zu got %zd", sizeof buf, n);

  EXPECT_OK("mkfifo", mkfifo("y_fifo", 0644));
  EXPECT_TRUE("mkfifo_type", lstat("y_fifo", &st) == 0 && S_ISFIFO(st.st_mode), "expected S_IFIFO");
  int rfd = open("y_fifo", O_RDONLY | O_NONBLOCK);
  int wfd = open("y_fifo", O_WRONLY | O_NONBLOCK);
  n = -1;
  if (rfd >= 0 && wfd >= 0 && write(wfd, "pipe", 4) == 4) n = read(rfd, buf, sizeof buf);
  EXPECT_TRUE("fifo_data_flows", n == 4 && !memcmp(buf, "pipe", 4), "expected pipe got %zd", n);
  if (rfd >= 0) close(rfd);
  if (wfd >= 0) close(wfd);
  EXPECT_OK("mknod_regular", mknod("y_reg", S_IFREG | 0600, 0));
  EXPECT_TRUE("mknod_regular_type", lstat("y_reg", &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 0777) == 0600,
              "expected regular 0600");
  EXPECT_OK("mknod_char_dev", mknod("y_null", S_IFCHR | 0666, makedev(1, 3)));
  EXPECT_TRUE("mknod_char_dev_rdev", lstat("y_null", &st) == 0 && S_ISCHR(st.st_mode) && st.st_rdev == makedev(1, 3),
              "expected char 1:3");

  struct statfs sf;
  EXPECT_OK("statfs", statfs(".", &sf));
  EXPECT_TRUE("statfs_fields", sf.f_type == FUSE_SUPER_MAGIC && sf.f_blocks > 0 && sf.f_bsize > 0 &&
              sf.f_namelen == 255 && sf.f_bfree <= sf.f_blocks, "type %lx blocks %lu bsize %ld namelen %ld",
              (long)sf.f_type, (unsigned long)sf.f_blocks, (long)sf.f_bsize, (long)sf.f_namelen);
  /* The host wrote its own statfs of the share: total bytes must match. */
  FILE *f = fopen("../statfs.host", "r");
  unsigned long long hb = 0, hs = 0;
  if (f) { if (fscanf(f, "%llu %llu", &hb, &hs) != 2) hb = 0; fclose(f); }
  unsigned long long gb = (unsigned long long)sf.f_blocks * sf.f_frsize;
  EXPECT_TRUE("statfs_matches_host", hb * hs == gb, "expected %llu bytes (host) got %llu", hb * hs, gb);
}

int main(int argc, char **argv) {
  umask(0);
  if (argc < 2 || mkdir(argv[1], 0755) || chdir(argv[1])) {
    printf("FAIL setup: cannot create and enter the scratch dir: %s\n", errname(errno));
    return 1;
  }
  test_open();
  test_rename();
  test_link_unlink();
  test_perms();
  test_truncate_utimes();
  test_xattr();
  test_locks();
  test_lock_owners();
  test_mmap_tmpfile();
  test_fallocate_seek();
  test_special();
  printf("done posix_checks failures=%d\n", g_failures);
  return g_failures > 100 ? 100 : g_failures;
}
