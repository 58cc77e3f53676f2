// Pure: a DICOM Part 10 file in Explicit VR Little Endian (native or encapsulated), read and
// rewritten element by element.
//
// Decision: the plugin parses only Explicit VR Little Endian datasets itself (every HTJ2K file is
// one); any other source syntax is first converted to Explicit VR Little Endian by Orthanc's own
// transcoder (DCMTK). So this reader needs no data dictionary, and a rewritten file is the input
// file byte for byte except the elements the caller replaces. Every read is bounds-checked: the
// code runs inside Orthanc's process, on whatever a modality or a REST client sent.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace nn {

using Bytes = std::vector<uint8_t>;

// A malformed file or an unsupported structure; what() says which (for Orthanc's log).
struct DicomError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

constexpr uint32_t tag(uint16_t group, uint16_t element) {
  return (uint32_t(group) << 16) | element;
}
constexpr uint32_t kTransferSyntaxUid = tag(0x0002, 0x0010);
constexpr uint32_t kSopClassUid = tag(0x0008, 0x0016);
constexpr uint32_t kSamplesPerPixel = tag(0x0028, 0x0002);
constexpr uint32_t kPhotometric = tag(0x0028, 0x0004);
constexpr uint32_t kPlanarConfiguration = tag(0x0028, 0x0006);
constexpr uint32_t kNumberOfFrames = tag(0x0028, 0x0008);
constexpr uint32_t kRows = tag(0x0028, 0x0010);
constexpr uint32_t kColumns = tag(0x0028, 0x0011);
constexpr uint32_t kBitsAllocated = tag(0x0028, 0x0100);
constexpr uint32_t kBitsStored = tag(0x0028, 0x0101);
constexpr uint32_t kHighBit = tag(0x0028, 0x0102);
constexpr uint32_t kPixelRepresentation = tag(0x0028, 0x0103);
constexpr uint32_t kIconImageSequence = tag(0x0088, 0x0200);
constexpr uint32_t kExtendedOffsetTable = tag(0x7FE0, 0x0001);
constexpr uint32_t kExtendedOffsetTableLengths = tag(0x7FE0, 0x0002);
constexpr uint32_t kPixelData = tag(0x7FE0, 0x0010);
constexpr uint32_t kUndefined = 0xFFFFFFFF;  // undefined length
constexpr size_t kPreamble = 128;

// VRs whose Explicit VR encoding has a 4-byte length (PS3.5 7.1.2).
bool long_vr(const char* vr);

// One element as found in the file: its encoded bytes are [start, end), its value [value, end).
struct Element {
  uint32_t tag = 0;
  char vr[2] = {0, 0};
  size_t start = 0;
  size_t value = 0;
  size_t end = 0;
  bool undefined_length = false;
};

// The Pixel Data of an encapsulated syntax: the Basic Offset Table and each fragment's bytes
// (offsets into the file buffer, so nothing is copied).
struct Fragment {
  size_t offset = 0;
  size_t length = 0;
  size_t item_start = 0;  // where its item header starts (Basic Offset Table offsets count from
                          // the first fragment's item header)
};

class DicomFile {
 public:
  // Parses the preamble, the File Meta Information and the top-level dataset. Throws DicomError.
  DicomFile(const uint8_t* data, size_t size);

  const std::string& transfer_syntax() const { return transfer_syntax_; }
  const std::vector<Element>& meta() const { return meta_; }
  const std::vector<Element>& dataset() const { return dataset_; }
  const uint8_t* data() const { return data_; }

  const Element* find(uint32_t tag) const;
  std::optional<uint16_t> us(uint32_t tag) const;       // US value, if present and 2 bytes long
  std::optional<std::string> text(uint32_t tag) const;  // string value without trailing pad
  uint32_t number_of_frames() const;                    // 1 when absent or empty

  // Encapsulated Pixel Data: the codestream bytes of each frame (fragments joined as needed),
  // or of frame `only` alone.
  std::vector<Bytes> encapsulated_frames(uint32_t frames,
                                         std::optional<uint32_t> only = std::nullopt) const;

 private:
  const uint8_t* data_;
  size_t size_;
  std::string transfer_syntax_;
  std::vector<Element> meta_;
  std::vector<Element> dataset_;
};

// Which fragments make each frame: the index of each frame's first fragment. `table` holds the
// Basic Offset Table entries, `starts` each fragment's item offset from the first fragment's
// item, `soc` whether each fragment begins with the SOC marker (FF4F) that opens every HTJ2K
// codestream. Tries, in order: one frame; the table; one fragment per frame; SOC markers.
std::vector<size_t> frame_starts(uint32_t frames, const std::vector<uint32_t>& table,
                                 const std::vector<uint64_t>& starts, const std::vector<bool>& soc);

// Reads only the File Meta Information: the transfer syntax UID, or "" if this is not a Part 10
// file. Cheap, used to decline every non-HTJ2K file before any real parsing.
std::string peek_transfer_syntax(const uint8_t* data, size_t size);

// The Media Storage SOP Instance UID from the File Meta Information ("" if none): names the
// instance in log messages.
std::string peek_sop_instance_uid(const uint8_t* data, size_t size);

// An element to write: tag, VR and value bytes (padded to even length by the writer).
struct NewElement {
  uint32_t tag;
  std::string vr;
  Bytes value;
  bool undefined_length = false;  // only for encapsulated Pixel Data (value holds the items)
};

NewElement us_element(uint32_t tag, uint16_t value);
NewElement string_element(uint32_t tag, const std::string& vr, const std::string& value);

// Encapsulated Pixel Data (7FE0,0010) OB: a Basic Offset Table (filled when several frames),
// one fragment per frame, the sequence delimiter.
NewElement encapsulated_pixel_data(const std::vector<Bytes>& codestreams);

// The same file with a new transfer syntax, `replace` elements replacing or adding top-level
// ones, `remove` tags dropped, a zero preamble and recomputed group lengths. Elements are kept
// in ascending tag order; everything else is copied byte for byte.
Bytes rewrite(const DicomFile& source, const std::string& transfer_syntax,
              const std::vector<NewElement>& replace, const std::vector<uint32_t>& remove);

}  // namespace nn
