// Pure: see dicom_file.h.
#include "dicom_file.h"

#include <algorithm>
#include <cstdio>
#include <cstring>

namespace nn {
namespace {

constexpr uint32_t kItem = tag(0xFFFE, 0xE000);
constexpr uint32_t kItemEnd = tag(0xFFFE, 0xE00D);
constexpr uint32_t kSequenceEnd = tag(0xFFFE, 0xE0DD);
constexpr int kMaxDepth = 32;  // nested sequences deeper than this are refused, not recursed into

uint16_t u16(const uint8_t* p) { return uint16_t(p[0] | (p[1] << 8)); }
uint32_t u32(const uint8_t* p) {
  return uint32_t(p[0]) | (uint32_t(p[1]) << 8) | (uint32_t(p[2]) << 16) | (uint32_t(p[3]) << 24);
}
bool is_vr(const char* vr, const char* want) { return vr[0] == want[0] && vr[1] == want[1]; }

// Bounds-checked reads over the file buffer; every overrun is a DicomError, never a read.
class Reader {
 public:
  Reader(const uint8_t* data, size_t size) : d_(data), n_(size) {}

  void need(size_t pos, size_t count) const {
    if (pos > n_ || count > n_ - pos)
      throw DicomError("truncated DICOM file (byte " + std::to_string(pos) + ")");
  }
  uint32_t tag_at(size_t pos) const {
    need(pos, 4);
    return (uint32_t(u16(d_ + pos)) << 16) | u16(d_ + pos + 2);
  }
  uint32_t u32_at(size_t pos) const {
    need(pos, 4);
    return u32(d_ + pos);
  }

  // One Explicit VR Little Endian element at pos; undefined lengths are walked to their end.
  Element element(size_t pos, int depth) const {
    Element e;
    e.start = pos;
    e.tag = tag_at(pos);
    uint32_t length;
    if ((e.tag >> 16) == 0xFFFE) throw DicomError("item tag outside a sequence");
    need(pos, 8);
    e.vr[0] = char(d_[pos + 4]);
    e.vr[1] = char(d_[pos + 5]);
    if (e.vr[0] < 'A' || e.vr[0] > 'Z' || e.vr[1] < 'A' || e.vr[1] > 'Z')
      throw DicomError("not Explicit VR (element " + hex(e.tag) + ")");
    if (long_vr(e.vr)) {
      length = u32_at(pos + 8);
      e.value = pos + 12;
    } else {
      length = u16(d_ + pos + 6);
      e.value = pos + 8;
    }
    if (length != kUndefined) {
      need(e.value, length);
      e.end = e.value + length;
      return e;
    }
    e.undefined_length = true;
    if (is_vr(e.vr, "SQ") || is_vr(e.vr, "OB") || is_vr(e.vr, "OW"))
      e.end = skip_items(e.value, depth + 1, true);  // a sequence, or encapsulated pixel data
    else if (is_vr(e.vr, "UN"))
      e.end = skip_items(e.value, depth + 1, false);  // CP-246: content in Implicit VR
    else
      throw DicomError("undefined length on VR " + std::string(e.vr, 2));
    return e;
  }

  static std::string hex(uint32_t t) {
    char s[16];
    snprintf(s, sizeof s, "(%04X,%04X)", t >> 16, t & 0xFFFF);
    return s;
  }

 private:
  // Items up to the sequence delimiter; returns the position after it.
  size_t skip_items(size_t pos, int depth, bool explicit_vr) const {
    if (depth > kMaxDepth) throw DicomError("sequences nested too deep");
    for (;;) {
      const uint32_t t = tag_at(pos);
      const uint32_t length = u32_at(pos + 4);
      pos += 8;
      if (t == kSequenceEnd) return pos;
      if (t != kItem) throw DicomError("expected an item, found " + hex(t));
      if (length == kUndefined) {
        pos = skip_item_elements(pos, depth, explicit_vr);
      } else {
        need(pos, length);
        pos += length;
      }
    }
  }

