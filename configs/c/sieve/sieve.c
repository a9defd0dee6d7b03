#include "sieve.h"

#include <stdlib.h>
#include <string.h>

int primes_below(int limit, int *out, int capacity) {
  char *composite = calloc((size_t)limit, 1);
  int count = 0;
  for (int n = 2; n < limit; ++n) {
    if (composite[n]) continue;
    if (count < capacity) out[count] = n;
    ++count;
    for (long m = (long)n * n; m < limit; m += n) composite[m] = 1;
  }
  free(composite);
  return count;
}
