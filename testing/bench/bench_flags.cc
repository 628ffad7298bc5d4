// vfsd_bench flag parsing.
#include "testing/bench/bench_flags.h"

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "testing/bench/bench_workload.h"

namespace vfsd {

DaemonSpec BenchVfsdSpec(const std::string& path) {
  return {"vfsd", absl::StrCat(path, " --socket-path={socket} --shared-dir={dir}"
                                     " --cache={cache} --log-level=warn")};
}

DaemonSpec BenchReferenceSpec(const std::string& path) {
  return {"virtiofsd", absl::StrCat(path, " --socket-path={socket} -o source={dir}"
                                          " -o cache={qemu_cache} -o sandbox=chroot")};
}

std::string BenchUsage() {
  std::string workloads;
  for (const auto& [name, info] : BenchWorkloads()) {
    absl::StrAppend(&workloads, "    ", name, ": ", info.description, "\n");
  }
  return absl::StrCat(
      "vfsd_bench: drive vhost-user-fs daemons through the fake VMM.\n"
      "  --daemon=NAME:COMMAND   daemon to benchmark (repeatable); COMMAND uses\n"
      "                          {socket}, {dir}, {cache} (never|auto|always) and\n"
      "                          {qemu_cache} (none|auto|always); a fresh daemon\n"
      "                          per run. Default: the reference virtiofsd.\n"
      "  --vfsd=PATH             shorthand: --daemon=vfsd:PATH --socket-path={socket}\n"
      "                          --shared-dir={dir} --cache={cache} --log-level=warn\n"
      "  --reference             shorthand: --daemon=virtiofsd:/usr/lib/qemu/virtiofsd\n"
      "                          --socket-path={socket} -o source={dir}\n"
      "                          -o cache={qemu_cache} -o sandbox=chroot\n"
      "  --workloads=a,b         default getattr,read4k (all: every workload)\n"
      "  --queue-depths=1,16     operations kept in flight (1..64)\n"
      "  --cache=auto,never      cache modes to run (never|auto|always)\n"
      "  --queues=1,2            request queues to spread operations over\n"
      "                          (n/a for a single-queue daemon)\n"
      "  --descriptors=split,indirect  chain layout: split (direct) descriptors\n"
      "                          or one indirect table per request\n"
      "  --duration=3s           measured time per run (0 = until --ops)\n"
      "  --ops=N                 measured ops per run (0 = until --duration)\n"
      "  --warmup-ops=1000       untimed ops before measuring\n"
      "  --seed=1                random offsets seed\n"
      "  --shared-dir=DIR        directory to share (default: a temp dir)\n"
      "  --json=FILE             also write the results as JSON\n"
      "  --list-workloads, --help\n"
      "Workloads:\n",
      workloads);
}

absl::StatusOr<BenchConfig> ParseBenchFlags(const std::vector<std::string>& args) {
  BenchConfig config;
  for (size_t i = 0; i < args.size(); ++i) {
    std::string arg = args[i];
    if (arg == "--help" || arg == "-h") {
      config.help = true;
      continue;
    }
    if (arg == "--reference") {
      config.daemons.push_back(BenchReferenceSpec());
      continue;
    }
    if (arg == "--list-workloads") {
      config.list_workloads = true;
      continue;
    }
    const size_t eq = arg.find('=');
    std::string name = arg.substr(0, eq);
    std::string value;
    if (eq != std::string::npos) {
      value = arg.substr(eq + 1);
    } else if (i + 1 < args.size()) {
      value = args[++i];
    } else {
      return absl::InvalidArgumentError(absl::StrCat(name, " needs a value"));
    }
    if (name == "--daemon") {
      const size_t colon = value.find(':');
      if (colon == std::string::npos || colon == 0 || colon + 1 == value.size()) {
        return absl::InvalidArgumentError("--daemon wants NAME:COMMAND");
      }
      config.daemons.push_back({value.substr(0, colon), value.substr(colon + 1)});
    } else if (name == "--vfsd") {
      if (value.empty()) return absl::InvalidArgumentError("--vfsd wants a path");
      config.daemons.push_back(BenchVfsdSpec(value));
    } else if (name == "--cache") {
      config.cache_modes = absl::StrSplit(value, ',', absl::SkipEmpty());
      for (const std::string& mode : config.cache_modes) {
        if (!ExpandCacheMode("", mode).ok()) {
          return absl::InvalidArgumentError(absl::StrCat("bad cache mode ", mode));
        }
      }
      if (config.cache_modes.empty()) return absl::InvalidArgumentError("empty --cache");
    } else if (name == "--queues") {
      config.request_queues.clear();
      for (absl::string_view q : absl::StrSplit(value, ',', absl::SkipEmpty())) {
        int n;
        if (!absl::SimpleAtoi(q, &n) || n < 1 || n > 8) {
          return absl::InvalidArgumentError(absl::StrCat("bad queue count ", q));
        }
        config.request_queues.push_back(n);
      }
      if (config.request_queues.empty()) return absl::InvalidArgumentError("empty --queues");
    } else if (name == "--descriptors") {
      config.indirect.clear();
      for (absl::string_view d : absl::StrSplit(value, ',', absl::SkipEmpty())) {
        if (d != "split" && d != "indirect") {
          return absl::InvalidArgumentError(absl::StrCat("bad descriptor layout ", d));
        }
        config.indirect.push_back(d == "indirect");
      }
      if (config.indirect.empty()) return absl::InvalidArgumentError("empty --descriptors");
    } else if (name == "--workloads" && value == "all") {
      config.workloads.clear();
      for (const auto& [w, info] : BenchWorkloads()) config.workloads.push_back(w);
    } else if (name == "--workloads") {
      config.workloads = absl::StrSplit(value, ',', absl::SkipEmpty());
      for (const std::string& w : config.workloads) {
        if (!BenchWorkloads().count(w)) {
          return absl::InvalidArgumentError(absl::StrCat("unknown workload ", w));
        }
      }
    } else if (name == "--queue-depths") {
      config.queue_depths.clear();
      for (absl::string_view d : absl::StrSplit(value, ',', absl::SkipEmpty())) {
        int depth;
        if (!absl::SimpleAtoi(d, &depth) || depth < 1 || depth > 64) {
          return absl::InvalidArgumentError(absl::StrCat("bad queue depth ", d));
        }
        config.queue_depths.push_back(depth);
      }
    } else if (name == "--duration") {
      if (!absl::ParseDuration(value, &config.run.duration) ||
          config.run.duration < absl::ZeroDuration()) {
        return absl::InvalidArgumentError(absl::StrCat("bad --duration ", value));
      }
    } else if (name == "--ops" || name == "--warmup-ops" || name == "--seed") {
      uint64_t n;
      if (!absl::SimpleAtoi(value, &n)) {
        return absl::InvalidArgumentError(absl::StrCat("bad ", name, " ", value));
      }
      (name == "--ops" ? config.run.max_ops
                       : name == "--warmup-ops" ? config.run.warmup_ops : config.run.seed) = n;
    } else if (name == "--shared-dir") {
      config.shared_dir = value;
    } else if (name == "--json") {
      config.json_path = value;
    } else {
      return absl::InvalidArgumentError(absl::StrCat("unknown flag ", name));
    }
  }
  if (config.run.max_ops == 0 && config.run.duration == absl::ZeroDuration()) {
    return absl::InvalidArgumentError("--duration=0 needs --ops");
  }
  if (config.daemons.empty()) config.daemons.push_back(BenchReferenceSpec());
  return config;
}

}  // namespace vfsd
