// bench/convergence: N nodes as separate `polder node` processes on loopback, each dialing a few
// random others; K events published from random nodes through the CLI. Prints, per N, the time
// until all N nodes hold each event (median, p99, max over events) and the bytes sent per
// delivered event per node, next to the mean event size.
//
// Targets (issue 4): median under 50 ms at N = 64; under 2x the event size sent per delivered
// event per node.
//
//   build/bench/convergence_bench [N...]   (default 8 32 64; POLDER_BENCH_EVENTS=K, default 40)
//
// Each node appends "event-id unix-µs bytes" for every event it stores to a trace file
// (POLDER_TRACE_EVENTS), which is how arrival times are measured across processes.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace {

namespace fs = std::filesystem;
std::string g_polder;

// Runs `polder ARGS` and returns its stdout (empty on failure).
std::string Polder(const std::string& args, int* status = nullptr) {
  std::string out;
  FILE* p = popen((g_polder + " " + args + " 2>/dev/null").c_str(), "r");
  if (!p) return out;
  char buf[4096];
  std::size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  const int rc = pclose(p);
  if (status) *status = rc;
  return out;
}

std::string Field(const std::string& json, const std::string& name) {
  const auto k = json.find("\"" + name + "\"");
  if (k == std::string::npos) return {};
  const auto q1 = json.find('"', json.find(':', k) + 1);
  const auto q2 = json.find('"', q1 + 1);
  return json.substr(q1 + 1, q2 - q1 - 1);
}

std::string Quote(const std::string& s) { return "'" + s + "'"; }

pid_t Spawn(const std::vector<std::string>& args, const std::string& trace, const fs::path& log) {
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  std::vector<std::string> env_s;
  for (char** e = environ; *e; ++e) env_s.emplace_back(*e);
  env_s.push_back("POLDER_TRACE_EVENTS=" + trace);
  std::vector<char*> envp;
  for (auto& e : env_s) envp.push_back(e.data());
  envp.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 2, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
  pid_t pid = 0;
  if (posix_spawn(&pid, argv[0], &fa, nullptr, argv.data(), envp.data()) != 0) pid = -1;
  posix_spawn_file_actions_destroy(&fa);
  return pid;
}

// id → arrival µs, and sizes, from one node's trace file.
std::map<std::string, long long> ReadTrace(const fs::path& f, std::map<std::string, long>* sizes) {
  std::map<std::string, long long> m;
  std::ifstream in(f);
  std::string id;
  long long us;
  long bytes;
  while (in >> id >> us >> bytes) {
    m.emplace(id, us);
    if (sizes) (*sizes)[id] = bytes;
  }
  return m;
}

// Bytes of sync messages a node sent: the total, and by message type ("hello", "push", ...).
struct Sent {
  unsigned long long total = 0;
  std::map<std::string, unsigned long long> by_message;
  Sent& operator+=(const Sent& o) {
    total += o.total;
    for (const auto& [m, n] : o.by_message) by_message[m] += n;
    return *this;
  }
};

Sent BytesOut(const std::string& home) {
  Sent s;
  const std::string j = Polder("--home " + home + " status --json");
  const auto k = j.find("\"bytes_out\"");
  if (k == std::string::npos) return s;
  const auto q1 = j.find('"', j.find(':', k) + 1);
  s.total = std::strtoull(j.c_str() + q1 + 1, nullptr, 10);
  // "bytes_out_by_message": {"hello": "123", ...} (uint64 values are JSON strings)
  const auto m = j.find("\"bytes_out_by_message\"");
  if (m == std::string::npos) return s;
  const auto open = j.find('{', m);
  const auto close = j.find('}', open);
  if (open == std::string::npos || close == std::string::npos) return s;
  std::size_t at = open;
  for (;;) {
    const auto a = j.find('"', at + 1);
    if (a == std::string::npos || a > close) break;
    const auto b = j.find('"', a + 1);
    const auto c = j.find('"', j.find(':', b) + 1);
    const auto d = j.find('"', c + 1);
    if (b == std::string::npos || c == std::string::npos || d == std::string::npos || d > close) {
      break;
    }
    s.by_message[j.substr(a + 1, b - a - 1)] = std::strtoull(j.c_str() + c + 1, nullptr, 10);
    at = d;
  }
  return s;
}

