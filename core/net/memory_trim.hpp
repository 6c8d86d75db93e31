#pragma once

#include <cstddef>

namespace mailgate::net {

// Gives freed heap memory back to the system once a burst of sessions is over. glibc keeps what
// sessions free in its arenas for reuse: after 10,000 idle connections close, about 80 MB stay
// resident. When the open sessions have fallen to a quarter of the peak since the last trim (and
// that peak was a burst worth trimming after), malloc_trim returns the free pages.
// Used from one thread only (the main I/O thread, where connections are accepted).
class MemoryTrim {
  public:
    static constexpr size_t kMinimumPeak = 256;

    void noteOpen(size_t open_sessions);
    bool due(size_t open_sessions) const;
    // Trims, logs the resident size before and after, and starts a new peak.
    void trim(size_t open_sessions);

  private:
    size_t peak_ = 0;
};

}  // namespace mailgate::net
