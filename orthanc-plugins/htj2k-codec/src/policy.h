// Pure: which instances the plugin may encode to HTJ2K, and why the others are kept as received.
//
// The same rules as the Python plugin's policy.py (docs/plugin.md "Policy"), applied to every
// HTJ2K encode this plugin does (ingest, /modify with Transcode, DICOMweb or DIMSE targets):
// lossy sources, SEG, parametric maps, PDF, RT Dose, objects without pixel data, icons, unusual
// pixel formats and words with data above High Bit are never re-encoded.
#pragma once

#include <string>

#include "dicom_file.h"
#include "htj2k.h"

namespace nn {

extern const char* const kExplicitLittleEndian;
extern const char* const kHtj2kLossless;      // .201
extern const char* const kHtj2kLosslessRpcl;  // .202
extern const char* const kHtj2k;              // .203 (may be lossy)

bool is_htj2k(const std::string& transfer_syntax);
// Syntaxes that never change the pixel values (Orthanc may chain to them without a new SOP UID).
bool is_lossless(const std::string& transfer_syntax);

// The pixel module of a file, checked enough to size and read its frames. Throws DicomError.
struct PixelModule {
  FrameSpec spec;
  uint32_t frames = 1;
  std::string photometric;
  uint16_t planar = 0;
};
PixelModule pixel_module(const DicomFile& file);

// "" when the instance (its original transfer syntax, and the file in Explicit VR Little Endian)
// may be re-encoded; else the reason it is kept (the Python plugin's metric labels).
std::string refusal(const std::string& original_transfer_syntax, const DicomFile& file);

}  // namespace nn
