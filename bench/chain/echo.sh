echo "hello from a $1"
