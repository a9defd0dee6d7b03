#ifndef SIEVE_H_
#define SIEVE_H_

/* Writes the primes below `limit` into `out` (room for `capacity`); returns
   how many there are. */
int primes_below(int limit, int *out, int capacity);

#endif
