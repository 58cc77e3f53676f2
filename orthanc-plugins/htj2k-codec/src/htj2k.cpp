// Pure: see htj2k.h. The only file that includes OpenJPH.
#include "htj2k.h"

#include <openjph/ojph_arch.h>
#include <openjph/ojph_codestream.h>
#include <openjph/ojph_file.h>
#include <openjph/ojph_mem.h>
#include <openjph/ojph_message.h>
#include <openjph/ojph_params.h>

#include <algorithm>
#include <cstdarg>
#include <cstdio>

namespace nn {
namespace {

constexpr uint16_t kSOC = 0xFF4F, kSOT = 0xFF90, kSIZ = 0xFF51, kCOD = 0xFF52, kTLM = 0xFF55,
                   kCAP = 0xFF50;
constexpr const char* kProgressions[] = {"LRCP", "RLCP", "RPCL", "PCRL", "CPRL"};
constexpr uint32_t kBaseResolution = 64;    // PS3.5 10.18: thumbnail size for HTJ2K Lossless RPCL
constexpr uint32_t kMinDecompositions = 5;  // OpenJPH's default, good for 256-2048 pixel images

uint16_t be16(const uint8_t* p) { return uint16_t((p[0] << 8) | p[1]); }
uint32_t be32(const uint8_t* p) {
  return (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) | (uint32_t(p[2]) << 8) | p[3];
}

class ThrowingError : public ojph::message_error {
 public:
  void operator()(int, const char*, int, const char* fmt, ...) override {
    char text[512];
    va_list args;
    va_start(args, fmt);
    vsnprintf(text, sizeof text, fmt, args);
    va_end(args);
    throw CodecError(std::string("OpenJPH: ") + text);
  }
};
class SilentWarning : public ojph::message_warning {
 public:
  void operator()(int, const char*, int, const char*, ...) override {}
};
class SilentInfo : public ojph::message_info {
 public:
  void operator()(int, const char*, int, const char*, ...) override {}
};

int64_t limit(uint32_t bits, bool is_signed, bool upper) {
  if (is_signed) return upper ? (int64_t(1) << (bits - 1)) - 1 : -(int64_t(1) << (bits - 1));
  return upper ? (int64_t(1) << bits) - 1 : 0;
}

// One decoded value in the DICOM representation (see decode's contract).
int32_t dicom_value(int64_t v, const CodestreamInfo& info, const FrameSpec& spec) {
  if (info.is_signed != spec.is_signed) {
    const int64_t u = v & ((int64_t(1) << spec.bits_stored) - 1);
    const int64_t sign = int64_t(1) << (spec.bits_stored - 1);
    v = spec.is_signed ? (u ^ sign) - sign : u;
  }
  if (v < limit(spec.bits_allocated, spec.is_signed, false) ||
      v > limit(spec.bits_allocated, spec.is_signed, true))
    throw CodecError("decoded value out of range for Bits Allocated");
  return int32_t(v);
}

void check_spec(const FrameSpec& s) {
  if (s.width == 0 || s.height == 0 || (s.samples != 1 && s.samples != 3) ||
      (s.bits_allocated != 8 && s.bits_allocated != 16) || s.bits_stored == 0 ||
      s.bits_stored > s.bits_allocated)
    throw CodecError("unsupported pixel format");
}

}  // namespace

void configure_openjph_messages() {
  static ThrowingError error;
  static SilentWarning warning;
  static SilentInfo info;
  ojph::configure_error(&error);
  ojph::configure_warning(&warning);
  ojph::configure_info(&info);
}

CodestreamInfo read_main_header(const uint8_t* d, size_t n) {
  if (n < 4 || be16(d) != kSOC) throw CodecError("codestream does not start with SOC");
  CodestreamInfo info;
  bool siz = false, cod = false;
  size_t pos = 2;
  for (;;) {
    if (pos + 4 > n) throw CodecError("main header truncated");
    const uint16_t marker = be16(d + pos);
    if (marker == kSOT) break;
    const uint16_t length = be16(d + pos + 2);
    if ((marker >> 8) != 0xFF || length < 2 || pos + 2 + length > n)
      throw CodecError("bad marker segment in main header");
    const uint8_t* m = d + pos + 4;  // segment body, length - 2 bytes
    const size_t body = length - 2u;
    if (marker == kSIZ && !siz) {
      if (pos != 2 || body < 36) throw CodecError("SIZ must follow SOC");
      const uint32_t x = be32(m + 2), y = be32(m + 6), x0 = be32(m + 10), y0 = be32(m + 14);
      info.components = be16(m + 34);
      if (x <= x0 || y <= y0 || info.components == 0 || body != 36 + 3u * info.components)
        throw CodecError("bad SIZ marker");
      info.width = x - x0;
      info.height = y - y0;
      for (uint32_t c = 0; c < info.components; ++c) {
        const uint8_t* s = m + 36 + 3 * c;
        const uint32_t precision = (s[0] & 0x7Fu) + 1;
        const bool is_signed = (s[0] & 0x80) != 0;
        if (c == 0) {
          info.precision = precision;
          info.is_signed = is_signed;
        } else if (precision != info.precision || is_signed != info.is_signed) {
          throw CodecError("components differ in precision or sign");
        }
        info.subsampled = info.subsampled || s[1] != 1 || s[2] != 1;
      }
      siz = true;
    } else if (marker == kCOD && !cod) {
      if (body < 10 || m[1] > 4) throw CodecError("bad COD marker");
      info.progression = kProgressions[m[1]];
      info.colour_transform = m[4] != 0;
      info.decompositions = m[5];
      info.reversible = m[9] == 1;
      cod = true;
    } else if (marker == kTLM) {
      info.tlm = true;
    } else if (marker == kCAP) {
      info.ht = true;
    }
    pos += 2 + length;
  }
  if (!siz || !cod) throw CodecError("SIZ or COD marker missing");
  return info;
}

Samples decode(const uint8_t* data, size_t size, const FrameSpec& spec) {
  check_spec(spec);
  while (size > 0 && data[size - 1] == 0) --size;  // the even-length pad after EOC
  if (size < 4 || be16(data + size - 2) != 0xFFD9)
    throw CodecError("codestream incomplete (no EOC marker)");
  const CodestreamInfo info = read_main_header(data, size);
  if (info.width != spec.width || info.height != spec.height)
    throw CodecError("codestream size differs from Rows/Columns");
  if (info.components != spec.samples || info.subsampled)
    throw CodecError("codestream components differ from Samples per Pixel");
  if (info.precision > spec.bits_allocated)
    throw CodecError("codestream precision exceeds Bits Allocated");

  Samples out(size_t(spec.width) * spec.height * spec.samples);
  ojph::mem_infile file;
  file.open(data, size);
  ojph::codestream codestream;
  codestream.read_headers(&file);
  codestream.set_planar(false);
  codestream.create();
  for (uint32_t y = 0; y < spec.height; ++y) {
    for (uint32_t c = 0; c < spec.samples; ++c) {
      ojph::ui32 component = 0;
      const ojph::line_buf* line = codestream.pull(component);
      if (line == nullptr || component != c || line->size < spec.width ||
          !(line->flags & ojph::line_buf::LFT_INTEGER))
        throw CodecError("unexpected line from the decoder");
      const bool wide = (line->flags & ojph::line_buf::LFT_64BIT) != 0;
      int32_t* row = out.data() + (size_t(y) * spec.width) * spec.samples + c;
      for (uint32_t x = 0; x < spec.width; ++x)
        row[size_t(x) * spec.samples] = dicom_value(wide ? line->i64[x] : line->i32[x], info, spec);
    }
  }
  codestream.close();
  return out;
}

std::vector<uint8_t> encode(const Samples& samples, const FrameSpec& spec) {
  check_spec(spec);
  if (samples.size() != size_t(spec.width) * spec.height * spec.samples)
    throw CodecError("sample count differs from the frame size");
  const int64_t low = limit(spec.bits_stored, spec.is_signed, false);
  const int64_t high = limit(spec.bits_stored, spec.is_signed, true);
  for (int32_t v : samples)
    if (v < low || v > high) throw CodecError("a value does not fit Bits Stored");

  uint32_t decompositions = kMinDecompositions;
  const uint32_t longest = std::max(spec.width, spec.height);
  while (decompositions < 32 && (longest - 1) >> decompositions >= kBaseResolution)
    ++decompositions;

  ojph::codestream codestream;
  ojph::param_siz siz = codestream.access_siz();
  siz.set_image_extent(ojph::point(spec.width, spec.height));
  siz.set_image_offset(ojph::point(0, 0));
  siz.set_tile_size(ojph::size(spec.width, spec.height));
  siz.set_tile_offset(ojph::point(0, 0));
  siz.set_num_components(spec.samples);
  for (uint32_t c = 0; c < spec.samples; ++c)
    siz.set_component(c, ojph::point(1, 1), spec.bits_stored, spec.is_signed);
  ojph::param_cod cod = codestream.access_cod();
  cod.set_num_decomposition(decompositions);
  cod.set_block_dims(64, 64);
  cod.set_progression_order("RPCL");
  cod.set_color_transform(spec.samples == 3);
  cod.set_reversible(true);
  codestream.set_planar(false);
  codestream.set_tilepart_divisions(true, false);
  codestream.request_tlm_marker(true);

  ojph::mem_outfile file;
  file.open();
  codestream.write_headers(&file);
  ojph::ui32 component = 0;
  ojph::line_buf* line = codestream.exchange(nullptr, component);
  for (uint32_t y = 0; y < spec.height; ++y) {
    for (uint32_t c = 0; c < spec.samples; ++c) {
      if (line == nullptr || component != c || line->size < spec.width)
        throw CodecError("unexpected line from the encoder");
      const bool wide = (line->flags & ojph::line_buf::LFT_64BIT) != 0;
      const int32_t* row = samples.data() + (size_t(y) * spec.width) * spec.samples + c;
      for (uint32_t x = 0; x < spec.width; ++x) {
        if (wide)
          line->i64[x] = row[size_t(x) * spec.samples];
        else
          line->i32[x] = row[size_t(x) * spec.samples];
      }
      line = codestream.exchange(line, component);
    }
  }
  codestream.flush();
  codestream.close();
  return std::vector<uint8_t>(file.get_data(), file.get_data() + file.get_used_size());
}

}  // namespace nn
