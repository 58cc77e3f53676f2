// Pure: whole DICOM instances between HTJ2K and Explicit VR Little Endian, and single frames for
// Orthanc's image routes. No Orthanc here: plugin.cpp wires these to the SDK callbacks.
#pragma once

#include <string>

#include "dicom_file.h"
#include "htj2k.h"
#include "policy.h"

namespace nn {

extern const char* const kVersion;

// The instance must stay as it is: the policy refuses it (reason is a policy.h label).
struct Refused : std::runtime_error {
  explicit Refused(const std::string& reason) : std::runtime_error(reason) {}
};

// The frame is valid, but Orthanc's own decoder should produce the image (e.g. PALETTE COLOR,
// whose lookup tables Orthanc applies once the instance is in Explicit VR Little Endian).
struct Declined : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct DecodedFrame {
  FrameSpec spec;
  Samples samples;
};

// One frame of an HTJ2K file, for OrthancPluginDecodeImageCallback. Throws DicomError,
// CodecError, or Declined for a format Orthanc's own decoder should render.
DecodedFrame decode_frame(const uint8_t* data, size_t size, uint32_t index);

// An HTJ2K file as Explicit VR Little Endian: every frame decoded, colour as RGB, every other
// element unchanged. Throws DicomError or CodecError.
Bytes htj2k_to_native(const uint8_t* data, size_t size);

// An Explicit VR Little Endian file (native pixel data) as HTJ2K lossless, labelled `target`
// (.201, .202 or .203; the codestreams meet .202's rules). `original` is the transfer syntax the
// instance had before any conversion; it decides the policy and is recorded in the private block
// (0009,xx10) of creator "NEURONOVA" unless the file already records one. Every frame is decoded
// back and compared with the original values before the file is returned. Throws Refused,
// DicomError or CodecError.
Bytes native_to_htj2k(const uint8_t* data, size_t size, const std::string& target,
                      const std::string& original);

}  // namespace nn
