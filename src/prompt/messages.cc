#include "prompt/messages.h"

namespace ivl::prompt {
namespace {

Status bad(size_t index, const std::string& what) {
  return Status::invalid_argument("messages[" + std::to_string(index) + "]: " + what);
}

Result<ImageSource> image_from_url(size_t index, const std::string& url) {
  if (url.rfind("data:", 0) == 0) return ImageSource{ImageSource::Kind::kDataUri, url};
  if (url.rfind("file://", 0) == 0) return ImageSource{ImageSource::Kind::kPath, url.substr(7)};
  if (url.rfind("http://", 0) == 0 || url.rfind("https://", 0) == 0) {
    return bad(index,
               "remote image URLs are not fetched; download the image and pass its path "
               "or a data: URI");
  }
  if (url.empty()) return bad(index, "empty image URL");
  return ImageSource{ImageSource::Kind::kPath, url};
}

// Appends one content part to `text`/`images`.
Status add_part(size_t index, const nlohmann::json& part, bool images_allowed, std::string* text,
                std::vector<ImageSource>* images) {
  if (!part.is_object() || !part.contains("type") || !part["type"].is_string()) {
    return bad(index, "each content part must be an object with a string \"type\"");
  }
  const std::string type = part["type"].get<std::string>();
  if (type == "text") {
    if (!part.contains("text") || !part["text"].is_string())
      return bad(index, "text part without a string \"text\"");
    *text += part["text"].get<std::string>();
    return Status();
  }
  if (type != "image" && type != "image_url") {
    return bad(index, "unsupported content part type \"" + type +
                          "\" (supported: text, image, image_url)");
  }
  if (!images_allowed) return bad(index, "images are only accepted in user messages");
  ImageSource source;
  if (type == "image") {
    const char* key = part.contains("path") ? "path" : "image";
    if (!part.contains(key) || !part[key].is_string())
      return bad(index, "image part without a string \"path\"");
    IVL_ASSIGN_OR_RETURN(source, image_from_url(index, part[key].get<std::string>()));
  } else {
    const auto& iu = part.contains("image_url") ? part["image_url"] : nlohmann::json();
    const nlohmann::json* url =
        iu.is_string() ? &iu : (iu.is_object() && iu.contains("url") ? &iu["url"] : nullptr);
    if (url == nullptr || !url->is_string())
      return bad(index, "image_url part without a string url");
    IVL_ASSIGN_OR_RETURN(source, image_from_url(index, url->get<std::string>()));
  }
  images->push_back(std::move(source));
  *text += std::string(kImagePlaceholder) + "\n";
  return Status();
}

}  // namespace

Result<ParsedMessages> parse_openai_messages(const nlohmann::json& messages) {
  if (!messages.is_array()) return Status::invalid_argument("messages must be a JSON array");
  if (messages.empty()) return Status::invalid_argument("messages is empty");
  ParsedMessages out;
  for (size_t i = 0; i < messages.size(); ++i) {
    const nlohmann::json& m = messages[i];
    if (!m.is_object()) return bad(i, "must be an object with \"role\" and \"content\"");
    if (!m.contains("role") || !m["role"].is_string()) return bad(i, "missing string \"role\"");
    const std::string role = m["role"].get<std::string>();
    if (role != "system" && role != "user" && role != "assistant") {
      return bad(i, "unknown role \"" + role + "\" (supported: system, user, assistant)");
    }
    if (!m.contains("content")) return bad(i, "missing \"content\"");
    const nlohmann::json& content = m["content"];
    std::string text;
    if (content.is_string()) {
      text = content.get<std::string>();
    } else if (content.is_array()) {
      for (const auto& part : content) {
        IVL_RETURN_IF_ERROR(add_part(i, part, role == "user", &text, &out.images));
      }
    } else if (!content.is_null()) {
      return bad(i, "\"content\" must be a string or a list of parts");
    }
    if (role == "system") {
      if (i != 0) return bad(i, "a system message must come first");
      // null content keeps the template's default system message (spec §6.3 engine rule).
      if (!content.is_null()) out.conversation.system_message = std::move(text);
      continue;
    }
    out.conversation.messages.push_back(
        {role == "user" ? Role::kUser : Role::kAssistant, std::move(text)});
  }
  if (out.conversation.messages.empty())
    return Status::invalid_argument("messages has no user message");
  return out;
}

}  // namespace ivl::prompt
