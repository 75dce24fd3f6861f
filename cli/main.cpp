// The `mlcn` executable: train | eval | step | info | place. Errors become one line on stderr
// and exit status 1; usage errors exit 2. docs/cli.md is the contract.
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include "cli/cmd_nas.h"
#include "cli/cmd_place.h"
#include "engine/io/safetensors.h"
#include "engine/core/backend.h"
#include "engine/ops/ops.h"
#include "engine/train/checkpoint.h"
#include "data/batcher.h"
#include "data/dataset.h"
#include "engine/train/trainer.h"
#include "sched/devices.h"
#include "sched/lane_io.h"
#include "sched/lane_model.h"
#include "sched/place_command.h"

using namespace mlcn;

namespace {

struct Args {
  std::string config, out, resume, checkpoint, dump;
  std::vector<std::string> sets;
};

Args parse_args(const std::vector<std::string>& a) {
  Args r;
  for (size_t i = 0; i < a.size(); ++i) {
    auto value = [&](const char* flag) {
      MLCN_CHECK(i + 1 < a.size(), flag << " needs a value");
      return a[++i];
    };
    if (a[i] == "--config") r.config = value("--config");
    else if (a[i] == "--out") r.out = value("--out");
    else if (a[i] == "--resume") r.resume = value("--resume");
    else if (a[i] == "--checkpoint") r.checkpoint = value("--checkpoint");
    else if (a[i] == "--dump") r.dump = value("--dump");
    else if (a[i] == "--set") r.sets.push_back(value("--set"));
    else MLCN_FAIL("unknown argument '" << a[i] << "' (see docs/cli.md)");
  }
  return r;
}

// runtime.placement may name a placement algorithm (greedy, exact, ...): sched computes the
// device of each lane over the runtime's devices, and the engine gets the list.
Config resolve_placement_name(Config cfg, const std::string& source) {
  if (!cfg.placement.is_string() || cfg.placement == "round-robin" || cfg.lanes.empty()) return cfg;
  nlohmann::json round_robin = cfg.json;
  round_robin["runtime"]["placement"] = "round-robin";
  const size_t devices = runtime_options(config_from_json(round_robin, source), cfg.lanes.size()).devices.size();
  std::vector<int> placement = resolve_placement(cfg.placement, lanes_from_config(cfg.json, source),
                                                 identical_devices(static_cast<int>(devices)), "flops", cfg.seed + 1);
  cfg.json["runtime"]["placement"] = placement;
  cfg.placement = cfg.json["runtime"]["placement"];
  return cfg;
}

Config config_for(const Args& a) {
  if (!a.config.empty()) return resolve_placement_name(load_config(a.config, a.sets), a.config);
  if (!a.checkpoint.empty())
    return resolve_placement_name(parse_config(checkpoint_config(a.checkpoint).dump(), a.checkpoint, a.sets), a.checkpoint);
  return parse_config("{}", "defaults", a.sets);
}

int cmd_train(const Args& a) {
  MLCN_CHECK(!a.config.empty() || !a.resume.empty(), "train needs --config FILE (or --resume DIR)");
  Config cfg = !a.config.empty() ? resolve_placement_name(load_config(a.config, a.sets), a.config)
                                 : parse_config(checkpoint_config(a.resume + "/last.safetensors").dump(), a.resume, a.sets);
  std::string out = a.out.empty() ? (a.resume.empty() ? "runs/latest" : a.resume) : a.out;
  if (a.resume.empty() && std::filesystem::exists(out + "/last.safetensors") && a.out.empty())
    MLCN_FAIL(out << " already holds a run; pass --out DIR or --resume " << out);
  nlohmann::json s = train_run(cfg, out, a.resume);
  std::printf("test accuracy %.4f after %d epoch(s) in %.1f s (run in %s)\n", s["test_accuracy"].get<double>(), cfg.epochs,
              s["seconds"].get<double>(), out.c_str());
  return 0;
}

int cmd_eval(const Args& a) {
  MLCN_CHECK(!a.checkpoint.empty(), "eval needs --checkpoint FILE");
  Config cfg = config_for(a);
  Model model(model_spec(cfg));
  load_checkpoint(a.checkpoint, model, {});
  LaneRuntime rt(model, runtime_options(cfg, model.num_lanes()));
  EvalResult r = evaluate(rt, cfg);
  std::cout << nlohmann::json{{"accuracy", r.accuracy}, {"loss", r.loss}, {"images", r.images}}.dump() << "\n";
  return 0;
}

int cmd_step(const Args& a) {
  MLCN_CHECK(!a.dump.empty(), "step needs --dump FILE");
  Config cfg = config_for(a);
  Model model(model_spec(cfg));
  model.init(cfg.seed);
  if (!a.checkpoint.empty()) load_checkpoint(a.checkpoint, model, {});
  Dataset test = load_dataset(cfg.dataset, cfg.data_path, "test", cfg.batch_size);
  BatchOptions bo;
  bo.batch_size = cfg.batch_size;
  bo.shuffle = false;
  Batcher batcher(test, bo);
  Batch b = batcher.next();
  Tensor x = Tensor::empty({b.size, test.H, test.W, test.C});
  std::copy(b.images, b.images + x.numel(), x.data<float>());
  LaneRuntime rt(model, runtime_options(cfg, model.num_lanes()));
  StepResult r = rt.step(x, std::vector<int32_t>(b.labels, b.labels + b.size), StepMode::Grad, 0, nullptr);
  StFile f;
  auto scalar = [](double v) {
    float fv = static_cast<float>(v);
    return StTensor::from_f32({}, &fv);
  };
  f.tensors["loss"] = scalar(r.loss);
  f.tensors["loss_margin"] = scalar(r.margin);
  f.tensors["loss_recon"] = scalar(r.recon);
  f.tensors["lengths"] = StTensor::from_f32(r.lengths.shape(), r.lengths.data<float>());
  for (Param* p : model.all_params()) {
    Tensor g = to_exchange(*p, p->var->grad);
    f.tensors["grad." + p->name] = StTensor::from_f32(g.shape(), g.data<float>());
  }
  f.metadata["config"] = cfg.json.dump();
  write_safetensors(a.dump, f);
  std::printf("wrote %s (loss %.6f)\n", a.dump.c_str(), r.loss);
  return 0;
}

int cmd_info(const Args& a) {
  nlohmann::json j;
  j["build"] = {{"cuda_compiled", cuda_compiled()},
                {"versions", cuda_compiled() ? cuda().versions() : std::string("built without CUDA")},
                {"version", "0.1"}};
  j["devices"] = {{{"type", "cpu"}, {"threads", std::thread::hardware_concurrency()}}};
  const int gpus = cuda_device_count();
  for (int d = 0; d < gpus; ++d) {
    kernels::MemoryInfo m = cuda().memory_info(d);
    j["devices"].push_back({{"type", "cuda"}, {"index", d}, {"name", cuda().device_name(d)}, {"memory_bytes", m.total}});
  }
  if (!a.config.empty()) {
    Config cfg = config_for(a);
    Model model(model_spec(cfg));
    nlohmann::json lanes = nlohmann::json::array();
    for (size_t l = 0; l < model.num_lanes(); ++l) {
      nlohmann::json e = {{"parameters", model.lane(l).num_params()}};
      if (!cfg.lanes.empty()) {
        e.update({{"type", cfg.lanes[l].type}, {"width", cfg.lanes[l].width}, {"depth", cfg.lanes[l].depth}});
        LaneDesc d;  // the analytic model of sched/ (its parameter count equals the engine's)
        d.type = cfg.lanes[l].type, d.width = cfg.lanes[l].width, d.depth = cfg.lanes[l].depth;
        dataset_shape(cfg.dataset, &d.H, &d.W, &d.C);
        d.batch = 1, d.routings = cfg.routings;
        e["forward_flops_per_image"] = lane_stats(d).fwd_flops;
      }
      lanes.push_back(e);
    }
    j["model"] = {{"type", cfg.model_type}, {"lanes", lanes}, {"parameters", model.num_params()}};
  }
  std::cout << j.dump(2) << "\n";
  return 0;
}

void usage() {
  std::fprintf(stderr,
               "usage: mlcn train --config FILE [--set key=value ...] [--out DIR] [--resume DIR]\n"
               "       mlcn eval --checkpoint FILE [--config FILE] [--set ...]\n"
               "       mlcn step --config FILE [--checkpoint FILE] --dump FILE\n"
               "       mlcn info [--config FILE]\n"
               "       mlcn place --lanes FILE|--config FILE --devices FILE --algo NAME [--seed N] [--time-limit S]\n"
               "       mlcn nas --config FILE [--set ...] [--out DIR] | --resume DIR | --generate-only [--count N]\n");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    usage();
    return 2;
  }
  std::string cmd = argv[1];
  std::vector<std::string> rest(argv + 2, argv + argc);
  try {
    if (cmd == "place") return cmd_place(rest);
    if (cmd == "nas") return cmd_nas(rest);
    if (cmd == "train") return cmd_train(parse_args(rest));
    if (cmd == "eval") return cmd_eval(parse_args(rest));
    if (cmd == "step") return cmd_step(parse_args(rest));
    if (cmd == "info") return cmd_info(parse_args(rest));
    usage();
    return 2;
  } catch (const Error& e) {
    const bool debug = std::getenv("MLCN_DEBUG") != nullptr;
    std::fprintf(stderr, "mlcn %s: error: %s\n", cmd.c_str(), debug ? e.what() : e.message().c_str());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "mlcn %s: error: %s\n", cmd.c_str(), e.what());
    return 1;
  }
}
