// Pure: one frame to and from an HTJ2K codestream (OpenJPH), checked against what the DICOM
// header says the frame holds.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace nn {

struct CodecError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// A frame as the DICOM pixel module describes it.
struct FrameSpec {
  uint32_t width = 0;
  uint32_t height = 0;
  uint32_t samples = 1;          // 1 (grey) or 3 (colour)
  uint32_t bits_allocated = 16;  // 8 or 16
  uint32_t bits_stored = 16;
  bool is_signed = false;
};

// Sample values of one frame, pixel-interleaved (R,G,B,R,G,B... for colour), row by row.
using Samples = std::vector<int32_t>;

// What the main header of a codestream says (ISO/IEC 15444-1 Annex A), read without OpenJPH.
struct CodestreamInfo {
  uint32_t width = 0;
  uint32_t height = 0;
  uint32_t components = 0;
  uint32_t precision = 0;  // of component 0; all components must agree
  bool is_signed = false;
  bool subsampled = false;
  std::string progression;  // "LRCP", "RLCP", "RPCL", "PCRL", "CPRL"
  uint32_t decompositions = 0;
  bool reversible = false;        // 5/3 wavelet
  bool colour_transform = false;  // RCT or ICT
  bool tlm = false;
  bool ht = false;  // CAP marker: Part 15 (HTJ2K)
};

CodestreamInfo read_main_header(const uint8_t* data, size_t size);

// Decodes a frame; throws CodecError unless the codestream is complete (ends with EOC) and its
// geometry and precision fit `spec`. A codestream whose signedness differs from Pixel
// Representation is read as its Bits Stored low bits in the DICOM representation (as pydicom does).
Samples decode(const uint8_t* data, size_t size, const FrameSpec& spec);

// Encodes losslessly: reversible 5/3 wavelet, RPCL progression, tile-parts at each resolution,
// TLM markers, enough decompositions for a base resolution of at most 64 pixels (PS3.5 10.18),
// the reversible colour transform for 3 samples. Precision = Bits Stored: every value must fit it.
std::vector<uint8_t> encode(const Samples& samples, const FrameSpec& spec);

// Once per process: OpenJPH reports errors by exception only (no stderr output inside Orthanc).
void configure_openjph_messages();

}  // namespace nn
