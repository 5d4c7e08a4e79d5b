#include "node/api/http_json.h"

#include <google/protobuf/util/json_util.h>

#include "polder/v1/api.pb.h"

namespace polder::api {

std::string ToJson(const google::protobuf::Message& message) {
  std::string out;
  google::protobuf::util::JsonPrintOptions o;
  o.preserve_proto_field_names = true;
  (void)google::protobuf::util::MessageToJsonString(message, &out, o);
  return out;
}

bool FromJson(const std::string& json, google::protobuf::Message* message) {
  return google::protobuf::util::JsonStringToMessage(json, message).ok();
}

std::string ErrorJson(const Error& error) {
  v1::ErrorView v;
  v.set_code(ToString(error.code));
  v.set_message(error.message);
  return ToJson(v);
}

int HttpStatusFor(Errc code) {
  switch (code) {
    case Errc::kInvalidArgument: return 400;
    case Errc::kNotFound: return 404;
    case Errc::kRefused: return 422;
    case Errc::kPermission: return 403;
    case Errc::kUnavailable: return 503;
    default: return 500;
  }
}

Errc ErrcForHttpStatus(int status) {
  switch (status) {
    case 400: return Errc::kInvalidArgument;
    case 404: return Errc::kNotFound;
    case 422: return Errc::kRefused;
    case 401:
    case 403: return Errc::kPermission;
    case 503: return Errc::kUnavailable;
    default: return Errc::kInternal;
  }
}

}  // namespace polder::api
