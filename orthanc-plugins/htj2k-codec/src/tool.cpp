// Wiring: a command-line front end to the codec, for the tests and for fuzzing (an ASan build
// of it runs the same code Orthanc loads, without Orthanc).
//   htj2k-tool to-native IN OUT                     HTJ2K file -> Explicit VR Little Endian
//   htj2k-tool to-htj2k IN OUT TARGET ORIGINAL      Explicit VR LE file -> HTJ2K (verified)
//   htj2k-tool frame IN INDEX OUT                   one decoded frame as int32 LE samples
//   htj2k-tool fuzz IN ROUNDS SEED                  mutated copies of IN through every path
//   htj2k-tool time IN ROUNDS                       ms per encode (+verify) and per decode of IN
// Exit status: 0 done, 1 refused or failed cleanly (message on stderr), 2 usage.
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>
#include <random>

#include "codec.h"

namespace {

nn::Bytes read_file(const char* path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error(std::string("cannot read ") + path);
  return nn::Bytes(std::istreambuf_iterator<char>(in), {});
}

void write_file(const char* path, const nn::Bytes& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
  if (!out) throw std::runtime_error(std::string("cannot write ") + path);
}

// Every entry point Orthanc can reach with these bytes; exceptions are the expected outcome.
int run_all(const nn::Bytes& b) {
  int clean = 0;
  try {
    nn::decode_frame(b.data(), b.size(), 0);
  } catch (const std::exception&) {
    ++clean;
  }
  try {
    nn::htj2k_to_native(b.data(), b.size());
  } catch (const std::exception&) {
    ++clean;
  }
  try {
    nn::native_to_htj2k(b.data(), b.size(), nn::kHtj2kLosslessRpcl, nn::kExplicitLittleEndian);
  } catch (const std::exception&) {
    ++clean;
  }
  nn::peek_transfer_syntax(b.data(), b.size());
  return clean;
}

// Truncations, byte flips and overwrites, biased to the end of the file where pixel data is.
int fuzz(const nn::Bytes& original, long rounds, unsigned seed) {
  std::mt19937 random(seed);
  long errors = 0;
  for (long r = 0; r < rounds; ++r) {
    nn::Bytes b = original;
    std::uniform_int_distribution<size_t> any(0, b.size() - 1);
    std::uniform_int_distribution<size_t> tail(b.size() * 3 / 4, b.size() - 1);
    switch (r % 4) {
      case 0:
        b.resize(tail(random));
        break;
      case 1:
        for (int i = 0; i < 1 + int(random() % 8); ++i)
          b[tail(random)] ^= uint8_t(1 + random() % 255);
        break;
      case 2:
        for (int i = 0; i < 1 + int(random() % 4); ++i) b[any(random)] = uint8_t(random());
        break;
      default: {
        const size_t at = tail(random);
        b.insert(b.begin() + long(at), size_t(random() % 64), uint8_t(random()));
      }
    }
    errors += run_all(b);
  }
  std::printf("fuzz: %ld rounds, %ld clean errors, no crash\n", rounds, errors);
  return 0;
}

// In-process cost of what Orthanc's callbacks do with IN (an Explicit VR Little Endian file).
int time_paths(const nn::Bytes& native, long rounds) {
  using clock = std::chrono::steady_clock;
  auto started = clock::now();
  nn::Bytes htj2k;
  for (long r = 0; r < rounds; ++r)
    htj2k = nn::native_to_htj2k(native.data(), native.size(), nn::kHtj2kLosslessRpcl,
                                nn::kExplicitLittleEndian);
  const double encode = std::chrono::duration<double, std::milli>(clock::now() - started).count();
  started = clock::now();
  for (long r = 0; r < rounds; ++r) nn::htj2k_to_native(htj2k.data(), htj2k.size());
  const double decode = std::chrono::duration<double, std::milli>(clock::now() - started).count();
  std::printf("encode+verify %.3f ms, decode %.3f ms per instance; %zu -> %zu bytes\n",
              encode / rounds, decode / rounds, native.size(), htj2k.size());
  return 0;
}

int run(int argc, char** argv) {
  const std::string command = argc > 1 ? argv[1] : "";
  if (command == "to-native" && argc == 4) {
    const nn::Bytes in = read_file(argv[2]);
    write_file(argv[3], nn::htj2k_to_native(in.data(), in.size()));
  } else if (command == "to-htj2k" && argc == 6) {
    const nn::Bytes in = read_file(argv[2]);
    write_file(argv[3], nn::native_to_htj2k(in.data(), in.size(), argv[4], argv[5]));
  } else if (command == "frame" && argc == 5) {
    const nn::Bytes in = read_file(argv[2]);
    const nn::DecodedFrame f =
        nn::decode_frame(in.data(), in.size(), uint32_t(std::stoul(argv[3])));
    nn::Bytes out;
    for (int32_t v : f.samples)
      for (int i = 0; i < 4; ++i) out.push_back(uint8_t(uint32_t(v) >> (8 * i)));
    write_file(argv[4], out);
    std::printf("%u %u %u %u %d\n", f.spec.width, f.spec.height, f.spec.samples,
                f.spec.bits_allocated, int(f.spec.is_signed));
  } else if (command == "time" && argc == 4) {
    return time_paths(read_file(argv[2]), std::stol(argv[3]));
  } else if (command == "fuzz" && argc == 5) {
    return fuzz(read_file(argv[2]), std::stol(argv[3]), unsigned(std::stoul(argv[4])));
  } else {
    std::fprintf(stderr, "usage: see the header of tool.cpp\n");
    return 2;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  nn::configure_openjph_messages();
  try {
    return run(argc, argv);
  } catch (const nn::Refused& e) {
    std::fprintf(stderr, "refused: %s\n", e.what());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
  }
  return 1;
}
