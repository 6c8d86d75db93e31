#pragma once

// The one place that decides how the rest of the code spells Asio.
#include <boost/asio.hpp>

namespace mailgate {
namespace asio = boost::asio;
using tcp = boost::asio::ip::tcp;
using error_code = boost::system::error_code;
template <typename T>
using awaitable = boost::asio::awaitable<T>;
// Completion token for coroutines that returns errors as values instead of throwing.
inline constexpr auto use_nothrow = boost::asio::as_tuple(boost::asio::use_awaitable);
}  // namespace mailgate
