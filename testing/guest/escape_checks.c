/* Attempts to reach outside the shared directory, from inside a real guest
 * (guest_escape_test), plus the host-side racer that swaps symlinks into the
 * share while the guest works. The host keeps a directory "outside" next to
 * the share with a file whose content starts with SECRET_PREFIX; a guest
 * read that returns that prefix, or any change the host later finds outside
 * the share, is an escape.
 *   escape_checks guest HOSTDEV   (cwd = the share root in the guest)
 *   escape_checks host-race SHARE SECONDS   (on the host, during the boot)
 * Guest output: ok/FAIL/note lines (guest_check.h). */
#include "guest_check.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#define SECRET_PREFIX "HOST-OUTSIDE-SECRET"

/* 1 if PATH opens and its first bytes are the host secret or a host
 * /etc/passwd line; ERR gets the open/read errno (0 if readable). */
static int leaks(const char *path, int flags, int *err) {
  char buf[64] = {0};
  int fd = open(path, O_RDONLY | flags);
  *err = fd < 0 ? errno : 0;
  if (fd < 0) return 0;
  ssize_t n = read(fd, buf, sizeof buf - 1);
  if (n < 0) *err = errno;
  close(fd);
  return n > 0 && (!strncmp(buf, SECRET_PREFIX, strlen(SECRET_PREFIX)) || !strncmp(buf, "root:x:0:0", 10));
}

