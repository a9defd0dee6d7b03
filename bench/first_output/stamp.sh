# Prints the guest's CLOCK_REALTIME at once, then again one second later.
date +%s.%N
sleep 1
date +%s.%N
