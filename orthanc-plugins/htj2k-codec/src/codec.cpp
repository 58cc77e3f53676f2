// Pure: see codec.h.
#include "codec.h"

namespace nn {

const char* const kVersion = "0.1.0";

namespace {

constexpr uint16_t kPrivateGroup = 0x0009;
const std::string kCreator = "NEURONOVA";
constexpr uint16_t kOriginalElement = 0x10;  // (0009,xx10) UI: transfer syntax it arrived in
constexpr uint16_t kVersionElement = 0x11;   // (0009,xx11) LO: software that encoded it
const std::vector<uint32_t> kOffsetTables = {kExtendedOffsetTable, kExtendedOffsetTableLengths};

uint32_t mask(uint32_t bits) { return bits >= 32 ? 0xFFFFFFFFu : (1u << bits) - 1; }

// A stored word as the pixel value it means; data above High Bit refuses the encode, since
// encoding the value would drop it (the Python plugin's "bits-above-high-bit").
int32_t pixel_value(uint32_t word, const FrameSpec& s) {
  const uint32_t low = word & mask(s.bits_stored);
  if (!s.is_signed) {
    if (word != low) throw Refused("bits-above-high-bit");
    return int32_t(word);
  }
  const int32_t sign = int32_t(1) << (s.bits_stored - 1);
  const int32_t value = (int32_t(low) ^ sign) - sign;
  // Accept high bits that are all zero or a proper sign extension: both mean `value`.
  if (word != low && (uint32_t(value) & mask(s.bits_allocated)) != word)
    throw Refused("bits-above-high-bit");
  return value;
}

std::vector<Samples> native_frames(const DicomFile& f, const PixelModule& p) {
  const Element* e = f.find(kPixelData);
  if (e == nullptr || e->undefined_length) throw DicomError("Pixel Data is not native");
  const size_t bytes_per = p.spec.bits_allocated / 8;
  const size_t pixels = size_t(p.spec.width) * p.spec.height;
  const size_t per_frame = pixels * p.spec.samples;
  const size_t expected = per_frame * p.frames * bytes_per;
  const size_t length = e->end - e->value;
  if (length < expected) throw Refused("truncated-pixel-data");
  if (length > expected + expected % 2) throw Refused("pixel-data-length");
  const uint8_t* src = f.data() + e->value;
  const bool planar = p.spec.samples > 1 && p.planar == 1;
  std::vector<Samples> frames(p.frames, Samples(per_frame));
  for (uint32_t i = 0; i < p.frames; ++i) {
    for (size_t k = 0; k < pixels; ++k) {
      for (uint32_t c = 0; c < p.spec.samples; ++c) {
        const size_t at = i * per_frame + (planar ? c * pixels + k : k * p.spec.samples + c);
        const uint8_t* w = src + at * bytes_per;
        const uint32_t word = bytes_per == 2 ? uint32_t(w[0] | (w[1] << 8)) : w[0];
        frames[i][k * p.spec.samples + c] = pixel_value(word, p.spec);
      }
    }
  }
  return frames;
}

// The NEURONOVA private block: its creator slot in group 0009 (an existing one, else the first
// free slot) and the elements to write. A block that already records an original transfer
// syntax keeps it: the first record is the one that matters.
void private_block(const DicomFile& f, const std::string& original,
                   std::vector<NewElement>& replace) {
  std::optional<uint16_t> ours, free_slot;
  for (uint16_t e = 0x10; e <= 0xFF && !ours; ++e) {
    if (f.find(tag(kPrivateGroup, e)) == nullptr) {
      if (!free_slot) free_slot = e;
    } else if (f.text(tag(kPrivateGroup, e)) == kCreator) {
      ours = e;
    }
  }
  if (!ours && !free_slot) return;  // every slot taken by other creators: nothing recorded
  const uint32_t base = tag(kPrivateGroup, uint16_t(ours.value_or(*free_slot) << 8));
  if (!ours) replace.push_back(string_element(tag(kPrivateGroup, *free_slot), "LO", kCreator));
  if (!ours || f.find(base | kOriginalElement) == nullptr)
    replace.push_back(string_element(base | kOriginalElement, "UI", original));
  replace.push_back(string_element(base | kVersionElement, "LO",
                                   std::string("neuronova-htj2k-codec ") + kVersion));
}

void verify(const Bytes& written, const std::vector<Samples>& originals, const PixelModule& p) {
  const DicomFile file(written.data(), written.size());
  const std::vector<Bytes> codestreams = file.encapsulated_frames(p.frames);
  if (codestreams.size() != originals.size()) throw Refused("verify-mismatch");
  for (size_t i = 0; i < originals.size(); ++i)
    if (decode(codestreams[i].data(), codestreams[i].size(), p.spec) != originals[i])
      throw Refused("verify-mismatch");
}

DicomFile parse_htj2k(const uint8_t* data, size_t size) {
  DicomFile f(data, size);
  if (!is_htj2k(f.transfer_syntax())) throw DicomError("not an HTJ2K file");
  return f;
}

}  // namespace

DecodedFrame decode_frame(const uint8_t* data, size_t size, uint32_t index) {
  const DicomFile f = parse_htj2k(data, size);
  const PixelModule p = pixel_module(f);
  const FrameSpec& s = p.spec;
  const bool grey =
      s.samples == 1 && (p.photometric == "MONOCHROME1" || p.photometric == "MONOCHROME2");
  const bool colour =
      s.samples == 3 && s.bits_stored == 8 && !s.is_signed &&
      (p.photometric == "RGB" || p.photometric == "YBR_RCT" || p.photometric == "YBR_ICT");
  // The formats Orthanc's own decoder maps to Grayscale8/16, SignedGrayscale16 and RGB24; for
  // any other, Orthanc's built-in decoder runs on our Explicit VR Little Endian transcode.
  if (!(grey && (s.bits_allocated == 16 || (s.bits_stored == 8 && !s.is_signed))) && !colour)
    throw Declined("pixel format left to Orthanc's decoder: " + p.photometric);
  if (index >= p.frames) throw DicomError("no such frame");
  const Bytes codestream = f.encapsulated_frames(p.frames, index).at(0);
  return DecodedFrame{s, decode(codestream.data(), codestream.size(), s)};
}

Bytes htj2k_to_native(const uint8_t* data, size_t size) {
  const DicomFile f = parse_htj2k(data, size);
  const PixelModule p = pixel_module(f);
  const std::vector<Bytes> codestreams = f.encapsulated_frames(p.frames);
  const size_t bytes_per = p.spec.bits_allocated / 8;
  NewElement pixels{kPixelData, bytes_per == 2 ? "OW" : "OB", {}};
  pixels.value.reserve(size_t(p.spec.width) * p.spec.height * p.spec.samples * bytes_per *
                       p.frames);
  for (const Bytes& c : codestreams) {
    for (int32_t v : decode(c.data(), c.size(), p.spec)) {
      pixels.value.push_back(uint8_t(v));  // two's complement words, sign-extended for signed data
      if (bytes_per == 2) pixels.value.push_back(uint8_t(uint32_t(v) >> 8));
    }
  }
  std::vector<NewElement> replace = {std::move(pixels)};
  if (p.spec.samples == 3) {
    replace.push_back(us_element(kPlanarConfiguration, 0));
    // The decoder undid the codestream's colour transform: the samples are RGB again.
    if (p.photometric == "YBR_RCT" || p.photometric == "YBR_ICT")
      replace.push_back(string_element(kPhotometric, "CS", "RGB"));
  }
  return rewrite(f, kExplicitLittleEndian, replace, kOffsetTables);
}

Bytes native_to_htj2k(const uint8_t* data, size_t size, const std::string& target,
                      const std::string& original) {
  if (!is_htj2k(target)) throw CodecError("not an HTJ2K transfer syntax: " + target);
  const DicomFile f(data, size);
  if (f.transfer_syntax() != kExplicitLittleEndian)
    throw DicomError("expected Explicit VR Little Endian, got " + f.transfer_syntax());
  const std::string reason = refusal(original, f);
  if (!reason.empty()) throw Refused(reason);
  const PixelModule p = pixel_module(f);
  const std::vector<Samples> frames = native_frames(f, p);
  std::vector<Bytes> codestreams;
  for (const Samples& frame : frames) codestreams.push_back(encode(frame, p.spec));
  std::vector<NewElement> replace = {encapsulated_pixel_data(codestreams)};
  if (p.spec.samples == 3) {
    replace.push_back(string_element(kPhotometric, "CS", "YBR_RCT"));  // encode() applied the RCT
    replace.push_back(us_element(kPlanarConfiguration, 0));
  }
  private_block(f, original, replace);
  Bytes out = rewrite(f, target, replace, kOffsetTables);
  verify(out, frames, p);
  return out;
}

}  // namespace nn
