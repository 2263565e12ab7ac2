// Line-by-line decoding of watch streams (see include/ckpt/kube/watch_decoder.h).
#include "ckpt/kube/watch_decoder.h"

namespace ckpt::kube {

StatusOr<WatchEvent> DecodeWatchEvent(std::string_view line) {
  Json j = Json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return InvalidArgument("watch: malformed event: " + std::string(line.substr(0, 120)));
  }
  auto type = j.find("type");
  auto object = j.find("object");
  if (type == j.end() || !type->is_string() || object == j.end() || !object->is_object())
    return InvalidArgument("watch: event without type/object");
  const std::string& t = type->get_ref<const std::string&>();
  WatchEvent e{WatchEvent::Type::kAdded, std::move(*object)};
  if (t == "ADDED") e.type = WatchEvent::Type::kAdded;
  else if (t == "MODIFIED") e.type = WatchEvent::Type::kModified;
  else if (t == "DELETED") e.type = WatchEvent::Type::kDeleted;
  else if (t == "BOOKMARK") e.type = WatchEvent::Type::kBookmark;
  else if (t == "ERROR") e.type = WatchEvent::Type::kError;
  else return InvalidArgument("watch: unknown event type " + t);
  return e;
}

Status WatchDecoder::DecodeLine(std::string_view line, const WatchCallback& on_event) {
  while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.remove_suffix(1);
  if (line.empty()) return Status::Ok();
  auto event = DecodeWatchEvent(line);
  if (!event.ok()) return event.status();
  if (!on_event(std::move(event).value())) return Status(StatusCode::kCancelled, "watch stopped by handler");
  return Status::Ok();
}

Status WatchDecoder::Feed(std::string_view chunk, const WatchCallback& on_event) {
  if (!failed_.ok()) return failed_;
  while (!chunk.empty()) {
    size_t nl = chunk.find('\n');
    if (nl == std::string_view::npos) {
      if (partial_.size() + chunk.size() > max_line_bytes_) {
        failed_ = InvalidArgument("watch: event line exceeds " + std::to_string(max_line_bytes_) + " bytes");
        return failed_;
      }
      partial_.append(chunk);
      return Status::Ok();
    }
    Status s;
    if (partial_.empty()) {
      s = DecodeLine(chunk.substr(0, nl), on_event);
    } else {
      partial_.append(chunk.substr(0, nl));
      s = DecodeLine(partial_, on_event);
      partial_.clear();
    }
    chunk.remove_prefix(nl + 1);
    if (!s.ok()) {
      failed_ = s;
      return s;
    }
  }
  return Status::Ok();
}

}  // namespace ckpt::kube
