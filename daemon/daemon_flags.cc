#include "daemon/daemon_flags.h"

#include <functional>

#include "absl/strings/match.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"

namespace vfsd {
namespace {

// One flag: how it is spelled, what it takes and how it sets DaemonOptions.
struct FlagSpec {
  const char* name;     // without the leading "--"
  const char* value;    // placeholder for --help; nullptr for boolean flags
  const char* help;
  std::function<absl::Status(absl::string_view value, DaemonOptions& options)> set;
};

absl::Status ParseUint32(absl::string_view flag, absl::string_view value, uint32_t& out) {
  if (!absl::SimpleAtoi(value, &out)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--", flag, " expects a non-negative integer, got '", value, "'"));
  }
  return absl::OkStatus();
}

// A flag with two spellings: `on_word` sets `out`, `off_word` clears it.
absl::Status ParseTwoWay(absl::string_view flag, absl::string_view value,
                         absl::string_view on_word, absl::string_view off_word, bool& out) {
  if (value == on_word) {
    out = true;
  } else if (value == off_word) {
    out = false;
  } else {
    return absl::InvalidArgumentError(absl::StrCat("--", flag, " must be ", on_word, " or ",
                                                   off_word, ", got '", value, "'"));
  }
  return absl::OkStatus();
}

absl::Status ParseLogLevel(absl::string_view value, LogLevel& out) {
  if (value == "off") {
    out = LogLevel::kOff;
  } else if (value == "error" || value == "err") {
    out = LogLevel::kError;
  } else if (value == "warn" || value == "warning") {
    out = LogLevel::kWarn;
  } else if (value == "info") {
    out = LogLevel::kInfo;
  } else if (value == "debug") {
    out = LogLevel::kDebug;
  } else if (value == "trace") {
    out = LogLevel::kTrace;
  } else {
    return absl::InvalidArgumentError(absl::StrCat(
        "--log-level must be one of error, warn, info, debug, trace, off; got '", value, "'"));
  }
  return absl::OkStatus();
}

absl::Status ParseSandbox(absl::string_view value, SandboxMode& out) {
  if (value == "namespace") {
    out = SandboxMode::kNamespace;
  } else if (value == "chroot") {
    out = SandboxMode::kChroot;
  } else if (value == "none") {
    out = SandboxMode::kNone;
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat("--sandbox must be one of namespace, chroot, none; got '", value, "'"));
  }
  return absl::OkStatus();
}

absl::Status ParseSeccomp(absl::string_view value, SeccompAction& out) {
  if (value == "kill") {
    out = SeccompAction::kKill;
  } else if (value == "log") {
    out = SeccompAction::kLog;
  } else if (value == "trap") {
    out = SeccompAction::kTrap;
  } else if (value == "none") {
    out = SeccompAction::kNone;
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat("--seccomp must be one of kill, log, trap, none; got '", value, "'"));
  }
  return absl::OkStatus();
}

// virtiofsd's syntax: "+sys_admin:-mknod" (names as in capabilities(7),
// with or without the "cap_" prefix, any case). Names are checked against
// libcap-ng when the capabilities are applied (capabilities.h).
absl::Status ParseModcaps(absl::string_view value, std::vector<CapabilityChange>& out) {
  out.clear();
  for (absl::string_view item : absl::StrSplit(value, ':')) {
    if (item.size() < 2 || (item[0] != '+' && item[0] != '-')) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--modcaps expects +cap or -cap items separated by ':', got '", item, "'"));
    }
    CapabilityChange change;
    change.add = item[0] == '+';
    change.name = absl::AsciiStrToLower(item.substr(1));
    if (absl::StartsWith(change.name, "cap_")) change.name.erase(0, 4);
    if (change.name.empty()) {
      return absl::InvalidArgumentError(absl::StrCat("--modcaps: empty capability in '", item, "'"));
    }
    out.push_back(std::move(change));
  }
  return absl::OkStatus();
}

// Rust virtiofsd's --inode-file-handles values ("fallback" is its deprecated
// alias of "prefer").
absl::Status ParseInodeFileHandles(absl::string_view value,
                                   BackendConfig::InodeFileHandles& out) {
  if (value == "never") {
    out = BackendConfig::InodeFileHandles::kNever;
  } else if (value == "prefer" || value == "fallback") {
    out = BackendConfig::InodeFileHandles::kPrefer;
  } else if (value == "mandatory") {
    out = BackendConfig::InodeFileHandles::kMandatory;
  } else {
    return absl::InvalidArgumentError(absl::StrCat(
        "--inode-file-handles must be one of never, prefer, mandatory; got '", value, "'"));
  }
  return absl::OkStatus();
}

