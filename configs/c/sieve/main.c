/* A C project built by its Makefile from two .c files. */
#include <stdio.h>
#include <unistd.h>

#include "sieve.h"

int main(void) {
  int primes[8];
  for (int limit = 10; limit <= 10000; limit *= 10) {
    int count = primes_below(limit, primes, 8);
    printf("%d primes below %d\n", count, limit);
    fflush(stdout);
    usleep(700 * 1000);
  }
  return 0;
}
