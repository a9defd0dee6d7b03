// bench/boot: what a microVM costs, side by side from one run.
//   poweroff   QEMU start until QEMU exits, the guest's /init rebooting at
//              once (cloudlet.mode=poweroff): the kernel + initramfs floor
//   ready      QEMU start until the agent answers Health (with the
//              language's image attached, as a run boots)
//   ready RSS  VmRSS of QEMU once the agent answered (bench/rss has the
//              RSS of a VM that has idled for a while)
//   agent RTT  one Health round trip host -> agent -> host over the
//              forwarded port, median of --rtt_calls calls on an idle VM
// Medians (and min..max) of --runs runs, for each --tb_sizes value of TCG's
// translation cache (0: QEMU's own default; cloudlet-vmm passes 128).
// Not a test: it asserts nothing.
//
//   cloudlet_bench_boot [--runs=5] [--tb_sizes=0,32,128] [--language=shell]
//                       [--measure=poweroff,ready] [--raw]
// --raw prints one line per run instead of the table, for scripts:
//   tb=0 run=1 poweroff_s=1.312 ready_s=2.204 rss_mib=88.1 rtt_ms=3.2


#include <algorithm>
#include <cstdio>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "agent.grpc.pb.h"
#include "common/logging.h"
#include "common/sync/poll.h"
#include "common/workload_names.h"
#include "vmm/vm/agent_client.h"
#include "vmm/vm/agent_ready.h"
#include "vmm/artifacts/artifact_cache.h"
#include "vmm/qemu/qemu_process.h"

ABSL_FLAG(int, runs, 5, "runs per configuration (the median is shown)");
ABSL_FLAG(std::string, tb_sizes, "0,32,128",
          "TCG translation cache sizes in MiB to compare (0: QEMU's own "
          "default)");
ABSL_FLAG(std::string, measure, "poweroff,ready",
          "which boots to time: poweroff (bare floor), ready (agent answers; "
          "also gives idle RSS and agent RTT)");
ABSL_FLAG(bool, raw, false, "one line per run instead of the table");
ABSL_FLAG(int, rtt_calls, 20, "Health calls per idle VM for the agent RTT");
ABSL_FLAG(std::string, language, "shell",
          "whose image is attached for the agent-ready figure");
ABSL_FLAG(uint32_t, memory_mib, 256, "guest memory");
ABSL_FLAG(std::string, cache_dir, "", "artifact cache (default: the usual)");
ABSL_FLAG(std::string, source_dir, CLOUDLET_DEFAULT_SOURCE_DIR,
          "checkout with kernel/ and initramfs/");
ABSL_FLAG(std::string, init_binary, CLOUDLET_DEFAULT_INIT_BINARY,
          "the static cloudlet-init");
ABSL_FLAG(std::string, agent_binary, CLOUDLET_DEFAULT_AGENT_BINARY,
          "the static cloudlet-agent");

namespace {

namespace vmm = cloudlet::vmm;

constexpr absl::Duration kBootLimit = absl::Seconds(120);

struct Sample {
  std::optional<double> poweroff_s;
  std::optional<double> ready_s;
  std::optional<double> rss_mib;
  std::optional<double> rtt_ms;
};

double Median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  size_t n = values.size();
  return n % 2 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

// "1.31 (1.28..1.40)", or "-" when nothing was measured.
std::string Summary(const std::vector<double>& values, const char* format) {
  if (values.empty()) return "-";
  auto [min, max] = std::minmax_element(values.begin(), values.end());
  char buffer[96];
  std::string f = std::string(format) + " (" + format + ".." + format + ")";
  std::snprintf(buffer, sizeof(buffer), f.c_str(), Median(values), *min, *max);
  return buffer;
}

absl::StatusOr<double> VmRssMib(int pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("VmRSS:", 0) == 0) {
      std::vector<std::string> fields =
          absl::StrSplit(line, ' ', absl::SkipEmpty());
      double kib = 0;
      if (fields.size() >= 2 && absl::SimpleAtod(fields[1], &kib)) {
        return kib / 1024;
      }
    }
  }
  return absl::InternalError(
      absl::StrCat("no VmRSS in /proc/", pid, "/status (QEMU gone?)"));
}

