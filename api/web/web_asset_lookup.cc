#include "absl/strings/match.h"
#include "api/web/web_assets.h"

namespace cloudlet::api {

const WebAsset* FindWebAsset(absl::string_view name) {
  for (const WebAsset& asset : WebAssets()) {
    if (asset.name == name) return &asset;
  }
  return nullptr;
}

absl::string_view WebAssetContentType(const WebAsset& asset) {
  if (absl::EndsWith(asset.name, ".html")) return "text/html; charset=utf-8";
  if (absl::EndsWith(asset.name, ".js")) {
    return "text/javascript; charset=utf-8";
  }
  if (absl::EndsWith(asset.name, ".css")) return "text/css; charset=utf-8";
  if (absl::EndsWith(asset.name, ".json")) return "application/json";
  return "application/octet-stream";
}

}  // namespace cloudlet::api