// One --translate-uid/--translate-gid value (Rust virtiofsd's syntax,
// backends/id_translation/id_map.h), appended: the flags are repeatable.
absl::Status ParseIdMapping(absl::string_view flag, absl::string_view value,
                            std::vector<IdMapping>& out) {
  absl::StatusOr<IdMapping> mapping = IdMapping::Parse(value);
  if (!mapping.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("--", flag, ": ", mapping.status().message()));
  }
  out.push_back(*mapping);
  return absl::OkStatus();
}

// A boolean flag that sets `field`.
FlagSpec BoolFlag(const char* name, const char* help, bool DaemonOptions::*field,
                  bool value = true) {
  return FlagSpec{name, nullptr, help, [field, value](absl::string_view, DaemonOptions& o) {
                    o.*field = value;
                    return absl::OkStatus();
                  }};
}

const std::vector<FlagSpec>& FlagTable() {
  static const auto* table = new std::vector<FlagSpec>{
      {"socket-path", "PATH", "vhost-user socket to create and listen on",
       [](absl::string_view v, DaemonOptions& o) {
         o.socket_path = std::string(v);
         return absl::OkStatus();
       }},
      {"fd", "FD", "serve an inherited listening socket instead of --socket-path",
       [](absl::string_view v, DaemonOptions& o) {
         uint32_t fd;
         if (!absl::SimpleAtoi(v, &fd) || fd > 1 << 20) {
           return absl::InvalidArgumentError(
               absl::StrCat("--fd expects a file descriptor number, got '", v, "'"));
         }
         o.socket_fd = static_cast<int>(fd);
         return absl::OkStatus();
       }},
      {"socket-group", "GROUP", "group owning the socket (default: the daemon's)",
       [](absl::string_view v, DaemonOptions& o) {
         o.socket_group = std::string(v);
         return absl::OkStatus();
       }},
      {"backend", "NAME", "storage backend serving the share (default: passthrough)",
       [](absl::string_view v, DaemonOptions& o) {
         o.backend = std::string(v);
         return absl::OkStatus();
       }},
      {"shared-dir", "DIR", "host directory to share (passthrough backend)",
       [](absl::string_view v, DaemonOptions& o) {
         o.shared_dir = std::string(v);
         return absl::OkStatus();
       }},
      {"cache", "MODE",
       "guest caching: never, metadata, auto or always (default: auto); see docs/protocol.md",
       [](absl::string_view v, DaemonOptions& o) {
         o.cache = std::string(v);
         return absl::OkStatus();
       }},
      {"thread-pool-size", "N",
       "worker threads for backend requests; 0 runs them on the queue threads (default: 0)",
       [](absl::string_view v, DaemonOptions& o) {
         return ParseUint32("thread-pool-size", v, o.thread_pool_size);
       }},
      {"max-request-queues", "N",
       "request queues offered to the VMM, 1..255; it picks how many to use (default: 8)",
       [](absl::string_view v, DaemonOptions& o) {
         absl::Status status = ParseUint32("max-request-queues", v, o.max_request_queues);
         if (status.ok() && (o.max_request_queues < 1 || o.max_request_queues > 255)) {
           return absl::InvalidArgumentError(
               absl::StrCat("--max-request-queues must be 1..255, got ", v));
         }
         return status;
       }},
      {"queue-poll-max-us", "N",
       "longest time a request queue's worker polls the ring for new requests before it "
       "sleeps; the window adapts to the guest's pace, 0 turns polling off (default: 32)",
       [](absl::string_view v, DaemonOptions& o) {
         absl::Status status = ParseUint32("queue-poll-max-us", v, o.queue_poll_max_us);
         if (status.ok() && o.queue_poll_max_us > 1000000) {
           return absl::InvalidArgumentError(
               absl::StrCat("--queue-poll-max-us must be at most 1000000, got ", v));
         }
         return status;
       }},
      {"io-uring", "auto|off",
       "batch the READs of each queue wake into one io_uring_enter (rings restricted to "
       "READV, made before the sandbox); auto falls back to preadv if the kernel refuses "
       "(default: auto)",
       [](absl::string_view v, DaemonOptions& o) {
         return ParseTwoWay("io-uring", v, "auto", "off", o.io_uring);
       }},
      {"host-page-cache", "keep|drop",
       "drop: keep guest file data out of the host page cache (DONTNEED after reads, "
       "periodic whole-file sweeps): less host memory, re-reads from disk; keep: the host "
       "kernel caches as for any process, as virtiofsd does in every --cache mode "
       "(default: keep)",
       [](absl::string_view v, DaemonOptions& o) {
         return ParseTwoWay("host-page-cache", v, "drop", "keep", o.drop_host_page_cache);
       }},
      {"log-level", "LEVEL", "error, warn, info, debug, trace or off (default: info)",
       [](absl::string_view v, DaemonOptions& o) { return ParseLogLevel(v, o.log_level); }},
      {"readonly", nullptr, "refuse every modification with EROFS",
       [](absl::string_view, DaemonOptions& o) {
         o.readonly = true;
         return absl::OkStatus();
       }},
      {"xattr", nullptr, "serve extended attributes",
       [](absl::string_view, DaemonOptions& o) {
         o.xattr = true;
         return absl::OkStatus();
       }},
      {"allow-direct-io", nullptr, "honour O_DIRECT from the guest (default: dropped)",
       [](absl::string_view, DaemonOptions& o) {
         o.allow_direct_io = true;
         return absl::OkStatus();
       }},
      BoolFlag("posix-acl", "enforce POSIX ACLs (FUSE_POSIX_ACL; implies --xattr)",
               &DaemonOptions::posix_acl),
      BoolFlag("security-label",
               "store the security context (e.g. SELinux label) the guest sends with each "
               "new file (FUSE_SECURITY_CTX; implies --xattr)",
               &DaemonOptions::security_label),
      BoolFlag("writeback", "let the guest cache writes (FUSE_WRITEBACK_CACHE; default: off)",
               &DaemonOptions::writeback),
      BoolFlag("announce-submounts",
               "report host mount points inside the share as submounts (default: off)",
               &DaemonOptions::announce_submounts),
      BoolFlag("no-announce-submounts", "do not report submounts (the default)",
               &DaemonOptions::announce_submounts, false),
      BoolFlag("killpriv-v2",
               "let the daemon clear setuid/setgid on write, truncate and chown "
               "(FUSE_HANDLE_KILLPRIV_V2; default: off)",
               &DaemonOptions::killpriv_v2),
      BoolFlag("no-killpriv-v2", "the guest kernel clears setuid/setgid itself (the default)",
               &DaemonOptions::killpriv_v2, false),
      BoolFlag("allow-mmap",
               "let Linux 6.6+ guests mmap files shared with --cache=never "
               "(FUSE_DIRECT_IO_ALLOW_MMAP; default: off, mmap then fails with ENODEV)",
               &DaemonOptions::allow_mmap),
      BoolFlag("preserve-noatime",
               "open files with O_NOATIME where the host allows it (reads do not touch atime)",
               &DaemonOptions::preserve_noatime),
      {"translate-uid", "TYPE:SRC:DST:COUNT",
       "map uids between guest and host (repeatable; types guest, host, squash-guest, "
       "squash-host, map, forbid-guest:BASE:COUNT; see docs/protocol.md)",
       [](absl::string_view v, DaemonOptions& o) {
         return ParseIdMapping("translate-uid", v, o.translate_uid);
       }},
      {"translate-gid", "TYPE:SRC:DST:COUNT", "the same for gids (repeatable)",
       [](absl::string_view v, DaemonOptions& o) {
         return ParseIdMapping("translate-gid", v, o.translate_gid);
       }},
      {"inode-file-handles", "MODE",
       "identify inodes by file handle: never, prefer or mandatory (default: never)",
       [](absl::string_view v, DaemonOptions& o) {
         return ParseInodeFileHandles(v, o.inode_file_handles);
       }},
      {"sandbox", "MODE",
       "namespace (pivot_root into the share in new mount/pid/net namespaces), chroot or none "
       "(default: namespace)",
       [](absl::string_view v, DaemonOptions& o) { return ParseSandbox(v, o.sandbox); }},
      {"seccomp", "ACTION",
       "what a syscall outside the allowlist does: kill, log, trap or none (default: kill)",
       [](absl::string_view v, DaemonOptions& o) { return ParseSeccomp(v, o.seccomp); }},
      {"modcaps", "+CAP:-CAP", "add to / drop from the capabilities kept (e.g. +sys_admin:-mknod)",
       [](absl::string_view v, DaemonOptions& o) { return ParseModcaps(v, o.modcaps); }},
      {"rlimit-nofile", "N",
       "RLIMIT_NOFILE to set (default: raise to min(1000000, fs.file-max - 16384))",
       [](absl::string_view v, DaemonOptions& o) {
         uint64_t n;
         if (!absl::SimpleAtoi(v, &n)) {
           return absl::InvalidArgumentError(
               absl::StrCat("--rlimit-nofile expects a non-negative integer, got '", v, "'"));
         }
         o.rlimit_nofile = n;
         return absl::OkStatus();
       }},
      {"print-capabilities", nullptr, "print the vhost-user backend capabilities (JSON) and exit",
       [](absl::string_view, DaemonOptions& o) {
         o.print_capabilities = true;
         return absl::OkStatus();
       }},
      {"version", nullptr, "print the version and exit",
       [](absl::string_view, DaemonOptions& o) {
         o.version = true;
         return absl::OkStatus();
       }},
      {"help", nullptr, "print this help and exit",
       [](absl::string_view, DaemonOptions& o) {
         o.help = true;
         return absl::OkStatus();
       }},
  };
  return *table;
}

