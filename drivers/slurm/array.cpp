#include "array.hpp"

#include <cstdlib>
#include <filesystem>
#include <fmt/format.h>
#include <iostream>
#include <sstream>

#include "files.hpp"
#include "hk/errors.hpp"
#include "hk/json_text.hpp"
#include "hk/record.hpp"
#include "hk/system.hpp"
#include "hk_slurm/array_template.hpp"

namespace hk::slurm {

namespace fs = std::filesystem;
using nlohmann::json;

ArraySubmission compose_array(const ArrayRequest& r) {
  ArraySubmission a;
  const fs::path dir = fs::path(r.out) / "slurm";
  int index = 1;
  while (fs::exists(dir / fmt::format("array-{}.tasks", index))) ++index;
  a.tasks_path = (dir / fmt::format("array-{}.tasks", index)).string();
  a.script_path = (dir / fmt::format("array-{}.sbatch", index)).string();
  a.log_pattern = (dir / "logs" / "%A_%a.out").string();
  for (const auto& task : r.tasks) {
    a.task_table += fmt::format("{} {}\n", task.run.mix.ranks, task.run.mix.threads);
    a.mixes.push_back(task.run.mix.label());
  }
  a.sbatch.env = {{"HK_BIN", r.hk_bin}, {"HK_OUT", r.out}};
  auto& w = a.sbatch.argv;
  w = {"sbatch", "--parsable",
       fmt::format("--array=0-{}{}", r.tasks.size() - 1,
                   r.batch.max_parallel > 0 ? fmt::format("%{}", r.batch.max_parallel) : ""),
       "--exclusive", fmt::format("--nodes={}", r.batch.nodes), "--job-name=hk-" + r.kernel, "--output=" + a.log_pattern};
  if (!r.batch.partition.empty()) w.push_back("--partition=" + r.batch.partition);
  if (!r.batch.account.empty()) w.push_back("--account=" + r.batch.account);
  if (!r.batch.time_limit.empty()) w.push_back("--time=" + r.batch.time_limit);
  w.insert(w.end(), r.batch.sbatch_options.begin(), r.batch.sbatch_options.end());
  w.insert(w.end(), {a.script_path, a.tasks_path, r.kernel});
  w.insert(w.end(), r.args.begin(), r.args.end());
  return a;
}

namespace {

// --parsable: "JOBID" or "JOBID;CLUSTER" (the last line; warnings may come first).
std::string job_id_of(const std::string& output) {
  std::string line, last;
  std::istringstream lines(output);
  while (std::getline(lines, line))
    if (!line.empty()) last = line;
  const std::string job = last.substr(0, last.find(';'));
  if (job.empty() || job.find_first_not_of("0123456789") != std::string::npos)
    throw RuntimeError(fmt::format("sbatch printed no job id: {}", output));
  return job;
}

}  // namespace

std::string submit_array(const ArraySubmission& a, const ArrayRequest& r) {
  const fs::path dir = fs::path(r.out) / "slurm";
  fs::create_directories(dir / "logs");
  fs::create_directories(dir / "tasks");
  write_atomically(a.tasks_path, a.task_table);
  write_atomically(a.script_path, kArraySbatch);
  fs::permissions(a.script_path, fs::perms::owner_all | fs::perms::group_read | fs::perms::others_read);
  // sbatch with our environment plus HK_BIN/HK_OUT (exported to the job: --export=ALL default).
  for (const auto& [name, value] : a.sbatch.env) setenv(name.c_str(), value.c_str(), 1);
  std::string output;
  const int status = capture(a.sbatch.argv, output);
  if (status != 0) {
    std::cerr << output;
    throw RuntimeError(fmt::format("sbatch failed with exit status {}", status));
  }
  const std::string job = job_id_of(output);
  const Submission submission{job,          r.kernel, r.args,          a.mixes,         r.batch.nodes,
                              a.log_pattern, a.tasks_path, a.script_path, utc_timestamp(), a.sbatch.display()};
  append_line((dir / "submissions.jsonl").string(), json_text(json(submission)));
  return job;
}

}  // namespace hk::slurm
