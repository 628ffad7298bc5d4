/* Growable byte string and whole-file reads. */
#include "strbuf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int strbuf_append(struct strbuf *sb, const char *bytes, size_t n) {
  if (sb->len + n + 1 > sb->cap) {
    size_t cap = sb->cap ? sb->cap : 64;
    while (cap < sb->len + n + 1) cap *= 2;
    char *p = realloc(sb->data, cap);
    if (!p) return -1;
    sb->data = p;
    sb->cap = cap;
  }
  memcpy(sb->data + sb->len, bytes, n);
  sb->len += n;
  sb->data[sb->len] = '\0';
  return 0;
}

int strbuf_read_file(struct strbuf *sb, const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) return -1;
  char buf[1024];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, f)) > 0) {
    if (strbuf_append(sb, buf, n) != 0) {
      fclose(f);
      return -1;
    }
  }
  int err = ferror(f);
  fclose(f);
  return err ? -1 : 0;
}

void strbuf_free(struct strbuf *sb) {
  free(sb->data);
  sb->data = NULL;
  sb->len = sb->cap = 0;
}
