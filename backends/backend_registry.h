// Backends register a factory under a name ("passthrough", "rocksdb", ...);
// the daemon picks one by `--backend=NAME`. Adding a backend touches its own
// directory and one VFSD_REGISTER_BACKEND line, never a switch in daemon/.
#ifndef VFSD_BACKENDS_BACKEND_REGISTRY_H_
#define VFSD_BACKENDS_BACKEND_REGISTRY_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "backends/backend.h"
#include "backends/backend_config.h"

namespace vfsd {

using BackendFactory =
    std::function<absl::StatusOr<std::unique_ptr<Backend>>(const BackendConfig& config)>;

// Registers `factory` under `name`; returns true so it can initialise a
// static. Registering a name twice is a programming error (logged, ignored).
bool RegisterBackend(absl::string_view name, BackendFactory factory);

// Creates the backend registered as `name`, or InvalidArgument naming the
// known backends.
absl::StatusOr<std::unique_ptr<Backend>> CreateBackend(absl::string_view name,
                                                       const BackendConfig& config);

// Registered names, sorted.
std::vector<std::string> RegisteredBackends();

}  // namespace vfsd

// Use at namespace scope in the backend's .cc; its cc_library needs
// `alwayslink = True` so the registration is linked in.
#define VFSD_REGISTER_BACKEND(name, factory) \
  static const bool vfsd_backend_registered_##factory = ::vfsd::RegisterBackend(name, factory)

#endif  // VFSD_BACKENDS_BACKEND_REGISTRY_H_
