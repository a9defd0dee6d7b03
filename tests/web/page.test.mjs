// The page in Debian's headless Chromium, driven by playwright-core, over a
// private VMM (host agents) and API with a token: it asks for the token,
// deploys a function through its form, shows an invocation's first line
// before the run ends, cancels a long run (whose VM the VMM then ends),
// and shows a workload's "<script>" as text. A screenshot of each step goes
// to --artifacts.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { chromium } from "playwright-core";
import { startChain } from "./chain.mjs";
import { options } from "./options.mjs";

let chain, browser, page;
const artifacts = options().artifacts ?? "web-screenshots";
const shot = (name) => page.screenshot({ path: join(artifacts, `${name}.png`), fullPage: true });

before(async () => {
  mkdirSync(artifacts, { recursive: true });
  chain = await startChain({ ...options(), token: "page-test-token-0123456789" });
  // The flags this closed network needs (no background connections) and
  // root needs (no sandbox).
  browser = await chromium.launch({
    executablePath: "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.on("pageerror", (error) => { throw error; });
});

after(async () => {
  await browser?.close();
  chain?.stop();
});

async function vmmRuns() {
  const health = await (await fetch(`${chain.url}/healthz`)).json();
  return { running: health.vmms[0].running_runs, vms: health.vmms[0].vms_running };
}

async function deploy(name, source) {
  await page.fill("#deploy-name", name);
  await page.selectOption("#deploy-language", "SHELL");
  await page.fill("#deploy-source", source);
  await page.click("#deploy button[type=submit]");
  await page.waitForFunction((n) => document.querySelector("#deploy-status").textContent
                                      .startsWith(`${n} version`), name);
  assert.match(await page.textContent("#deploy-status"), /ready/);
  await page.waitForFunction((n) => [...document.querySelectorAll("#invoke-name option")]
                                      .some((o) => o.value === n), name);
}

async function invoke(name, { args = "", stdin = "" } = {}) {
  await page.selectOption("#invoke-name", name);
  await page.fill("#invoke-args", args);
  await page.fill("#invoke-stdin", stdin);
  await page.click("#invoke-button");
}

test("the page asks for the token and then lists the functions", async () => {
  const response = await page.goto(chain.url);
  assert.match(response.headers()["content-security-policy"], /script-src 'self'/);
  await page.waitForSelector("#token-form", { state: "visible" });
  await shot("1-token");
  await page.fill("#token", "not-the-token-at-all");
  await page.click("#token-form button");
  await page.waitForFunction(() => document.querySelector("#token-error").textContent !== "");
  await page.fill("#token", chain.token);
  await page.click("#token-form button");
  await page.waitForSelector("#token-form", { state: "hidden" });
  await page.waitForSelector("#functions-empty", { state: "visible" });
  assert.equal(await page.evaluate(() => document.cookie), "");
});

test("a function deployed through the page streams its output while it runs", async () => {
  await deploy("stream", 'echo "hello $1"; cat; echo first; sleep 3; echo second\n');
  await shot("2-deployed");
  await invoke("stream", { args: "page", stdin: "from stdin\n" });
  await page.waitForFunction(() => document.querySelector("#output").textContent.includes("first"));
  // The first lines are there while the run goes on: no result yet.
  assert.equal(await page.isEnabled("#cancel"), true);
  assert.doesNotMatch(await page.textContent("#output"), /second/);
  assert.equal(await page.textContent("#output"), "hello page\nfrom stdin\nfirst\n");
  await shot("3-streaming");
  await page.waitForFunction(() => document.querySelector("#run-status").textContent.startsWith("exit 0"));
  assert.equal(await page.textContent("#output"), "hello page\nfrom stdin\nfirst\nsecond\n");
  const status = await page.textContent("#run-status");
  assert.match(status, /exited/);
  assert.match(status, /CPU \d+ ms/);
  assert.match(status, /peak \d+\.\d MiB/);
  await page.waitForFunction(() => document.querySelectorAll("#runs tbody tr").length === 1);
  assert.equal(await page.locator("#latency-chart circle").count(), 1);
  await page.waitForFunction(() => [...document.querySelectorAll("#functions tbody td")]
                                     .some((td) => td.textContent === "exit 0"));
  await shot("4-done");
});

test("cancel ends a long run and the VMM ends its VM", async () => {
  await deploy("long", "echo started; sleep 120\n");
  await invoke("long");
  await page.waitForFunction(() => document.querySelector("#output").textContent.includes("started"));
  assert.equal((await vmmRuns()).running, 1);
  await page.click("#cancel");
  await page.waitForFunction(() => document.querySelector("#run-status").textContent.startsWith("cancelled"));
  const deadline = Date.now() + 5000;
  let runs = await vmmRuns();
  while ((runs.running > 0 || runs.vms > 0) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    runs = await vmmRuns();
  }
  assert.deepEqual(runs, { running: 0, vms: 0 }, "the cancelled run's VM is gone");
  await shot("5-cancelled");
});

test("a workload printing markup shows the characters, and nothing runs", async () => {
  const markup = '<script>window.pwned = 1</script><img src=x onerror="window.pwned = 2"><b>bold</b>';
  await deploy("markup", `printf '%s\\n' '${markup}'\n`);
  await invoke("markup");
  await page.waitForFunction(() => document.querySelector("#run-status").textContent.startsWith("exit 0"));
  assert.equal(await page.textContent("#output"), `${markup}\n`);
  assert.equal(await page.locator("#output script, #output img, #output b").count(), 0);
  assert.equal(await page.evaluate(() => window.pwned), undefined);
  await shot("6-markup-as-text");
});