static void expect_no_leak(const char *name, const char *path) {
  int err;
  int leaked = leaks(path, 0, &err);
  if (leaked) check_fail(name, "expected no host data via %s got the host file's content", path);
  else check_ok(name);
  printf("note %s: open %s -> %s\n", name, path, errname(err));
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void symlink_tricks(void) {
  /* Host-made links out of the share: the guest kernel resolves them in the
   * guest's namespace, so they must not reach the host file. */
  expect_no_leak("host_abs_symlink_to_outside", "abs_link");
  expect_no_leak("host_rel_symlink_to_outside", "rel_link");
  expect_no_leak("host_symlink_to_etc_passwd", "etc_link");
  symlink("/etc/passwd", "g_abs");
  symlink("../../../../../../../../etc/passwd", "g_rel");
  symlink("../outside/secret.txt", "g_out");
  expect_no_leak("guest_abs_symlink", "g_abs");
  expect_no_leak("guest_rel_symlink_dotdot", "g_rel");
  expect_no_leak("guest_symlink_to_outside", "g_out");
  expect_no_leak("dotdot_chain_from_root", "../../../../outside/secret.txt");
  expect_no_leak("dotdot_of_mount_root", "/mnt/../outside/secret.txt");
  struct stat a, b;
  EXPECT_TRUE("mount_root_dotdot_is_guest_root", stat("/mnt/..", &a) == 0 && stat("/", &b) == 0 &&
              a.st_ino == b.st_ino && a.st_dev == b.st_dev, "expected /mnt/.. to be the guest's /");
  DIR *d = opendir(".");
  struct dirent *de;
  while (d && (de = readdir(d)))
    if (!strcmp(de->d_name, "..")) printf("note readdir_root_dotdot_ino %lu\n", (unsigned long)de->d_ino);
  if (d) closedir(d);

  /* Operations on a symlink itself: a daemon that follows the link on the
   * host would change the outside file (the host compares it afterwards). */
  int r = lchown("abs_link", 4321, 4321);
  printf("note lchown_abs_link -> %s\n", errname(r ? errno : 0));
  struct timespec ts[2] = {{12345, 0}, {12345, 0}};
  r = utimensat(AT_FDCWD, "rel_link", ts, AT_SYMLINK_NOFOLLOW);
  printf("note utimensat_nofollow_rel_link -> %s\n", errname(r ? errno : 0));
  EXPECT_ERRNO("lsetxattr_user_on_symlink", lsetxattr("rel_link", "user.pwn", "x", 1, 0), EPERM);
  r = lsetxattr("abs_link", "trusted.pwn", "x", 1, 0);
  printf("note lsetxattr_trusted_abs_link -> %s\n", errname(r ? errno : 0));
  r = lremovexattr("abs_link", "security.selinux");
  printf("note lremovexattr_abs_link -> %s\n", errname(r ? errno : 0));
  /* link() does not follow: the new name must be a second symlink, not a
   * hard link to the host file the symlink names. */
  struct stat st;
  if (link("abs_link", "hl_abs") == 0)
    EXPECT_TRUE("link_of_abs_symlink_is_symlink", lstat("hl_abs", &st) == 0 && S_ISLNK(st.st_mode),
                "expected a symlink got mode 0%o", st.st_mode);
  else printf("note link_of_abs_symlink -> %s\n", errname(errno));
  if (link("rel_link", "hl_rel") == 0)
    EXPECT_TRUE("link_of_rel_symlink_is_symlink", lstat("hl_rel", &st) == 0 && S_ISLNK(st.st_mode),
                "expected a symlink got mode 0%o", st.st_mode);
  else printf("note link_of_rel_symlink -> %s\n", errname(errno));
  expect_no_leak("read_via_linked_symlink", "hl_rel");
  EXPECT_ERRNO("hardlink_outside_file_by_dotdot", link("/mnt/../outside/secret.txt", "hl_out"), ENOENT);
  EXPECT_ERRNO("open_nofollow_host_symlink", open("rel_link", O_RDONLY | O_NOFOLLOW), ELOOP);
  /* O_CREAT through a dangling link that points outside. */
  int fd = open("dangling_out", O_WRONLY | O_CREAT, 0644);
  printf("note creat_through_dangling_out_link -> %s\n", errname(fd < 0 ? errno : 0));
  if (fd >= 0) { write(fd, "pwned\n", 6); close(fd); }
}

static void device_nodes(const char *hostdev) {
  unsigned maj = 0, min = 0;
  if (sscanf(hostdev, "%u:%u", &maj, &min) != 2) { maj = 8; min = 0; }
  /* The host's root disk by number: the guest kernel interprets device
   * nodes itself (FUSE never OPENs them on the host), so this must not
   * return the host disk's bytes. */
  int r = mknod("dev_hostdisk", S_IFBLK | 0600, makedev(maj, min));
  printf("note mknod_block_%u_%u -> %s\n", maj, min, errname(r ? errno : 0));
  char buf[512];
  int fd = open("dev_hostdisk", O_RDONLY);
  ssize_t n = fd >= 0 ? read(fd, buf, sizeof buf) : -1;
  printf("note read_block_dev -> open %s read %zd\n", errname(fd < 0 ? errno : 0), n);
  EXPECT_TRUE("block_dev_node_reads_no_host_disk", n <= 0, "expected no data from the host disk node got %zd bytes", n);
  if (fd >= 0) close(fd);
  r = mknod("dev_mem", S_IFCHR | 0600, makedev(1, 1));
  printf("note mknod_char_1_1 -> %s\n", errname(r ? errno : 0));
  r = mknod("dev_kmsg", S_IFCHR | 0600, makedev(1, 11));
  fd = open("dev_kmsg", O_WRONLY);
  /* Writes go to the guest's own kmsg if the node works at all. */
  printf("note char_1_11_open -> %s (guest-local device)\n", errname(fd < 0 ? errno : 0));
  if (fd >= 0) close(fd);
}

/* Races in the guest: a child keeps exchanging "sw" (a real dir) with a
 * symlink to ../outside while this process reads and creates through
 * "sw/"; and through "hsw/" and "trap", which the host racer swaps. */
static void races(double seconds) {
  mkdir("sw", 0755);
  int fd = open("sw/f", O_WRONLY | O_CREAT, 0644);
  if (fd >= 0) { write(fd, "inside\n", 7); close(fd); }
  symlink("../outside", "sw_alt");
  pid_t pid = fork();
  if (pid == 0) {
    for (;;) renameat2(AT_FDCWD, "sw", AT_FDCWD, "sw_alt", RENAME_EXCHANGE);
  }
  long iters = 0, leaked = 0, created = 0, hleaked = 0, hcreated = 0, trap = 0;
  double end = now_s() + seconds;
  char name[64];
  int err, hcreate_err = 0, trap_err = 0;
  while (now_s() < end) {
    iters++;
    leaked += leaks("sw/secret.txt", 0, &err);
    snprintf(name, sizeof name, "sw/c%ld", iters % 8);
    if ((fd = open(name, O_WRONLY | O_CREAT, 0644)) >= 0) { created++; close(fd); unlink(name); }
    hleaked += leaks("hsw/secret.txt", 0, &err);
    snprintf(name, sizeof name, "hsw/pwned_%ld", iters % 8);
    if ((fd = open(name, O_WRONLY | O_CREAT, 0644)) >= 0) { hcreated++; close(fd); unlink(name); }
    else hcreate_err = errno;
    mkdir("hsw/pwned_dir", 0755); rmdir("hsw/pwned_dir");
    if ((fd = open("trap", O_WRONLY | O_CREAT, 0644)) >= 0) { trap++; write(fd, "pwned\n", 6); close(fd); unlink("trap"); }
    else trap_err = errno;
  }
  kill(pid, SIGKILL);
  waitpid(pid, NULL, 0);
  printf("note race: %ld iterations, guest-swap creates %ld, host-swap creates %ld (last error %s), "
         "trap creates %ld (last error %s)\n", iters, created, hcreated, errname(hcreate_err), trap,
         errname(trap_err));
  EXPECT_TRUE("race_guest_swapped_symlink", leaked == 0, "expected 0 reads of the host secret got %ld", leaked);
  EXPECT_TRUE("race_host_swapped_symlink", hleaked == 0, "expected 0 reads of the host secret got %ld", hleaked);
}

/* Host side: swaps share/hsw (a dir) with share/hsw_alt (a symlink to
 * ../outside) and flips share/trap between absent and a symlink to
 * ../outside/pwned_trap, as fast as it can, for SECONDS. */
static int host_race(const char *share, double seconds) {
  if (chdir(share)) return 1;
  mkdir("hsw", 0755);
  int fd = open("hsw/f", O_WRONLY | O_CREAT, 0644);
  if (fd >= 0) close(fd);
  symlink("../outside", "hsw_alt");
  long n = 0;
  double end = now_s() + seconds;
  while (now_s() < end) {
    renameat2(AT_FDCWD, "hsw", AT_FDCWD, "hsw_alt", RENAME_EXCHANGE);
    if (symlink("../outside/pwned_trap", "trap") == 0) {
      struct stat st;
      if (lstat("trap", &st) == 0 && S_ISLNK(st.st_mode)) unlink("trap");
    }
    n++;
  }
  printf("host racer: %ld swaps\n", n);
  return 0;
}

int main(int argc, char **argv) {
  if (argc >= 4 && !strcmp(argv[1], "host-race")) return host_race(argv[2], atof(argv[3]));
  if (argc < 3 || strcmp(argv[1], "guest")) {
    printf("usage: escape_checks guest HOSTDEV | host-race SHARE SECONDS\n");
    return 125;
  }
  symlink_tricks();
  device_nodes(argv[2]);
  races(argc >= 4 ? atof(argv[3]) : 4.0);
  printf("done escape_checks failures=%d\n", g_failures);
  return g_failures > 100 ? 100 : g_failures;
}
