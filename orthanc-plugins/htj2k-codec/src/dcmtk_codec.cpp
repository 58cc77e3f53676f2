// Adapter (DCMTK): an HTJ2K decoder registered in DCMTK's global codec list.
//
// Why: a few Orthanc 1.13 paths decode with DCMTK only and never ask plugins, e.g. /numpy
// (ParsedDicomFile::DecodeFrame). Debian's Orthanc links DCMTK dynamically, so this plugin,
// linked against the same libdcmdata, shares DCMTK's codec list: once registered, DCMTK's
// chooseRepresentation() (Orthanc's "last resort" for unknown compressed syntaxes) decodes
// HTJ2K through the same pure codec as the SDK callbacks. Decoding only; encoding stays with the
// SDK transcoder callback, where the policy and the verification live.
#include "dcmtk_codec.h"

#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dccodec.h>
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcitem.h>
#include <dcmtk/dcmdata/dcpixel.h>
#include <dcmtk/dcmdata/dcpixseq.h>
#include <dcmtk/dcmdata/dcpxitem.h>
#include <dcmtk/dcmdata/dcstack.h>
#include <dcmtk/dcmdata/dcxfer.h>

#include <cstring>

#include "htj2k.h"

namespace nn {
namespace {

bool is_htj2k_xfer(E_TransferSyntax x) {
  return x == EXS_HighThroughputJPEG2000LosslessOnly ||
         x == EXS_HighThroughputJPEG2000withRPCLOptionsLosslessOnly ||
         x == EXS_HighThroughputJPEG2000;
}

class Parameter : public DcmCodecParameter {
 public:
  DcmCodecParameter* clone() const override { return new Parameter; }
  const char* className() const override { return "NeuroNovaHtj2kParameter"; }
};

class Representation : public DcmRepresentationParameter {
 public:
  DcmRepresentationParameter* clone() const override { return new Representation; }
  const char* className() const override { return "NeuroNovaHtj2kRepresentation"; }
  OFBool operator==(const DcmRepresentationParameter& other) const override {
    return std::strcmp(other.className(), className()) == 0;
  }
};

struct Image {
  FrameSpec spec;
  uint32_t frames = 1;
  std::string photometric;
};

Image image_of(DcmItem* item) {
  Uint16 rows = 0, columns = 0, samples = 0, allocated = 0, stored = 0, representation = 0;
  if (item == nullptr || item->findAndGetUint16(DCM_Rows, rows).bad() ||
      item->findAndGetUint16(DCM_Columns, columns).bad() ||
      item->findAndGetUint16(DCM_SamplesPerPixel, samples).bad() ||
      item->findAndGetUint16(DCM_BitsAllocated, allocated).bad() ||
      item->findAndGetUint16(DCM_BitsStored, stored).bad() ||
      item->findAndGetUint16(DCM_PixelRepresentation, representation).bad())
    throw CodecError("pixel module incomplete");
  Image image;
  image.spec = FrameSpec{columns, rows, samples, allocated, stored, representation == 1};
  Sint32 frames = 1;
  if (item->findAndGetSint32(DCM_NumberOfFrames, frames).good() && frames > 0)
    image.frames = uint32_t(frames);
  OFString photometric;
  item->findAndGetOFString(DCM_PhotometricInterpretation, photometric);
  image.photometric = photometric.c_str();
  return image;
}

// What the samples are once decoded: the codestream's colour transform is undone.
std::string decoded_colour_model(const std::string& photometric) {
  return photometric == "YBR_RCT" || photometric == "YBR_ICT" ? "RGB" : photometric;
}

// The codestream of each frame (fragments joined as needed), with frame_starts' rules.
std::vector<Bytes> frames_of(DcmPixelSequence* sequence, uint32_t frames) {
  DcmPixelItem* item = nullptr;
  Uint8* bytes = nullptr;
  if (sequence == nullptr || sequence->card() < 2 || sequence->getItem(item, 0).bad())
    throw CodecError("no fragment in Pixel Data");
  std::vector<uint32_t> table;
  if (item->getLength() % 4 == 0 && item->getLength() > 0 && item->getUint8Array(bytes).good())
    for (Uint32 at = 0; at < item->getLength(); at += 4) {
      uint32_t v;
      std::memcpy(&v, bytes + at, 4);  // DCMTK keeps the table little endian, as in the file
      table.push_back(v);
    }
  std::vector<std::pair<const uint8_t*, size_t>> fragments;
  std::vector<uint64_t> starts;
  std::vector<bool> soc;
  uint64_t offset = 0;
  for (unsigned long i = 1; i < sequence->card(); ++i) {
    if (sequence->getItem(item, i).bad()) throw CodecError("bad fragment");
    const Uint32 length = item->getLength();
    bytes = nullptr;
    if (length > 0 && (item->getUint8Array(bytes).bad() || bytes == nullptr))
      throw CodecError("bad fragment");
    fragments.emplace_back(bytes, length);
    starts.push_back(offset);
    soc.push_back(length >= 2 && bytes[0] == 0xFF && bytes[1] == 0x4F);
    offset += 8 + uint64_t(length);
  }
  const std::vector<size_t> first = frame_starts(frames, table, starts, soc);
  std::vector<Bytes> out;
  for (size_t f = 0; f < first.size(); ++f) {
    Bytes frame;
    const size_t stop = f + 1 < first.size() ? first[f + 1] : fragments.size();
    for (size_t i = first[f]; i < stop; ++i)
      frame.insert(frame.end(), fragments[i].first, fragments[i].first + fragments[i].second);
    out.push_back(std::move(frame));
  }
  return out;
}

// Little-endian words of the decoded samples (this plugin builds for little-endian hosts only).
void put_samples(const Samples& samples, const FrameSpec& spec, uint8_t* out) {
  for (size_t i = 0; i < samples.size(); ++i) {
    if (spec.bits_allocated == 8) {
      out[i] = uint8_t(samples[i]);
    } else {
      out[2 * i] = uint8_t(samples[i]);
      out[2 * i + 1] = uint8_t(uint32_t(samples[i]) >> 8);
    }
  }
}

class Decoder : public DcmCodec {
 public:
  OFCondition decode(const DcmRepresentationParameter*, DcmPixelSequence* sequence,
                     DcmPolymorphOBOW& pixels, const DcmCodecParameter*, const DcmStack& stack,
                     OFBool& removeOldRep) const override {
    try {
      DcmStack local(stack);
      local.pop();  // the Pixel Data element; below it, the item holding it
      DcmObject* parent = local.pop();
      if (parent == nullptr || (parent->ident() != EVR_dataset && parent->ident() != EVR_item))
        return EC_InvalidTag;
      DcmItem* item = static_cast<DcmItem*>(parent);
      const Image image = image_of(item);
      const size_t frame_bytes = size_t(image.spec.width) * image.spec.height * image.spec.samples *
                                 (image.spec.bits_allocated / 8);
      const uint64_t total = uint64_t(frame_bytes) * image.frames;
      if (total >= 0xFFFFFFFEull) return EC_ElemLengthExceeds32BitField;
      const std::vector<Bytes> codestreams = frames_of(sequence, image.frames);
      Uint16* words = nullptr;
      if (pixels.createUint16Array(Uint32((total + 1) / 2), words).bad()) return EC_MemoryExhausted;
      auto* out = reinterpret_cast<uint8_t*>(words);
      if (total % 2) out[total] = 0;
      for (size_t f = 0; f < codestreams.size(); ++f)
        put_samples(decode_codestream(codestreams[f], image.spec), image.spec,
                    out + f * frame_bytes);
      if (image.spec.samples == 3) {
        item->putAndInsertUint16(DCM_PlanarConfiguration, 0);
        item->putAndInsertString(DCM_PhotometricInterpretation,
                                 decoded_colour_model(image.photometric).c_str());
        removeOldRep = OFTrue;  // the old pixel data no longer matches the dataset's attributes
      }
      return EC_Normal;
    } catch (const std::exception&) {
      return EC_CannotChangeRepresentation;
    }
  }

