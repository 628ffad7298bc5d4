/* Counts lines, words and per-word frequencies (lower-cased ASCII letters). */
#include "wordcount.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

static int by_count_then_word(const void *a, const void *b) {
  const struct word_freq *x = a, *y = b;
  if (x->count != y->count) return x->count < y->count ? 1 : -1;
  return strcmp(x->word, y->word);
}

static void add_word(struct word_stats *st, const char *w) {
  for (size_t i = 0; i < st->distinct; i++) {
    if (strcmp(st->top[i].word, w) == 0) {
      st->top[i].count++;
      return;
    }
  }
  if (st->distinct == WORDSTAT_MAX_DISTINCT) return;
  strcpy(st->top[st->distinct].word, w);
  st->top[st->distinct].count = 1;
  st->distinct++;
}

void count_words(const char *text, size_t len, struct word_stats *st) {
  memset(st, 0, sizeof *st);
  char word[WORDSTAT_MAX_WORD + 1];
  size_t wl = 0;
  for (size_t i = 0; i <= len; i++) {
    unsigned char c = i < len ? (unsigned char)text[i] : ' ';
    if (c == '\n') st->lines++;
    if (isalpha(c)) {
      if (wl < WORDSTAT_MAX_WORD) word[wl++] = (char)tolower(c);
      continue;
    }
    if (wl > 0) {
      word[wl] = '\0';
      st->words++;
      add_word(st, word);
      wl = 0;
    }
  }
  qsort(st->top, st->distinct, sizeof st->top[0], by_count_then_word);
}
