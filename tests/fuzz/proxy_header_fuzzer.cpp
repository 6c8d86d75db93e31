// libFuzzer target: the PROXY protocol header parser (core/net/proxy_protocol.cpp), with its
// invariants: a complete header is complete on its own and at the same length; every shorter
// prefix of it is incomplete (a header split across reads is never refused); an incomplete
// input always asks for more than it has and never for more than the largest header.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "core/net/proxy_protocol.hpp"

namespace {

namespace proxy = mailgate::net::proxy;

void check(bool condition) {
    if (!condition) {
        std::abort();
    }
}

bool sameHeader(const proxy::Header& a, const proxy::Header& b) {
    const auto same = [](const auto& x, const auto& y) {
        return x.has_value() == y.has_value() &&
               (!x || (x->address == y->address && x->port == y->port));
    };
    return a.version == b.version && same(a.source, b.source) && same(a.destination, b.destination);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    const proxy::ParseResult result = proxy::parseHeader(input);
    switch (result.status) {
        case proxy::Status::Invalid:
            check(!result.error.empty());
            break;
        case proxy::Status::Incomplete:
            check(result.wanted > input.size());
            check(result.wanted <= proxy::kMaxV2Length);
            break;
        case proxy::Status::Complete: {
            check(result.length > 0 && result.length <= input.size());
            check(result.header.version == 1 || result.header.version == 2);
            check(result.header.version == 2 || result.length <= proxy::kMaxV1Length);
            check(result.header.source.has_value() == result.header.destination.has_value());
            const proxy::ParseResult alone = proxy::parseHeader(input.substr(0, result.length));
            check(alone.status == proxy::Status::Complete && alone.length == result.length);
            check(sameHeader(alone.header, result.header));
            // Every prefix for short headers; a sample of them for long ones.
            const size_t step = result.length <= 256 ? 1 : result.length / 97 + 1;
            for (size_t n = 0; n < result.length; n += step) {
                const proxy::ParseResult part = proxy::parseHeader(input.substr(0, n));
                check(part.status == proxy::Status::Incomplete);
                check(part.wanted > n);
            }
            break;
        }
    }
    return 0;
}
