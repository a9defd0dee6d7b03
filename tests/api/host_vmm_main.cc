// cloudlet-host-vmm: HostVmm (host_vmm.h) as a process, for the CLI's tests
// of auto-start and shutdown. Never a substitute for cloudlet-vmm.
#include <iostream>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/numbers.h"
#include "common/termination_signal.h"
#include "tests/api/host_vmm.h"

ABSL_FLAG(std::string, listen, "127.0.0.1:50051", "127.0.0.1:PORT");
ABSL_FLAG(int, max_vms, 8, "runs at once");

int main(int argc, char** argv) {
  cloudlet::BlockTerminationSignals();
  absl::ParseCommandLine(argc, argv);
  std::string listen = absl::GetFlag(FLAGS_listen);
  int port = 0;
  if (!absl::SimpleAtoi(listen.substr(listen.rfind(':') + 1), &port)) {
    std::cerr << "cloudlet-host-vmm: bad --listen\n";
    return 2;
  }
  cloudlet::testing::HostVmm::Options options;
  options.max_runs = absl::GetFlag(FLAGS_max_vms);
  options.on_shutdown = [] { cloudlet::RaiseTermination(); };
  auto server = cloudlet::testing::HostVmmServer::Start(port, options);
  if (!server.ok()) {
    std::cerr << "cloudlet-host-vmm: " << server.status().message() << "\n";
    return 1;
  }
  std::cerr << "cloudlet-host-vmm: listening on " << (*server)->address()
            << "\n";
  cloudlet::WaitForTerminationSignal();
  (*server)->Stop();
  return 0;
}
