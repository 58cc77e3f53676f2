// Adapter stand-in: the plugin built without libdcmtk-dev (see the Makefile). Orthanc's
// DCMTK-only paths (/numpy) then cannot decode HTJ2K; plugin.cpp logs it at start-up.
#include "dcmtk_codec.h"

namespace nn {

bool register_dcmtk_decoder() { return false; }
void deregister_dcmtk_decoder() {}

}  // namespace nn
