// Unit tests of the net layer: two connected loopback TCP sockets on one io_context.
#pragma once

#include "core/net/asio.hpp"

namespace mailgate::net::test_support {

// `server` is the side under test (accepted, as the gateway's sockets are); `peer` plays the
// other end.
struct SocketPair {
    asio::io_context context;
    tcp::socket server{context};
    tcp::socket peer{context};

    SocketPair() {
        tcp::acceptor acceptor(context, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
        peer.connect(acceptor.local_endpoint());
        acceptor.accept(server);
    }
};

}  // namespace mailgate::net::test_support
