// Pure: the codec plugin's counters, rendered in Prometheus' text exposition format. Served by
// plugin.cpp at GET /neuronova/htj2k/metrics (Orthanc's port and authentication); counters only
// grow within one Orthanc process. Thread-safe: callbacks run concurrently.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>

namespace nn {

class Metrics {
 public:
  void encoded(const std::string& transfer_syntax, double seconds);  // verified HTJ2K written
  void kept(const std::string& reason);  // the policy refused an encode: stays as it is
  void decoded_frame();                  // a frame decoded for an image route
  void from_htj2k(const std::string& transfer_syntax);  // HTJ2K transcoded to another syntax
  void error(const std::string& operation);             // "decode" or "transcode": malformed input
  std::string render() const;

 private:
  mutable std::mutex mutex_;
  std::map<std::string, uint64_t> encoded_, kept_, from_htj2k_, errors_;
  uint64_t decoded_frames_ = 0;
  double encode_seconds_ = 0;
  uint64_t encodes_ = 0;
};

}  // namespace nn
