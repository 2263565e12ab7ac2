// FsxClient: the Amazon FSx operations ckpt-operator uses, with request and response shapes
// exactly as in the botocore FSx model (third_party/aws-models), as JSON. Describe* calls follow
// NextToken to the end, so one DescribeFileSystems() with no ids refreshes every store at once.
// Every Create* carries a ClientRequestToken (the caller derives it from the object's UID).
// Errors carry FSx's error code in Status::reason() ("FileSystemNotFound",
// "IncompatibleParameterError", "BadRequest", ...) and FSx's message. Implementations are
// thread-safe; reconcilers see only this interface.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "ckpt/aws/json_rpc.h"

namespace ckpt::aws {

class FsxClient {
 public:
  virtual ~FsxClient() = default;

  // Returns the FileSystem description (lifecycle CREATING).
  virtual StatusOr<Json> CreateFileSystem(const Json& request) = 0;
  // A new file system restored from a backup; returns its description (lifecycle CREATING).
  virtual StatusOr<Json> CreateFileSystemFromBackup(const Json& request) = 0;
  // All file systems when `ids` is empty; otherwise those ids (FileSystemNotFound if any is gone).
  virtual StatusOr<std::vector<Json>> DescribeFileSystems(const std::vector<std::string>& ids) = 0;
  virtual StatusOr<Json> UpdateFileSystem(const Json& request) = 0;
  virtual StatusOr<Json> DeleteFileSystem(const Json& request) = 0;

  virtual StatusOr<Json> CreateDataRepositoryAssociation(const Json& request) = 0;
  // Associations matching `filters` (e.g. [{"Name":"file-system-id","Values":["fs-..."]}]).
  virtual StatusOr<std::vector<Json>> DescribeDataRepositoryAssociations(const Json& filters) = 0;
  virtual StatusOr<Json> UpdateDataRepositoryAssociation(const Json& request) = 0;
  virtual StatusOr<Json> DeleteDataRepositoryAssociation(const Json& request) = 0;

  virtual StatusOr<Json> CreateBackup(const Json& request) = 0;
  virtual StatusOr<std::vector<Json>> DescribeBackups(const Json& request) = 0;
  virtual StatusOr<Json> CreateDataRepositoryTask(const Json& request) = 0;
  virtual StatusOr<std::vector<Json>> DescribeDataRepositoryTasks(const Json& request) = 0;
  // {"TaskId": ...} -> {"Lifecycle": "CANCELING", "TaskId": ...}; an ended task: DataRepositoryTaskEnded.
  virtual StatusOr<Json> CancelDataRepositoryTask(const Json& request) = 0;
  virtual Status TagResource(const std::string& arn, const Json& tags) = 0;
  virtual StatusOr<Json> ListTagsForResource(const std::string& arn) = 0;
};

using FsxClientPtr = std::unique_ptr<FsxClient>;

// FSx over awsJson1_1; `options.endpoint` empty means https://fsx.<region>.amazonaws.com.
FsxClientPtr NewFsxClient(JsonRpcOptions options);

}  // namespace ckpt::aws
