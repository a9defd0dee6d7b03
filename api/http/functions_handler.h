#ifndef CLOUDLET_API_HTTP_FUNCTIONS_HANDLER_H_
#define CLOUDLET_API_HTTP_FUNCTIONS_HANDLER_H_

#include <httplib.h>

#include "api/functions/function_registry.h"
#include "api/http/run_handler.h"
#include "api/metrics.h"
#include "api/vmm/vmm_client.h"

namespace cloudlet::api {

// The function routes:
//   POST   /functions               a /run body plus "name": stores the next
//                                   version, builds it (the VMM keeps the
//                                   build) and streams the build as SSE,
//                                   ending with `event: function` (Deployed)
//   GET    /functions               FunctionList
//   GET    /functions/{name}        Function, with its versions
//   DELETE /functions/{name}        204
//   POST   /functions/{name}/invoke InvokeRequest: runs the newest built
//                                   version; SSE like /run, or with
//                                   `Accept: application/json` one
//                                   InvokeResponse
// Errors are JSON like every route's: 400 bad input, 404 unknown function,
// 409 no built version yet, 413 code or stdin over the cap, 503 when the
// registry fails (naming its file) or the VMM cannot be reached.
// Thread-safe; the referenced objects must outlive it.
class FunctionsHandler {
 public:
  FunctionsHandler(FunctionRegistry* registry, RunHandler* runs,
                   VmmClient* vmm, ApiMetrics* metrics)
      : registry_(registry), runs_(runs), vmm_(vmm), metrics_(metrics) {}

  void Deploy(const httplib::Request& request, httplib::Response& response);
  void List(httplib::Response& response);
  void Show(const httplib::Request& request, httplib::Response& response);
  void Delete(const httplib::Request& request, httplib::Response& response);
  void Invoke(const httplib::Request& request, httplib::Response& response);

 private:
  // Runs `run` to its end and answers one InvokeResponse.
  void InvokeForJson(const httplib::Request& request, const std::string& name,
                     const StoredVersion& version, const v1::RunRequest& run,
                     httplib::Response& response);

  FunctionRegistry* const registry_;
  RunHandler* const runs_;
  VmmClient* const vmm_;
  ApiMetrics* const metrics_;
};

}  // namespace cloudlet::api

#endif  // CLOUDLET_API_HTTP_FUNCTIONS_HANDLER_H_
