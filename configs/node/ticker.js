let tick = 0;
const timer = setInterval(() => {
  tick += 1;
  console.log(`tick ${tick}`);
  if (tick === 3) {
    clearInterval(timer);
    console.log("done from Node.js");
  }
}, 1000);
