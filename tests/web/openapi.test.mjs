// The OpenAPI document against the running API: it is what the API serves,
// and real answers of every kind validate against its schemas (ajv, JSON
// Schema 2020-12 as OpenAPI 3.1 uses). The lint is redocly's (run script).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import Ajv2020 from "ajv/dist/2020.js";
import addFormats from "ajv-formats";
import { startChain } from "./chain.mjs";
import { options } from "./options.mjs";

const document = JSON.parse(readFileSync(new URL("../../api/web/openapi.json", import.meta.url)));
let chain;
const auth = () => ({ Authorization: `Bearer ${chain.token}` });

// The components as one JSON Schema, each reachable as cloudlet#/$defs/NAME.
const ajv = new Ajv2020({ allErrors: true, strict: true });
addFormats(ajv);
ajv.addSchema(JSON.parse(JSON.stringify({ $id: "cloudlet", $defs: document.components.schemas })
  .replaceAll("#/components/schemas/", "cloudlet#/$defs/")));

function schemaOf(path, method, status, type) {
  const content = document.paths[path][method].responses[String(status)]?.content?.[type];
  assert.ok(content, `the document has no ${type} answer ${status} for ${method} ${path}`);
  return JSON.parse(JSON.stringify(content.schema).replaceAll("#/components/schemas/", "cloudlet#/$defs/"));
}

function check(path, method, response, value, type = "application/json") {
  const schema = type === "text/event-stream"
    ? schemaOf(path, method, response.status, type).contentSchema
    : schemaOf(path, method, response.status, type);
  const validate = ajv.compile(schema);
  assert.ok(validate(value),
            `${method} ${path} ${response.status}: ${JSON.stringify(value)}\n` +
            JSON.stringify(validate.errors, null, 1));
}

async function frames(response) {
  const text = await response.text();
  return text.split("\n\n").filter((f) => f.includes("data:")).map((frame) => ({
    event: /^event: (.*)$/m.exec(frame)?.[1],
    data: JSON.parse(frame.split("\n").filter((l) => l.startsWith("data:"))
                          .map((l) => l.slice(5)).join("\n")),
  }));
}

const code = (text) => Buffer.from(text).toString("base64");
const post = (path, body, headers = {}) => fetch(`${chain.url}${path}`, {
  method: "POST", headers: { ...auth(), "Content-Type": "application/json", ...headers },
  body: JSON.stringify(body) });

before(async () => { chain = await startChain({ ...options(), token: "openapi-test-token-0123456789" }); });
after(() => chain?.stop());

test("the API serves the document in the repository", async () => {
  const response = await fetch(`${chain.url}/openapi.json`, { headers: auth() });
  assert.equal(response.status, 200);
  assert.deepEqual(await response.json(), document);
});

test("probes, lists and errors validate against their schemas", async () => {
  for (const path of ["/healthz", "/livez"]) {
    const response = await fetch(`${chain.url}${path}`);
    check(path, "get", response, await response.json());
  }
  const list = await fetch(`${chain.url}/functions`, { headers: auth() });
  check("/functions", "get", list, await list.json());
  const unauthorized = await fetch(`${chain.url}/functions`);
  check("/functions", "get", unauthorized, await unauthorized.json());
  const missing = await fetch(`${chain.url}/functions/none-such`, { headers: auth() });
  check("/functions/{name}", "get", missing, await missing.json());
  const bad = await post("/run", { workload: { language: "SHELL", code: code("true") }, nope: 1 });
  check("/run", "post", bad, await bad.json());
});

test("a run's, a deploy's and an invocation's answers validate", async () => {
  const run = await post("/run", { workload: { language: "SHELL", code: code("echo out; echo err >&2; exit 3") } });
  const runFrames = await frames(run);
  assert.equal(runFrames.at(-1).event, "result");
  for (const frame of runFrames) check("/run", "post", run, frame.data, "text/event-stream");

  const deploy = await post("/functions", { name: "doc-check", workload: { language: "SHELL", code: code("echo \"$1\"; cat") } });
  const deployFrames = await frames(deploy);
  assert.equal(deployFrames.at(-1).event, "function");
  for (const frame of deployFrames) check("/functions", "post", deploy, frame.data, "text/event-stream");

  const show = await fetch(`${chain.url}/functions/doc-check`, { headers: auth() });
  check("/functions/{name}", "get", show, await show.json());

  const invoked = await post("/functions/doc-check/invoke", { args: ["a"], stdin: code("in") },
                             { Accept: "application/json" });
  const answer = await invoked.json();
  check("/functions/{name}/invoke", "post", invoked, answer);
  assert.equal(answer.stdout, "a\nin");

  const streamed = await post("/functions/doc-check/invoke", {});
  for (const frame of await frames(streamed)) {
    check("/functions/{name}/invoke", "post", streamed, frame.data, "text/event-stream");
  }
  const listed = await fetch(`${chain.url}/functions`, { headers: auth() });
  check("/functions", "get", listed, await listed.json());
});
