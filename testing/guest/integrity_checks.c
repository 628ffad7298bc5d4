/* Data integrity through a virtio-fs mount, from inside a real guest
 * (guest_integrity_test). Two workloads:
 *  - model SEED OPS MODELDIR: a seeded random mix of pwrite/pread at random
 *    offsets and sizes, truncate up/down, MAP_SHARED writes, fsync, write(2)
 *    at the file offset, reopen and page-cache drops on a few files, every
 *    read compared with an in-memory model; the model's bytes are saved in
 *    MODELDIR (guest tmpfs) so the host can compare them with the share.
 *  - parallel N: N processes write disjoint regions of one file in random
 *    chunk order, and append fixed-size records to their own file and to one
 *    shared O_APPEND file; every byte is verified afterwards.
 * The page cache is dropped before verifying, so the bytes come back from
 * the daemon, not from guest memory. Output: ok/FAIL lines (guest_check.h). */
#include "guest_check.h"

#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define NFILES 3
#define MAXSIZE (256 * 1024)
#define MAXIO (16 * 1024)

static uint64_t rng_state;
static uint64_t rnd(void) {  /* xorshift64*: reproducible from the seed */
  rng_state ^= rng_state >> 12;
  rng_state ^= rng_state << 25;
  rng_state ^= rng_state >> 27;
  return rng_state * 2685821657736338717ULL;
}

static void drop_caches(void) {
  sync();
  int fd = open("/proc/sys/vm/drop_caches", O_WRONLY);
  if (fd >= 0) {
    if (write(fd, "3", 1) != 1) printf("note drop_caches failed: %s\n", errname(errno));
    close(fd);
  }
}

static unsigned char *model[NFILES];
static size_t msize[NFILES];
static int fds[NFILES];
static char names[NFILES][32];

/* Compares BUF (N bytes read at OFF of file F) with the model. */
static int verify(int f, off_t off, const unsigned char *buf, ssize_t n, size_t len, long op) {
  ssize_t want = off >= (off_t)msize[f] ? 0 : (ssize_t)(msize[f] - off < len ? msize[f] - off : len);
  if (n != want) {
    check_fail("model_read", "op %ld file %d off %ld len %zu: expected %zd bytes got %zd (%s)", op, f,
               (long)off, len, want, n, n < 0 ? errname(errno) : "short");
    return 0;
  }
  for (ssize_t i = 0; i < n; i++) {
    if (buf[i] != model[f][off + i]) {
      check_fail("model_read", "op %ld file %d: expected byte 0x%02x at offset %ld got 0x%02x", op, f,
                 model[f][off + i], (long)(off + i), buf[i]);
      return 0;
    }
  }
  return 1;
}

