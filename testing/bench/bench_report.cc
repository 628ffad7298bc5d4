// Percentiles and result tables for vfsd_bench.
#include "testing/bench/bench_report.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace vfsd {

double Percentile(std::vector<uint32_t>* samples, double p) {
  if (samples->empty()) return 0;
  std::sort(samples->begin(), samples->end());
  const double rank = std::ceil(p / 100.0 * static_cast<double>(samples->size()));
  const size_t index = rank < 1 ? 0 : static_cast<size_t>(rank) - 1;
  return (*samples)[std::min(index, samples->size() - 1)];
}

std::string FormatMarkdown(const std::vector<BenchResult>& results) {
  std::string out =
      "| daemon | workload | QD | ops | ops/s | p50 µs | p99 µs | daemon CPU s | ops/CPU-s |\n"
      "|---|---|---:|---:|---:|---:|---:|---:|---:|\n";
  for (const BenchResult& r : results) {
    if (!r.error.empty()) {
      absl::StrAppend(&out, "| ", r.daemon, " | ", r.workload, " | ", r.queue_depth,
                      " | FAILED: ", r.error, " | | | | | |\n");
      continue;
    }
    absl::StrAppendFormat(&out, "| %s | %s | %d | %d | %.0f | %.1f | %.1f | %.2f | %.0f |\n",
                          r.daemon, r.workload, r.queue_depth, r.ops, r.ops_per_second(),
                          r.p50_us, r.p99_us, r.daemon_cpu_seconds, r.ops_per_cpu_second());
  }
  return out;
}

namespace {

std::string JsonString(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      absl::StrAppendFormat(&out, "\\u%04x", static_cast<unsigned char>(c));
    } else {
      out += c;
    }
  }
  return out + "\"";
}

}  // namespace

std::string FormatJson(const std::vector<BenchResult>& results) {
  std::string out = "[\n";
  for (size_t i = 0; i < results.size(); ++i) {
    const BenchResult& r = results[i];
    absl::StrAppendFormat(
        &out,
        "  {\"daemon\": %s, \"workload\": %s, \"queue_depth\": %d, \"ops\": %d, "
        "\"seconds\": %.6f, \"ops_per_second\": %.1f, \"p50_us\": %.2f, \"p99_us\": %.2f, "
        "\"daemon_cpu_seconds\": %.3f, \"ops_per_cpu_second\": %.1f, \"error\": %s}%s\n",
        JsonString(r.daemon), JsonString(r.workload), r.queue_depth, r.ops, r.seconds,
        r.ops_per_second(), r.p50_us, r.p99_us, r.daemon_cpu_seconds, r.ops_per_cpu_second(),
        JsonString(r.error), i + 1 < results.size() ? "," : "");
  }
  return out + "]\n";
}

}  // namespace vfsd
