/* Word frequencies of a text, most frequent first. */
#ifndef WORDSTAT_WORDCOUNT_H
#define WORDSTAT_WORDCOUNT_H
#include <stddef.h>
#include "config.h"

struct word_freq {
  char word[WORDSTAT_MAX_WORD + 1];
  unsigned count;
};

struct word_stats {
  size_t lines, words;
  size_t distinct;
  struct word_freq top[WORDSTAT_MAX_DISTINCT];
};

void count_words(const char *text, size_t len, struct word_stats *out);
#endif
