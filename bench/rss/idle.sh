# bench/rss's idle workload: says it started, idles 5 s (long enough for the
# guest's free page reporting, which waits 2 s, to hand freed memory back),
# says so, and idles a little longer while the bench reads QEMU's RSS.
echo idle
sleep 5
echo idle-5s
sleep 2
