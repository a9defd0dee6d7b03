echo "hello from a $1"
sleep 0.7
echo "running on $(uname -s)"
sleep 0.7
echo "to stderr" >&2
sleep 0.7
echo "bye"
