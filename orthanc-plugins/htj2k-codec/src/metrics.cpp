// Pure: see metrics.h.
#include "metrics.h"

#include <sstream>

namespace nn {
namespace {

void family(std::ostringstream& out, const char* name, const char* help, const char* label,
            const std::map<std::string, uint64_t>& values) {
  out << "# HELP " << name << ' ' << help << "\n# TYPE " << name << " counter\n";
  for (const auto& [value, count] : values)
    out << name << '{' << label << "=\"" << value << "\"} " << count << '\n';
}

}  // namespace

void Metrics::encoded(const std::string& transfer_syntax, double seconds) {
  const std::lock_guard<std::mutex> lock(mutex_);
  ++encoded_[transfer_syntax];
  encode_seconds_ += seconds;
  ++encodes_;
}

void Metrics::kept(const std::string& reason) {
  const std::lock_guard<std::mutex> lock(mutex_);
  ++kept_[reason];
}

void Metrics::decoded_frame() {
  const std::lock_guard<std::mutex> lock(mutex_);
  ++decoded_frames_;
}

void Metrics::from_htj2k(const std::string& transfer_syntax) {
  const std::lock_guard<std::mutex> lock(mutex_);
  ++from_htj2k_[transfer_syntax];
}

void Metrics::error(const std::string& operation) {
  const std::lock_guard<std::mutex> lock(mutex_);
  ++errors_[operation];
}

std::string Metrics::render() const {
  const std::lock_guard<std::mutex> lock(mutex_);
  std::ostringstream out;
  family(out, "neuronova_htj2k_encoded_total",
         "Instances encoded to HTJ2K lossless and verified, by transfer syntax", "transfer_syntax",
         encoded_);
  family(out, "neuronova_htj2k_kept_total",
         "HTJ2K encodes the policy refused (instance left as it is), by reason", "reason", kept_);
  family(out, "neuronova_htj2k_transcoded_from_total",
         "HTJ2K instances transcoded to another syntax, by target", "transfer_syntax", from_htj2k_);
  family(out, "neuronova_htj2k_errors_total", "Malformed HTJ2K or failed transcodes, by operation",
         "operation", errors_);
  out << "# HELP neuronova_htj2k_decoded_frames_total Frames decoded for Orthanc's image routes\n"
      << "# TYPE neuronova_htj2k_decoded_frames_total counter\n"
      << "neuronova_htj2k_decoded_frames_total " << decoded_frames_ << '\n'
      << "# HELP neuronova_htj2k_encode_seconds Time to encode and verify one instance\n"
      << "# TYPE neuronova_htj2k_encode_seconds summary\n"
      << "neuronova_htj2k_encode_seconds_sum " << encode_seconds_ << '\n'
      << "neuronova_htj2k_encode_seconds_count " << encodes_ << '\n';
  return out.str();
}

}  // namespace nn
