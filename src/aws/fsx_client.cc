// FsxClient over AwsJsonClient (see include/ckpt/aws/fsx_client.h).
#include "ckpt/aws/fsx_client.h"

namespace ckpt::aws {
namespace {

class FsxClientImpl final : public FsxClient {
 public:
  explicit FsxClientImpl(JsonRpcOptions o) : rpc_(Defaults(std::move(o))) {}

  StatusOr<Json> CreateFileSystem(const Json& r) override { return Field("CreateFileSystem", r, "FileSystem"); }
  StatusOr<Json> CreateFileSystemFromBackup(const Json& r) override {
    return Field("CreateFileSystemFromBackup", r, "FileSystem");
  }
  StatusOr<std::vector<Json>> DescribeFileSystems(const std::vector<std::string>& ids) override {
    Json r = Json::object();
    if (!ids.empty()) r["FileSystemIds"] = ids;
    return Paginate("DescribeFileSystems", r, "FileSystems");
  }
  StatusOr<Json> UpdateFileSystem(const Json& r) override { return Field("UpdateFileSystem", r, "FileSystem"); }
  StatusOr<Json> DeleteFileSystem(const Json& r) override { return rpc_.Call("DeleteFileSystem", r); }

  StatusOr<Json> CreateDataRepositoryAssociation(const Json& r) override {
    return Field("CreateDataRepositoryAssociation", r, "Association");
  }
  StatusOr<std::vector<Json>> DescribeDataRepositoryAssociations(const Json& filters) override {
    Json r = {{"MaxResults", 25}};  // the most FSx allows (shape LimitedMaxResults)
    if (!filters.empty()) r["Filters"] = filters;
    return Paginate("DescribeDataRepositoryAssociations", r, "Associations");
  }
  StatusOr<Json> UpdateDataRepositoryAssociation(const Json& r) override {
    return Field("UpdateDataRepositoryAssociation", r, "Association");
  }
  StatusOr<Json> DeleteDataRepositoryAssociation(const Json& r) override {
    return rpc_.Call("DeleteDataRepositoryAssociation", r);
  }

  StatusOr<Json> CreateBackup(const Json& r) override { return Field("CreateBackup", r, "Backup"); }
  StatusOr<std::vector<Json>> DescribeBackups(const Json& r) override { return Paginate("DescribeBackups", r, "Backups"); }
  StatusOr<Json> CreateDataRepositoryTask(const Json& r) override {
    return Field("CreateDataRepositoryTask", r, "DataRepositoryTask");
  }
  StatusOr<std::vector<Json>> DescribeDataRepositoryTasks(const Json& r) override {
    return Paginate("DescribeDataRepositoryTasks", r, "DataRepositoryTasks");
  }
  StatusOr<Json> CancelDataRepositoryTask(const Json& r) override { return rpc_.Call("CancelDataRepositoryTask", r); }
  Status TagResource(const std::string& arn, const Json& tags) override {
    return rpc_.Call("TagResource", Json{{"ResourceARN", arn}, {"Tags", tags}}).status();
  }
  StatusOr<Json> ListTagsForResource(const std::string& arn) override {
    ASSIGN_OR_RETURN(std::vector<Json> tags, Paginate("ListTagsForResource", Json{{"ResourceARN", arn}}, "Tags"));
    return Json(tags);
  }

 private:
  static JsonRpcOptions Defaults(JsonRpcOptions o) {
    if (o.endpoint.empty()) o.endpoint = "https://fsx." + o.region + ".amazonaws.com";
    if (o.signing_name.empty()) o.signing_name = "fsx";
    if (o.target_prefix.empty()) o.target_prefix = "AWSSimbaAPIService_v20180301";
    return o;
  }

  StatusOr<Json> Field(const std::string& op, const Json& request, const char* field) {
    ASSIGN_OR_RETURN(Json out, rpc_.Call(op, request));
    if (!out.contains(field)) return Internal("fsx " + op + ": response has no " + field);
    return out[field];
  }

  // Follows NextToken until the last page (absent, null or empty); at most 10,000 pages as a
  // guard against a service that loops.
  StatusOr<std::vector<Json>> Paginate(const std::string& op, Json request, const char* field) {
    std::vector<Json> all;
    for (int page = 0; page < 10000; ++page) {
      ASSIGN_OR_RETURN(Json out, rpc_.Call(op, request));
      if (out.contains(field) && out[field].is_array())
        for (auto& item : out[field]) all.push_back(std::move(item));
      auto next = out.find("NextToken");
      if (next == out.end() || !next->is_string() || next->get_ref<const std::string&>().empty()) return all;
      request["NextToken"] = *next;
    }
    return Internal("fsx " + op + ": pagination did not end");
  }

  AwsJsonClient rpc_;
};

}  // namespace

FsxClientPtr NewFsxClient(JsonRpcOptions options) { return std::make_unique<FsxClientImpl>(std::move(options)); }

}  // namespace ckpt::aws
