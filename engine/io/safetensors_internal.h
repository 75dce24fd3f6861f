// Helpers shared by the safetensors sources (engine/io/safetensors_*.cpp), not part of the
// interface of safetensors.h: shape text for errors, the CRC32 the writer stores and the reader
// checks, the header size limit, and the list of supported dtypes.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "engine/io/safetensors.h"

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
              "safetensors data is little-endian; this code copies it as host bytes");

namespace mlcn::st_detail {

inline constexpr uint64_t kMaxHeader = 100000000;  // the reference reader's MAX_HEADER_SIZE
inline constexpr StDType kAllDTypes[] = {StDType::U8, StDType::I32, StDType::I64, StDType::F32, StDType::F64};

std::string shape_str(const std::vector<int64_t>& shape);  // "[2, 3]"
std::string crc_hex(uint32_t crc);                         // 8 lowercase hex digits
// CRC32 (zlib) of p (n bytes), continuing from `crc` (0: a fresh checksum).
uint32_t crc_of(const uint8_t* p, size_t n, uint32_t crc = 0);

}  // namespace mlcn::st_detail
