exports.greet = (name) => `hello, ${name}, from a node project`;
