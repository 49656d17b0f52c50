#pragma once
// hk probe's descriptor row: threads share one descriptor table, a forked child has copies.
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace hk::probe {

struct Row;

// What two threads, and a parent and its forked child, see when one of them closes a pipe's
// read end. The thread side is stepped (the close happens between two reads of the other
// thread), because a close() does not wake a read() already blocked on the same descriptor on Linux.
struct DescriptorOutcome {
  bool measured = false;
  long payload_bytes = 0;             // written into the pipe before anyone reads
  // Threads.
  long first_read_bytes = -1;         // the reader's read before the other thread closes
  long read_after_close = 0;          // the reader's next read on the same number: -1 ...
  int read_after_close_errno = 0;     // ... with EBADF, although bytes were still in the pipe
  int closed_number = -1;             // the descriptor number
  bool number_reused = false;         // the next descriptor made from that number on got that very number
  long read_after_reuse = -1;         // the reader's read on the number now: 0 (end of /dev/null), not the pipe's bytes
  // Processes.
  bool child_closed_its_copy = false; // close() returned 0 in the forked child
  long parent_read_after_child_close = -1;  // what the parent read after the child exited
};

// Runs both sides. Throws RuntimeError when a pipe, a thread or a fork cannot be made.
DescriptorOutcome probe_descriptors();

// Empty when the outcome is as claimed (or was not measured); else one line per contradiction.
std::vector<std::string> check_descriptors(const DescriptorOutcome& d);
Row descriptor_row(const DescriptorOutcome& d);
nlohmann::json descriptors_json(const DescriptorOutcome& d);

}  // namespace hk::probe