// Median round trip of `calls` Health calls to the agent at `target`, on
// one connection that is warmed up by a first, uncounted call.
absl::StatusOr<double> AgentRttMs(const std::string& target, int calls) {
  auto stub = cloudlet::v1::WorkloadRunner::NewStub(
      grpc::CreateChannel(target, grpc::InsecureChannelCredentials()));
  std::vector<double> rtts;
  for (int i = 0; i <= calls; ++i) {
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
    cloudlet::v1::AgentHealthRequest request;
    cloudlet::v1::AgentHealthResponse response;
    absl::Time start = absl::Now();
    grpc::Status status = stub->Health(&context, request, &response);
    if (!status.ok()) {
      return absl::UnavailableError(
          absl::StrCat("Health on ", target, ": ", status.error_message()));
    }
    if (i > 0) rtts.push_back(absl::ToDoubleMilliseconds(absl::Now() - start));
  }
  return Median(rtts);
}

absl::Status TimePoweroff(const vmm::VmSpec& spec, Sample& sample) {
  vmm::VmSpec bare = spec;
  bare.image.clear();
  bare.extra_cmdline = "cloudlet.mode=poweroff";
  absl::Time start = absl::Now();
  auto vm = vmm::QemuProcess::Start(bare, "");
  if (!vm.ok()) return vm.status();
  // 1 ms polls: the figure is in tenths of a second.
  if (!cloudlet::PollUntil(
           "poweroff", start + kBootLimit,
           [&]() -> absl::StatusOr<bool> { return (*vm)->Exited(); },
           absl::Milliseconds(1), absl::Milliseconds(1))
           .ok()) {
    return absl::DeadlineExceededError(
        absl::StrCat("the poweroff boot did not end in ",
                     absl::FormatDuration(kBootLimit), "\n",
                     (*vm)->ConsoleTail(20)));
  }
  sample.poweroff_s = absl::ToDoubleSeconds(absl::Now() - start);
  return absl::OkStatus();
}

absl::Status TimeReady(const vmm::VmSpec& spec, Sample& sample) {
  absl::Time start = absl::Now();
  auto vm = vmm::QemuProcess::Start(spec, "");
  if (!vm.ok()) return vm.status();
  vmm::AgentClient agent((*vm)->agent_target());
  absl::Status ready = vmm::WaitForGuestAgent(
      **vm, agent, start + kBootLimit,
      cloudlet::CancelToken::FromProbe([&] { return (*vm)->Exited(); }));
  if (!ready.ok()) {
    return absl::Status(ready.code(), absl::StrCat(ready.message(), "\n",
                                                   (*vm)->ConsoleTail(20)));
  }
  sample.ready_s = absl::ToDoubleSeconds(absl::Now() - start);
  absl::StatusOr<double> rss = VmRssMib((*vm)->pid());
  if (!rss.ok()) return rss.status();
  sample.rss_mib = *rss;
  absl::StatusOr<double> rtt =
      AgentRttMs((*vm)->agent_target(), absl::GetFlag(FLAGS_rtt_calls));
  if (!rtt.ok()) return rtt.status();
  sample.rtt_ms = *rtt;
  return absl::OkStatus();
}

struct Measures {
  bool poweroff = false;
  bool ready = false;
};

absl::StatusOr<Measures> ParseMeasures(const std::string& flag) {
  Measures measures;
  for (absl::string_view word : absl::StrSplit(flag, ',', absl::SkipEmpty())) {
    if (word == "poweroff") {
      measures.poweroff = true;
    } else if (word == "ready") {
      measures.ready = true;
    } else {
      return absl::InvalidArgumentError(absl::StrCat(
          "--measure: unknown \"", word, "\"; expected poweroff and/or ready"));
    }
  }
  if (!measures.poweroff && !measures.ready) {
    return absl::InvalidArgumentError("--measure: name poweroff and/or ready");
  }
  return measures;
}

absl::StatusOr<std::vector<uint32_t>> ParseTbSizes(const std::string& flag) {
  std::vector<uint32_t> sizes;
  for (absl::string_view word : absl::StrSplit(flag, ',', absl::SkipEmpty())) {
    uint32_t size = 0;
    if (!absl::SimpleAtoi(word, &size)) {
      return absl::InvalidArgumentError(
          absl::StrCat("--tb_sizes: not a number: ", word));
    }
    sizes.push_back(size);
  }
  if (sizes.empty()) return absl::InvalidArgumentError("--tb_sizes: empty");
  return sizes;
}

int Fail(int code, const absl::Status& status) {
  std::fprintf(stderr, "cloudlet_bench_boot: %s\n",
               std::string(status.message()).c_str());
  return code;
}

