#ifndef CLOUDLET_API_WEB_WEB_ASSETS_H_
#define CLOUDLET_API_WEB_WEB_ASSETS_H_

#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace cloudlet::api {

// A file of api/web compiled into the binary (by embed.cmake).
struct WebAsset {
  absl::string_view name;     // "index.html", "app.js", "openapi.json", ...
  absl::string_view content;  // its bytes
};

// Every file of api/web the API serves: the page (index.html, app.js,
// style.css) and the OpenAPI document (openapi.json).
absl::Span<const WebAsset> WebAssets();

// The asset named `name`, or null.
const WebAsset* FindWebAsset(absl::string_view name);

// Its Content-Type, from its extension.
absl::string_view WebAssetContentType(const WebAsset& asset);

}  // namespace cloudlet::api

#endif  // CLOUDLET_API_WEB_WEB_ASSETS_H_
