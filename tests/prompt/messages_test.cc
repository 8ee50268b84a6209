#include "prompt/messages.h"

#include <gtest/gtest.h>

namespace ivl::prompt {
namespace {

using nlohmann::json;

TEST(Messages, TextImagePartsAndSystem) {
  json m = json::parse(R"([
    {"role": "system", "content": "Be brief."},
    {"role": "user", "content": [
        {"type": "image", "path": "a.jpg"},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}},
        {"type": "text", "text": "Compare."}]},
    {"role": "assistant", "content": "They differ."},
    {"role": "user", "content": [{"type": "image_url", "image_url": {"url": "file:///tmp/c.png"}},
                                 {"type": "text", "text": "And this?"}]}
  ])");
  auto r = parse_openai_messages(m);
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(r->conversation.system_message, "Be brief.");
  ASSERT_EQ(r->conversation.messages.size(), 3u);
  EXPECT_EQ(r->conversation.messages[0].text, "<image>\n<image>\nCompare.");
  EXPECT_EQ(r->conversation.messages[1].role, Role::kAssistant);
  EXPECT_EQ(r->conversation.messages[2].text, "<image>\nAnd this?");
  ASSERT_EQ(r->images.size(), 3u);
  EXPECT_EQ(r->images[0].kind, ImageSource::Kind::kPath);
  EXPECT_EQ(r->images[0].value, "a.jpg");
  EXPECT_EQ(r->images[1].kind, ImageSource::Kind::kDataUri);
  EXPECT_EQ(r->images[2].value, "/tmp/c.png");

  auto tmpl = *find_chat_template("internvl2_5");
  auto rendered = render_conversation(*tmpl, r->conversation);
  ASSERT_TRUE(rendered.ok());
  EXPECT_EQ(count_image_placeholders(*rendered), 3u);
}

TEST(Messages, NullSystemContentKeepsDefault) {
  auto r = parse_openai_messages(
      json::parse(R"([{"role":"system","content":null},{"role":"user","content":"hi"}])"));
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->conversation.system_message.has_value());
}

TEST(Messages, MalformedInputsAreNamed) {
  struct Case {
    const char* json;
    const char* needle;
  };
  const Case cases[] = {
      {R"({"role":"user"})", "array"},
      {R"([])", "empty"},
      {R"([1])", "messages[0]"},
      {R"([{"content":"x"}])", "role"},
      {R"([{"role":"tool","content":"x"}])", "unknown role"},
      {R"([{"role":"user"}])", "content"},
      {R"([{"role":"user","content":5}])", "content"},
      {R"([{"role":"user","content":[{"type":"audio"}]}])", "audio"},
      {R"([{"role":"user","content":[{"text":"x"}]}])", "type"},
      {R"([{"role":"user","content":[{"type":"image"}]}])", "path"},
      {R"([{"role":"user","content":[{"type":"image_url","image_url":{"url":"https://x/y.png"}}]}])",
       "not fetched"},
      {R"([{"role":"user","content":"a"},{"role":"system","content":"s"}])", "first"},
      {R"([{"role":"assistant","content":[{"type":"image","path":"a.jpg"}]}])", "user messages"},
      {R"([{"role":"system","content":"s"}])", "no user message"},
  };
  for (const Case& c : cases) {
    auto r = parse_openai_messages(json::parse(c.json));
    ASSERT_FALSE(r.ok()) << c.json;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << c.json;
    EXPECT_NE(r.status().message().find(c.needle), std::string::npos)
        << c.json << " -> " << r.status().message();
  }
}

}  // namespace
}  // namespace ivl::prompt