  // Elements of an undefined-length item, up to its delimiter.
  size_t skip_item_elements(size_t pos, int depth, bool explicit_vr) const {
    for (;;) {
      const uint32_t t = tag_at(pos);
      if (t == kItemEnd) {
        need(pos, 8);
        return pos + 8;
      }
      if (explicit_vr) {
        pos = element(pos, depth).end;
        continue;
      }
      const uint32_t length = u32_at(pos + 4);
      pos += 8;
      if (length == kUndefined) {
        pos = skip_items(pos, depth + 1, false);
      } else {
        need(pos, length);
        pos += length;
      }
    }
  }

  const uint8_t* d_;
  size_t n_;
};

std::string trimmed(const uint8_t* p, size_t n) {
  std::string s(reinterpret_cast<const char*>(p), n);
  while (!s.empty() && (s.back() == '\0' || s.back() == ' ')) s.pop_back();
  while (!s.empty() && s.front() == ' ') s.erase(s.begin());
  return s;
}

// The File Meta Information group; returns the position where the dataset starts.
size_t read_meta(const Reader& r, const uint8_t* data, size_t size, std::vector<Element>& meta,
                 std::string& transfer_syntax) {
  if (size < kPreamble + 4 || std::memcmp(data + kPreamble, "DICM", 4) != 0)
    throw DicomError("not a DICOM Part 10 file (no DICM prefix)");
  size_t pos = kPreamble + 4;
  while (pos + 4 <= size && (r.tag_at(pos) >> 16) == 0x0002) {
    Element e = r.element(pos, 0);
    if (e.undefined_length) throw DicomError("undefined length in File Meta Information");
    if (e.tag == kTransferSyntaxUid) transfer_syntax = trimmed(data + e.value, e.end - e.value);
    meta.push_back(e);
    pos = e.end;
  }
  if (transfer_syntax.empty()) throw DicomError("no Transfer Syntax UID in File Meta Information");
  return pos;
}

}  // namespace

DicomFile::DicomFile(const uint8_t* data, size_t size) : data_(data), size_(size) {
  Reader r(data, size);
  size_t pos = read_meta(r, data, size, meta_, transfer_syntax_);
  uint32_t previous = 0;
  while (pos < size) {
    Element e = r.element(pos, 0);
    if (!dataset_.empty() && e.tag <= previous)
      throw DicomError("elements out of order at " + Reader::hex(e.tag));
    previous = e.tag;
    dataset_.push_back(e);
    pos = e.end;
  }
}

const Element* DicomFile::find(uint32_t t) const {
  auto it = std::lower_bound(dataset_.begin(), dataset_.end(), t,
                             [](const Element& e, uint32_t v) { return e.tag < v; });
  return it != dataset_.end() && it->tag == t ? &*it : nullptr;
}

std::optional<uint16_t> DicomFile::us(uint32_t t) const {
  const Element* e = find(t);
  if (e == nullptr || e->end - e->value != 2) return std::nullopt;
  return u16(data_ + e->value);
}

std::optional<std::string> DicomFile::text(uint32_t t) const {
  const Element* e = find(t);
  if (e == nullptr || e->undefined_length) return std::nullopt;
  return trimmed(data_ + e->value, e->end - e->value);
}

uint32_t DicomFile::number_of_frames() const {
  const auto value = text(kNumberOfFrames);
  if (!value || value->empty()) return 1;
  if (value->size() > 9 || value->find_first_not_of("0123456789") != std::string::npos)
    throw DicomError("bad Number of Frames: " + *value);
  return uint32_t(std::stoul(*value));
}

std::vector<Bytes> DicomFile::encapsulated_frames(uint32_t frames,
                                                  std::optional<uint32_t> only) const {
  const Element* pixels = find(kPixelData);
  if (pixels == nullptr || !pixels->undefined_length)
    throw DicomError("Pixel Data is not encapsulated");
  const Reader r(data_, size_);
  size_t pos = pixels->value;
  if (r.tag_at(pos) != kItem) throw DicomError("no Basic Offset Table item");
  const uint32_t table_length = r.u32_at(pos + 4);
  r.need(pos + 8, table_length);
  const size_t table = pos + 8;
  pos = table + table_length;
  std::vector<Fragment> fragments;
  while (r.tag_at(pos) == kItem) {
    const uint32_t length = r.u32_at(pos + 4);
    r.need(pos + 8, length);
    fragments.push_back(Fragment{pos + 8, length, pos});
    pos += 8 + size_t(length);
  }
  if (fragments.empty() || frames == 0) throw DicomError("no fragment in Pixel Data");

  std::vector<uint32_t> entries;
  for (size_t at = table; at + 4 <= table + table_length; at += 4)
    entries.push_back(u32(data_ + at));
  std::vector<uint64_t> starts;
  std::vector<bool> soc;
  for (const Fragment& f : fragments) {
    starts.push_back(f.item_start - fragments[0].item_start);
    soc.push_back(f.length >= 2 && data_[f.offset] == 0xFF && data_[f.offset + 1] == 0x4F);
  }
  const std::vector<size_t> first = frame_starts(frames, entries, starts, soc);
  if (only && *only >= first.size()) throw DicomError("no such frame");
  std::vector<Bytes> out;
  for (size_t i = only.value_or(0); i < (only ? *only + 1 : first.size()); ++i) {
    const size_t stop = i + 1 < first.size() ? first[i + 1] : fragments.size();
    Bytes frame;
    for (size_t f = first[i]; f < stop; ++f)
      frame.insert(frame.end(), data_ + fragments[f].offset,
                   data_ + fragments[f].offset + fragments[f].length);
    out.push_back(std::move(frame));
  }
  return out;
}

std::vector<size_t> frame_starts(uint32_t frames, const std::vector<uint32_t>& table,
                                 const std::vector<uint64_t>& starts,
                                 const std::vector<bool>& soc) {
  if (starts.empty() || frames == 0) throw DicomError("no fragment in Pixel Data");
  std::vector<size_t> first;
  if (frames == 1) return {0};
  if (table.size() == frames) {
    for (uint32_t offset : table) {
      const auto it = std::find(starts.begin(), starts.end(), uint64_t(offset));
      const size_t index = size_t(it - starts.begin());
      if (it == starts.end() || (!first.empty() && index <= first.back()))
        throw DicomError("Basic Offset Table does not match the fragments");
      first.push_back(index);
    }
    if (first[0] != 0) throw DicomError("Basic Offset Table does not start at the first fragment");
    return first;
  }
  if (starts.size() == frames) {
    for (uint32_t i = 0; i < frames; ++i) first.push_back(i);
    return first;
  }
  for (size_t i = 0; i < soc.size(); ++i)
    if (soc[i]) first.push_back(i);
  if (first.size() != frames || first[0] != 0)
    throw DicomError("cannot tell which fragments belong to which frame");
  return first;
}

std::string peek_transfer_syntax(const uint8_t* data, size_t size) {
  try {
    std::vector<Element> meta;
    std::string transfer_syntax;
    read_meta(Reader(data, size), data, size, meta, transfer_syntax);
    return transfer_syntax;
  } catch (const DicomError&) {
    return "";
  }
}

std::string peek_sop_instance_uid(const uint8_t* data, size_t size) {
  try {
    std::vector<Element> meta;
    std::string transfer_syntax;
    read_meta(Reader(data, size), data, size, meta, transfer_syntax);
    for (const Element& e : meta)
      if (e.tag == tag(0x0002, 0x0003)) return trimmed(data + e.value, e.end - e.value);
  } catch (const DicomError&) {
  }
  return "";
}

}  // namespace nn