void PrintRaw(uint32_t tb_size, int run, const Sample& s) {
  std::string line = absl::StrCat("tb=", tb_size, " run=", run);
  auto field = [&line](const char* name, const std::optional<double>& value,
                       const char* format) {
    if (!value) return;
    char buffer[32];
    std::snprintf(buffer, sizeof(buffer), format, *value);
    absl::StrAppend(&line, " ", name, "=", buffer);
  };
  field("poweroff_s", s.poweroff_s, "%.3f");
  field("ready_s", s.ready_s, "%.3f");
  field("rss_mib", s.rss_mib, "%.1f");
  field("rtt_ms", s.rtt_ms, "%.2f");
  std::printf("%s\n", line.c_str());
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  (void)cloudlet::InitLogging("cloudlet-bench-boot", "warn");
  auto language = cloudlet::ParseLanguage(absl::GetFlag(FLAGS_language));
  if (!language.ok()) return Fail(2, language.status());
  absl::StatusOr<Measures> measures =
      ParseMeasures(absl::GetFlag(FLAGS_measure));
  if (!measures.ok()) return Fail(2, measures.status());
  absl::StatusOr<std::vector<uint32_t>> tb_sizes =
      ParseTbSizes(absl::GetFlag(FLAGS_tb_sizes));
  if (!tb_sizes.ok()) return Fail(2, tb_sizes.status());

  vmm::ArtifactCacheOptions options;
  options.cache_dir = absl::GetFlag(FLAGS_cache_dir);
  options.source_dir = absl::GetFlag(FLAGS_source_dir);
  options.init_binary = absl::GetFlag(FLAGS_init_binary);
  options.agent_binary = absl::GetFlag(FLAGS_agent_binary);
  auto cache = vmm::ArtifactCache::Open(options);
  if (!cache.ok()) return Fail(1, cache.status());
  auto artifacts = (*cache)->Ensure(
      *language,
      [](const cloudlet::v1::Progress& p) {
        if (!p.cached()) {
          std::fprintf(stderr, "[%s] %s\n", p.artifact().c_str(),
                       p.message().c_str());
        }
      },
      {});
  if (!artifacts.ok()) return Fail(1, artifacts.status());

  const bool raw = absl::GetFlag(FLAGS_raw);
  const int runs = std::max(1, absl::GetFlag(FLAGS_runs));
  if (!raw) {
    std::printf(
        "accel=%s memory=%u MiB image=%s runs=%d; median (min..max)\n",
        vmm::AccelName(vmm::DetectAccel()), absl::GetFlag(FLAGS_memory_mib),
        absl::GetFlag(FLAGS_language).c_str(), runs);
    std::printf("%-9s %-20s %-20s %-16s %s\n", "tb-size", "poweroff s",
                "ready s", "ready RSS MiB", "agent RTT ms");
  }
  for (uint32_t tb_size : *tb_sizes) {
    vmm::VmSpec spec;
    spec.kernel = artifacts->kernel;
    spec.initramfs = artifacts->initramfs;
    spec.image = artifacts->image;
    spec.accel = vmm::DetectAccel();
    spec.memory_mib = absl::GetFlag(FLAGS_memory_mib);
    spec.tcg_tb_size_mib = tb_size;
    spec.log_level = "warn";

    std::vector<double> poweroff, ready, rss, rtt;
    for (int i = 1; i <= runs; ++i) {
      Sample sample;
      absl::Status status = absl::OkStatus();
      if (measures->poweroff) status = TimePoweroff(spec, sample);
      if (status.ok() && measures->ready) status = TimeReady(spec, sample);
      if (!status.ok()) {
        return Fail(1, absl::Status(status.code(),
                                    absl::StrCat("run ", i, " (tb-size ",
                                                 tb_size, ") failed: ",
                                                 status.message())));
      }
      if (raw) PrintRaw(tb_size, i, sample);
      if (sample.poweroff_s) poweroff.push_back(*sample.poweroff_s);
      if (sample.ready_s) ready.push_back(*sample.ready_s);
      if (sample.rss_mib) rss.push_back(*sample.rss_mib);
      if (sample.rtt_ms) rtt.push_back(*sample.rtt_ms);
    }
    if (!raw) {
      std::string name = tb_size == 0 ? "0 (qemu)" : std::to_string(tb_size);
      std::printf("%-9s %-20s %-20s %-16s %s\n", name.c_str(),
                  Summary(poweroff, "%.2f").c_str(),
                  Summary(ready, "%.2f").c_str(), Summary(rss, "%.0f").c_str(),
                  Summary(rtt, "%.1f").c_str());
      std::fflush(stdout);
    }
  }
  return 0;
}
