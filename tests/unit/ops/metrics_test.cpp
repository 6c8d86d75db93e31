#include "core/ops/metrics.hpp"

#include <gtest/gtest.h>

#include <regex>
#include <string>

namespace mailgate::ops::metrics {
namespace {

// The value of the sample line that starts with `series` (name and labels), or -1.
double sampleValue(const std::string& text, const std::string& series) {
    const std::string prefix = series + " ";
    size_t at = text.find("\n" + prefix);
    if (at == std::string::npos) {
        return -1;
    }
    at += 1 + prefix.size();
    return std::stod(text.substr(at, text.find('\n', at) - at));
}

// Every line is a comment or "name{labels} value", and each family has HELP and TYPE.
TEST(Metrics, RendersTheTextFormat) {
    pluginVerdict("unit_plugin", 3, 1, std::chrono::microseconds(20));
    const std::string text = render();
    const std::regex sample(R"([a-z_]+(\{[a-z_]+="[^"]*"(,[a-z_]+="[^"]*")*\})? [0-9.e+-]+)");
    size_t start = 0;
    while (start < text.size()) {
        const size_t end = text.find('\n', start);
        ASSERT_NE(end, std::string::npos);
        const std::string line = text.substr(start, end - start);
        if (!line.starts_with("# HELP ") && !line.starts_with("# TYPE ")) {
            EXPECT_TRUE(std::regex_match(line, sample)) << line;
        }
        start = end + 1;
    }
    EXPECT_NE(text.find("# TYPE mailgate_plugin_hook_duration_seconds histogram\n"),
              std::string::npos);
}

// Outcomes are counted by name; an unknown one lands in "other".
TEST(Metrics, CountsMessagesByOutcome) {
    const std::string before = render();
    messageFinished("accepted", 2, 100);
    messageFinished("surprise", 1, 5);
    const std::string after = render();
    const auto delta = [&](const std::string& series) {
        return sampleValue(after, series) - sampleValue(before, series);
    };
    EXPECT_EQ(delta("mailgate_messages_total{outcome=\"accepted\"}"), 1);
    EXPECT_EQ(delta("mailgate_messages_total{outcome=\"other\"}"), 1);
    EXPECT_EQ(delta("mailgate_message_recipients_total"), 3);
    EXPECT_EQ(delta("mailgate_message_bytes_total"), 105);
}

// A hook call lands in the right bucket, and buckets are cumulative up to +Inf = _count.
TEST(Metrics, HistogramBucketsAreCumulative) {
    pluginVerdict("bucket_plugin", 0, 0, std::chrono::microseconds(70));  // <= 0.0001
    pluginVerdict("bucket_plugin", 0, 2, std::chrono::seconds(10));       // > 5: only +Inf
    const std::string text = render();
    const std::string labels = "plugin=\"bucket_plugin\",stage=\"connect\"";
    const std::string bucket = "mailgate_plugin_hook_duration_seconds_bucket{" + labels;
    EXPECT_EQ(sampleValue(text, bucket + ",le=\"0.00005\"}"), 0);
    EXPECT_EQ(sampleValue(text, bucket + ",le=\"0.0001\"}"), 1);
    EXPECT_EQ(sampleValue(text, bucket + ",le=\"5\"}"), 1);
    EXPECT_EQ(sampleValue(text, bucket + ",le=\"+Inf\"}"), 2);
    EXPECT_EQ(sampleValue(text, "mailgate_plugin_hook_duration_seconds_count{" + labels + "}"), 2);
    EXPECT_NEAR(sampleValue(text, "mailgate_plugin_hook_duration_seconds_sum{" + labels + "}"),
                10.00007, 1e-9);
    EXPECT_EQ(
        sampleValue(text, "mailgate_plugin_verdicts_total{" + labels + ",verdict=\"continue\"}"),
        1);
    EXPECT_EQ(
        sampleValue(text, "mailgate_plugin_verdicts_total{" + labels + ",verdict=\"reject\"}"), 1);
}

// A verdict outside the known ones is "other"; a stage out of range is ignored.
TEST(Metrics, UnknownVerdictsAndStages) {
    pluginVerdict("odd_plugin", 1, 42, std::chrono::microseconds(1));
    pluginVerdict("odd_plugin", 99, 0, std::chrono::microseconds(1));
    const std::string text = render();
    EXPECT_EQ(sampleValue(text,
                          "mailgate_plugin_verdicts_total{plugin=\"odd_plugin\",stage="
                          "\"helo\",verdict=\"other\"}"),
              1);
    EXPECT_EQ(text.find("odd_plugin\",stage=\"unknown\""), std::string::npos);
}

// /readyz's state is also a gauge.
TEST(Metrics, ReadyGaugeFollowsTheState) {
    setState(State::Ready);
    EXPECT_EQ(sampleValue(render(), "mailgate_ready"), 1);
    setState(State::Draining);
    EXPECT_EQ(sampleValue(render(), "mailgate_ready"), 0);
    setState(State::Starting);
}

}  // namespace
}  // namespace mailgate::ops::metrics
