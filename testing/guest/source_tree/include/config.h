/* Limits of the word statistics (fixed tables, no hashing needed). */
#ifndef WORDSTAT_CONFIG_H
#define WORDSTAT_CONFIG_H
#define WORDSTAT_MAX_WORD 31
#define WORDSTAT_MAX_DISTINCT 256
#define WORDSTAT_TOP 5
#endif