double Pct(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const std::size_t i = std::min(v.size() - 1, static_cast<std::size_t>(p * (v.size() - 1) + 0.5));
  return v[i];
}

int RunOnce(int n, int k, std::mt19937& rng) {
  const fs::path dir = fs::temp_directory_path() /
                       ("polder-conv-" + std::to_string(getpid()) + "-" + std::to_string(n));
  fs::remove_all(dir);
  fs::create_directories(dir);
  auto home = [&](int i) { return (dir / ("h" + std::to_string(i))).string(); };
  const int base = 20000 + static_cast<int>(rng() % 20000);
  auto addr = [&](int i) { return "127.0.0.1:" + std::to_string(base + i); };
  for (int i = 0; i < n; ++i) {
    Polder("--home " + home(i) + " init --name m" + std::to_string(i) + " --org org" +
           std::to_string(i % 3));
  }
  // The founder's admission alone makes each member count: admission is not what this measures.
  Polder("--home " + home(0) +
         " circle create --name Bench --purpose bench --pool 100000 --organisations org1,org2"
         " --admission-orgs 1");
  for (int i = 1; i < n; ++i) {
    const std::string id = Polder("--home " + home(i) + " id");
    const std::string r = Polder("--home " + home(0) + " admit " + id.substr(0, id.find('\n')) +
                                 " --name m" + std::to_string(i) + " --org org" +
                                 std::to_string(i % 3) + " --address " + addr(0) + " --json");
    Polder("--home " + home(i) + " join " + Quote(Field(r, "join_code")));
  }
  // Each node dials 3 random others (and peer exchange adds more).
  std::vector<pid_t> pids;
  for (int i = 0; i < n; ++i) {
    std::vector<std::string> args = {g_polder,   "--home", home(i),       "node",
                                     "--listen", addr(i),  "--log-level", "warn"};
    for (int j = 0; j < 3 && n > 1; ++j) {
      int p = static_cast<int>(rng() % n);
      if (p == i) p = (p + 1) % n;
      args.push_back("--peer");
      args.push_back(addr(p));
    }
    pids.push_back(
        Spawn(args, (dir / ("t" + std::to_string(i))).string(), dir / ("log" + std::to_string(i))));
  }
  auto stop_all = [&] {
    for (pid_t p : pids) {
      if (p > 0) kill(p, SIGTERM);
    }
    for (pid_t p : pids) {
      if (p > 0) waitpid(p, nullptr, 0);
    }
    fs::remove_all(dir);
  };
  // Ready: every node holds the charter and all admissions (n events).
  const auto ready_limit = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  for (;;) {
    int ready = 0;
    for (int i = 0; i < n; ++i) {
      const auto t = ReadTrace(dir / ("t" + std::to_string(i)), nullptr);
      ready += i == 0 || static_cast<int>(t.size()) >= n;
    }
    if (ready == n) break;
    if (std::chrono::steady_clock::now() > ready_limit) {
      std::fprintf(stderr, "N=%d: only %d nodes caught up the admissions\n", n, ready);
      stop_all();
      return 1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  std::this_thread::sleep_for(std::chrono::seconds(2));  // let sessions settle
  Sent before;
  for (int i = 0; i < n; ++i) before += BytesOut(home(i));
  std::vector<std::pair<std::string, int>> published;
  for (int e = 0; e < k; ++e) {
    const int at = static_cast<int>(rng() % n);
    const std::string r =
        Polder("--home " + home(at) + " comment " +
               Quote("bench event " + std::to_string(e) + " " + std::string(200, 'x')) + " --json");
    const std::string id = Field(r, "event_id");
    if (!id.empty()) published.emplace_back(id, at);
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  // Wait until every node holds every published event (bounded).
  std::vector<std::map<std::string, long long>> traces(static_cast<std::size_t>(n));
  std::map<std::string, long> sizes;
  const auto limit = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  for (;;) {
    bool all = true;
    for (int i = 0; i < n; ++i) {
      traces[static_cast<std::size_t>(i)] = ReadTrace(dir / ("t" + std::to_string(i)), &sizes);
      for (const auto& [id, at] : published)
        all &= traces[static_cast<std::size_t>(i)].count(id) > 0;
    }
    if (all || std::chrono::steady_clock::now() > limit) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  std::this_thread::sleep_for(std::chrono::seconds(1));
  Sent after;
  for (int i = 0; i < n; ++i) after += BytesOut(home(i));
  std::vector<double> complete_ms, each_ms;
  double size_sum = 0;
  int missing = 0;
  for (const auto& [id, at] : published) {
    const long long t0 = traces[static_cast<std::size_t>(at)].at(id);
    double worst = 0;
    for (int i = 0; i < n; ++i) {
      auto it = traces[static_cast<std::size_t>(i)].find(id);
      if (it == traces[static_cast<std::size_t>(i)].end()) {
        ++missing;
        continue;
      }
      const double ms = static_cast<double>(it->second - t0) / 1000.0;
      if (i != at) each_ms.push_back(ms);
      worst = std::max(worst, ms);
    }
    complete_ms.push_back(worst);
    size_sum += static_cast<double>(sizes[id]);
  }
  const double mean_size = published.empty() ? 0 : size_sum / static_cast<double>(published.size());
  const double deliveries = static_cast<double>(published.size()) * static_cast<double>(n);
  const double per_event_node = static_cast<double>(after.total - before.total) / deliveries;
  std::printf(
      "N=%-3d events=%zu  all-nodes time: median %.1f ms, p99 %.1f ms, max %.1f ms  (per node: "
      "median %.1f ms)  missing %d\n",
      n, published.size(), Pct(complete_ms, 0.5), Pct(complete_ms, 0.99), Pct(complete_ms, 1.0),
      Pct(each_ms, 0.5), missing);
  std::printf(
      "       sent per delivered event per node: %.0f B = %.2fx the mean event size (%.0f B)\n",
      per_event_node, mean_size > 0 ? per_event_node / mean_size : 0, mean_size);
  // The same, by sync message type (summed over the nodes).
  std::string line = "       by message:";
  for (const auto& [m, total] : after.by_message) {
    const auto b = before.by_message.count(m) ? before.by_message.at(m) : 0ull;
    const double per = static_cast<double>(total - b) / deliveries;
    if (per < 0.5) continue;
    char buf[96];
    std::snprintf(buf, sizeof buf, " %s %.0f B (%.2fx)", m.c_str(), per,
                  mean_size > 0 ? per / mean_size : 0);
    line += buf;
  }
  std::printf("%s\n", line.c_str());
  stop_all();
  return missing == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  const fs::path self = fs::canonical("/proc/self/exe");
  g_polder = (self.parent_path().parent_path() / "polder").string();
  if (const char* p = std::getenv("POLDER_BIN")) g_polder = p;
  std::vector<int> sizes;
  for (int i = 1; i < argc; ++i) sizes.push_back(std::atoi(argv[i]));
  if (sizes.empty()) sizes = {8, 32, 64};
  const int k =
      std::getenv("POLDER_BENCH_EVENTS") ? std::atoi(std::getenv("POLDER_BENCH_EVENTS")) : 40;
  std::mt19937 rng(7);
  std::printf("machine: %u cores; polder at %s\n", std::thread::hardware_concurrency(),
              g_polder.c_str());
  int rc = 0;
  for (int n : sizes) rc |= RunOnce(n, k, rng);
  return rc;
}
