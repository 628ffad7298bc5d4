// TsanNotification: absl::Notification's interface on std::mutex, for tests
// whose backend completes requests on another thread.
//
// Why not absl::Notification: the system Abseil (Debian's) is not built with
// TSan, so TSan cannot see it order the completing thread's writes before the
// test's reads and reports a race; std::mutex is intercepted by TSan.
#ifndef VFSD_TESTING_CONFORMANCE_TSAN_NOTIFICATION_H_
#define VFSD_TESTING_CONFORMANCE_TSAN_NOTIFICATION_H_

#include <chrono>
#include <condition_variable>
#include <mutex>

namespace vfsd {

class TsanNotification {
 public:
  void Notify() {
    std::lock_guard<std::mutex> lock(mu_);
    done_ = true;
    cv_.notify_all();
  }
  bool HasBeenNotified() {
    std::lock_guard<std::mutex> lock(mu_);
    return done_;
  }
  bool WaitForNotificationWithTimeout(std::chrono::seconds timeout) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, timeout, [this] { return done_; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false;
};

}  // namespace vfsd

#endif  // VFSD_TESTING_CONFORMANCE_TSAN_NOTIFICATION_H_
