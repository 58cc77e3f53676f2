// Wiring: the Orthanc plugin. Registers a decoder (every image route) and a transcoder (export,
// DICOMweb, /media, modify, anonymize, IngestTranscoding) for the HTJ2K transfer syntaxes.
//
// Orthanc (BuiltinDecoderTranscoderOrder "After", its default) asks plugins first, then DCMTK.
// Both callbacks therefore decline everything that is not theirs within a few microseconds
// (reading the File Meta Information only) by answering NotImplemented, and Orthanc's own code
// runs as if the plugin were absent. Callbacks never let an exception reach Orthanc.
#include <orthanc/OrthancCPlugin.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <string>
#include <vector>

#include "codec.h"
#include "dcmtk_codec.h"
#include "metrics.h"

namespace {

OrthancPluginContext* context = nullptr;
const char* const kName = "neuronova-htj2k";
nn::Metrics metrics;
bool dcmtk_decoder = false;  // our HTJ2K decoder is in DCMTK's codec list

// A transcoder's output and the transfer syntax it was written in.
struct Written {
  nn::Bytes data;
  std::string transfer_syntax;
};

void log(OrthancPluginLogLevel level, const std::string& message) {
  const std::string text = std::string("HTJ2K codec: ") + message;
  OrthancPluginLogMessage(context, text.c_str(), kName, __FILE__, __LINE__,
                          OrthancPluginLogCategory_Plugins, level);
}

OrthancPluginPixelFormat pixel_format(const nn::FrameSpec& s) {
  if (s.samples == 3) return OrthancPluginPixelFormat_RGB24;
  if (s.bits_allocated == 8) return OrthancPluginPixelFormat_Grayscale8;
  return s.is_signed ? OrthancPluginPixelFormat_SignedGrayscale16
                     : OrthancPluginPixelFormat_Grayscale16;
}

OrthancPluginImage* to_image(const nn::DecodedFrame& frame) {
  const nn::FrameSpec& s = frame.spec;
  OrthancPluginImage* image = OrthancPluginCreateImage(context, pixel_format(s), s.width, s.height);
  if (image == nullptr) throw std::runtime_error("Orthanc could not allocate the image");
  auto* buffer = static_cast<uint8_t*>(OrthancPluginGetImageBuffer(context, image));
  const uint32_t pitch = OrthancPluginGetImagePitch(context, image);
  const size_t row_samples = size_t(s.width) * s.samples;
  for (uint32_t y = 0; y < s.height; ++y) {
    const int32_t* in = frame.samples.data() + y * row_samples;
    uint8_t* row = buffer + size_t(y) * pitch;
    if (s.bits_allocated == 8) {
      for (size_t i = 0; i < row_samples; ++i) row[i] = uint8_t(in[i]);
    } else {
      auto* out = reinterpret_cast<uint16_t*>(row);  // int16 and uint16 share the bit pattern
      for (size_t i = 0; i < row_samples; ++i) out[i] = uint16_t(in[i]);
    }
  }
  return image;
}

OrthancPluginErrorCode decode_image(OrthancPluginImage** target, const void* dicom, uint32_t size,
                                    uint32_t frame) {
  const auto* data = static_cast<const uint8_t*>(dicom);
  if (!nn::is_htj2k(nn::peek_transfer_syntax(data, size)))
    return OrthancPluginErrorCode_NotImplemented;
  try {
    *target = to_image(nn::decode_frame(data, size, frame));
    metrics.decoded_frame();
    return OrthancPluginErrorCode_Success;
  } catch (const nn::Declined&) {
    return OrthancPluginErrorCode_NotImplemented;
  } catch (const std::exception& e) {
    metrics.error("decode");
    log(OrthancPluginLogLevel_Warning, "cannot decode frame " + std::to_string(frame) + " of " +
                                           nn::peek_sop_instance_uid(data, size) + ": " + e.what());
    return OrthancPluginErrorCode_CorruptedFile;
  } catch (...) {
    return OrthancPluginErrorCode_InternalError;
  }
}

nn::Bytes serialize(OrthancPluginDicomInstance* instance) {
  OrthancPluginMemoryBuffer buffer{};
  const OrthancPluginErrorCode code =
      OrthancPluginSerializeDicomInstance(context, &buffer, instance);
  OrthancPluginFreeDicomInstance(context, instance);
  if (code != OrthancPluginErrorCode_Success) throw std::runtime_error("serialisation failed");
  const auto* bytes = static_cast<const uint8_t*>(buffer.data);
  nn::Bytes out(bytes, bytes + buffer.size);
  OrthancPluginFreeMemoryBuffer(context, &buffer);
  return out;
}

// Orthanc's own transcoder (DCMTK; it asks this plugin first, which declines non-HTJ2K work)
// from `source` to the first of `targets` it manages. Lossy targets only when a new SOP
// Instance UID is allowed, as Orthanc's transcoder would.
Written through_orthanc(const nn::Bytes& source, const std::vector<std::string>& targets,
                        bool allow_new_uid) {
  if (source.size() > UINT32_MAX) throw std::runtime_error("instance larger than 4 GiB");
  for (const std::string& t : targets) {
    if (nn::is_htj2k(t) || (!allow_new_uid && !nn::is_lossless(t))) continue;
    OrthancPluginDicomInstance* instance = OrthancPluginTranscodeDicomInstance(
        context, source.data(), uint32_t(source.size()), t.c_str());
    if (instance != nullptr) return Written{serialize(instance), t};
  }
  throw std::runtime_error("Orthanc cannot transcode to any allowed syntax");
}

Written encode(const nn::Bytes& explicit_le, const std::string& target,
               const std::string& original) {
  const auto started = std::chrono::steady_clock::now();
  Written out{nn::native_to_htj2k(explicit_le.data(), explicit_le.size(), target, original),
              target};
  metrics.encoded(
      target, std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
  return out;
}

Written transcode(const uint8_t* data, size_t size, const std::string& source,
                  const std::vector<std::string>& targets, const std::string& htj2k_target,
                  bool allow_new_uid) {
  if (nn::is_htj2k(source)) {
    nn::Bytes native = nn::htj2k_to_native(data, size);
    if (!htj2k_target.empty())  // another HTJ2K flavour: only from lossless HTJ2K (policy)
      return encode(native, htj2k_target, source);
    Written out =
        std::find(targets.begin(), targets.end(), nn::kExplicitLittleEndian) != targets.end()
            ? Written{std::move(native), nn::kExplicitLittleEndian}
            : through_orthanc(native, targets, allow_new_uid);
    metrics.from_htj2k(out.transfer_syntax);
    return out;
  }
  if (source == nn::kExplicitLittleEndian)
    return encode(nn::Bytes(data, data + size), htj2k_target, source);
  // Let DCMTK undo any other syntax first (Implicit VR, big endian, deflate, RLE, JPEG-LS...):
  // it knows the data dictionary and every byte-order rule. The policy still sees `source`.
  if (!nn::is_lossless(source)) throw nn::Refused("lossy-or-unsupported-compression");
  const Written explicit_le =
      through_orthanc(nn::Bytes(data, data + size), {nn::kExplicitLittleEndian}, false);
  return encode(explicit_le.data, htj2k_target, source);
}

OrthancPluginErrorCode answer(OrthancPluginMemoryBuffer* out, const uint8_t* data, size_t size) {
  if (size > UINT32_MAX || OrthancPluginCreateMemoryBuffer(context, out, uint32_t(size)) !=
                               OrthancPluginErrorCode_Success)
    return OrthancPluginErrorCode_NotEnoughMemory;
  std::memcpy(out->data, data, size);
  return OrthancPluginErrorCode_Success;
}

OrthancPluginErrorCode transcode_callback(OrthancPluginMemoryBuffer* out, const void* buffer,
                                          uint64_t size, const char* const* allowed, uint32_t count,
                                          uint8_t allow_new_uid) {
  const auto* data = static_cast<const uint8_t*>(buffer);
  const std::string source = nn::peek_transfer_syntax(data, size);
  std::vector<std::string> targets(allowed, allowed + count);
  std::string htj2k_target;  // HTJ2K Lossless RPCL when allowed, else any allowed HTJ2K flavour
  for (const std::string& t : targets)
    if (nn::is_htj2k(t) && (htj2k_target.empty() || t == nn::kHtj2kLosslessRpcl)) htj2k_target = t;
  if (source.empty() || (!nn::is_htj2k(source) && htj2k_target.empty()))
    return OrthancPluginErrorCode_NotImplemented;  // not ours: DCMTK does it
  if (std::find(targets.begin(), targets.end(), source) != targets.end())
    return answer(out, data, size);  // already in an allowed syntax
  // Only lossy targets (JPEG...): the SDK gives plugins no lossy quality, but Orthanc hands it
  // to DCMTK, which decodes HTJ2K with our DCMTK decoder. So DCMTK does these, as asked.
  const bool lossless_target = std::any_of(targets.begin(), targets.end(), [](const auto& t) {
    return nn::is_lossless(t) && !nn::is_htj2k(t);
  });
  if (nn::is_htj2k(source) && htj2k_target.empty() && !lossless_target && dcmtk_decoder)
    return OrthancPluginErrorCode_NotImplemented;
  try {
    const Written result = transcode(data, size, source, targets, htj2k_target, allow_new_uid != 0);
    return answer(out, result.data.data(), result.data.size());
  } catch (const nn::Refused& e) {
    metrics.kept(e.what());
    log(e.what() == std::string("verify-mismatch") ? OrthancPluginLogLevel_Warning
                                                   : OrthancPluginLogLevel_Info,
        nn::peek_sop_instance_uid(data, size) + " not encoded to HTJ2K (" + e.what() + ")");
    return OrthancPluginErrorCode_NotImplemented;
  } catch (const std::exception& e) {
    metrics.error("transcode");
    log(OrthancPluginLogLevel_Warning, "cannot transcode " + nn::peek_sop_instance_uid(data, size) +
                                           " from " + source + ": " + e.what());
    return OrthancPluginErrorCode_CorruptedFile;
  } catch (...) {
    return OrthancPluginErrorCode_InternalError;
  }
}

OrthancPluginErrorCode serve_metrics(OrthancPluginRestOutput* output, const char*,
                                     const OrthancPluginHttpRequest* request) {
  if (request->method != OrthancPluginHttpMethod_Get) {
    OrthancPluginSendMethodNotAllowed(context, output, "GET");
    return OrthancPluginErrorCode_Success;
  }
  const std::string text = metrics.render();
  OrthancPluginAnswerBuffer(context, output, text.data(), uint32_t(text.size()),
                            "text/plain; version=0.0.4");
  return OrthancPluginErrorCode_Success;
}

}  // namespace

extern "C" {

ORTHANC_PLUGINS_API int32_t OrthancPluginInitialize(OrthancPluginContext* c) {
  context = c;
  if (!OrthancPluginCheckVersion(c)) {
    OrthancPluginLogError(c, "HTJ2K codec: this plugin needs Orthanc 1.13.0 or later");
    return -1;
  }
  nn::configure_openjph_messages();
  OrthancPluginSetDescription2(c, kName,
                               "Lossless HTJ2K decoding and transcoding (OpenJPH), NeuroNova");
  OrthancPluginRegisterDecodeImageCallback(c, decode_image);
  OrthancPluginRegisterTranscoderCallback(c, transcode_callback);
  OrthancPluginRegisterRestCallback(c, "/neuronova/htj2k/metrics", serve_metrics);
  dcmtk_decoder = nn::register_dcmtk_decoder();
  if (!dcmtk_decoder)
    log(OrthancPluginLogLevel_Warning,
        std::string(NN_WITH_DCMTK ? "could not register the DCMTK decoder"
                                  : "built without libdcmtk-dev") +
            ": Orthanc's DCMTK-only paths (/numpy) cannot decode HTJ2K");
  log(OrthancPluginLogLevel_Info, std::string("version ") + nn::kVersion + " registered");
  return 0;
}

ORTHANC_PLUGINS_API void OrthancPluginFinalize() { nn::deregister_dcmtk_decoder(); }

ORTHANC_PLUGINS_API const char* OrthancPluginGetName() { return kName; }

ORTHANC_PLUGINS_API const char* OrthancPluginGetVersion() { return nn::kVersion; }

}  // extern "C"
