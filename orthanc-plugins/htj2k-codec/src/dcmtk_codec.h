// Adapter (DCMTK): HTJ2K decoding for Orthanc's DCMTK-only paths; see dcmtk_codec.cpp.
#pragma once

#include "dicom_file.h"

namespace nn {

// Adds/removes the decoder in DCMTK's global codec list (plugin initialise/finalise).
bool register_dcmtk_decoder();
void deregister_dcmtk_decoder();

}  // namespace nn
