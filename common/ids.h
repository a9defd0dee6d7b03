#ifndef CLOUDLET_COMMON_IDS_H_
#define CLOUDLET_COMMON_IDS_H_

#include <string>

namespace cloudlet {

// A fresh random run id: 12 lower-case hex digits. Thread-safe.
std::string NewRunId();

}  // namespace cloudlet

#endif  // CLOUDLET_COMMON_IDS_H_
