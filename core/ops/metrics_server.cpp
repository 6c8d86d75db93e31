// The metrics and health endpoint: a small HTTP/1.1 server on Boost.Beast. Beast is included
// here only; it is heavy to compile.
//
// It runs on an io_context and thread of its own rather than on one of the SMTP I/O threads:
// a scrape (rendering every counter) then never delays an SMTP session, a hung or slow HTTP
// client cannot hold an SMTP thread, and /healthz still answers while the SMTP threads are
// busy. It shares nothing with them but the atomics it reads, so it needs no locking.
#include "core/ops/metrics_server.hpp"

#include <chrono>
#include <thread>

#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "core/net/asio.hpp"
#include "core/ops/log.hpp"
#include "core/ops/metrics.hpp"

namespace mailgate::ops {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;

constexpr size_t kMaxConnections = 16;                     // scrapers and probes, not the public
constexpr auto kRequestTimeout = std::chrono::seconds(5);  // per request, idle keep-alive too
constexpr size_t kMaxHeaderSize = 8 * 1024;
constexpr int kMaxRequestsPerConnection = 1000;

std::string endpointText(const tcp::endpoint& endpoint) {
    const auto address = endpoint.address();
    const std::string host =
        address.is_v6() ? "[" + address.to_string() + "]" : address.to_string();
    return host + ":" + std::to_string(endpoint.port());
}

struct Answer {
    http::status status;
    std::string body;
    const char* content_type = "text/plain; charset=utf-8";
};

Answer answerFor(const http::request<http::empty_body>& request) {
    if (request.method() != http::verb::get && request.method() != http::verb::head) {
        return {http::status::method_not_allowed, "only GET and HEAD\n"};
    }
    const std::string_view target = request.target();
    const std::string_view path = target.substr(0, target.find('?'));
    if (path == "/metrics") {
        return {http::status::ok, metrics::render(), "text/plain; version=0.0.4; charset=utf-8"};
    }
    if (path == "/healthz") {
        return {http::status::ok, "ok\n"};
    }
    if (path == "/readyz") {
        switch (metrics::state()) {
            case metrics::State::Ready:
                return {http::status::ok, "ready\n"};
            case metrics::State::Draining:
                return {http::status::service_unavailable, "draining\n"};
            case metrics::State::Starting:
                break;
        }
        return {http::status::service_unavailable, "starting\n"};
    }
    return {http::status::not_found, "not found; try /metrics, /healthz or /readyz\n"};
}

}  // namespace

class MetricsServer::Impl {
  public:
    bool start(const config::Endpoint& listen, std::string& error) {
        error_code ec;
        tcp::resolver resolver(context_);
        const auto results = resolver.resolve(listen.host, std::to_string(listen.port),
                                              tcp::resolver::numeric_service, ec);
        if (ec || results.empty()) {
            error = "metrics.listen: cannot resolve " + listen.toString() + ": " + ec.message();
            return false;
        }
        const tcp::endpoint endpoint = results.begin()->endpoint();
        acceptor_.open(endpoint.protocol(), ec);
        if (!ec) {
            acceptor_.set_option(tcp::acceptor::reuse_address(true), ec);
        }
        if (!ec) {
            acceptor_.bind(endpoint, ec);
        }
        if (!ec) {
            acceptor_.listen(64, ec);
        }
        if (ec) {
            error =
                "metrics.listen: cannot listen on " + endpointText(endpoint) + ": " + ec.message();
            return false;
        }
        ops::logInfo("metrics and health endpoint on http://" +
                     endpointText(acceptor_.local_endpoint(ec)) + "/metrics");
        asio::co_spawn(context_, acceptLoop(), asio::detached);
        thread_ = std::thread([this] { context_.run(); });
        return true;
    }

    // Open connections are not waited for: a scrape cut short is retried by the scraper.
    void stop() {
        if (!thread_.joinable()) {
            return;
        }
        context_.stop();
        thread_.join();
    }

  private:
    awaitable<void> acceptLoop() {
        for (;;) {
            auto [ec, socket] = co_await acceptor_.async_accept(use_nothrow);
            if (ec) {
                if (ec == asio::error::operation_aborted) {
                    break;
                }
                asio::steady_timer backoff(context_, std::chrono::milliseconds(100));
                co_await backoff.async_wait(use_nothrow);
                continue;
            }
            if (connections_ >= kMaxConnections) {
                error_code ignored;
                socket.close(ignored);
                continue;
            }
            ++connections_;
            asio::co_spawn(context_, serve(std::move(socket)),
                           [this](std::exception_ptr) { --connections_; });
        }
    }

    // Answers requests on one connection until the client closes, asks to close, is silent for
    // kRequestTimeout or sends something that is not a small HTTP request.
    awaitable<void> serve(tcp::socket socket) {
        beast::tcp_stream stream(std::move(socket));
        beast::flat_buffer buffer(kMaxHeaderSize);
        for (int served = 0; served < kMaxRequestsPerConnection; ++served) {
            http::request_parser<http::empty_body> parser;
            parser.header_limit(kMaxHeaderSize);
            stream.expires_after(kRequestTimeout);
            auto [read_error, read] =
                co_await http::async_read(stream, buffer, parser, use_nothrow);
            (void)read;
            if (read_error) {
                break;
            }
            const auto& request = parser.get();
            Answer answer = answerFor(request);
            http::response<http::string_body> response(answer.status, request.version());
            response.set(http::field::server, "mailgate");
            response.set(http::field::content_type, answer.content_type);
            response.set(http::field::cache_control, "no-store");
            response.keep_alive(request.keep_alive());
            response.body() = std::move(answer.body);
            response.prepare_payload();
            if (request.method() == http::verb::head) {
                response.body().clear();  // Content-Length stays that of the GET answer
            }
            auto [write_error, written] = co_await http::async_write(stream, response, use_nothrow);
            (void)written;
            if (write_error || !response.keep_alive()) {
                break;
            }
        }
        error_code ignored;
        stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
    }

    asio::io_context context_{1};
    tcp::acceptor acceptor_{context_};
    std::thread thread_;
    size_t connections_ = 0;  // used on the server's own thread only
};

MetricsServer::MetricsServer() : impl_(std::make_unique<Impl>()) {}

MetricsServer::~MetricsServer() {
    stop();
}

bool MetricsServer::start(const config::Endpoint& listen, std::string& error) {
    return impl_->start(listen, error);
}

void MetricsServer::stop() {
    impl_->stop();
}

}  // namespace mailgate::ops
