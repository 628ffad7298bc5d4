#include "daemon/log_setup.h"

#include "glog/logging.h"

namespace vfsd {

void SetUpLogging(const char* argv0, LogLevel level) {
  FLAGS_logtostderr = true;
  FLAGS_v = 0;
  switch (level) {
    case LogLevel::kOff:
      FLAGS_minloglevel = google::GLOG_FATAL;
      break;
    case LogLevel::kError:
      FLAGS_minloglevel = google::GLOG_ERROR;
      break;
    case LogLevel::kWarn:
      FLAGS_minloglevel = google::GLOG_WARNING;
      break;
    case LogLevel::kInfo:
      FLAGS_minloglevel = google::GLOG_INFO;
      break;
    case LogLevel::kDebug:
      FLAGS_minloglevel = google::GLOG_INFO;
      FLAGS_v = 1;
      break;
    case LogLevel::kTrace:
      FLAGS_minloglevel = google::GLOG_INFO;
      FLAGS_v = 2;
      break;
  }
  google::InitGoogleLogging(argv0);
}

}  // namespace vfsd
