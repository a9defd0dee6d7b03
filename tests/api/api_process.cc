#include "tests/api/api_process.h"

#include <algorithm>
#include <optional>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/rpc/net.h"
#include "common/sync/poll.h"
#include "tests/api/http_client.h"

namespace cloudlet::testing {

std::string ApiProcess::url() const {
  return absl::StrCat("http://127.0.0.1:", port_);
}

absl::StatusOr<std::unique_ptr<ApiProcess>> ApiProcess::Start(
    const std::string& binary, const std::string& vmm_address,
    const std::vector<std::string>& extra_flags) {
  std::vector<std::string> flags = extra_flags;
  std::optional<TempDir> state;
  if (std::none_of(flags.begin(), flags.end(), [](const std::string& flag) {
        return absl::StartsWith(flag, "--state_dir=");
      })) {
    absl::StatusOr<TempDir> dir = TempDir::Create("cloudlet-api-state-");
    if (!dir.ok()) return dir.status();
    state.emplace(*std::move(dir));
    flags.push_back(absl::StrCat("--state_dir=", state->path().string()));
  }
  absl::Status last_error;
  for (int attempt = 0; attempt < 3; ++attempt) {
    absl::StatusOr<uint16_t> port = PickFreeLoopbackPort();
    if (!port.ok()) return port.status();
    SpawnOptions options;
    options.argv = {binary, absl::StrCat("--listen=127.0.0.1:", *port),
                    absl::StrCat("--vmm_target=", vmm_address)};
    options.argv.insert(options.argv.end(), flags.begin(), flags.end());
    options.stdout_mode = StdioMode::kInherit;
    options.stderr_mode = StdioMode::kInherit;
    absl::StatusOr<ChildProcess> child = ChildProcess::Spawn(options);
    if (!child.ok()) return child.status();
    std::string probe_url = absl::StrCat("http://127.0.0.1:", *port, "/");
    last_error = PollUntil(
        "cloudlet-api to answer", absl::Now() + absl::Seconds(10),
        [&]() -> absl::StatusOr<bool> {
          if (child->HasExited()) {
            return absl::UnavailableError("cloudlet-api exited at start-up");
          }
          return HttpCall("GET", probe_url, "", absl::Seconds(1)).ok();
        });
    if (last_error.ok()) {
      return std::unique_ptr<ApiProcess>(
          new ApiProcess(*std::move(child), *port, std::move(state)));
    }
  }
  return last_error;
}

}  // namespace cloudlet::testing
