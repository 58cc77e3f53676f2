// Pure: see policy.h.
#include "policy.h"

#include <set>

namespace nn {

const char* const kExplicitLittleEndian = "1.2.840.10008.1.2.1";
const char* const kHtj2kLossless = "1.2.840.10008.1.2.4.201";
const char* const kHtj2kLosslessRpcl = "1.2.840.10008.1.2.4.202";
const char* const kHtj2k = "1.2.840.10008.1.2.4.203";

namespace {

const std::set<std::string> kNative = {
    "1.2.840.10008.1.2",       // Implicit VR Little Endian
    "1.2.840.10008.1.2.1",     // Explicit VR Little Endian
    "1.2.840.10008.1.2.2",     // Explicit VR Big Endian (retired)
    "1.2.840.10008.1.2.1.99",  // Deflated Explicit VR Little Endian
};
const std::set<std::string> kLosslessCompressed = {
    "1.2.840.10008.1.2.5",      // RLE Lossless
    "1.2.840.10008.1.2.4.57",   // JPEG Lossless (Process 14)
    "1.2.840.10008.1.2.4.70",   // JPEG Lossless SV1
    "1.2.840.10008.1.2.4.80",   // JPEG-LS Lossless
    "1.2.840.10008.1.2.4.90",   // JPEG 2000 Lossless Only
    "1.2.840.10008.1.2.4.201",  // HTJ2K Lossless
    "1.2.840.10008.1.2.4.202",  // HTJ2K Lossless RPCL
};
const std::set<std::string> kExcludedSopClasses = {
    "1.2.840.10008.5.1.4.1.1.66.4",   // Segmentation
    "1.2.840.10008.5.1.4.1.1.66.7",   // Label Map Segmentation
    "1.2.840.10008.5.1.4.1.1.30",     // Parametric Map
    "1.2.840.10008.5.1.4.1.1.104.1",  // Encapsulated PDF
    "1.2.840.10008.5.1.4.1.1.481.2",  // RT Dose
};
const std::set<std::string> kGrey = {"MONOCHROME1", "MONOCHROME2", "PALETTE COLOR"};

uint16_t required(const DicomFile& f, uint32_t t, const char* name) {
  const auto v = f.us(t);
  if (!v) throw DicomError(std::string("missing or bad ") + name);
  return *v;
}

}  // namespace

bool is_htj2k(const std::string& ts) {
  return ts == kHtj2kLossless || ts == kHtj2kLosslessRpcl || ts == kHtj2k;
}

bool is_lossless(const std::string& ts) {
  return kNative.count(ts) || kLosslessCompressed.count(ts);
}

PixelModule pixel_module(const DicomFile& f) {
  PixelModule p;
  p.spec.width = required(f, kColumns, "Columns");
  p.spec.height = required(f, kRows, "Rows");
  p.spec.samples = required(f, kSamplesPerPixel, "Samples per Pixel");
  p.spec.bits_allocated = required(f, kBitsAllocated, "Bits Allocated");
  p.spec.bits_stored = required(f, kBitsStored, "Bits Stored");
  const uint16_t representation = required(f, kPixelRepresentation, "Pixel Representation");
  if (representation > 1) throw DicomError("bad Pixel Representation");
  p.spec.is_signed = representation == 1;
  p.photometric = f.text(kPhotometric).value_or("");
  p.planar = f.us(kPlanarConfiguration).value_or(0);
  p.frames = f.number_of_frames();
  if (p.spec.width == 0 || p.spec.height == 0 || p.frames == 0) throw DicomError("empty image");
  if ((p.spec.samples != 1 && p.spec.samples != 3) ||
      (p.spec.bits_allocated != 8 && p.spec.bits_allocated != 16) || p.spec.bits_stored == 0 ||
      p.spec.bits_stored > p.spec.bits_allocated)
    throw DicomError("pixel format not handled (samples, bits)");
  // 4 GiB is the most an Orthanc plugin buffer holds.
  const uint64_t bytes = uint64_t(p.spec.width) * p.spec.height * p.spec.samples *
                         (p.spec.bits_allocated / 8) * p.frames;
  if (bytes > 0xFFFF0000ull) throw DicomError("image larger than 4 GiB");
  return p;
}

std::string refusal(const std::string& original, const DicomFile& f) {
  if (f.find(kPixelData) == nullptr) return "no-pixel-data";
  if (kExcludedSopClasses.count(f.text(kSopClassUid).value_or(""))) return "excluded-sop-class";
  if (!kNative.count(original) && !kLosslessCompressed.count(original))
    return original.rfind("1.2.840.10008.1.2.4.", 0) == 0 ? "lossy-or-unsupported-compression"
                                                          : "unknown-transfer-syntax";
  const auto allocated = f.us(kBitsAllocated), stored = f.us(kBitsStored);
  if (!allocated || (*allocated != 8 && *allocated != 16) || !stored) return "bits-allocated";
  if (*stored < 1 || *stored > *allocated) return "bits-stored";
  if (f.us(kHighBit).value_or(0xFFFF) != *stored - 1) return "high-bit";
  const auto representation = f.us(kPixelRepresentation);
  if (!representation || *representation > 1) return "pixel-representation";
  const auto samples = f.us(kSamplesPerPixel);
  const std::string photometric = f.text(kPhotometric).value_or("");
  const bool grey = samples == 1 && kGrey.count(photometric);
  const bool rgb = samples == 3 && photometric == "RGB" && *allocated == 8 && *representation == 0;
  if (!grey && !rgb) return "photometric-interpretation";
  // An icon's pixel data is encoded in the dataset's transfer syntax: re-encoding the main
  // image would mislabel the icon.
  if (f.find(kIconImageSequence) != nullptr) return "icon-image";
  return "";
}

}  // namespace nn
