#ifndef CLOUDLET_API_FUNCTIONS_POSTGRES_REGISTRY_H_
#define CLOUDLET_API_FUNCTIONS_POSTGRES_REGISTRY_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "api/functions/function_registry.h"

namespace cloudlet::api {

// The shared registry: a PostgreSQL database (Debian's libpq), so that
// several cloudlet-api replicas serve the same functions. Same tables as
// the SQLite registry (functions, versions), with the schema version in a
// one-row table `cloudlet_schema`; Open applies the migrations the
// database lacks under a transaction-scoped advisory lock, so replicas
// starting together migrate once. One connection, one call at a time; a
// connection the server dropped is re-opened on the next call.
//
// `url` is a libpq connection string or URI
// ("postgresql://cloudlet@db:5432/cloudlet"). Unavailable naming the
// server (never the password) when it cannot be reached or its schema is
// newer than this cloudlet-api's.
absl::StatusOr<std::unique_ptr<FunctionRegistry>> OpenPostgresRegistry(
    const std::string& url);

}  // namespace cloudlet::api

#endif  // CLOUDLET_API_FUNCTIONS_POSTGRES_REGISTRY_H_
