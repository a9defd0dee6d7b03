#include "api/http/server.h"

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>
#include <sys/socket.h>

#include <map>
#include <regex>
#include <utility>

#include "absl/algorithm/container.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "api/functions/postgres_registry.h"
#include "api/functions/sqlite_registry.h"
#include "api/http/bearer_auth.h"
#include "api/http/http_errors.h"
#include "api/http/json_body.h"
#include "api/web/web_assets.h"
#include "spdlog/spdlog.h"

namespace cloudlet::api {
namespace {

using google::protobuf::Struct;
using google::protobuf::Value;

// A message as a JSON value (to nest it in a Struct).
Value ToValue(const google::protobuf::Message& message) {
  Value value;
  if (!google::protobuf::util::JsonStringToMessage(MessageJson(message), &value)
           .ok()) {
    value.mutable_struct_value();
  }
  return value;
}

// The registry in the PostgreSQL database at `url`, or in `file`, or one
// that says why there is none.
std::unique_ptr<FunctionRegistry> OpenRegistry(
    const std::string& url, const std::filesystem::path& file) {
  if (!url.empty()) {
    absl::StatusOr<std::unique_ptr<FunctionRegistry>> registry =
        OpenPostgresRegistry(url);
    if (!registry.ok()) {
      spdlog::error("event=registry_unavailable store=postgresql error=\"{}\"",
                    std::string(registry.status().message()));
      return UnavailableRegistry(registry.status());
    }
    spdlog::info("event=registry_open store=postgresql");
    return *std::move(registry);
  }
  if (file.empty()) {
    return UnavailableRegistry(absl::UnavailableError(
        "this API keeps no functions (cloudlet-api --state_dir is empty)"));
  }
  absl::StatusOr<std::unique_ptr<FunctionRegistry>> registry =
      OpenSqliteRegistry(file);
  if (!registry.ok()) {
    spdlog::error("event=registry_unavailable file={} error=\"{}\"",
                  file.string(), std::string(registry.status().message()));
    return UnavailableRegistry(registry.status());
  }
  spdlog::info("event=registry_open file={}", file.string());
  return *std::move(registry);
}

// What needs no token: the probes (load balancers carry none) and the
// page's own files (it must load to ask for the token; they hold no data).
bool IsOpenPath(absl::string_view path) {
  return path == "/healthz" || path == "/livez" || path == "/" ||
         absl::StartsWith(path, "/web/");
}

// The page's files and the OpenAPI document. The page runs only its own
// script and talks only to this API: a workload's output shown in it can
// never run as script, even if it were ever put in as markup.
void ServeAsset(const WebAsset& asset, httplib::Response& response) {
  response.set_header("X-Content-Type-Options", "nosniff");
  if (asset.name == "index.html") {
    response.set_header(
        "Content-Security-Policy",
        "default-src 'none'; script-src 'self'; style-src 'self'; "
        "connect-src 'self'; img-src 'self'; base-uri 'none'; "
        "form-action 'none'; frame-ancestors 'none'");
    response.set_header("Referrer-Policy", "no-referrer");
  }
  response.set_content(std::string(asset.content),
                       std::string(WebAssetContentType(asset)));
}

// 405 for `request`, whose path takes the methods `allow` lists.
void SetNotAllowed(const httplib::Request& request, const std::string& allow,
                   httplib::Response& response) {
  response.set_header("Allow", allow);
  response.status = 405;
  response.set_content(
      ErrorJson("METHOD_NOT_ALLOWED",
                absl::StrCat(request.method, " ", request.path,
                             ": method not allowed; use ", allow)) +
          "\n",
      "application/json");
}

// An OpenAPI path ("/functions/{name}") as cpp-httplib's pattern: each
// "{param}" matches one segment, captured in request.matches.
std::string PatternOf(absl::string_view path) {
  std::string pattern;
  for (absl::string_view part : absl::StrSplit(path, '/', absl::SkipEmpty())) {
    absl::StrAppend(&pattern, "/",
                    absl::StartsWith(part, "{") ? "([^/]+)" : part);
  }
  return pattern.empty() ? "/" : pattern;
}

}  // namespace

ApiServer::ApiServer(ApiServerOptions options,
                     std::function<void()> on_shutdown)
    : options_(std::move(options)),
      on_shutdown_requested_(std::move(on_shutdown)),
      vmm_(options_.vmm),
      metrics_(registry_),
      run_handler_(&vmm_, &streams_, &metrics_, options_.run),
      function_registry_(
          OpenRegistry(options_.database_url, options_.registry_file)),
      functions_(function_registry_.get(), &run_handler_, &vmm_, &metrics_) {}

absl::StatusOr<std::unique_ptr<ApiServer>> ApiServer::Start(
    ApiServerOptions options, std::function<void()> on_shutdown_requested) {
  std::unique_ptr<ApiServer> server(
      new ApiServer(std::move(options), std::move(on_shutdown_requested)));
  server->RegisterRoutes();
  const ApiServerOptions& o = server->options_;
  if (o.port == 0) {
    server->port_ = server->server_.bind_to_any_port(o.host);
  } else if (server->server_.bind_to_port(o.host, o.port)) {
    server->port_ = o.port;
  } else {
    server->port_ = -1;
  }
  if (server->port_ <= 0) {
    return absl::UnavailableError(absl::StrCat(
        "cannot listen on ", o.host, ":", o.port,
        " (in use, or not an address of this machine)"));
  }
  server->thread_ = std::thread([s = server.get()] {
    s->server_.listen_after_bind();
  });
  spdlog::info("event=listening address={}:{} vmm={}", o.host, server->port_,
               o.vmm.target);
  return server;
}

ApiServer::~ApiServer() { Stop(); }

void ApiServer::Stop() {
  if (!thread_.joinable()) return;
  int active = streams_.active();
  if (active > 0) {
    spdlog::info("event=stopping drain_timeout={} streams={}",
                 absl::FormatDuration(options_.drain_timeout), active);
    if (!streams_.WaitUntilIdle(absl::Now() + options_.drain_timeout)) {
      spdlog::warn("event=streams_cut streams={}", streams_.active());
    }
  }
  server_.stop();
  thread_.join();
  spdlog::info("event=stopped");
}

void ApiServer::RegisterRoutes() {
  size_t threads = options_.threads;
  server_.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  server_.set_payload_max_length(options_.max_body_bytes);
  // Short keep-alive so that Stop() is not held up by idle connections.
  server_.set_keep_alive_timeout(1);
  server_.set_tcp_nodelay(true);

  // cpp-httplib 0.11 reads the body of a POST without Content-Length until
  // the connection closes (a 5 s stall, then 400). `curl -X POST .../shutdown`
  // sends exactly that, so such requests are answered here, before the body
  // is read: /shutdown as if the body were empty, anything else 400.
  server_.set_pre_routing_handler([this](const httplib::Request& request,
                                         httplib::Response& response) {
    if (!options_.auth_token.empty() && !IsOpenPath(request.path)) {
      absl::Status allowed = CheckBearer(
          request.get_header_value("Authorization"), options_.auth_token);
      if (!allowed.ok()) {
        spdlog::info("event=unauthenticated path={} client={}", request.path,
                     request.remote_addr);
        SetErrorResponse(allowed, response);
        response.set_header("WWW-Authenticate", "Bearer");
        return httplib::Server::HandlerResponse::Handled;
      }
    }
    // No route takes PUT, PATCH or OPTIONS: answer before cpp-httplib reads
    // a body (without a Content-Length it would wait for the connection to
    // close).
    if (request.method != "GET" && request.method != "HEAD" &&
        request.method != "POST" && request.method != "DELETE") {
      AnswerUnroutedMethod(request, response);
      return httplib::Server::HandlerResponse::Handled;
    }
    if (request.method != "POST" || request.has_header("Content-Length") ||
        request.has_header("Transfer-Encoding")) {
      return httplib::Server::HandlerResponse::Unhandled;
    }
    if (request.path == "/shutdown") {
      HandleShutdown(request, response);
    } else if (request.path == "/run" ||
               absl::StartsWith(request.path, "/functions")) {
      SetErrorResponse(
          absl::InvalidArgumentError(
              "request without a body: send JSON with a Content-Length"),
          response);
    } else {
      SetErrorResponse(
          absl::NotFoundError(absl::StrCat(request.path, ": not found; ",
                                           routes_text_)),
          response);
    }
    return httplib::Server::HandlerResponse::Handled;
  });

  Route("POST", "/run", [this](const auto& request, auto& response) {
    run_handler_.Handle(request, response);
  });
  Route("POST", "/shutdown", [this](const auto& request, auto& response) {
    HandleShutdown(request, response);
  });
  Route("GET", "/healthz",
        [this](const auto&, auto& response) { HandleHealth(response); });
  // The API process alone, no VMM asked: a liveness probe that does not
  // restart the API when the VMMs are away.
  Route("GET", "/livez", [](const auto&, auto& response) {
    response.set_content("{\"status\":\"ok\"}\n", "application/json");
  });
  Route("GET", "/metrics",
        [this](const auto&, auto& response) { HandleMetrics(response); });
  Route("GET", "/openapi.json", [](const auto&, auto& response) {
    ServeAsset(*FindWebAsset("openapi.json"), response);
  });
  Route("GET", "/", [](const auto&, auto& response) {
    ServeAsset(*FindWebAsset("index.html"), response);
  });
  Route("GET", "/web/{file}", [](const auto& request, auto& response) {
    const WebAsset* asset = FindWebAsset(request.matches[1].str());
    if (asset == nullptr || asset->name == "openapi.json") {
      SetErrorResponse(absl::NotFoundError(absl::StrCat(
                           request.path, ": the page has no such file")),
                       response);
      return;
    }
    ServeAsset(*asset, response);
  });

  // A function's name is checked by the registry: [^/]+ lets a bad one
  // reach it and get 400 naming the rule, not 404.
  Route("POST", "/functions", [this](const auto& request, auto& response) {
    functions_.Deploy(request, response);
  });
  Route("GET", "/functions",
        [this](const auto&, auto& response) { functions_.List(response); });
  Route("GET", "/functions/{name}",
        [this](const auto& request, auto& response) {
          functions_.Show(request, response);
        });
  Route("DELETE", "/functions/{name}",
        [this](const auto& request, auto& response) {
          functions_.Delete(request, response);
        });
  Route("POST", "/functions/{name}/invoke",
        [this](const auto& request, auto& response) {
          functions_.Invoke(request, response);
        });

  // Every other method on a known path is 405 naming the ones it takes
  // (cpp-httplib would say 404): GET, POST and DELETE here, the others in
  // the pre-routing handler. The list of routes in a 404 comes from the
  // same table.
  std::map<std::string, std::vector<std::string>> methods_by_path;
  std::vector<std::string> listed;
  for (const ApiRoute& route : routes_) {
    methods_by_path[route.path].push_back(route.method);
    listed.push_back(absl::StrCat(route.method, " ", route.path));
  }
  routes_text_ = absl::StrCat("the API serves ", absl::StrJoin(listed, ", "));
  for (const auto& [path, methods] : methods_by_path) {
    const std::string allow = absl::StrJoin(methods, ", ");
    allowed_.push_back({std::regex(PatternOf(path)), allow});
    for (const char* method : {"GET", "POST", "DELETE"}) {
      if (absl::c_linear_search(methods, method)) continue;
      Handle(method, PatternOf(path),
             [allow](const httplib::Request& request,
                     httplib::Response& response) {
               SetNotAllowed(request, allow, response);
             });
    }
  }

  // Errors cpp-httplib produces itself (no route, body too large, bad
  // request line) get the same JSON body as ours.
  server_.set_error_handler([this](const httplib::Request& request,
                                   httplib::Response& response) {
    if (!response.body.empty()) return;
    std::string code = "INVALID_ARGUMENT";
    std::string message = "bad request";
    if (response.status == 404) {
      code = "NOT_FOUND";
      message = absl::StrCat(request.path, ": not found; ", routes_text_);
    } else if (response.status == 413) {
      code = "RESOURCE_EXHAUSTED";
      message = absl::StrCat("request body over the limit of ",
                             options_.max_body_bytes, " bytes");
    }
    response.set_content(ErrorJson(code, message) + "\n", "application/json");
  });
  server_.set_exception_handler([](const httplib::Request&,
                                   httplib::Response& response,
                                   const std::exception_ptr&) {
    SetErrorResponse(absl::InternalError("unexpected failure in the API"),
                     response);
  });
}

void ApiServer::Route(absl::string_view method, absl::string_view path,
                      httplib::Server::Handler handler) {
  routes_.push_back({std::string(method), std::string(path)});
  Handle(method, PatternOf(path), std::move(handler));
}

void ApiServer::AnswerUnroutedMethod(const httplib::Request& request,
                                     httplib::Response& response) const {
  for (const auto& [pattern, allow] : allowed_) {
    if (std::regex_match(request.path, pattern)) {
      SetNotAllowed(request, allow, response);
      return;
    }
  }
  SetErrorResponse(absl::NotFoundError(absl::StrCat(
                       request.path, ": not found; ", routes_text_)),
                   response);
}

void ApiServer::Handle(absl::string_view method, const std::string& pattern,
                       httplib::Server::Handler handler) {
  if (method == "GET") {
    server_.Get(pattern, std::move(handler));
  } else if (method == "POST") {
    server_.Post(pattern, std::move(handler));
  } else {
    server_.Delete(pattern, std::move(handler));
  }
}

void ApiServer::HandleHealth(httplib::Response& response) {
  const FleetProbe fleet = vmm_.fleet().Probe(options_.vmm.connect_timeout);
  Struct body;
  Struct& api = *(*body.mutable_fields())["api"].mutable_struct_value();
  (*api.mutable_fields())["serving"].set_bool_value(true);
  (*api.mutable_fields())["version"].set_string_value(CLOUDLET_VERSION);
  (*api.mutable_fields())["streams"].set_number_value(streams_.active());
  (*api.mutable_fields())["vmm_target"].set_string_value(vmm_.target());
  (*api.mutable_fields())["vmms_ready"].set_number_value(fleet.ready());

  // "vmms": each VMM's own answer; "vmm": one that takes runs (the shape
  // of a single-VMM API, kept for its readers).
  auto unreachable = [](const absl::Status& why) {
    Value value;
    Struct& error = *value.mutable_struct_value();
    (*error.mutable_fields())["reachable"].set_bool_value(false);
    (*error.mutable_fields())["code"].set_string_value(
        absl::StatusCodeToString(why.code()));
    (*error.mutable_fields())["message"].set_string_value(
        std::string(why.message()));
    return value;
  };
  google::protobuf::ListValue& vmms =
      *(*body.mutable_fields())["vmms"].mutable_list_value();
  for (const VmmProbe& vmm : fleet.vmms) {
    Value entry = vmm.health.ok() ? ToValue(*vmm.health)
                                  : unreachable(vmm.health.status());
    Struct& fields = *entry.mutable_struct_value();
    (*fields.mutable_fields())["address"].set_string_value(vmm.address);
    if (vmm.health.ok()) {
      (*fields.mutable_fields())["reachable"].set_bool_value(true);
    }
    *vmms.add_values() = std::move(entry);
  }
  if (const VmmProbe* representative = fleet.Representative();
      representative != nullptr) {
    (*body.mutable_fields())["vmm"] = ToValue(*representative->health);
  } else if (!fleet.resolved.ok()) {
    (*body.mutable_fields())["vmm"] = unreachable(fleet.resolved);
  } else if (!fleet.vmms.empty()) {
    (*body.mutable_fields())["vmm"] =
        unreachable(fleet.vmms.front().health.status());
  }
  const int status = fleet.ready() > 0 ? 200 : 503;
  (*body.mutable_fields())["status"].set_string_value(status == 200
                                                          ? "ok"
                                                          : "unavailable");
  SetMessageResponse(body, status, response);
}

void ApiServer::HandleMetrics(httplib::Response& response) {
  metrics_.SetActiveStreams(streams_.active());
  const FleetProbe fleet = vmm_.fleet().Probe(options_.metrics_vmm_timeout);
  if (!fleet.resolved.ok()) {
    spdlog::debug("event=metrics_without_vmm error=\"{}\"",
                  fleet.resolved.ToString());
  }
  response.status = 200;
  response.set_content(ScrapeText(registry_, fleet), kMetricsContentType);
}

void ApiServer::HandleShutdown(const httplib::Request& request,
                               httplib::Response& response) {
  // Cloudlet's /shutdown takes no body; ours an optional ShutdownRequest
  // ({"grace": "10s"}).
  v1::ShutdownRequest shutdown;
  if (absl::Status parsed = ParseJsonBody(request.body, &shutdown);
      !parsed.ok()) {
    SetErrorResponse(parsed, response);
    return;
  }
  spdlog::info("event=shutdown_requested client={}:{}", request.remote_addr,
               request.remote_port);
  absl::StatusOr<v1::ShutdownResponse> vmm = vmm_.Shutdown(shutdown);
  Struct body;
  (*body.mutable_fields())["success"].set_bool_value(vmm.ok());
  if (vmm.ok()) {
    (*body.mutable_fields())["running_runs"].set_number_value(
        vmm->running_runs());
  } else {
    spdlog::warn("event=vmm_shutdown_failed error=\"{}\"",
                 vmm.status().ToString());
    (*body.mutable_fields())["code"].set_string_value(
        absl::StatusCodeToString(vmm.status().code()));
    (*body.mutable_fields())["message"].set_string_value(
        std::string(vmm.status().message()));
  }
  SetMessageResponse(body, 200, response);
  // The API goes too, whether or not the VMM answered: `cloudlet shutdown`
  // must leave nothing running.
  if (on_shutdown_requested_) on_shutdown_requested_();
}

}  // namespace cloudlet::api
