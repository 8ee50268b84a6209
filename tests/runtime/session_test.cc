// The public API's contracts beyond exactness: cancellation, stop strings, limits, bad requests.
#include <gtest/gtest.h>

#include <algorithm>
#include <thread>

#include "core/thread_scratch.h"
#include "ivl/engine.h"
#include "support/fixtures.h"

namespace ivl {
namespace {

std::shared_ptr<const Engine> engine() {
  static std::shared_ptr<const Engine> e = [] {
    auto r = Engine::load(
        {.model_dir = test::fixture("models/tiny-internvl3-qwen2").string(), .threads = 2});
    if (!r.ok()) throw std::runtime_error(r.status().to_string());
    return *r;
  }();
  return e;
}

Request text(const std::string& prompt, int n) {
  Request r;
  r.prompt = prompt;
  r.sampling.max_new_tokens = n;
  r.sampling.ignore_eos = true;
  return r;
}

TEST(Session, CallbackCanStopTheGeneration) {
  auto s = engine()->new_session();
  int seen = 0;
  auto r = s->generate(text("Hello", 10), [&](const GeneratedToken&) { return ++seen < 3; });
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->finish_reason, FinishReason::kCancelled);
  EXPECT_EQ(r->generated_ids.size(), 3u);
}

TEST(Session, CancelFromAnotherThread) {
  auto s = engine()->new_session();
  auto r = s->generate(text("Hello", 200), [&](const GeneratedToken&) {
    std::thread([&] { s->cancel(); }).join();
    return true;
  });
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->finish_reason, FinishReason::kCancelled);
  EXPECT_LT(r->generated_ids.size(), 200u);
}

TEST(Session, StreamedTextEqualsTheResponseText) {
  auto s = engine()->new_session();
  std::string streamed;
  auto r = s->generate(text("Tell me a story", 12), [&](const GeneratedToken& t) {
    streamed += t.text;
    return true;
  });
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->finish_reason, FinishReason::kLength);
  EXPECT_EQ(r->generated_ids.size(), 12u);
  // The response text is the streamed text, trimmed (as the official chat() strips).
  EXPECT_NE(streamed.find(r->text), std::string::npos);
}

TEST(Session, StopStringEndsTheAnswer) {
  auto s = engine()->new_session();
  auto first = s->generate(text("Hi", 6));
  ASSERT_TRUE(first.ok());
  ASSERT_GE(first->text.size(), 2u);
  Request req = text("Hi", 6);
  req.sampling.stop = {first->text.substr(1, 1)};  // a character the greedy answer contains
  auto r = s->generate(req);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->finish_reason, FinishReason::kStop);
  EXPECT_EQ(r->text.find(req.sampling.stop[0]), std::string::npos);
}

TEST(Session, ThinkingAndSystemMessagesReachThePrompt) {
  auto s = engine()->new_session();
  Request base = text("Hi", 1);
  auto plain = s->generate(base);
  Request thinking = base;
  thinking.thinking = true;
  auto t = s->generate(thinking);
  Request custom = base;
  custom.system_message = "";
  auto c = s->generate(custom);
  ASSERT_TRUE(plain.ok() && t.ok() && c.ok());
  EXPECT_GT(t->prompt_ids.size(), plain->prompt_ids.size());
  EXPECT_LT(c->prompt_ids.size(), plain->prompt_ids.size());
}

TEST(Session, BadRequestsAreErrorsBeforeAnyWork) {
  auto s = engine()->new_session();
  Request too_long = text("word ", 10);
  too_long.sampling.max_new_tokens = 40000;
  EXPECT_EQ(s->generate(too_long).status().code(), StatusCode::kOutOfRange);

  Request placeholders = text("<image><image> compare", 1);
  placeholders.images.push_back({.path = test::fixture("images/square_448.png").string()});
  EXPECT_EQ(s->generate(placeholders).status().code(), StatusCode::kInvalidArgument);

  Request both = text("x", 1);
  both.messages_json = R"([{"role":"user","content":"x"}])";
  EXPECT_EQ(s->generate(both).status().code(), StatusCode::kInvalidArgument);

  Request bad_json;
  bad_json.messages_json = "[{";
  EXPECT_EQ(s->generate(bad_json).status().code(), StatusCode::kInvalidArgument);

  Request bad_sampling = text("x", 1);
  bad_sampling.sampling.top_p = 0;
  EXPECT_EQ(s->generate(bad_sampling).status().code(), StatusCode::kInvalidArgument);

  Request typed_context = text("<IMG_CONTEXT> sneaky", 1);
  EXPECT_EQ(s->generate(typed_context).status().code(), StatusCode::kInvalidArgument);

  Request data_uri = text("x", 1);
  data_uri.images.push_back({.data_uri = "data:image/png;base64,!!!"});
  EXPECT_EQ(s->generate(data_uri).status().code(), StatusCode::kInvalidArgument);

  // The session still works after errors.
  EXPECT_TRUE(s->generate(text("x", 2)).ok());
}

TEST(Session, ImagesFromBytesAndDataUri) {
  std::string png = test::read_text_file(test::fixture("images/tiny_rgba_37x19.png"));
  auto s = engine()->new_session();
  Request a = text("What?", 3);
  a.images.push_back({.bytes = std::vector<uint8_t>(png.begin(), png.end())});
  auto ra = s->generate(a);
  ASSERT_TRUE(ra.ok()) << ra.status().to_string();
  Request b = text("What?", 3);
  b.images.push_back({.path = test::fixture("images/tiny_rgba_37x19.png").string()});
  auto rb = s->generate(b);
  ASSERT_TRUE(rb.ok());
  EXPECT_EQ(ra->generated_ids, rb->generated_ids);
  EXPECT_EQ(ra->tiles_per_image, rb->tiles_per_image);
}

// A request's kernel scratch buffers are freed when it ends (the calling thread's are checked
// here; tests/core/thread_scratch_test.cc checks the pool's threads), and the next request
// grows them again and gives the same answer.
TEST(Session, KernelScratchIsFreedWhenARequestEnds) {
  auto s = engine()->new_session();
  Request a = text("What?", 4);
  a.images.push_back({.path = test::fixture("images/tiny_rgba_37x19.png").string()});
  size_t during = 0;
  auto first = s->generate(a, [&](const GeneratedToken&) {
    during = std::max(during, thread_scratch_bytes());
    return true;
  });
  ASSERT_TRUE(first.ok()) << first.status().to_string();
  EXPECT_GT(during, 0u) << "the decoder's buffers exist while the request runs";
  EXPECT_EQ(thread_scratch_bytes(), 0u);
  auto second = s->generate(a);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(first->generated_ids, second->generated_ids);
  EXPECT_EQ(thread_scratch_bytes(), 0u);
}

// FFmpeg's libraries (and the ~120 they bring) are opened on the first video only
// (vision/ffmpeg_library.h): image and text requests leave them out of the process.
TEST(Session, ImageAndTextRequestsDoNotLoadFfmpeg) {
  auto s = engine()->new_session();
  Request a = text("What?", 2);
  a.images.push_back({.path = test::fixture("images/tiny_rgba_37x19.png").string()});
  ASSERT_TRUE(s->generate(a).ok());
  const std::string maps = test::read_text_file("/proc/self/maps");
  ASSERT_NE(maps.find("libc.so"), std::string::npos) << "the maps file lists the shared libraries";
  EXPECT_EQ(maps.find("libavformat"), std::string::npos);
  EXPECT_EQ(maps.find("libavcodec"), std::string::npos);
}

}  // namespace
}  // namespace ivl
