// The Cloudlet page: functions, deploy, invoke with live output, cancel,
// recent runs. Talks to this API only (same origin), with the bearer token
// the user gives when the API asks for one (kept in sessionStorage: no
// cookies). Everything a workload or the API says is shown as text
// (textContent), never as markup.
"use strict";

const $ = (id) => document.getElementById(id);
const kTokenKey = "cloudlet.token";
const kRecentRuns = 20;

// --- the API --------------------------------------------------------------

class Unauthorized extends Error {}

function headers(extra = {}) {
  const token = sessionStorage.getItem(kTokenKey);
  return token ? { ...extra, Authorization: `Bearer ${token}` } : extra;
}

async function call(method, path, body, signal) {
  const response = await fetch(path, {
    method,
    headers: headers(body === undefined ? {} : { "Content-Type": "application/json" }),
    body: body === undefined ? undefined : JSON.stringify(body),
    signal,
  });
  if (response.status === 401) {
    askForToken();
    throw new Unauthorized("a token is needed");
  }
  return response;
}

async function errorOf(response) {
  try {
    const error = await response.json();
    return `${response.status} ${error.code}: ${error.message}`;
  } catch {
    return `HTTP ${response.status}`;
  }
}

// Reads a Server-Sent Events body, calling onEvent(name, data) per frame.
async function readEvents(response, onEvent) {
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += value;
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const frame = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let name = "message";
      const data = [];
      for (const line of frame.split("\n")) {
        if (line.startsWith("event:")) name = line.slice(6).trim();
        else if (line.startsWith("data:")) data.push(line.slice(5).trimStart());
      }
      if (data.length > 0) onEvent(name, JSON.parse(data.join("\n")));
    }
  }
}

function base64OfText(text) {
  const bytes = new TextEncoder().encode(text);
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary);
}

function bytesOfBase64(data) {
  const binary = atob(data);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; ++i) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

// --- formatting -----------------------------------------------------------

const seconds = (duration) => (duration ? parseFloat(duration) : 0);
const ms = (duration) => `${Math.round(seconds(duration) * 1000)} ms`;
function mib(bytes) {
  return bytes ? `${(Number(bytes) / (1 << 20)).toFixed(1)} MiB` : "–";
}
const stateName = (state) => (state ?? "").replace("BUILD_STATE_", "").toLowerCase();
function outcome(result) {
  if (!result) return "–";
  if (result.exit_code !== undefined) return `exit ${result.exit_code}`;
  if (result.signal !== undefined) return `signal ${result.signal}`;
  return (result.reason ?? result.status ?? "").toLowerCase();
}
function vmOf(telemetry) {
  if (!telemetry) return "–";
  return `${telemetry.vm_resumed ? "resumed" : "booted"} ${ms(telemetry.vm_ready)}`;
}
const cacheOf = (telemetry) => (telemetry?.build_cached ? "cached" : "not cached");
const cpuOf = (telemetry) =>
  telemetry ? ms(`${seconds(telemetry.cpu_user) + seconds(telemetry.cpu_system)}s`) : "–";

function row(cells) {
  const tr = document.createElement("tr");
  for (const cell of cells) {
    const td = document.createElement("td");
    td.textContent = cell;
    tr.append(td);
  }
  return tr;
}

// --- the token ------------------------------------------------------------

function askForToken() {
  $("token-form").hidden = false;
  $("token").focus();
}

$("token-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  sessionStorage.setItem(kTokenKey, $("token").value.trim());
  $("token-error").textContent = "";
  const check = await fetch("/functions", { headers: headers() });
  if (check.status === 401) {
    $("token-error").textContent = "the API refused this token";
    sessionStorage.removeItem(kTokenKey);
    return;
  }
  $("token-form").hidden = true;
  $("forget-token").hidden = false;
  refresh();
});

$("forget-token").addEventListener("click", () => {
  sessionStorage.removeItem(kTokenKey);
  $("forget-token").hidden = true;
  askForToken();
});

// --- health and functions ---------------------------------------------------

