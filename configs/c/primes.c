#include <stdio.h>
#include <unistd.h>

static int is_prime(int n) {
  for (int d = 2; d * d <= n; ++d) {
    if (n % d == 0) return 0;
  }
  return n > 1;
}

int main(void) {
  /* stdout is a pipe in the VM: without this, everything would arrive at
     the end in one piece. */
  setvbuf(stdout, NULL, _IOLBF, 0);
  int found = 0;
  for (int n = 2; found < 4; ++n) {
    if (!is_prime(n)) continue;
    printf("prime #%d is %d\n", ++found, n);
    usleep(700 * 1000);
  }
  return 0;
}
