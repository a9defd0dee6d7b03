#ifndef CLOUDLET_TESTS_HARDENING_HARDENING_SUPPORT_H_
#define CLOUDLET_TESTS_HARDENING_HARDENING_SUPPORT_H_

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/process/temp_dir.h"
#include "tests/e2e/chain.h"
#include "vmm.pb.h"

namespace cloudlet::testing {

// A real VMM + API (tests/e2e/chain.h) whose VMM runtime dir and TMPDIR are
// private to the test, so that a test can tell what a run left behind.
class HardenedChain {
 public:
  // Starts the chain with `options` plus a private --runtime_dir; the VMM
  // and the API inherit a private TMPDIR. Not thread-safe (sets TMPDIR of
  // this process for the duration of the start).
  static absl::StatusOr<std::unique_ptr<HardenedChain>> Start(
      Chain::Options options);
  ~HardenedChain();

  Chain& chain() { return *chain_; }
  std::string api_url() const { return chain_->api_url(); }
  pid_t vmm_pid() const { return chain_->vmm_pid(); }
  const std::filesystem::path& runtime_dir() const { return runtime_dir_; }

  // Everything under the VMM's runtime dir and the private TMPDIR (except
  // the chain's own files), as paths relative to them: what runs left.
  std::vector<std::string> Leftovers() const;

 private:
  HardenedChain() = default;

  std::unique_ptr<TempDir> tmp_;
  std::filesystem::path runtime_dir_;
  std::unique_ptr<Chain> chain_;
};

// A RunRequest for `code` in `language`; zero timeout / output limit take
// the server's defaults.
v1::RunRequest MakeRun(v1::Language language, std::string code,
                       absl::Duration timeout = absl::ZeroDuration(),
                       uint64_t output_limit_bytes = 0);

// What the API streamed for one POST /run.
struct StreamedRun {
  long http_status = 0;
  std::string error_body;           // the JSON body of a non-200 answer
  std::vector<v1::RunEvent> events;  // in order
  std::optional<v1::Result> result;  // the final event, when there was one
  std::string out;                   // stdout of the RUNNING stage
  std::string err;                   // stderr of every stage
  absl::Duration wall;
  // One line for failure messages: status, reason, message, and the tail
  // of the output.
  std::string Summary() const;
};

// POSTs `request` as JSON to `api_url`/run and collects the stream;
// `on_event` (optional) sees each event as it arrives, on this thread.
// Errors are transport failures only (any HTTP status is a result).
absl::StatusOr<StreamedRun> RunThroughApi(
    const std::string& api_url, const v1::RunRequest& request,
    absl::Duration client_timeout,
    const std::function<void(const v1::RunEvent&)>& on_event = nullptr);

// A process's open fds, resident memory and threads (from /proc).
struct Footprint {
  int fds = 0;
  int64_t rss_kib = 0;
  int threads = 0;
};
absl::StatusOr<Footprint> FootprintOf(pid_t pid);

}  // namespace cloudlet::testing

#endif  // CLOUDLET_TESTS_HARDENING_HARDENING_SUPPORT_H_
