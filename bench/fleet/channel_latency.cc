// bench/fleet/channel_latency: what the API's health-checked, round-robin,
// retrying channel adds to a run, against a plain channel to the same VMM.
// One process calls VmmService.Run on a host-agent VMM (no VM: the call's
// own cost shows) alternately over
//   direct     grpc::CreateChannel(target): pick_first, no health checks
//   balanced   api::MakeVmmChannel(target, RunsServiceConfig()): what
//              cloudlet-api runs over
// and prints each channel's median (min..max) from the call's start to the
// Result, and to the Accepted event. Not a test: it asserts nothing.
//
//   cloudlet_bench_channel_latency --target=127.0.0.1:50061 [--calls=40]
#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/time/clock.h"
#include "api/vmm/vmm_channel.h"
#include "api/vmm/vmm_client.h"
#include "vmm.grpc.pb.h"

ABSL_FLAG(std::string, target, "", "the VMM (any gRPC target)");
ABSL_FLAG(int, calls, 40, "calls per channel");

namespace {

struct Timing {
  double accepted_ms = 0;
  double result_ms = 0;
};

// One `echo` run over `stub`; false when it did not end with a Result.
bool TimeOneRun(cloudlet::v1::VmmService::Stub& stub, Timing* timing) {
  cloudlet::v1::RunRequest request;
  cloudlet::v1::Workload& workload = *request.mutable_workload();
  workload.set_name("channel-latency");
  workload.set_language(cloudlet::v1::SHELL);
  workload.set_code("echo hi\n");
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(60)));
  const absl::Time start = absl::Now();
  std::unique_ptr<grpc::ClientReader<cloudlet::v1::RunEvent>> reader =
      stub.Run(&context, request);
  cloudlet::v1::RunEvent event;
  bool result = false;
  while (reader->Read(&event)) {
    const double ms = absl::ToDoubleMilliseconds(absl::Now() - start);
    if (event.has_accepted()) timing->accepted_ms = ms;
    if (event.has_result()) {
      timing->result_ms = ms;
      result = true;
    }
  }
  return reader->Finish().ok() && result;
}

std::string Summary(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  char text[96];
  std::snprintf(text, sizeof(text), "%7.2f (%.2f..%.2f)",
                values[values.size() / 2], values.front(), values.back());
  return text;
}

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  const std::string target = absl::GetFlag(FLAGS_target);
  const int calls = absl::GetFlag(FLAGS_calls);
  if (target.empty() || calls < 1) {
    std::fprintf(stderr, "usage: --target=HOST:PORT [--calls=40]\n");
    return 2;
  }
  auto direct = cloudlet::v1::VmmService::NewStub(
      grpc::CreateChannel(target, grpc::InsecureChannelCredentials()));
  auto balanced = cloudlet::v1::VmmService::NewStub(
      cloudlet::api::MakeVmmChannel(
          target, std::string(cloudlet::api::RunsServiceConfig()), {}));
  std::vector<double> accepted[2], result[2];
  // One warm-up each (connection, first health check), then interleaved.
  for (int i = -1; i < calls; ++i) {
    for (int c = 0; c < 2; ++c) {
      Timing timing;
      if (!TimeOneRun(c == 0 ? *direct : *balanced, &timing)) {
        std::fprintf(stderr, "run %d over the %s channel failed\n", i,
                     c == 0 ? "direct" : "balanced");
        return 1;
      }
      if (i < 0) continue;
      accepted[c].push_back(timing.accepted_ms);
      result[c].push_back(timing.result_ms);
    }
  }
  std::printf("%d one-line runs per channel, interleaved, to %s (ms: median "
              "(min..max))\n",
              calls, target.c_str());
  std::printf("%-10s %-26s %-26s\n", "channel", "to Accepted", "to Result");
  const char* names[] = {"direct", "balanced"};
  for (int c = 0; c < 2; ++c) {
    std::printf("%-10s %-26s %-26s\n", names[c],
                Summary(accepted[c]).c_str(), Summary(result[c]).c_str());
  }
  return 0;
}
