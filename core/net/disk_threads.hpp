#pragma once

#include <exception>
#include <type_traits>
#include <utility>

#include "core/net/asio.hpp"

namespace mailgate::net {

// The process-wide threads for work that waits on the disk: Maildir deliveries and the
// quarantine, each with its fsyncs. On an I/O thread such a wait would stall every session of
// that thread for as long as the disk takes; here it stalls only the message that needs it.
// Started on first use.
asio::thread_pool& diskThreads();

// Runs `job` on a disk thread and resumes the awaiting coroutine on its own executor with the
// job's result (or its exception). The caller's locals may be captured by reference: the
// coroutine is suspended until the job has ended. (Its io_context does not run out of work
// meanwhile: co_spawn keeps it busy while the coroutine lives.)
template <typename Job>
awaitable<std::invoke_result_t<Job&>> runOnDiskThread(Job job) {
    using Result = std::invoke_result_t<Job&>;
    static_assert(std::is_default_constructible_v<Result>);
    auto initiate = [](auto handler, Job job) {
        auto resume_on = asio::get_associated_executor(handler);
        asio::post(diskThreads(), [job = std::move(job), handler = std::move(handler),
                                   resume_on = std::move(resume_on)]() mutable {
            std::exception_ptr failure;
            Result result{};
            try {
                result = job();
            } catch (...) {
                failure = std::current_exception();
            }
            asio::post(resume_on, asio::append(std::move(handler), failure, std::move(result)));
        });
    };
    return asio::async_initiate<const asio::use_awaitable_t<>, void(std::exception_ptr, Result)>(
        std::move(initiate), asio::use_awaitable, std::move(job));
}

}  // namespace mailgate::net
