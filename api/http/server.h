#ifndef CLOUDLET_API_HTTP_SERVER_H_
#define CLOUDLET_API_HTTP_SERVER_H_

#include <httplib.h>
#include <prometheus/registry.h>

#include <filesystem>
#include <functional>
#include <memory>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "api/metrics.h"
#include "api/functions/function_registry.h"
#include "api/http/functions_handler.h"
#include "api/http/run_handler.h"
#include "api/vmm/vmm_client.h"

namespace cloudlet::api {

struct ApiServerOptions {
  std::string host = "127.0.0.1";
  int port = 3000;  // 0: any free port (see ApiServer::port())
  // Bodies over this size are refused with 413 before they are decoded.
  size_t max_body_bytes = size_t{16} << 20;
  VmmClientOptions vmm;
  RunHandlerOptions run;
  // How long Stop() lets streams in flight run to their end (during a VMM
  // shutdown they end with a SHUTTING_DOWN result) before closing them.
  absl::Duration drain_timeout = absl::Seconds(30);
  // Worker threads: every streaming run holds one for its whole length.
  size_t threads = 64;
  // How long GET /metrics waits for each VMM's Health answer; past it the
  // scrape reports that VMM's cloudlet_vmm_up as 0.
  absl::Duration metrics_vmm_timeout = absl::Seconds(1);
  // The function registry's SQLite file; when empty, or when it cannot be
  // opened, the function routes answer 503 saying why and /run works on.
  std::filesystem::path registry_file;
  // When set, the registry is this PostgreSQL database instead (a libpq
  // URL), shared by every API replica; registry_file is then unused.
  std::string database_url;
  // When set, every route but /healthz needs "Authorization: Bearer
  // <auth_token>" (401 otherwise; bearer_auth.h).
  std::string auth_token;
};

// The HTTP API:
//   POST /run       workload in (JSON), Server-Sent Events out (run_handler.h)
//   POST /shutdown  asks the VMM to shut down; answers Cloudlet's
//                   {"success": bool, ...}; then `on_shutdown_requested`
//                   runs so that the owner stops this server too
//   GET  /healthz   {"status", "api": {...}, "vmm": {...}, "vmms": [...]}:
//                   each VMM's state; 200 when one answers and is not
//                   shutting down (busy is fine: runs then get 429), else 503
//   GET  /livez     {"status": "ok"} while the API serves; asks no VMM
//   GET  /metrics   Prometheus text format: the API's run metrics and each
//                   VMM's gauges and counters (metrics.h)
//   /functions...   deploy, list, show, delete, invoke (functions_handler.h)
//   GET  /openapi.json  the OpenAPI 3.1 document of all of this (api/web)
//   GET  /, /web/{file} the page (api/web); like the probes, open without
//                       a token
// routes() lists them.
// Anything else is 404, a known path with another method 405; every error
// body is {"code", "message"}.
class ApiServer {
 public:
  // Binds host:port and serves on a thread of its own. Unavailable when the
  // address cannot be bound. `on_shutdown_requested` is called on a worker
  // thread and must not block (e.g. RaiseTermination()).
  static absl::StatusOr<std::unique_ptr<ApiServer>> Start(
      ApiServerOptions options, std::function<void()> on_shutdown_requested);

  ApiServer(const ApiServer&) = delete;
  ApiServer& operator=(const ApiServer&) = delete;
  ~ApiServer();  // Stop()

  int port() const { return port_; }

  // One route the server answers: "GET", "/functions/{name}" (OpenAPI's
  // path syntax). The 405 answers for other methods are not routes.
  struct ApiRoute {
    std::string method;
    std::string path;
  };
  // Every route, as registered: what /openapi.json must document.
  const std::vector<ApiRoute>& routes() const { return routes_; }

  // Stops accepting connections, lets streams in flight end (up to
  // drain_timeout), then stops serving and joins the server thread.
  // Idempotent. Call from any thread other than a handler.
  void Stop();

 private:
  ApiServer(ApiServerOptions options, std::function<void()> on_shutdown);
  void RegisterRoutes();
  // Registers `handler` for `method` (GET, POST or DELETE) on `path`, whose
  // "{param}" segments match one path segment each, and records the route.
  void Route(absl::string_view method, absl::string_view path,
             httplib::Server::Handler handler);
  // 405 naming what the path takes, or 404 listing the routes: for a
  // method no route takes.
  void AnswerUnroutedMethod(const httplib::Request& request,
                            httplib::Response& response) const;
  // Registers `handler` for `method` (GET, POST or DELETE) on cpp-httplib's
  // `pattern`, unrecorded.
  void Handle(absl::string_view method, const std::string& pattern,
              httplib::Server::Handler handler);
  void HandleHealth(httplib::Response& response);
  void HandleMetrics(httplib::Response& response);
  void HandleShutdown(const httplib::Request& request,
                      httplib::Response& response);

  ApiServerOptions options_;
  std::function<void()> on_shutdown_requested_;
  VmmClient vmm_;
  StreamCounter streams_;
  prometheus::Registry registry_;
  ApiMetrics metrics_;
  RunHandler run_handler_;
  std::unique_ptr<FunctionRegistry> function_registry_;
  FunctionsHandler functions_;
  httplib::Server server_;
  std::vector<ApiRoute> routes_;
  std::string routes_text_;  // "the API serves POST /run, ...", for a 404
  struct AllowedMethods {
    std::regex pattern;  // a path of routes_
    std::string allow;   // "GET, DELETE"
  };
  std::vector<AllowedMethods> allowed_;
  std::thread thread_;
  int port_ = 0;
};

}  // namespace cloudlet::api

#endif  // CLOUDLET_API_HTTP_SERVER_H_