static int model_workload(uint64_t seed, long ops, const char *modeldir) {
  static unsigned char buf[MAXIO + 128];
  long counts[9] = {0};
  rng_state = seed * 0x9E3779B97F4A7C15ULL + 1;
  long page = sysconf(_SC_PAGESIZE);
  for (int f = 0; f < NFILES; f++) {
    snprintf(names[f], sizeof names[f], "model_%d.bin", f);
    model[f] = calloc(MAXSIZE, 1);
    fds[f] = open(names[f], O_RDWR | O_CREAT | O_TRUNC, 0644);
    if (fds[f] < 0) { check_fail("model_setup", "open %s: %s", names[f], errname(errno)); return 0; }
  }
  for (long op = 0; op < ops; op++) {
    int f = rnd() % NFILES, k = rnd() % 100;
    if (k < 33) {  /* pwrite */
      size_t off = rnd() % (MAXSIZE - 1), len = 1 + rnd() % MAXIO;
      if (off + len > MAXSIZE) len = MAXSIZE - off;
      for (size_t i = 0; i < len; i++) buf[i] = (unsigned char)(rnd() >> 56);
      ssize_t n = pwrite(fds[f], buf, len, off);
      if (n != (ssize_t)len) { check_fail("model_pwrite", "op %ld: expected %zu got %zd (%s)", op, len, n, errname(errno)); return 0; }
      memcpy(model[f] + off, buf, len);
      if (off + len > msize[f]) msize[f] = off + len;
      counts[0]++;
    } else if (k < 63) {  /* pread, sometimes past EOF */
      size_t off = rnd() % (msize[f] + 100), len = 1 + rnd() % MAXIO;
      ssize_t n = pread(fds[f], buf, len, off);
      if (!verify(f, off, buf, n, len, op)) return 0;
      counts[1]++;
    } else if (k < 70) {  /* truncate up or down */
      size_t ns = rnd() % MAXSIZE;
      if (ftruncate(fds[f], ns)) { check_fail("model_truncate", "op %ld: %s", op, errname(errno)); return 0; }
      if (ns < msize[f]) memset(model[f] + ns, 0, msize[f] - ns);
      msize[f] = ns;
      counts[2]++;
    } else if (k < 78) {  /* MAP_SHARED write inside the file */
      if (msize[f] < 2) continue;
      size_t off = rnd() % (msize[f] - 1), len = 1 + rnd() % (MAXIO / 2);
      if (off + len > msize[f]) len = msize[f] - off;
      size_t moff = off & ~(size_t)(page - 1), mlen = off + len - moff;
      unsigned char *p = mmap(NULL, mlen, PROT_READ | PROT_WRITE, MAP_SHARED, fds[f], moff);
      if (p == MAP_FAILED) { check_fail("model_mmap", "op %ld: %s", op, errname(errno)); return 0; }
      for (size_t i = 0; i < len; i++) p[off - moff + i] = model[f][off + i] = (unsigned char)(rnd() >> 56);
      if (msync(p, mlen, MS_SYNC)) { check_fail("model_msync", "op %ld: %s", op, errname(errno)); return 0; }
      munmap(p, mlen);
      counts[3]++;
    } else if (k < 83) {
      if ((k & 1 ? fsync(fds[f]) : fdatasync(fds[f])) != 0) { check_fail("model_fsync", "op %ld: %s", op, errname(errno)); return 0; }
      counts[4]++;
    } else if (k < 90) {  /* reopen: drops nothing, but a new OPEN/RELEASE pair */
      close(fds[f]);
      fds[f] = open(names[f], O_RDWR);
      if (fds[f] < 0) { check_fail("model_reopen", "op %ld: %s", op, errname(errno)); return 0; }
      counts[5]++;
    } else if (k < 97) {  /* write(2) at the file offset after lseek */
      size_t off = rnd() % (MAXSIZE - 1), len = 1 + rnd() % 4096;
      if (off + len > MAXSIZE) len = MAXSIZE - off;
      for (size_t i = 0; i < len; i++) buf[i] = (unsigned char)(rnd() >> 56);
      if (lseek(fds[f], off, SEEK_SET) != (off_t)off || write(fds[f], buf, len) != (ssize_t)len) {
        check_fail("model_write", "op %ld: %s", op, errname(errno)); return 0;
      }
      memcpy(model[f] + off, buf, len);
      if (off + len > msize[f]) msize[f] = off + len;
      counts[6]++;
    } else if (k < 98) {  /* reads after this come from the daemon, not the page cache */
      drop_caches();
      counts[7]++;
    }
  }
  drop_caches();
  static unsigned char whole[MAXSIZE + 1];
  for (int f = 0; f < NFILES; f++) {
    struct stat st;
    fstat(fds[f], &st);
    if (st.st_size != (off_t)msize[f]) {
      check_fail("model_final_size", "file %d: expected %zu got %ld", f, msize[f], (long)st.st_size);
      return 0;
    }
    ssize_t n = pread(fds[f], whole, MAXSIZE + 1, 0);
    if (!verify(f, 0, whole, n, MAXSIZE + 1, ops)) return 0;
    close(fds[f]);
    char path[256];
    snprintf(path, sizeof path, "%s/%s", modeldir, names[f]);
    int mfd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (mfd < 0 || write(mfd, model[f], msize[f]) != (ssize_t)msize[f]) printf("note cannot save model %s\n", path);
    close(mfd);
  }
  printf("note model ops: pwrite %ld pread %ld truncate %ld mmap %ld fsync %ld reopen %ld write %ld drop_caches %ld\n",
         counts[0], counts[1], counts[2], counts[3], counts[4], counts[5], counts[6], counts[7]);
  check_ok("model_workload");
  return 1;
}

#define REGION (96 * 1024)
#define RECORDS 150
#define RECLEN 32

static unsigned char pattern(size_t o) { return (unsigned char)((o * 131) ^ (o >> 9) ^ 0x5a); }

