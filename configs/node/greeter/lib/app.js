// A node project of two modules: package.json's "main" is this file.
const { greet } = require("./greet");

const names = ["Ada", "Grace", "Linus", "Barbara"];
names.forEach((name, i) => {
  setTimeout(() => console.log(greet(name)), 800 * i);
});
