# bench/rss's idle workload: says it started, then does nothing for a while.
echo idle
sleep 2
