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
      "| daemon | workload | config | QD | ops | ops/s | p50 µs | p99 µs | daemon CPU s | "
      "ops/CPU-s |\n"
      "|---|---|---|---:|---:|---:|---:|---:|---:|---:|\n";
  for (const BenchResult& r : results) {
    if (!r.error.empty() || !r.not_applicable.empty()) {
      absl::StrAppend(&out, "| ", r.daemon, " | ", r.workload, " | ", r.config, " | ",
                      r.queue_depth, " | ",
                      r.error.empty() ? "n/a: " + r.not_applicable : "FAILED: " + r.error,
                      " | | | | | |\n");
      continue;
    }
    absl::StrAppendFormat(&out, "| %s | %s | %s | %d | %d | %.0f | %.1f | %.1f | %.2f | %.0f |\n",
                          r.daemon, r.workload, r.config, r.queue_depth, r.ops,
                          r.ops_per_second(), r.p50_us, r.p99_us, r.daemon_cpu_seconds,
                          r.ops_per_cpu_second());
  }
  return out;
}

namespace {

bool Usable(const BenchResult* r) {
  return r != nullptr && r->error.empty() && r->not_applicable.empty();
}

std::string Cell(const BenchResult* r, double value) {
  if (r == nullptr) return "";
  if (!r->error.empty()) return "FAILED";
  if (!r->not_applicable.empty()) return "n/a";
  return absl::StrFormat("%.0f", value);
}

std::string Ratio(const BenchResult* a, double va, const BenchResult* b, double vb) {
  if (!Usable(a) || !Usable(b) || vb <= 0) return "n/a";
  return absl::StrFormat("%.2f×", va / vb);
}

}  // namespace

std::string FormatComparison(const std::vector<BenchResult>& results,
                             const std::string& baseline) {
  std::vector<std::string> daemons;
  for (const BenchResult& r : results) {
    if (std::find(daemons.begin(), daemons.end(), r.daemon) == daemons.end()) {
      daemons.push_back(r.daemon);
    }
  }
  // Rows in first-seen order of (workload, config, QD).
  struct Row {
    std::string workload, config;
    int depth;
    std::vector<const BenchResult*> by_daemon;
  };
  std::vector<Row> rows;
  for (const BenchResult& r : results) {
    auto it = std::find_if(rows.begin(), rows.end(), [&](const Row& row) {
      return row.workload == r.workload && row.config == r.config && row.depth == r.queue_depth;
    });
    if (it == rows.end()) {
      rows.push_back({r.workload, r.config, r.queue_depth,
                      std::vector<const BenchResult*>(daemons.size(), nullptr)});
      it = rows.end() - 1;
    }
    it->by_daemon[std::find(daemons.begin(), daemons.end(), r.daemon) - daemons.begin()] = &r;
  }
  const size_t base = std::find(daemons.begin(), daemons.end(), baseline) - daemons.begin();
  const bool ratios = base < daemons.size() && daemons.size() > 1;
  const size_t subject = base == 0 ? 1 : 0;
  std::string out = "| workload | config | QD |";
  std::string rule = "|---|---|---:|";
  for (const std::string& d : daemons) {
    absl::StrAppend(&out, " ", d, " ops/s |");
    rule += "---:|";
  }
  if (ratios) {
    absl::StrAppend(&out, " ops/s ratio |");
    rule += "---:|";
  }
  for (const std::string& d : daemons) {
    absl::StrAppend(&out, " ", d, " ops/CPU-s |");
    rule += "---:|";
  }
  if (ratios) {
    absl::StrAppend(&out, " ops/CPU-s ratio |");
    rule += "---:|";
  }
  for (const std::string& d : daemons) {
    absl::StrAppend(&out, " ", d, " p50/p99 µs |");
    rule += "---:|";
  }
  out += "\n" + rule + "\n";
  for (const Row& row : rows) {
    absl::StrAppend(&out, "| ", row.workload, " | ", row.config, " | ", row.depth, " |");
    for (const BenchResult* r : row.by_daemon) {
      absl::StrAppend(&out, " ", Cell(r, Usable(r) ? r->ops_per_second() : 0), " |");
    }
    if (ratios) {
      const BenchResult* a = row.by_daemon[subject];
      const BenchResult* b = row.by_daemon[base];
      absl::StrAppend(&out, " ",
                      Ratio(a, Usable(a) ? a->ops_per_second() : 0, b,
                            Usable(b) ? b->ops_per_second() : 0),
                      " |");
    }
    for (const BenchResult* r : row.by_daemon) {
      absl::StrAppend(&out, " ", Cell(r, Usable(r) ? r->ops_per_cpu_second() : 0), " |");
    }
    if (ratios) {
      const BenchResult* a = row.by_daemon[subject];
      const BenchResult* b = row.by_daemon[base];
      absl::StrAppend(&out, " ",
                      Ratio(a, Usable(a) ? a->ops_per_cpu_second() : 0, b,
                            Usable(b) ? b->ops_per_cpu_second() : 0),
                      " |");
    }
    for (const BenchResult* r : row.by_daemon) {
      if (Usable(r)) {
        absl::StrAppendFormat(&out, " %.0f / %.0f |", r->p50_us, r->p99_us);
      } else {
        absl::StrAppend(&out, " ", Cell(r, 0), " |");
      }
    }
    out += "\n";
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
        "\"daemon_cpu_seconds\": %.3f, \"ops_per_cpu_second\": %.1f, \"error\": %s, "
        "\"config\": %s, \"not_applicable\": %s}%s\n",
        JsonString(r.daemon), JsonString(r.workload), r.queue_depth, r.ops, r.seconds,
        r.ops_per_second(), r.p50_us, r.p99_us, r.daemon_cpu_seconds, r.ops_per_cpu_second(),
        JsonString(r.error), JsonString(r.config), JsonString(r.not_applicable),
        i + 1 < results.size() ? "," : "");
  }
  return out + "]\n";
}

}  // namespace vfsd