  OFCondition decodeFrame(const DcmRepresentationParameter*, DcmPixelSequence* sequence,
                          const DcmCodecParameter*, DcmItem* dataset, Uint32 frame,
                          Uint32& startFragment, void* buffer, Uint32 size,
                          OFString& colourModel) const override {
    try {
      const Image image = image_of(dataset);
      if (frame >= image.frames) return EC_IllegalParameter;
      const std::vector<Bytes> codestreams = frames_of(sequence, image.frames);
      const Samples samples = decode_codestream(codestreams.at(frame), image.spec);
      if (uint64_t(samples.size()) * (image.spec.bits_allocated / 8) > size) return EC_IllegalCall;
      put_samples(samples, image.spec, static_cast<uint8_t*>(buffer));
      startFragment = 0;  // unknown: DCMTK looks it up again for the next frame
      colourModel = decoded_colour_model(image.photometric).c_str();
      return EC_Normal;
    } catch (const std::exception&) {
      return EC_CannotChangeRepresentation;
    }
  }

  OFCondition encode(const Uint16*, const Uint32, const DcmRepresentationParameter*,
                     DcmPixelSequence*&, const DcmCodecParameter*, DcmStack&,
                     OFBool&) const override {
    return EC_IllegalCall;
  }

  OFCondition encode(const E_TransferSyntax, const DcmRepresentationParameter*, DcmPixelSequence*,
                     const DcmRepresentationParameter*, DcmPixelSequence*&,
                     const DcmCodecParameter*, DcmStack&, OFBool&) const override {
    return EC_IllegalCall;
  }

  OFBool canChangeCoding(const E_TransferSyntax from, const E_TransferSyntax to) const override {
    return is_htj2k_xfer(from) && DcmXfer(to).isPixelDataUncompressed();
  }

  Uint16 decodedBitsAllocated(Uint16 allocated, Uint16) const override {
    return allocated == 8 || allocated == 16 ? allocated : 0;
  }

  OFCondition determineDecompressedColorModel(const DcmRepresentationParameter*, DcmPixelSequence*,
                                              const DcmCodecParameter*, DcmItem* dataset,
                                              OFString& colourModel) const override {
    OFString photometric;
    if (dataset == nullptr ||
        dataset->findAndGetOFString(DCM_PhotometricInterpretation, photometric).bad())
      return EC_IllegalParameter;
    colourModel = decoded_colour_model(photometric.c_str()).c_str();
    return EC_Normal;
  }

 private:
  static Samples decode_codestream(const Bytes& codestream, const FrameSpec& spec) {
    return nn::decode(codestream.data(), codestream.size(), spec);
  }
};

Decoder decoder;
Representation representation;
Parameter parameter;

}  // namespace

bool register_dcmtk_decoder() {
  return DcmCodecList::registerCodec(&decoder, &representation, &parameter).good();
}

void deregister_dcmtk_decoder() { DcmCodecList::deregisterCodec(&decoder); }

}  // namespace nn
