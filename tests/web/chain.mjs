// A private cloudlet-vmm (host agents: no QEMU) and cloudlet-api with a
// bearer token, for the page's and the document's tests. stop() kills both
// and removes their folder.
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

async function until(what, seconds, check) {
  const deadline = Date.now() + seconds * 1000;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

export async function startChain({ apiBinary, vmmBinary, token }) {
  const dir = mkdtempSync(join(tmpdir(), "cloudlet-web-"));
  const children = [];
  const launch = (binary, args) => {
    const child = spawn(binary, args, { stdio: ["ignore", "inherit", "pipe"] });
    let log = "";
    child.stderr.on("data", (chunk) => { log += chunk; process.stderr.write(chunk); });
    children.push(child);
    return { child, log: () => log };
  };
  const stop = () => {
    for (const child of children) child.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    launch(vmmBinary, ["--vm_provider=host_agent", "--listen=127.0.0.1:0",
                       `--port_file=${join(dir, "vmm.port")}`,
                       `--runtime_dir=${join(dir, "runtime")}`,
                       `--build_cache_dir=${join(dir, "builds")}`, "--max_vms=2"]);
    const vmmPort = await until("cloudlet-vmm's port", 30, () =>
      existsSync(join(dir, "vmm.port")) && readFileSync(join(dir, "vmm.port"), "utf8").trim());
    writeFileSync(join(dir, "token"), `${token}\n`);
    const api = launch(apiBinary, ["--listen=127.0.0.1:0", `--vmm_target=127.0.0.1:${vmmPort}`,
                                   `--state_dir=${join(dir, "state")}`,
                                   `--auth_token_file=${join(dir, "token")}`]);
    const address = await until("cloudlet-api's address", 30, () =>
      /listening address=([0-9.:]+)/.exec(api.log())?.[1]);
    const url = `http://${address}`;
    await until("a healthy API", 30, async () => {
      try { return (await fetch(`${url}/healthz`)).ok; } catch { return false; }
    });
    return { url, token, stop };
  } catch (error) {
    stop();
    throw error;
  }
}
