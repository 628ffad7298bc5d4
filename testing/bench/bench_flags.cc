// vfsd_bench flag parsing.
#include "testing/bench/bench_flags.h"

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "testing/bench/bench_workload.h"

namespace vfsd {

std::string BenchUsage() {
  std::string workloads;
  for (const auto& [name, info] : BenchWorkloads()) {
    absl::StrAppend(&workloads, "    ", name, ": ", info.description, "\n");
  }
  return absl::StrCat(
      "vfsd_bench: drive vhost-user-fs daemons through the fake VMM.\n"
      "  --daemon=NAME:COMMAND   daemon to benchmark (repeatable); COMMAND uses\n"
      "                          {socket} and {dir}; a fresh daemon per run.\n"
      "                          Default: the reference virtiofsd.\n"
      "  --workloads=a,b         default getattr,read4k\n"
      "  --queue-depths=1,16     requests kept in flight (1..64)\n"
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
  if (config.daemons.empty()) config.daemons.push_back(ReferenceDaemonSpec());
  return config;
}

}  // namespace vfsd