static void writer(int w) {
  rng_state = 1000 + w;
  int fd = open("par_shared.bin", O_WRONLY);
  /* Random chunk boundaries, written in a shuffled order. */
  size_t starts[REGION / 256 + 1], n = 0;
  for (size_t o = 0; o < REGION; o += 1 + rnd() % 4096) starts[n++] = o;
  for (size_t i = n - 1; i > 0; i--) { size_t j = rnd() % (i + 1), t = starts[i]; starts[i] = starts[j]; starts[j] = t; }
  unsigned char buf[4096];
  for (size_t i = 0; i < n; i++) {
    size_t s = starts[i], e = REGION;
    for (size_t j = 0; j < n; j++) if (starts[j] > s && starts[j] < e) e = starts[j];
    size_t base = (size_t)w * REGION + s;
    for (size_t b = 0; b < e - s; b++) buf[b] = pattern(base + b);
    if (pwrite(fd, buf, e - s, base) != (ssize_t)(e - s)) _exit(1);
  }
  close(fd);
  char own[32];
  snprintf(own, sizeof own, "par_app_%d.log", w);
  int ofd = open(own, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0644);
  int sfd = open("par_app_all.log", O_WRONLY | O_APPEND);
  for (int i = 0; i < RECORDS; i++) {
    char rec[RECLEN + 1];
    snprintf(rec, sizeof rec, "w=%02d i=%05d %-18s\n", w, i, "xxxxxxxxxxxxxxx");
    if (write(ofd, rec, RECLEN) != RECLEN || write(sfd, rec, RECLEN) != RECLEN) _exit(2);
  }
  _exit(0);
}

static void parallel(int nw) {
  int fd = open("par_shared.bin", O_RDWR | O_CREAT | O_TRUNC, 0644);
  close(open("par_app_all.log", O_WRONLY | O_CREAT | O_TRUNC, 0644));
  pid_t pids[64];
  for (int w = 0; w < nw; w++) if ((pids[w] = fork()) == 0) writer(w);
  int bad = 0;
  for (int w = 0; w < nw; w++) {
    int st;
    waitpid(pids[w], &st, 0);
    bad += !(WIFEXITED(st) && WEXITSTATUS(st) == 0);
  }
  EXPECT_TRUE("parallel_writers_exit", bad == 0, "expected all %d writers to succeed, %d failed", nw, bad);
  drop_caches();
  size_t total = (size_t)nw * REGION;
  unsigned char *all = malloc(total + 1);
  ssize_t n = pread(fd, all, total + 1, 0);
  size_t first_bad = total;
  for (size_t o = 0; n == (ssize_t)total && o < total; o++) if (all[o] != pattern(o)) { first_bad = o; break; }
  EXPECT_TRUE("parallel_disjoint_regions", n == (ssize_t)total && first_bad == total,
              "expected %zu pattern bytes got n=%zd, first bad offset %zu", total, n, first_bad);
  close(fd);
  char *rec = malloc((size_t)nw * RECORDS * RECLEN + 1);
  for (int w = 0; w < nw; w++) {
    char own[32], want[RECLEN + 1];
    snprintf(own, sizeof own, "par_app_%d.log", w);
    int ofd = open(own, O_RDONLY);
    n = read(ofd, rec, RECORDS * RECLEN + 1);
    close(ofd);
    int okw = n == RECORDS * RECLEN;
    for (int i = 0; okw && i < RECORDS; i++) {
      snprintf(want, sizeof want, "w=%02d i=%05d %-18s\n", w, i, "xxxxxxxxxxxxxxx");
      okw = !memcmp(rec + i * RECLEN, want, RECLEN);
    }
    char name[64];
    snprintf(name, sizeof name, "parallel_append_own_%d", w);
    EXPECT_TRUE(name, okw, "expected %d records in order, got %zd bytes or a bad record", RECORDS, n);
  }
  int sfd = open("par_app_all.log", O_RDONLY);
  n = read(sfd, rec, (size_t)nw * RECORDS * RECLEN + 1);
  close(sfd);
  int next[64] = {0}, okall = n == (ssize_t)nw * RECORDS * RECLEN;
  for (ssize_t r = 0; okall && r < n / RECLEN; r++) {
    int w, i;
    char *p = rec + r * RECLEN;
    okall = sscanf(p, "w=%d i=%d", &w, &i) == 2 && w >= 0 && w < nw && i == next[w] && p[RECLEN - 1] == '\n';
    if (okall) next[w]++;
  }
  EXPECT_TRUE("parallel_append_shared", okall, "expected %d whole records, each writer's in order; got %zd bytes",
              nw * RECORDS, n);
  free(all); free(rec);
}

int main(int argc, char **argv) {
  if (argc >= 5 && !strcmp(argv[1], "model")) {
    model_workload(strtoull(argv[2], NULL, 0), strtol(argv[3], NULL, 0), argv[4]);
  } else if (argc >= 3 && !strcmp(argv[1], "parallel")) {
    int n = atoi(argv[2]);
    parallel(n < 1 ? 1 : n > 64 ? 64 : n);
  } else {
    printf("usage: integrity_checks model SEED OPS MODELDIR | parallel N\n");
    return 125;
  }
  printf("done integrity_checks %s failures=%d\n", argv[1], g_failures);
  return g_failures > 100 ? 100 : g_failures;
}
