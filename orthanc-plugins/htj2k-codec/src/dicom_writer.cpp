// Pure: writing elements and whole files (see dicom_file.h).
#include <algorithm>

#include "dicom_file.h"

namespace nn {

bool long_vr(const char* vr) {
  static const char* const kLong[] = {"OB", "OD", "OF", "OL", "OV", "OW", "SQ",
                                      "SV", "UC", "UN", "UR", "UT", "UV"};
  for (const char* v : kLong)
    if (vr[0] == v[0] && vr[1] == v[1]) return true;
  return false;
}

namespace {

void put16(Bytes& out, uint16_t v) { out.insert(out.end(), {uint8_t(v), uint8_t(v >> 8)}); }
void put32(Bytes& out, uint32_t v) {
  out.insert(out.end(), {uint8_t(v), uint8_t(v >> 8), uint8_t(v >> 16), uint8_t(v >> 24)});
}

bool text_vr(const std::string& vr) {
  static const char* const kText[] = {"AE", "AS", "CS", "DA", "DS", "DT", "IS", "LO",
                                      "LT", "PN", "SH", "ST", "TM", "UC", "UR", "UT"};
  return std::any_of(std::begin(kText), std::end(kText), [&](const char* v) { return vr == v; });
}

void encode(Bytes& out, const NewElement& e) {
  if (e.vr.size() != 2) throw DicomError("bad VR");
  const bool pad = !e.undefined_length && e.value.size() % 2;
  const uint64_t size = e.value.size() + (pad ? 1 : 0);
  if (size > 0xFFFFFFFEu) throw DicomError("element larger than 4 GiB");
  put16(out, uint16_t(e.tag >> 16));
  put16(out, uint16_t(e.tag));
  out.insert(out.end(), e.vr.begin(), e.vr.end());
  const uint32_t length = e.undefined_length ? kUndefined : uint32_t(size);
  if (long_vr(e.vr.c_str())) {
    put16(out, 0);
    put32(out, length);
  } else {
    if (size > 0xFFFF) throw DicomError("value too long for VR " + e.vr);
    put16(out, uint16_t(length));
  }
  out.insert(out.end(), e.value.begin(), e.value.end());
  if (pad) out.push_back(text_vr(e.vr) ? ' ' : '\0');
}

// Elements keyed by tag, as encoded bytes; group lengths (gggg,0000) recomputed on output.
void write_group(Bytes& out, const std::map<uint32_t, Bytes>& elements) {
  for (const auto& [t, bytes] : elements) {
    if ((t & 0xFFFF) != 0) {
      out.insert(out.end(), bytes.begin(), bytes.end());
      continue;
    }
    uint64_t length = 0;
    for (auto it = elements.upper_bound(t); it != elements.end() && (it->first >> 16) == (t >> 16);
         ++it)
      length += it->second.size();
    if (length > 0xFFFFFFFFu) throw DicomError("group too long");
    Bytes v;
    put32(v, uint32_t(length));
    encode(out, NewElement{t, "UL", v});
  }
}

}  // namespace

NewElement us_element(uint32_t t, uint16_t value) {
  return NewElement{t, "US", {uint8_t(value), uint8_t(value >> 8)}};
}

NewElement string_element(uint32_t t, const std::string& vr, const std::string& value) {
  Bytes v(value.begin(), value.end());
  if (v.size() % 2) v.push_back(vr == "UI" ? '\0' : ' ');
  return NewElement{t, vr, v};
}

NewElement encapsulated_pixel_data(const std::vector<Bytes>& codestreams) {
  Bytes items;
  Bytes table;
  uint64_t offset = 0;
  for (const Bytes& c : codestreams) {
    if (codestreams.size() > 1) {
      if (offset > 0xFFFFFFFFu) throw DicomError("more than 4 GiB of frames");
      put32(table, uint32_t(offset));
    }
    offset += 8 + c.size() + c.size() % 2;
  }
  put16(items, 0xFFFE);
  put16(items, 0xE000);
  put32(items, uint32_t(table.size()));
  items.insert(items.end(), table.begin(), table.end());
  for (const Bytes& c : codestreams) {
    put16(items, 0xFFFE);
    put16(items, 0xE000);
    put32(items, uint32_t(c.size() + c.size() % 2));
    items.insert(items.end(), c.begin(), c.end());
    if (c.size() % 2) items.push_back(0);  // pad after the EOC marker, as PS3.5 A.4 allows
  }
  put16(items, 0xFFFE);
  put16(items, 0xE0DD);
  put32(items, 0);
  return NewElement{kPixelData, "OB", items, true};
}

Bytes rewrite(const DicomFile& source, const std::string& transfer_syntax,
              const std::vector<NewElement>& replace, const std::vector<uint32_t>& remove) {
  const uint8_t* d = source.data();
  auto raw = [d](const Element& e) { return Bytes(d + e.start, d + e.end); };

  std::map<uint32_t, Bytes> meta;
  for (const Element& e : source.meta())
    if (e.tag != kTransferSyntaxUid) meta[e.tag] = raw(e);
  Bytes ts;
  encode(ts, string_element(kTransferSyntaxUid, "UI", transfer_syntax));
  meta[kTransferSyntaxUid] = ts;
  meta[tag(0x0002, 0x0000)] = {};  // always written, recomputed

  std::map<uint32_t, Bytes> dataset;
  for (const Element& e : source.dataset())
    if (std::find(remove.begin(), remove.end(), e.tag) == remove.end()) dataset[e.tag] = raw(e);
  for (const NewElement& e : replace) {
    if ((e.tag >> 16) == 0x0002) throw DicomError("meta elements are not replaced here");
    Bytes bytes;
    encode(bytes, e);
    dataset[e.tag] = std::move(bytes);
  }

  Bytes out(kPreamble, 0);  // a zero preamble: no executable polyglot survives a rewrite
  out.insert(out.end(), {'D', 'I', 'C', 'M'});
  write_group(out, meta);
  write_group(out, dataset);
  return out;
}

}  // namespace nn
