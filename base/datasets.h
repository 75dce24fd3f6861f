// The one table of datasets the project knows: canonical name, accepted aliases, image shape,
// classes, split sizes and the default location. data/ (readers), engine/ (input shapes),
// sched/ and nas/ (lane models) all look datasets up here.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace mlcn {

struct DatasetInfo {
  std::string name;                  // canonical: "fashion-mnist", "cifar10"
  std::vector<std::string> aliases;  // also accepted: "fmnist", "cifar-10"
  int H = 0, W = 0, C = 0;           // image (H, W, C)
  int classes = 0;
  int64_t train_images = 0, test_images = 0;
  std::string default_dir;           // where `data.path` = "" looks
  std::string obtain;                // how a user gets the files (for errors and docs)
};

const std::vector<DatasetInfo>& datasets();
// The entry of `name` or one of its aliases; throws naming the accepted names.
const DatasetInfo& dataset_info(const std::string& name);
// "fashion-mnist or cifar10" (for messages).
std::string dataset_names();

}  // namespace mlcn
