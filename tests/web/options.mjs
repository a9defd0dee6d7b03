// What the run script passes: --api-binary, --vmm-binary, --artifacts.
export function options() {
  const value = (name) => process.env[`CLOUDLET_WEB_${name}`];
  const found = { apiBinary: value("API_BINARY"), vmmBinary: value("VMM_BINARY"),
                  artifacts: value("ARTIFACTS") };
  if (!found.apiBinary || !found.vmmBinary) {
    throw new Error("run through tests/web/run (CLOUDLET_WEB_API_BINARY, CLOUDLET_WEB_VMM_BINARY)");
  }
  return found;
}