async function showHealth() {
  try {
    const health = await (await fetch("/healthz")).json();
    const total = (health.vmms ?? []).length;
    $("health").textContent =
      `API ${health.api.version} · ${health.api.vmms_ready} of ${total} VMM(s) ready`;
  } catch {
    $("health").textContent = "the API does not answer";
  }
}

async function refresh() {
  showHealth();
  let list;
  try {
    const response = await call("GET", "/functions");
    if (!response.ok) {
      $("functions-error").textContent = await errorOf(response);
      return;
    }
    list = await response.json();
  } catch (error) {
    if (!(error instanceof Unauthorized)) $("functions-error").textContent = String(error);
    return;
  }
  $("functions-error").textContent = "";
  const functions = list.functions ?? [];
  const body = $("functions").tBodies[0];
  body.replaceChildren(...functions.map((f) => {
    const t = f.last_result?.telemetry;
    return row([f.name, f.latest_version, stateName(f.latest_state), f.invocations ?? "0",
                outcome(f.last_result), vmOf(t), t ? cacheOf(t) : "–", cpuOf(t),
                mib(t?.peak_memory_bytes)]);
  }));
  $("functions-empty").hidden = functions.length > 0;
  const select = $("invoke-name");
  const chosen = select.value;
  select.replaceChildren(...functions.filter((f) => f.ready_version && f.ready_version !== "0")
    .map((f) => {
      const option = document.createElement("option");
      option.value = option.textContent = f.name;
      return option;
    }));
  if (chosen) select.value = chosen;
}

$("refresh").addEventListener("click", refresh);

// --- output -----------------------------------------------------------------

// Appends chunks of one stream as text, decoding UTF-8 across chunks.
class OutputView {
  constructor(pre) {
    this.pre = pre;
    this.decoders = {};
    pre.replaceChildren();
  }
  append(chunk) {
    const key = `${chunk.stage}/${chunk.stream}`;
    this.decoders[key] ??= new TextDecoder("utf-8");
    const text = this.decoders[key].decode(bytesOfBase64(chunk.data ?? ""), { stream: true });
    this.line(text, chunk.stage === "BUILDING" ? "build" : chunk.stream === "STDERR" ? "stderr" : "");
  }
  line(text, kind = "") {
    const span = document.createElement("span");
    if (kind) span.className = kind;
    span.textContent = text;
    this.pre.append(span);
    this.pre.scrollTop = this.pre.scrollHeight;
  }
}

// --- deploy -------------------------------------------------------------------

$("deploy").addEventListener("submit", async (event) => {
  event.preventDefault();
  const view = new OutputView($("deploy-log"));
  const status = $("deploy-status");
  status.className = "";
  status.textContent = "deploying…";
  const packages = $("deploy-packages").value.split(/[\s,]+/).filter(Boolean);
  const workload = { language: $("deploy-language").value,
                     code: base64OfText($("deploy-source").value) };
  if (packages.length > 0) workload.packages = packages;
  try {
    const response = await call("POST", "/functions", { name: $("deploy-name").value, workload });
    if (!response.ok) throw new Error(await errorOf(response));
    await readEvents(response, (name, data) => {
      if (name === "output") view.append(data.output);
      else if (name === "progress") view.line(`${data.progress.artifact}: ${data.progress.message}\n`, "build");
      else if (name === "function") {
        const ready = data.state === "BUILD_STATE_READY";
        status.className = ready ? "ok" : "error";
        status.textContent = `${data.name} version ${data.version}: ${stateName(data.state)}` +
                             (data.message ? ` (${data.message})` : "");
      } else if (name === "error") throw new Error(`${data.code}: ${data.message}`);
    });
  } catch (error) {
    status.className = "error";
    status.textContent = error instanceof Unauthorized ? "a token is needed" : String(error.message ?? error);
  }
  refresh();
});

// --- invoke, cancel, recent runs ---------------------------------------------

let running = null;  // the AbortController of the invocation in flight
const recent = [];

