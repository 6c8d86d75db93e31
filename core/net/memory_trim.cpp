#include "core/net/memory_trim.hpp"

#include <malloc.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <string>

#include "core/ops/log.hpp"

namespace mailgate::net {
namespace {

// Resident set size in bytes (/proc/self/statm), or 0 when it cannot be read.
size_t residentBytes() {
    std::FILE* file = std::fopen("/proc/self/statm", "r");
    if (file == nullptr) {
        return 0;
    }
    unsigned long total = 0;
    unsigned long resident = 0;
    const int read = std::fscanf(file, "%lu %lu", &total, &resident);
    std::fclose(file);
    return read == 2 ? resident * static_cast<size_t>(sysconf(_SC_PAGESIZE)) : 0;
}

std::string megabytes(size_t bytes) {
    char text[32];
    std::snprintf(text, sizeof text, "%.1f MB", static_cast<double>(bytes) / 1e6);
    return text;
}

}  // namespace

void MemoryTrim::noteOpen(size_t open_sessions) {
    peak_ = std::max(peak_, open_sessions);
}

bool MemoryTrim::due(size_t open_sessions) const {
    return peak_ >= kMinimumPeak && open_sessions * 4 <= peak_;
}

void MemoryTrim::trim(size_t open_sessions) {
    const size_t before = residentBytes();
    malloc_trim(0);
    const size_t after = residentBytes();
    ops::logInfo("returned freed memory to the system after a peak of " + std::to_string(peak_) +
                 " sessions: resident " + megabytes(before) + " -> " + megabytes(after));
    peak_ = open_sessions;
}

}  // namespace mailgate::net
