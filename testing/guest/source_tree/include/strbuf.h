/* A growable byte string: the program's only allocation helper. */
#ifndef WORDSTAT_STRBUF_H
#define WORDSTAT_STRBUF_H
#include <stddef.h>

struct strbuf {
  char *data;
  size_t len, cap;
};

int strbuf_append(struct strbuf *sb, const char *bytes, size_t n);
int strbuf_read_file(struct strbuf *sb, const char *path);
void strbuf_free(struct strbuf *sb);
#endif
