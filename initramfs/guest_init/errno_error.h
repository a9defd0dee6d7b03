#ifndef CLOUDLET_INITRAMFS_GUEST_INIT_ERRNO_ERROR_H_
#define CLOUDLET_INITRAMFS_GUEST_INIT_ERRNO_ERROR_H_

#include <cerrno>
#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace cloudlet::guest_init {

// Internal "`what`: <strerror(errno)>"; call it right after the failed call.
inline absl::Status ErrnoError(absl::string_view what) {
  return absl::InternalError(absl::StrCat(what, ": ", std::strerror(errno)));
}

}  // namespace cloudlet::guest_init

#endif  // CLOUDLET_INITRAMFS_GUEST_INIT_ERRNO_ERROR_H_