$("invoke").addEventListener("submit", async (event) => {
  event.preventDefault();
  const name = $("invoke-name").value;
  if (!name || running) return;
  const view = new OutputView($("output"));
  const status = $("run-status");
  status.className = "";
  status.textContent = "starting…";
  const args = $("invoke-args").value.split("\n").filter((a) => a.length > 0);
  const body = { args };
  if ($("invoke-stdin").value) body.stdin = base64OfText($("invoke-stdin").value);
  running = new AbortController();
  $("cancel").disabled = false;
  $("invoke-button").disabled = true;
  const started = performance.now();
  let result = null;
  try {
    const response = await call("POST", `/functions/${encodeURIComponent(name)}/invoke`,
                                body, running.signal);
    if (!response.ok) throw new Error(await errorOf(response));
    await readEvents(response, (event, data) => {
      if (event === "stage") status.textContent = `${data.stage.stage.toLowerCase()}…`;
      else if (event === "output") view.append(data.output);
      else if (event === "result") result = data.result;
      else if (event === "error") throw new Error(`${data.code}: ${data.message}`);
    });
    if (!result) throw new Error("the stream ended without a result");
    const latency = performance.now() - started;
    const t = result.telemetry;
    status.className = result.status === "DONE" && result.exit_code === 0 ? "ok" : "error";
    status.textContent = `${outcome(result)} · ${result.reason?.toLowerCase() ?? ""}` +
      (result.message ? ` · ${result.message}` : "") +
      ` · ${vmOf(t)} · build ${cacheOf(t)} · CPU ${cpuOf(t)} · peak ${mib(t?.peak_memory_bytes)}` +
      ` · ${Math.round(latency)} ms`;
    remember({ name, result, latency });
  } catch (error) {
    status.className = "error";
    if (error.name === "AbortError") {
      status.textContent = "cancelled: the API stops the run and kills its VM";
      remember({ name, result: { reason: "CANCELLED" }, latency: performance.now() - started });
    } else {
      status.textContent = error instanceof Unauthorized ? "a token is needed" : String(error.message ?? error);
    }
  } finally {
    running = null;
    $("cancel").disabled = true;
    $("invoke-button").disabled = false;
    refresh();
  }
});

$("cancel").addEventListener("click", () => running?.abort());

function remember(run) {
  recent.unshift({ ...run, when: new Date() });
  recent.length = Math.min(recent.length, kRecentRuns);
  $("runs").tBodies[0].replaceChildren(...recent.map((r) => {
    const t = r.result.telemetry;
    return row([r.when.toLocaleTimeString(), r.name, outcome(r.result), vmOf(t),
                t ? cacheOf(t) : "–", cpuOf(t), mib(t?.peak_memory_bytes),
                `${Math.round(r.latency)} ms`]);
  }));
  drawLatency();
}

// A line of the recent invocations' latencies, oldest first.
function drawLatency() {
  const svg = $("latency-chart");
  const ns = "http://www.w3.org/2000/svg";
  const values = recent.map((r) => r.latency).reverse();
  const width = 480, height = 120, pad = 24;
  const top = Math.max(...values, 1);
  const x = (i) => pad + (values.length < 2 ? 0 : (i * (width - 2 * pad)) / (values.length - 1));
  const y = (v) => height - pad - (v / top) * (height - 2 * pad);
  const line = document.createElementNS(ns, "polyline");
  line.setAttribute("points", values.map((v, i) => `${x(i)},${y(v)}`).join(" "));
  const dots = values.map((v, i) => {
    const dot = document.createElementNS(ns, "circle");
    dot.setAttribute("cx", x(i));
    dot.setAttribute("cy", y(v));
    dot.setAttribute("r", 3);
    return dot;
  });
  const label = document.createElementNS(ns, "text");
  label.setAttribute("x", 4);
  label.setAttribute("y", 12);
  label.textContent = `invoke latency, max ${Math.round(top)} ms`;
  svg.replaceChildren(line, ...dots, label);
}

refresh();
setInterval(showHealth, 10000);