const FlagSpec* FindFlag(absl::string_view name) {
  for (const FlagSpec& spec : FlagTable()) {
    if (name == spec.name) return &spec;
  }
  return nullptr;
}

}  // namespace

absl::StatusOr<DaemonOptions> ParseDaemonFlags(const std::vector<std::string>& args) {
  DaemonOptions options;
  for (size_t i = 0; i < args.size(); ++i) {
    absl::string_view arg = args[i];
    if (arg == "-h") arg = "--help";
    if (arg == "-V") arg = "--version";
    if (!absl::StartsWith(arg, "--") || arg.size() == 2) {
      return absl::InvalidArgumentError(
          absl::StrCat("unexpected argument '", arg, "' (see --help)"));
    }
    absl::string_view body = arg.substr(2);
    absl::string_view name = body;
    std::optional<absl::string_view> value;
    if (size_t eq = body.find('='); eq != absl::string_view::npos) {
      name = body.substr(0, eq);
      value = body.substr(eq + 1);
    }
    // Accept the underscore spelling some tools generate (--shared_dir).
    std::string normalized(name);
    for (char& c : normalized) {
      if (c == '_') c = '-';
    }
    const FlagSpec* spec = FindFlag(normalized);
    if (spec == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat("unknown flag '--", name, "' (see --help)"));
    }
    if (spec->value == nullptr) {
      if (value.has_value()) {
        return absl::InvalidArgumentError(
            absl::StrCat("--", spec->name, " takes no value (got '", *value, "')"));
      }
    } else if (!value.has_value()) {
      if (i + 1 >= args.size()) {
        return absl::InvalidArgumentError(
            absl::StrCat("--", spec->name, " needs a value: --", spec->name, "=", spec->value));
      }
      value = args[++i];
    }
    absl::Status status = spec->set(value.value_or(""), options);
    if (!status.ok()) return status;
  }
  // As Rust virtiofsd: ACLs and security labels are xattrs
  // (system.posix_acl_*, security.*), so either flag turns xattrs on.
  if (options.posix_acl || options.security_label) options.xattr = true;
  return options;
}

std::string DaemonUsage() {
  std::string text =
      "Usage: vfsd --socket-path=PATH --shared-dir=DIR [options]\n"
      "\n"
      "A virtio-fs daemon: serves a vhost-user-fs device to a VMM (QEMU, Cloud Hypervisor)\n"
      "over a unix socket and answers the guest's filesystem requests from a backend.\n"
      "\n"
      "Options:\n";
  for (const FlagSpec& spec : FlagTable()) {
    std::string left = spec.value ? absl::StrCat("--", spec.name, "=", spec.value)
                                  : absl::StrCat("--", spec.name);
    absl::StrAppendFormat(&text, "  %-26s %s\n", left, spec.help);
  }
  text +=
      "\nValues may also follow the flag as the next argument (--log-level debug).\n"
      "The daemon serves one VMM connection and exits 0 when the VMM disconnects.\n";
  return text;
}

}  // namespace vfsd
