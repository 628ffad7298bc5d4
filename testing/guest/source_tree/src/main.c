/* wordstat FILE: prints line/word counts, the CRC-32 and the top words of
 * FILE. Deterministic output, so the guest's run can be compared with the
 * host's. */
#include <stdio.h>

#include "crc32.h"
#include "strbuf.h"
#include "version.h"
#include "wordcount.h"

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: wordstat FILE\n");
    return 2;
  }
  struct strbuf sb = {0};
  if (strbuf_read_file(&sb, argv[1]) != 0) {
    perror(argv[1]);
    return 1;
  }
  static struct word_stats st;
  count_words(sb.data, sb.len, &st);
  printf("wordstat %s\n", WORDSTAT_VERSION);
  printf("bytes %zu lines %zu words %zu distinct %zu\n", sb.len, st.lines, st.words,
         st.distinct);
  printf("crc32 %08x\n", (unsigned)crc32_bytes((const unsigned char *)sb.data, sb.len));
  for (size_t i = 0; i < WORDSTAT_TOP && i < st.distinct; i++)
    printf("top %zu %s %u\n", i + 1, st.top[i].word, st.top[i].count);
  strbuf_free(&sb);
  return 0;
}
