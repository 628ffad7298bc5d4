// DaemonProcess: spawn, wait for socket, CPU accounting, kill + reap.
#include "testing/fake_vmm_daemon_process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <sstream>
#include <thread>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "backends/errno_status.h"
#include "glog/logging.h"

namespace vfsd {

absl::StatusOr<std::vector<std::string>> ExpandDaemonCommand(
    absl::string_view command, const std::map<std::string, std::string>& values) {
  std::vector<std::string> words;
  std::string cur;
  bool in_word = false;
  char quote = 0;
  for (char c : command) {
    if (quote != 0) {
      if (c == quote) {
        quote = 0;
      } else {
        cur.push_back(c);
      }
    } else if (c == '\'' || c == '"') {
      quote = c;
      in_word = true;
    } else if (c == ' ' || c == '\t' || c == '\n') {
      if (in_word) words.push_back(std::move(cur));
      cur.clear();
      in_word = false;
    } else {
      cur.push_back(c);
      in_word = true;
    }
  }
  if (quote != 0) return absl::InvalidArgumentError("unterminated quote in daemon command");
  if (in_word) words.push_back(std::move(cur));
  if (words.empty()) return absl::InvalidArgumentError("empty daemon command");
  for (std::string& word : words) {
    std::string out;
    size_t pos = 0;
    while (pos < word.size()) {
      const size_t open = word.find('{', pos);
      if (open == std::string::npos) break;
      const size_t close = word.find('}', open);
      if (close == std::string::npos) break;
      const std::string key = word.substr(open + 1, close - open - 1);
      auto it = values.find(key);
      if (it == values.end()) {
        return absl::InvalidArgumentError(absl::StrCat("unknown placeholder {", key, "}"));
      }
      out += word.substr(pos, open - pos) + it->second;
      pos = close + 1;
    }
    out += word.substr(pos);
    word = std::move(out);
  }
  return words;
}

absl::StatusOr<std::unique_ptr<DaemonProcess>> DaemonProcess::Spawn(
    const std::vector<std::string>& argv, const std::string& socket_path,
    absl::Duration timeout, const std::string& log_path) {
  if (argv.empty()) return absl::InvalidArgumentError("empty argv");
  std::vector<char*> cargv;
  for (const std::string& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
  cargv.push_back(nullptr);
  unlink(socket_path.c_str());  // a stale socket would look "ready"
  const pid_t pid = fork();
  if (pid < 0) return ErrnoFromLastError("fork");
  if (pid == 0) {
    // Die with the test runner rather than leak a daemon.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (!log_path.empty()) {
      const int log = open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
      if (log >= 0) {
        dup2(log, STDOUT_FILENO);
        dup2(log, STDERR_FILENO);
      }
    }
    execv(cargv[0], cargv.data());
    _exit(127);
  }
  std::unique_ptr<DaemonProcess> daemon(new DaemonProcess(pid));
  LOG(INFO) << "spawned daemon pid " << pid << ": " << absl::StrJoin(argv, " ");
  const absl::Time deadline = absl::Now() + timeout;
  while (true) {
    struct stat st;
    if (stat(socket_path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode)) return daemon;
    if (!daemon->running()) {
      return absl::FailedPreconditionError(absl::StrCat(
          "daemon exited before creating ", socket_path, " (wait status ",
          daemon->wait_status_, ")"));
    }
    if (absl::Now() >= deadline) {
      return absl::DeadlineExceededError(absl::StrCat("daemon did not create ", socket_path));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

DaemonProcess::~DaemonProcess() { Kill(); }

bool DaemonProcess::running() {
  if (reaped_) return false;
  int status = 0;
  const pid_t r = waitpid(pid_, &status, WNOHANG);
  if (r == pid_) {
    reaped_ = true;
    wait_status_ = status;
    return false;
  }
  return true;
}

namespace {

// utime + stime clock ticks of `pid` plus its descendants.
int64_t TicksOfTree(pid_t pid, int depth) {
  std::ifstream stat_file(absl::StrCat("/proc/", pid, "/stat"));
  std::string line;
  if (!std::getline(stat_file, line)) return 0;
  // comm (field 2) may contain spaces: parse after the last ')'.
  const size_t rparen = line.rfind(')');
  if (rparen == std::string::npos) return 0;
  std::vector<std::string> fields =
      absl::StrSplit(line.substr(rparen + 2), ' ', absl::SkipEmpty());
  // fields[0] is field 3 (state); utime is field 14, stime field 15.
  int64_t utime = 0, stime = 0;
  if (fields.size() < 13 || !absl::SimpleAtoi(fields[11], &utime) ||
      !absl::SimpleAtoi(fields[12], &stime)) {
    return 0;
  }
  int64_t total = utime + stime;
  if (depth > 4) return total;
  std::ifstream children(absl::StrCat("/proc/", pid, "/task/", pid, "/children"));
  pid_t child;
  while (children >> child) total += TicksOfTree(child, depth + 1);
  return total;
}

}  // namespace

absl::StatusOr<double> DaemonProcess::CpuSeconds() const {
  if (reaped_) return absl::FailedPreconditionError("daemon already exited");
  return static_cast<double>(TicksOfTree(pid_, 0)) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

absl::StatusOr<int> DaemonProcess::WaitForExit(absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (running()) {
    if (absl::Now() >= deadline) return absl::DeadlineExceededError("daemon still running");
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return wait_status_;
}

void DaemonProcess::Kill(absl::Duration grace) {
  if (!running()) return;
  kill(pid_, SIGTERM);
  if (WaitForExit(grace).ok()) return;
  kill(pid_, SIGKILL);
  int status = 0;
  while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  reaped_ = true;
  wait_status_ = status;
}

}  // namespace vfsd
